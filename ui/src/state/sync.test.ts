import { describe, expect, it } from "vitest";
import type { SyncSummary } from "../bindings/SyncSummary";
import { SYNC_IDLE, isSyncing, parseSettings, reduceSync, settingsForm, type SyncState } from "./sync";

const running: SyncState = { ...SYNC_IDLE, phase: "running", jobId: 4 };
const summary: SyncSummary = {
  pushed: 3,
  pulled: 10,
  applied: 8,
  refused: [],
  conflicts: [],
  position: 52,
  photosSent: 0,
  photosFetched: 0,
  photosWaiting: 0,
  photosSkipped: [],
};

describe("reduceSync", () => {
  it("keeps each stage's count and the latest stage", () => {
    let s = reduceSync({ ...SYNC_IDLE, phase: "starting" }, { event: "progress", stage: "pushing", done: 50 });
    s = reduceSync(s, { event: "progress", stage: "pushing", done: 120 });
    s = reduceSync(s, { event: "progress", stage: "pulling", done: 30 });
    expect(s).toMatchObject({ phase: "running", stage: "pulling", pushed: 120, pulled: 30, photoBytes: 0 });
    s = reduceSync(s, { event: "progress", stage: "photos", done: 4_194_304 });
    expect(s).toMatchObject({ stage: "photos", pushed: 120, pulled: 30, photoBytes: 4_194_304 });
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
  const stored = {
    server: "http://10.0.0.5:8787",
    author: "ana",
    hasToken: true,
    caCert: null,
    photos: false,
    lastSync: null,
    pending: 0,
    position: 0,
    toReview: [],
  };
  const form = settingsForm(stored);
  it("starts from the stored status with an empty token, which keeps the stored one", () => {
    expect(form).toEqual({ server: "http://10.0.0.5:8787", token: "", author: "ana", caCert: "", photos: false });
    expect(parseSettings(form)).toEqual({ server: "http://10.0.0.5:8787", token: null, author: "ana", caCert: null, photos: false });
    expect(parseSettings({ ...form, token: "   " })).toMatchObject({ token: null });
  });
  it("sends a typed token, trimmed like the other fields", () => {
    expect(parseSettings({ server: " https://whales.example.org ", token: " tok-1 ", author: " Ben ", caCert: "", photos: true })).toEqual({
      server: "https://whales.example.org",
      token: "tok-1",
      author: "Ben",
      caCert: null,
      photos: true,
    });
  });
  it("keeps the stored CA certificate and photo choice, and sends a typed CA path trimmed", () => {
    const team = settingsForm({ ...stored, caCert: "/etc/whaleid/team-ca.pem", photos: true });
    expect(team).toMatchObject({ caCert: "/etc/whaleid/team-ca.pem", photos: true });
    expect(parseSettings({ ...team, caCert: "  /home/ana/ca.pem " })).toMatchObject({ caCert: "/home/ana/ca.pem", photos: true });
    expect(parseSettings({ ...team, caCert: "   " })).toMatchObject({ caCert: null });
  });
  it("refuses a server without a scheme and an empty author", () => {
    expect(parseSettings({ ...form, server: "10.0.0.5:8787" })).toMatchObject({ kind: "invalid" });
    expect(parseSettings({ ...form, server: "" })).toMatchObject({ kind: "invalid" });
    expect(parseSettings({ ...form, author: "  " })).toMatchObject({ kind: "invalid" });
  });
  it("an unconfigured catalogue gives an empty server field", () => {
    expect(settingsForm({ ...stored, server: null, hasToken: false, pending: 3 }).server).toBe("");
  });
});
