// @vitest-environment jsdom
import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/preact";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { SyncEvent } from "../bindings/SyncEvent";
import type { SyncPreview } from "../bindings/SyncPreview";
import type { SyncStatus } from "../bindings/SyncStatus";

const api = vi.hoisted(() => ({
  syncStatus: vi.fn(),
  syncConfigure: vi.fn(),
  syncPreview: vi.fn(),
  syncStart: vi.fn(),
  syncDismiss: vi.fn(),
  individualMerge: vi.fn(),
  jobCancel: vi.fn(),
}));
vi.mock("../ipc", async (orig) => ({ ...(await orig<typeof import("../ipc")>()), ...api }));

const { SyncScreen } = await import("./Sync");
const { syncStore, SYNC_IDLE } = await import("../state/sync");

const configured: SyncStatus = {
  server: "http://10.0.0.5:8787",
  author: "ana",
  hasToken: true,
  caCert: null,
  photos: false,
  lastSync: "2026-07-01T09:30:12Z",
  pending: 14,
  position: 230,
  toReview: [],
};
const unconfigured: SyncStatus = {
  server: null,
  author: "ana",
  hasToken: false,
  caCert: null,
  photos: false,
  lastSync: null,
  pending: 3,
  position: 0,
  toReview: [],
};
const plan: SyncPreview = {
  toPush: 14,
  toPull: 20000,
  more: true,
  additions: 812,
  decisions: 57,
  merges: 2,
  alreadyHere: 31,
  refused: 1,
  conflicts: [
    { kind: "decisions", detail: "detection 88 in IMG_0412.JPG: ana said HW-004, ben said HW-019" },
    { kind: "codeClash", detail: "two individuals named HW-031 (one from ben); the one from ben is now HW-031-2" },
  ],
};

const text = (id: string) => screen.getByTestId(id).textContent ?? "";
const button = (id: string) => screen.getByTestId(id) as HTMLButtonElement;
const input = (id: string) => screen.getByTestId(id) as HTMLInputElement;

/** Starts a sync from the screen and returns the channel callback. */
async function startSync(jobId = 31): Promise<(e: SyncEvent) => void> {
  let emit: (e: SyncEvent) => void = () => {};
  api.syncStart.mockImplementation(async (cb: (e: SyncEvent) => void) => {
    emit = cb;
    return jobId;
  });
  await waitFor(() => expect(button("sync-start").disabled).toBe(false));
  fireEvent.click(screen.getByTestId("sync-start"));
  await waitFor(() => expect(button("sync-cancel").disabled).toBe(false));
  return (e) => emit(e);
}

afterEach(() => {
  cleanup();
  syncStore.set(SYNC_IDLE);
  vi.resetAllMocks();
});

