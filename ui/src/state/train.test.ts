import { describe, expect, it } from "vitest";
import type { TrainResult } from "../bindings/TrainResult";
import { DEFAULT_OPTIONS, TRAIN_IDLE, epochSeries, isTraining, optionsForm, parseOptions, reduceTrain, type EpochRecord, type TrainState } from "./train";

const running: TrainState = { ...TRAIN_IDLE, phase: "running", jobId: 3, options: DEFAULT_OPTIONS };
const epoch = (backbone: string, n: number, loss: number, valMap5: number | null): EpochRecord => ({
  event: "epoch",
  backbone,
  epoch: n,
  epochs: 3,
  loss,
  accuracy: 0.5,
  valMap5,
  seconds: 2,
});
const metrics = { count: 10, map5: 0.5, top1: 0.4, top5: 0.7 };
const result: TrainResult = {
  adopted: false,
  version: null,
  reason: "no better",
  before: { known: metrics, open: metrics, threshold: 0.4 },
  after: { known: metrics, open: metrics, threshold: 0.4 },
  trainDetections: 80,
  validationPhotos: 12,
  validationIndividuals: 3,
  seconds: 60,
  ranOn: "CPU",
};

describe("reduceTrain", () => {
  it("phase events replace the step; epoch events accumulate", () => {
    let s = reduceTrain(running, { event: "phase", phase: "features", done: 2, total: 9 });
    expect(s.step).toEqual({ phase: "features", done: 2, total: 9 });
    s = reduceTrain(s, { event: "phase", phase: "training", done: 0, total: 6 });
    s = reduceTrain(s, epoch("a", 1, 9, null));
    s = reduceTrain(s, epoch("a", 2, 7, 0.4));
    expect(s.step?.phase).toBe("training");
    expect(s.epochs.map((e) => e.loss)).toEqual([9, 7]);
  });
  it("a late event does not undo a pending cancel", () => {
    const s = reduceTrain({ ...running, phase: "cancelling" }, epoch("a", 1, 9, null));
    expect(s.phase).toBe("cancelling");
    expect(isTraining(s.phase)).toBe(true);
  });
  it("ends in exactly the state the last event names", () => {
    expect(reduceTrain(running, { event: "finished", result }).result).toBe(result);
    expect(reduceTrain(running, { event: "cancelled" }).phase).toBe("cancelled");
    const f = reduceTrain(running, { event: "failed", error: { kind: "model", message: "no backbone" } });
    expect(f.phase).toBe("failed");
    expect(f.error).toEqual({ kind: "model", message: "no backbone" });
    expect(reduceTrain(running, { event: "failed", error: { kind: "cancelled", message: "" } }).phase).toBe("cancelled");
  });
});

describe("epochSeries", () => {
  it("makes one series per backbone in training order, keeping null scores", () => {
    const s = epochSeries([epoch("b5", 1, 9, null), epoch("b5", 2, 7, 0.4), epoch("cnx", 1, 8, 0.3)], (e) => e.valMap5);
    expect(s).toEqual([
      { key: "b5", points: [{ x: 1, y: null }, { x: 2, y: 0.4 }] },
      { key: "cnx", points: [{ x: 1, y: 0.3 }] },
    ]);
  });
});

describe("parseOptions", () => {
  it("round-trips the defaults: 20 epochs, seed 42, one sub-centre, fixed margins", () => {
    expect(parseOptions(optionsForm(DEFAULT_OPTIONS))).toEqual({ epochs: 40, seed: 42, subcenters: 1, dynamicMargin: false });
  });
  it("refuses what the engine cannot take", () => {
    const f = optionsForm(DEFAULT_OPTIONS);
    expect(parseOptions({ ...f, epochs: "0" })).toMatchObject({ kind: "invalid" });
    expect(parseOptions({ ...f, epochs: "2.5" })).toMatchObject({ kind: "invalid" });
    expect(parseOptions({ ...f, seed: "-1" })).toMatchObject({ kind: "invalid" });
    expect(parseOptions({ ...f, seed: "4294967296" })).toMatchObject({ kind: "invalid" });
    expect(parseOptions({ ...f, subcenters: "3" })).toMatchObject({ kind: "invalid" });
    expect(parseOptions({ ...f, epochs: " 5 ", seed: "0", subcenters: "2", dynamicMargin: true })).toEqual({
      epochs: 5,
      seed: 0,
      subcenters: 2,
      dynamicMargin: true,
    });
  });
});
