import { beforeEach, describe, expect, it, vi } from "vitest";

// The real module talks to window.__TAURI_INTERNALS__; tests stand in for it.
const invoke = vi.fn();
const sent: { onmessage?: (m: unknown) => void }[] = [];
vi.mock("@tauri-apps/api/core", () => ({
  invoke: (...a: unknown[]) => invoke(...a),
  isTauri: () => true,
  convertFileSrc: (p: string) => `asset://localhost/${encodeURIComponent(p)}`,
  Channel: class {
    onmessage?: (m: unknown) => void;
    constructor() {
      sent.push(this);
    }
  },
}));
vi.mock("@tauri-apps/api/webview", () => ({ getCurrentWebview: () => ({ onDragDropEvent: vi.fn() }) }));

const ipc = await import("./index");

beforeEach(() => {
  invoke.mockReset();
  sent.length = 0;
});

describe("toAppError", () => {
  it("passes a backend AppError through, dropping extra fields", () => {
    expect(ipc.toAppError({ kind: "model", message: "no detector", extra: 1 })).toEqual({ kind: "model", message: "no detector" });
  });
  it("wraps Tauri's plain-string rejections as internal", () => {
    expect(ipc.toAppError("command review_foo not found")).toEqual({ kind: "internal", message: "command review_foo not found" });
  });
  it("parses a string that is a serialised AppError", () => {
    expect(ipc.toAppError('{"kind":"busy","message":"an import is running"}')).toEqual({ kind: "busy", message: "an import is running" });
    expect(ipc.toAppError("{not json")).toEqual({ kind: "internal", message: "{not json" });
  });
  it("keeps an unknown kind in the message instead of trusting it", () => {
    expect(ipc.toAppError({ kind: "exploded", message: "boom" })).toEqual({ kind: "internal", message: "exploded: boom" });
  });
  it("handles Error, objects without kind, and nothing at all", () => {
    expect(ipc.toAppError(new TypeError("x is undefined"))).toEqual({ kind: "internal", message: "x is undefined" });
    expect(ipc.toAppError({ message: "plain" })).toEqual({ kind: "internal", message: "plain" });
    expect(ipc.toAppError({ code: 3 })).toEqual({ kind: "internal", message: '{"code":3}' });
    expect(ipc.toAppError(undefined)).toEqual({ kind: "internal", message: "unknown error" });
    expect(ipc.toAppError(42)).toEqual({ kind: "internal", message: "42" });
  });
  it("errorText reads well", () => {
    expect(ipc.errorText({ kind: "notFound", message: "individual 4" })).toBe("Not found: individual 4");
    expect(ipc.errorText("raw")).toBe("Error: raw");
  });
});

