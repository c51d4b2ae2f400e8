/**
 * The fine-tuning job: a pure reducer from `train_start` channel events to
 * what the Train screen shows, and the store that holds it across
 * navigation (a run takes minutes; the researcher may go on reviewing).
 * Starting and cancelling go through the IPC gateway, like the import job.
 */
import type { AppError } from "../bindings/AppError";
import type { TrainEvent } from "../bindings/TrainEvent";
import type { TrainOptions } from "../bindings/TrainOptions";
import type { TrainPhase } from "../bindings/TrainPhase";
import type { TrainResult } from "../bindings/TrainResult";
import { jobCancel, toAppError, trainStart } from "../ipc";
import { createStore } from "./store";

export type TrainRunPhase = "idle" | "starting" | "running" | "cancelling" | "finished" | "cancelled" | "failed";

export type TrainStep = { phase: TrainPhase; done: number; total: number };
export type EpochRecord = Extract<TrainEvent, { event: "epoch" }>;

export type TrainState = {
  phase: TrainRunPhase;
  options: TrainOptions | null;
  jobId: number | null;
  step: TrainStep | null;
  /** Every epoch event of the run, in arrival order (all backbones). */
  epochs: EpochRecord[];
  result: TrainResult | null;
  error: AppError | null;
};

export const TRAIN_IDLE: TrainState = {
  phase: "idle",
  options: null,
  jobId: null,
  step: null,
  epochs: [],
  result: null,
  error: null,
};

export const DEFAULT_OPTIONS: TrainOptions = { epochs: 40, seed: 42, subcenters: 1, dynamicMargin: false };

export function isTraining(phase: TrainRunPhase): boolean {
  return phase === "starting" || phase === "running" || phase === "cancelling";
}

export function reduceTrain(s: TrainState, e: TrainEvent): TrainState {
  // A late progress event must not undo a pending cancel.
  const running = s.phase === "cancelling" ? s.phase : "running";
  switch (e.event) {
    case "phase":
      return { ...s, phase: running, step: { phase: e.phase, done: e.done, total: e.total } };
    case "epoch":
      return { ...s, phase: running, epochs: [...s.epochs, e] };
    case "finished":
      return { ...s, phase: "finished", result: e.result };
    case "cancelled":
      return { ...s, phase: "cancelled" };
    case "failed":
      return { ...s, phase: e.error.kind === "cancelled" ? "cancelled" : "failed", error: e.error };
  }
}

/** Epoch events as plot series: one per backbone, in the order they first trained. */
export function epochSeries(
  epochs: EpochRecord[],
  value: (e: EpochRecord) => number | null,
): { key: string; points: { x: number; y: number | null }[] }[] {
  const by = new Map<string, { x: number; y: number | null }[]>();
  for (const e of epochs) {
    const pts = by.get(e.backbone) ?? [];
    // A repeated epoch (should not happen) replaces the earlier value.
    const i = pts.findIndex((p) => p.x === e.epoch);
    if (i >= 0) pts[i] = { x: e.epoch, y: value(e) };
    else pts.push({ x: e.epoch, y: value(e) });
    by.set(e.backbone, pts);
  }
  return [...by].map(([key, points]) => ({ key, points }));
}

export type OptionsForm = { epochs: string; seed: string; subcenters: string; dynamicMargin: boolean };

export function optionsForm(o: TrainOptions): OptionsForm {
  return { epochs: String(o.epochs), seed: String(o.seed), subcenters: String(o.subcenters), dynamicMargin: o.dynamicMargin };
}

/** Validates the form once into typed options, or says what is wrong. */
export function parseOptions(f: OptionsForm): TrainOptions | AppError {
  const whole = (s: string) => (/^\s*\d+\s*$/.test(s) ? Number(s) : NaN);
  const epochs = whole(f.epochs);
  const seed = whole(f.seed);
  const subcenters = whole(f.subcenters);
  if (!(epochs >= 1 && epochs <= 1000)) return { kind: "invalid", message: "epochs must be a whole number from 1 to 1000" };
  if (!(seed >= 0 && seed <= 0xffff_ffff)) {
    return { kind: "invalid", message: "seed must be a whole number from 0 to 4294967295" };
  }
  if (subcenters !== 1 && subcenters !== 2) return { kind: "invalid", message: "sub-centres must be 1 or 2" };
  return { epochs, seed, subcenters, dynamicMargin: f.dynamicMargin };
}

export const trainStore = createStore<TrainState>(TRAIN_IDLE);

/** Listeners told when a run ends, e.g. to refresh the overview and the header's pack version. */
const onEnd = new Set<() => void>();
export function onTrainEnd(fn: () => void): () => void {
  onEnd.add(fn);
  return () => onEnd.delete(fn);
}

export async function startTrain(options: TrainOptions): Promise<void> {
  if (isTraining(trainStore.get().phase)) return;
  trainStore.set({ ...TRAIN_IDLE, phase: "starting", options });
  try {
    const jobId = await trainStart(options, (ev) => {
      trainStore.set((s) => reduceTrain(s, ev));
      if (ev.event === "finished" || ev.event === "cancelled" || ev.event === "failed") onEnd.forEach((fn) => fn());
    });
    // Events may already have moved us on; only record the id.
    trainStore.set((s) => ({ ...s, jobId, phase: s.phase === "starting" ? "running" : s.phase }));
  } catch (e) {
    trainStore.set((s) => ({ ...s, phase: "failed", error: toAppError(e) }));
  }
}

export async function cancelTrain(): Promise<void> {
  const s = trainStore.get();
  if (s.jobId == null || !isTraining(s.phase)) return;
  trainStore.set({ ...s, phase: "cancelling" });
  try {
    await jobCancel(s.jobId);
  } catch (e) {
    // The run goes on; let the Cancel button be pressed again.
    trainStore.set((x) => ({ ...x, phase: x.phase === "cancelling" ? "running" : x.phase, error: toAppError(e) }));
  }
}

export function resetTrain(): void {
  if (!isTraining(trainStore.get().phase)) trainStore.set((s) => ({ ...TRAIN_IDLE, options: s.options }));
}