describe("SyncScreen", () => {
  it("shows where the catalogue stands with the server and fills the form from it", async () => {
    api.syncStatus.mockResolvedValue(configured);
    render(<SyncScreen />);
    await waitFor(() => expect(text("sync-server")).toBe("http://10.0.0.5:8787"));
    expect(text("sync-author")).toBe("ana");
    expect(text("sync-token")).toBe("stored");
    expect(text("sync-last")).toBe("2026-07-01 09:30 UTC");
    expect(text("sync-pending")).toBe("14");
    expect(text("sync-position")).toBe("230");
    expect(input("sync-server-input").value).toBe("http://10.0.0.5:8787");
    expect(input("sync-author-input").value).toBe("ana");
    // The stored token is never shown; the field starts empty and says so.
    expect(input("sync-token-input").value).toBe("");
    expect(input("sync-token-input").type).toBe("password");
    expect(input("sync-token-input").placeholder).toMatch(/leave empty to keep/);
    // The same address as stored, give or take a trailing slash, keeps the token.
    fireEvent.input(input("sync-server-input"), { target: { value: "http://10.0.0.5:8787/" } });
    expect(input("sync-token-input").placeholder).toMatch(/leave empty to keep/);
    expect(screen.queryByTestId("sync-token-needed")).toBeNull();
    // Inputs are named for assistive technology by their labels.
    expect(screen.getByLabelText("Server URL")).toBe(input("sync-server-input"));
    expect(screen.getByLabelText("Token")).toBe(input("sync-token-input"));
    expect(screen.getByLabelText(/^Author/)).toBe(input("sync-author-input"));
    expect(button("sync-preview").disabled).toBe(false);
    expect(screen.queryByTestId("sync-not-ready")).toBeNull();
  });

  it("says when sync is not configured and offers neither preview nor sync", async () => {
    api.syncStatus.mockResolvedValue(unconfigured);
    render(<SyncScreen />);
    await waitFor(() => expect(text("sync-server")).toBe("not configured"));
    expect(text("sync-token")).toBe("none stored");
    expect(text("sync-last")).toBe("never");
    expect(text("sync-pending")).toBe("3");
    expect(text("sync-not-ready")).toContain("Save the server URL and a token first");
    expect(button("sync-preview").disabled).toBe(true);
    expect(button("sync-start").disabled).toBe(true);
    fireEvent.click(screen.getByTestId("sync-start"));
    expect(api.syncStart).not.toHaveBeenCalled();
  });

  it("saves with a null token when the field is empty, the typed token otherwise, and shows the new status", async () => {
    api.syncStatus.mockResolvedValue(configured);
    api.syncConfigure
      .mockResolvedValueOnce({ ...configured, server: "https://whales.example.org", author: "Ben", hasToken: false })
      .mockResolvedValueOnce({ ...configured, server: "https://whales.example.org", author: "Ben", hasToken: true });
    render(<SyncScreen />);
    await waitFor(() => expect(input("sync-server-input").value).toBe("http://10.0.0.5:8787"));

    expect(screen.queryByTestId("sync-token-needed")).toBeNull();
    fireEvent.input(input("sync-server-input"), { target: { value: "https://whales.example.org" } });
    fireEvent.input(input("sync-author-input"), { target: { value: "Ben" } });
    // The stored token belongs to the old address; saving without one leaves the new server without a token.
    expect(text("sync-token-needed")).toMatch(/Tokens are kept per server/);
    expect(input("sync-token-input").placeholder).toBe("from your server admin");
    fireEvent.click(screen.getByTestId("sync-save"));
    await waitFor(() =>
      expect(api.syncConfigure).toHaveBeenCalledWith({ server: "https://whales.example.org", token: null, author: "Ben", caCert: null, photos: false }),
    );
    await waitFor(() => expect(text("sync-server")).toBe("https://whales.example.org"));
    expect(text("sync-author")).toBe("Ben");
    expect(text("sync-token")).toBe("none stored");
    expect(text("sync-saved")).toBe("Saved.");
    expect(text("sync-not-ready")).toContain("a token");

    fireEvent.input(input("sync-token-input"), { target: { value: "tok-7f3a" } });
    fireEvent.click(screen.getByTestId("sync-save"));
    await waitFor(() =>
      expect(api.syncConfigure).toHaveBeenLastCalledWith({ server: "https://whales.example.org", token: "tok-7f3a", author: "Ben", caCert: null, photos: false }),
    );
    await waitFor(() => expect(text("sync-token")).toBe("stored"));
    // The secret does not linger in the form once stored.
    expect(input("sync-token-input").value).toBe("");
    expect(api.syncConfigure).toHaveBeenCalledTimes(2);
  });

  it("sends a team CA path and the photos choice, shows them, and reports photos moved and synced", async () => {
    const team = { ...configured, server: "https://whales.example.org", caCert: "/home/ana/team-ca.pem", photos: true };
    api.syncStatus.mockResolvedValue(configured);
    api.syncConfigure.mockResolvedValue(team);
    render(<SyncScreen />);
    await waitFor(() => expect(input("sync-server-input").value).toBe("http://10.0.0.5:8787"));
    expect(text("sync-ca")).toBe("public CAs");
    expect(text("sync-photos")).toMatch(/not synced/);
    expect(input("sync-photos-input").checked).toBe(false);

    fireEvent.input(input("sync-server-input"), { target: { value: "https://whales.example.org" } });
    fireEvent.input(input("sync-token-input"), { target: { value: "tok-1" } });
    fireEvent.input(input("sync-ca-input"), { target: { value: " /home/ana/team-ca.pem " } });
    fireEvent.click(input("sync-photos-input"));
    fireEvent.click(screen.getByTestId("sync-save"));
    await waitFor(() =>
      expect(api.syncConfigure).toHaveBeenCalledWith({
        server: "https://whales.example.org",
        token: "tok-1",
        author: "ana",
        caCert: "/home/ana/team-ca.pem",
        photos: true,
      }),
    );
    await waitFor(() => expect(text("sync-ca")).toBe("trusting /home/ana/team-ca.pem"));
    expect(text("sync-photos")).toBe("synced");
    expect(input("sync-ca-input").value).toBe("/home/ana/team-ca.pem");
    expect(input("sync-photos-input").checked).toBe(true);

    const emit = await startSync(32);
    emit({ event: "progress", stage: "pulling", done: 40 });
    emit({ event: "progress", stage: "photos", done: 3_400_000 });
    await waitFor(() => expect(text("sync-progress")).toContain("Photos"));
    expect(text("sync-counts")).toBe("0 pushed · 40 pulled · 3.4 MB of photos");
    emit({
      event: "finished",
      summary: {
        pushed: 0,
        pulled: 40,
        applied: 40,
        refused: [],
        conflicts: [],
        position: 40,
        photosSent: 2,
        photosFetched: 12,
        photosWaiting: 3,
        photosSkipped: ["/data/survey/IMG_0007.JPG: changed since it was imported"],
      },
    });
    await screen.findByTestId("sync-summary");
    expect(text("summary-photos")).toBe(
      "Original photos: 2 sent, 12 fetched, 3 not on the server yet (fetched by a later sync).",
    );
    expect(text("summary-photos-skipped")).toContain("IMG_0007.JPG: changed since it was imported");
  });

  it("lists what syncs left to review; a duplicate can be merged, anything dismissed", async () => {
    const dup = {
      id: 7,
      kind: "duplicate",
      detail: "HW-031 and HW-004 look like the same animal (similarity 0.91): merge them if they are",
      foundAt: "2026-07-02T10:00:00Z",
      individualId: 31,
      otherId: 4,
    };
    const clash = {
      id: 8,
      kind: "codeClash",
      detail: "two individuals named HW-012 (one from ben); the one from ben is now HW-012-2",
      foundAt: "2026-07-02T10:00:00Z",
      individualId: null,
      otherId: null,
    };
    api.syncStatus
      .mockResolvedValueOnce({ ...configured, toReview: [dup, clash] })
      .mockResolvedValue({ ...configured, toReview: [clash] });
    api.individualMerge.mockResolvedValue({});
    api.syncDismiss.mockResolvedValue({ ...configured, toReview: [] });
    render(<SyncScreen />);
    await waitFor(() => expect(screen.getAllByTestId("review-item")).toHaveLength(2));
    expect(text("sync-review")).toContain("To review (2)");
    const [first, second] = screen.getAllByTestId("review-item");
    expect(first.textContent).toContain("Possible duplicate");
    expect(first.textContent).toContain("HW-031 and HW-004 look like the same animal");
    expect(first.textContent).toContain("found 2026-07-02 10:00 UTC");
    expect(second.textContent).toContain("Code clash");
    // Only a duplicate offers a merge.
    expect(screen.getAllByTestId("review-merge")).toHaveLength(1);

    fireEvent.click(screen.getByTestId("review-merge"));
    await waitFor(() => expect(api.individualMerge).toHaveBeenCalledWith(31, 4));
    await waitFor(() => expect(screen.getAllByTestId("review-item")).toHaveLength(1));
    expect(screen.queryByTestId("review-merge")).toBeNull();

    fireEvent.click(screen.getByTestId("review-dismiss"));
    await waitFor(() => expect(api.syncDismiss).toHaveBeenCalledWith(8));
    await screen.findByTestId("sync-review-empty");
    expect(screen.queryByTestId("sync-review-error")).toBeNull();
  });

  it("shows a refused dismissal and keeps the item", async () => {
    const clash = {
      id: 8,
      kind: "codeClash",
      detail: "two individuals named HW-012",
      foundAt: "2026-07-02T10:00:00Z",
      individualId: null,
      otherId: null,
    };
    api.syncStatus.mockResolvedValue({ ...configured, toReview: [clash] });
    api.syncDismiss.mockRejectedValue({ kind: "invalid", message: "no sync item 8 to dismiss (dismissed already?)" });
    render(<SyncScreen />);
    await waitFor(() => expect(screen.getAllByTestId("review-item")).toHaveLength(1));
    fireEvent.click(screen.getByTestId("review-dismiss"));
    await waitFor(() => expect(text("sync-review-error")).toContain("dismissed already"));
    expect(screen.getAllByTestId("review-item")).toHaveLength(1);
  });

  it("refuses a server address without a scheme without calling the engine, and shows a refusal from it", async () => {
    api.syncStatus.mockResolvedValue(unconfigured);
    api.syncConfigure.mockRejectedValueOnce({ kind: "invalid", message: "server `http://` must start with http:// or https://" });
    render(<SyncScreen />);
    await waitFor(() => expect(text("sync-server")).toBe("not configured"));
    fireEvent.input(input("sync-server-input"), { target: { value: "10.0.0.5:8787" } });
    fireEvent.click(screen.getByTestId("sync-save"));
    expect(text("sync-settings-error")).toMatch(/^Invalid: the server must be a URL starting with http:\/\/ or https:\/\//);
    expect(api.syncConfigure).not.toHaveBeenCalled();

    fireEvent.input(input("sync-server-input"), { target: { value: "http://x" } });
    fireEvent.click(screen.getByTestId("sync-save"));
    await waitFor(() => expect(text("sync-settings-error")).toBe("Invalid: server `http://` must start with http:// or https://"));
  });

  it("previews what a sync would do: counts, the more-to-come note and the conflicts", async () => {
    api.syncStatus.mockResolvedValue(configured);
    api.syncPreview.mockResolvedValue(plan);
    render(<SyncScreen />);
    await waitFor(() => expect(button("sync-preview").disabled).toBe(false));
    fireEvent.click(screen.getByTestId("sync-preview"));
    await screen.findByTestId("sync-plan");
    expect(api.syncPreview).toHaveBeenCalledTimes(1);
    expect(text("plan-push")).toBe("14");
    expect(text("plan-pull")).toBe("20000+");
    expect(text("plan-more")).toMatch(/More waits on the server than the preview looked at/);
    expect(text("plan-additions")).toBe("812");
    expect(text("plan-decisions")).toBe("57");
    expect(text("plan-merges")).toBe("2");
    expect(text("plan-already")).toBe("31");
    expect(text("plan-refused")).toBe("1");
    const conflicts = screen.getAllByTestId("conflict");
    expect(conflicts.map((c) => c.getAttribute("data-kind"))).toEqual(["decisions", "codeClash"]);
    expect(conflicts[0].textContent).toBe("Different decisionsdetection 88 in IMG_0412.JPG: ana said HW-004, ben said HW-019");
    expect(conflicts[1].textContent).toContain("Code clash");
    expect(conflicts[1].textContent).toContain("the one from ben is now HW-031-2");
    // Nothing was applied: no sync was started.
    expect(api.syncStart).not.toHaveBeenCalled();
  });

  it("shows a server that cannot be reached as a server error, not a file-system one", async () => {
    api.syncStatus.mockResolvedValue(configured);
    api.syncPreview.mockRejectedValueOnce({
      kind: "sync",
      message: "sync server http://10.0.0.5:8787: HTTP 401: unknown token",
    });
    render(<SyncScreen />);
    await waitFor(() => expect(button("sync-preview").disabled).toBe(false));
    fireEvent.click(screen.getByTestId("sync-preview"));
    await waitFor(() => expect(text("sync-preview-error")).toBe("Server: sync server http://10.0.0.5:8787: HTTP 401: unknown token"));
    expect(screen.getByTestId("sync-preview-error").getAttribute("data-kind")).toBe("sync");
    expect(screen.queryByTestId("sync-plan")).toBeNull();
    // The user can try again.
    expect(button("sync-preview").disabled).toBe(false);
  });

  it("streams a sync's progress, then shows the summary with refusals and conflicts and re-reads the status", async () => {
    api.syncStatus
      .mockResolvedValueOnce(configured)
      .mockResolvedValue({ ...configured, pending: 0, position: 512, lastSync: "2026-07-03T18:02:00Z" });
    api.syncPreview.mockResolvedValue(plan);
    render(<SyncScreen />);
    await waitFor(() => expect(button("sync-preview").disabled).toBe(false));
    fireEvent.click(screen.getByTestId("sync-preview"));
    await screen.findByTestId("sync-plan");

    const emit = await startSync(31);
    expect(api.syncStart).toHaveBeenCalledWith(expect.any(Function));
    expect(button("sync-start").disabled).toBe(true);
    expect(button("sync-preview").disabled).toBe(true);
    expect(input("sync-server-input").disabled).toBe(true);

    emit({ event: "progress", stage: "pushing", done: 14 });
    await waitFor(() => expect(text("sync-progress")).toContain("Pushing"));
    expect(text("sync-counts")).toBe("14 pushed · 0 pulled");
    emit({ event: "progress", stage: "pulling", done: 250 });
    await waitFor(() => expect(text("sync-progress")).toContain("Pulling"));
    expect(text("sync-counts")).toBe("14 pushed · 250 pulled");
    expect(screen.getByTestId("sync-progress").getAttribute("data-stage")).toBe("pulling");
    expect(screen.getByRole("progressbar").getAttribute("aria-valuetext")).toBe("Pulling");

    emit({
      event: "finished",
      summary: {
        pushed: 14,
        pulled: 282,
        applied: 270,
        refused: [{ op: "decide detection 41 → HW-007", reason: "HW-007 was merged into HW-002 on the server" }],
        conflicts: [{ kind: "decisions", detail: "detection 88 in IMG_0412.JPG: ana said HW-004, ben said HW-019" }],
        position: 512,
        photosSent: 0,
        photosFetched: 0,
        photosWaiting: 0,
        photosSkipped: [],
      },
    });
    await screen.findByTestId("sync-summary");
    expect(text("summary-pushed")).toBe("14");
    expect(text("summary-pulled")).toBe("282");
    expect(text("summary-applied")).toBe("270");
    expect(text("summary-position")).toBe("512");
    // Photos were not synced: no line about them.
    expect(screen.queryByTestId("summary-photos")).toBeNull();
    const refusals = screen.getAllByTestId("refusal");
    expect(refusals).toHaveLength(1);
    expect(refusals[0].textContent).toBe("decide detection 41 → HW-007HW-007 was merged into HW-002 on the server");
    expect(screen.getByTestId("sync-summary").textContent).toContain("sent again at the next sync");
    const conflicts = screen.getByTestId("summary-conflicts").querySelectorAll("[data-testid=conflict]");
    expect(conflicts).toHaveLength(1);
    expect(conflicts[0].textContent).toContain("ana said HW-004, ben said HW-019");
    expect(text("sync-progress")).toContain("Done");
    // The status is read again and the now stale preview goes.
    await waitFor(() => expect(text("sync-position")).toBe("512"));
    expect(text("sync-pending")).toBe("0");
    expect(text("sync-last")).toBe("2026-07-03 18:02 UTC");
    expect(screen.queryByTestId("sync-plan")).toBeNull();
    expect(button("sync-start").disabled).toBe(false);
    expect(screen.queryByTestId("sync-error")).toBeNull();
  });

  it("cancels the sync by its job id and says what was done stays", async () => {
    api.syncStatus.mockResolvedValue(configured);
    api.jobCancel.mockResolvedValue(undefined);
    render(<SyncScreen />);
    const emit = await startSync(44);
    emit({ event: "progress", stage: "pulling", done: 100 });
    fireEvent.click(screen.getByTestId("sync-cancel"));
    await waitFor(() => expect(api.jobCancel).toHaveBeenCalledWith(44));
    expect(text("sync-cancel")).toBe("Cancelling…");
    emit({ event: "cancelled" });
    await waitFor(() => expect(text("sync-cancelled")).toMatch(/What was sent or applied before stopping stays; the next sync carries on/));
    expect(text("sync-counts")).toBe("0 pushed · 100 pulled");
    expect(screen.queryByTestId("sync-summary")).toBeNull();
    expect(screen.queryByTestId("sync-error")).toBeNull();
  });

  it("shows a failed sync's error, and a busy refusal to start", async () => {
    api.syncStatus.mockResolvedValue(configured);
    render(<SyncScreen />);
    const emit = await startSync();
    emit({ event: "failed", error: { kind: "sync", message: "sync server http://10.0.0.5:8787: connection reset" } });
    await waitFor(() => expect(text("sync-error")).toBe("Server: sync server http://10.0.0.5:8787: connection reset"));
    expect(text("sync-progress")).toContain("Failed");
    expect(screen.queryByTestId("sync-summary")).toBeNull();

    api.syncStart.mockRejectedValueOnce({ kind: "busy", message: "a training run is in progress" });
    fireEvent.click(screen.getByTestId("sync-start"));
    await waitFor(() => expect(text("sync-error")).toBe("Busy: a training run is in progress"));
    expect(screen.getByTestId("sync-error").getAttribute("data-kind")).toBe("busy");
  });
});
