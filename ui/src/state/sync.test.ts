import { describe, expect, it } from "vitest";
import type { SyncSummary } from "../bindings/SyncSummary";
import { SYNC_IDLE, isSyncing, parseSettings, reduceSync, settingsForm, type SyncState } from "./sync";

const running: SyncState = { ...SYNC_IDLE, phase: "running", jobId: 4 };
const summary: SyncSummary = { pushed: 3, pulled: 10, applied: 8, refused: [], conflicts: [], position: 52 };

describe("reduceSync", () => {
  it("keeps each stage's count and the latest stage", () => {
    let s = reduceSync({ ...SYNC_IDLE, phase: "starting" }, { event: "progress", stage: "pushing", done: 50 });
    s = reduceSync(s, { event: "progress", stage: "pushing", done: 120 });
    s = reduceSync(s, { event: "progress", stage: "pulling", done: 30 });
    expect(s).toMatchObject({ phase: "running", stage: "pulling", pushed: 120, pulled: 30 });
  });
  it("a late progress event does not undo a pending cancel", () => {
    const s = reduceSync({ ...running, phase: "cancelling" }, { event: "progress", stage: "pulling", done: 7 });
    expect(s.phase).toBe("cancelling");
    expect(s.pulled).toBe(7);
    expect(isSyncing(s.phase)).toBe(true);
  });
  it("ends in exactly the state the last event names", () => {
    expect(reduceSync(running, { event: "finished", summary })).toMatchObject({ phase: "finished", summary });
    expect(reduceSync(running, { event: "cancelled" }).phase).toBe("cancelled");
    const f = reduceSync(running, { event: "failed", error: { kind: "io", message: "connection reset" } });
    expect(f).toMatchObject({ phase: "failed", error: { kind: "io", message: "connection reset" } });
    expect(isSyncing(f.phase)).toBe(false);
    expect(reduceSync(running, { event: "failed", error: { kind: "cancelled", message: "" } }).phase).toBe("cancelled");
  });
});

describe("parseSettings", () => {
  const form = settingsForm({ server: "http://10.0.0.5:8787", author: "ana", hasToken: true, lastSync: null, pending: 0, position: 0 });
  it("starts from the stored status with an empty token, which keeps the stored one", () => {
    expect(form).toEqual({ server: "http://10.0.0.5:8787", token: "", author: "ana" });
    expect(parseSettings(form)).toEqual({ server: "http://10.0.0.5:8787", token: null, author: "ana" });
    expect(parseSettings({ ...form, token: "   " })).toMatchObject({ token: null });
  });
  it("sends a typed token, trimmed like the other fields", () => {
    expect(parseSettings({ server: " https://whales.example.org ", token: " tok-1 ", author: " Ben " })).toEqual({
      server: "https://whales.example.org",
      token: "tok-1",
      author: "Ben",
    });
  });
  it("refuses a server without a scheme and an empty author", () => {
    expect(parseSettings({ ...form, server: "10.0.0.5:8787" })).toMatchObject({ kind: "invalid" });
    expect(parseSettings({ ...form, server: "" })).toMatchObject({ kind: "invalid" });
    expect(parseSettings({ ...form, author: "  " })).toMatchObject({ kind: "invalid" });
  });
  it("an unconfigured catalogue gives an empty server field", () => {
    expect(settingsForm({ server: null, author: "ana", hasToken: false, lastSync: null, pending: 3, position: 0 }).server).toBe("");
  });
});
