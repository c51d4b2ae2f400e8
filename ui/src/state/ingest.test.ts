import { describe, expect, it } from "vitest";
import type { IngestSummary } from "../bindings/IngestSummary";
import { IDLE, isActive, reduceIngest, type IngestState } from "./ingest";

const running: IngestState = { ...IDLE, phase: "scanning", paths: ["/s"], jobId: 1 };
const summary: IngestSummary = {
  newPhotos: 3,
  knownPhotos: 2,
  failed: [],
  skipped: [],
  detections: 4,
  noDetection: [],
  encounters: 1,
  newIndividualSuggestions: 1,
  seconds: 2,
  photosPerSecond: 1.5,
  ranOn: "CPU",
};

describe("reduceIngest", () => {
  it("scanned sets the total before the first progress event", () => {
    const s = reduceIngest(running, { event: "scanned", files: 40, skipped: 2 });
    expect(s.phase).toBe("running");
    expect(s.progress).toEqual({ read: 0, done: 0, total: 40, photosPerSecond: 0, etaSeconds: null });
    expect(s.scanned).toEqual({ files: 40, skipped: 2 });
  });
  it("progress replaces the counters", () => {
    const s = reduceIngest(running, { event: "progress", read: 12, done: 10, total: 40, photosPerSecond: 2.5, etaSeconds: 12 });
    expect(s.progress).toEqual({ read: 12, done: 10, total: 40, photosPerSecond: 2.5, etaSeconds: 12 });
  });
  it("a late progress event does not undo a pending cancel", () => {
    const s = reduceIngest({ ...running, phase: "cancelling" }, { event: "progress", read: 1, done: 1, total: 4, photosPerSecond: 1, etaSeconds: 3 });
    expect(s.phase).toBe("cancelling");
    expect(isActive(s.phase)).toBe(true);
  });
  it("finished stores the summary and fills the bar", () => {
    let s = reduceIngest(running, { event: "progress", read: 5, done: 4, total: 5, photosPerSecond: 1, etaSeconds: 1 });
    s = reduceIngest(s, { event: "finished", summary });
    expect(s.phase).toBe("finished");
    expect(s.summary).toBe(summary);
    expect(s.progress?.done).toBe(5);
    expect(isActive(s.phase)).toBe(false);
  });
  it("cancelled and failed end the job", () => {
    expect(reduceIngest(running, { event: "cancelled", done: 7 })).toMatchObject({ phase: "cancelled", cancelledDone: 7 });
    const f = reduceIngest(running, { event: "failed", error: { kind: "model", message: "no pack" } });
    expect(f).toMatchObject({ phase: "failed", error: { kind: "model" } });
    expect(reduceIngest(running, { event: "failed", error: { kind: "cancelled", message: "" } }).phase).toBe("cancelled");
  });
});