describe("command wrappers", () => {
  it("send the camelCase argument names of the contract", async () => {
    invoke.mockResolvedValue({});
    await ipc.reviewAccept(11, 22, 0.9, 2);
    expect(invoke).toHaveBeenLastCalledWith("review_accept", { detectionId: 11, individualId: 22, score: 0.9, rank: 2 });
    await ipc.reviewNewIndividual(11, "HW-9", null);
    expect(invoke).toHaveBeenLastCalledWith("review_new_individual", { detectionId: 11, code: "HW-9", species: null });
    await ipc.reviewSameAs(12, 22);
    expect(invoke).toHaveBeenLastCalledWith("review_same_as", { detectionId: 12, individualId: 22 });
    await ipc.individualSplit(3, [1, 2], "HW-10");
    expect(invoke).toHaveBeenLastCalledWith("individual_split", { id: 3, detectionIds: [1, 2], newCode: "HW-10" });
    await ipc.individualMerge(4, 5);
    expect(invoke).toHaveBeenLastCalledWith("individual_merge", { fromId: 4, intoId: 5 });
    await ipc.settingsSet(null, 0.4);
    expect(invoke).toHaveBeenLastCalledWith("settings_set", { threads: null, threshold: 0.4, newShare: null });
    await ipc.settingsSet(null, null, 0.2);
    expect(invoke).toHaveBeenLastCalledWith("settings_set", { threads: null, threshold: null, newShare: 0.2 });
    await ipc.jobCancel(7);
    expect(invoke).toHaveBeenLastCalledWith("job_cancel", { jobId: 7 });
    await ipc.pickSaveFile("a.csv");
    expect(invoke).toHaveBeenLastCalledWith("pick_save_file", { suggestedName: "a.csv" });
    await ipc.reviewUndo();
    expect(invoke).toHaveBeenLastCalledWith("review_undo", undefined);
  });
  it("reject with an AppError whatever invoke rejected with", async () => {
    invoke.mockRejectedValueOnce("denied by capability");
    await expect(ipc.catalogueOpen("/x")).rejects.toEqual({ kind: "internal", message: "denied by capability" });
    invoke.mockRejectedValueOnce({ kind: "catalogue", message: "not a catalogue" });
    await expect(ipc.catalogueOpen("/x")).rejects.toEqual({ kind: "catalogue", message: "not a catalogue" });
  });
  it("ingest_start passes a Channel whose messages reach the callback", async () => {
    invoke.mockResolvedValue(5);
    const got: unknown[] = [];
    const id = await ipc.ingestStart(["/survey"], "beluga", (e) => got.push(e));
    expect(id).toBe(5);
    const [cmd, args] = invoke.mock.calls[0];
    expect(cmd).toBe("ingest_start");
    expect(args.paths).toEqual(["/survey"]);
    expect(args.species).toBe("beluga");
    expect(args.onEvent).toBe(sent[0]);
    sent[0].onmessage!({ event: "cancelled", done: 3 });
    expect(got).toEqual([{ event: "cancelled", done: 3 }]);
  });
  it("train_start passes the options and a Channel whose messages reach the callback", async () => {
    invoke.mockResolvedValue(8);
    const got: unknown[] = [];
    const options = { epochs: 3, seed: 7, subcenters: 2, dynamicMargin: true };
    const id = await ipc.trainStart(options, (e) => got.push(e));
    expect(id).toBe(8);
    const [cmd, args] = invoke.mock.calls[0];
    expect(cmd).toBe("train_start");
    expect(Object.keys(args).sort()).toEqual(["onEvent", "options"]);
    expect(args.options).toEqual(options);
    expect(args.onEvent).toBe(sent[0]);
    sent[0].onmessage!({ event: "phase", phase: "features", done: 1, total: 4 });
    expect(got).toEqual([{ event: "phase", phase: "features", done: 1, total: 4 }]);
  });
  it("train_overview and train_rollback use the contract's names", async () => {
    invoke.mockResolvedValue({});
    await ipc.trainOverview();
    expect(invoke).toHaveBeenLastCalledWith("train_overview", undefined);
    await ipc.trainRollback(null);
    expect(invoke).toHaveBeenLastCalledWith("train_rollback", { version: null });
    await ipc.trainRollback("1.0-ft2");
    expect(invoke).toHaveBeenLastCalledWith("train_rollback", { version: "1.0-ft2" });
    invoke.mockRejectedValueOnce({ kind: "busy", message: "a training run is in progress" });
    await expect(ipc.trainStart({ epochs: 1, seed: 0, subcenters: 1, dynamicMargin: false }, () => {})).rejects.toEqual({
      kind: "busy",
      message: "a training run is in progress",
    });
  });
  it("sync_status, sync_configure and sync_preview use the contract's names", async () => {
    invoke.mockResolvedValue({});
    await ipc.syncStatus();
    expect(invoke).toHaveBeenLastCalledWith("sync_status", undefined);
    const settings = { server: "http://10.0.0.5:8787", token: null, author: "ana", caCert: null, photos: false };
    await ipc.syncConfigure(settings);
    expect(invoke).toHaveBeenLastCalledWith("sync_configure", { settings });
    await ipc.syncConfigure({ ...settings, token: "s3cret" });
    expect(invoke).toHaveBeenLastCalledWith("sync_configure", { settings: { ...settings, token: "s3cret" } });
    await ipc.syncDismiss(8);
    expect(invoke).toHaveBeenLastCalledWith("sync_dismiss", { id: 8 });
    await ipc.syncPreview();
    expect(invoke).toHaveBeenLastCalledWith("sync_preview", undefined);
    invoke.mockRejectedValueOnce({ kind: "io", message: "sync server http://10.0.0.5:8787: HTTP 401: unknown token" });
    await expect(ipc.syncPreview()).rejects.toEqual({ kind: "io", message: "sync server http://10.0.0.5:8787: HTTP 401: unknown token" });
  });
  it("sync_start passes only a Channel whose messages reach the callback", async () => {
    invoke.mockResolvedValue(9);
    const got: unknown[] = [];
    const id = await ipc.syncStart((e) => got.push(e));
    expect(id).toBe(9);
    const [cmd, args] = invoke.mock.calls[0];
    expect(cmd).toBe("sync_start");
    expect(Object.keys(args)).toEqual(["onEvent"]);
    expect(args.onEvent).toBe(sent[0]);
    sent[0].onmessage!({ event: "progress", stage: "pulling", done: 40 });
    expect(got).toEqual([{ event: "progress", stage: "pulling", done: 40 }]);
    invoke.mockRejectedValueOnce({ kind: "busy", message: "an import is running" });
    await expect(ipc.syncStart(() => {})).rejects.toEqual({ kind: "busy", message: "an import is running" });
  });
  it("errorText can rename a kind for a screen that knows what it means", () => {
    expect(ipc.errorText({ kind: "io", message: "unreachable" }, { io: "Server" })).toBe("Server: unreachable");
    expect(ipc.errorText({ kind: "io", message: "unreachable" })).toBe("File system: unreachable");
  });
  it("says a sync failure is the server's, with no renaming by the screen", () => {
    expect(ipc.toAppError({ kind: "sync", message: "sync server http://s: HTTP 401" })).toEqual({
      kind: "sync",
      message: "sync server http://s: HTTP 401",
    });
    expect(ipc.errorText({ kind: "sync", message: "sync server http://s: HTTP 401" })).toBe(
      "Server: sync server http://s: HTTP 401",
    );
    expect(ipc.errorText({ kind: "cancelled", message: "" })).toBe("Cancelled");
  });
  it("imageSrc goes through the asset protocol and is empty for no path", () => {
    expect(ipc.imageSrc("/cat/media/c 1.jpg")).toBe("asset://localhost/%2Fcat%2Fmedia%2Fc%201.jpg");
    expect(ipc.imageSrc(null)).toBe("");
  });
});
