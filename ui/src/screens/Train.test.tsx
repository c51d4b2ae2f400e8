// @vitest-environment jsdom
import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/preact";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { TrainEvent } from "../bindings/TrainEvent";
import type { TrainOverview } from "../bindings/TrainOverview";
import type { TrainResult } from "../bindings/TrainResult";

const api = vi.hoisted(() => ({ trainOverview: vi.fn(), trainStart: vi.fn(), trainRollback: vi.fn(), jobCancel: vi.fn() }));
vi.mock("../ipc", async (orig) => ({ ...(await orig<typeof import("../ipc")>()), ...api }));

const { TrainScreen } = await import("./Train");
const { trainStore, TRAIN_IDLE } = await import("../state/train");

const base: TrainOverview = {
  individuals: 41,
  detections: 318,
  individualsWithRepeats: 27,
  missingFeatures: 12,
  canTrain: true,
  reason: null,
  activeVersion: "1.0",
  versions: [{ version: "1.0", parent: null, createdAt: "2026-05-01T09:00:00", active: true, map5Before: null, map5After: null }],
};
const adoptedOverview: TrainOverview = {
  ...base,
  missingFeatures: 0,
  activeVersion: "1.0-ft1",
  versions: [
    { version: "1.0", parent: null, createdAt: "2026-05-01T09:00:00", active: false, map5Before: null, map5After: null },
    { version: "1.0-ft1", parent: "1.0", createdAt: "2026-07-02T16:40:00", active: true, map5Before: 0.612, map5After: 0.688 },
  ],
};
const result = (over: Partial<TrainResult> = {}): TrainResult => ({
  adopted: true,
  version: "1.0-ft1",
  reason: "MAP@5 with new individuals rose from 0.612 to 0.688.",
  before: { known: { count: 64, map5: 0.701, top1: 0.625, top5: 0.812 }, open: { count: 80, map5: 0.612, top1: 0.55, top5: 0.7 }, threshold: 0.45 },
  after: { known: { count: 64, map5: 0.774, top1: 0.703, top5: 0.859 }, open: { count: 80, map5: 0.688, top1: 0.6, top5: 0.75 }, threshold: 0.52 },
  trainDetections: 254,
  validationPhotos: 64,
  validationIndividuals: 4,
  seconds: 185,
  ranOn: "CPU",
  ...over,
});
const epoch = (backbone: string, n: number, loss: number, valMap5: number | null): TrainEvent => ({
  event: "epoch",
  backbone,
  epoch: n,
  epochs: 3,
  loss,
  accuracy: 0.3 + n / 10,
  valMap5,
  seconds: 4,
});

/** Starts a run from the screen and returns the channel callback. */
async function startRun(jobId = 17): Promise<(e: TrainEvent) => void> {
  let emit: (e: TrainEvent) => void = () => {};
  api.trainStart.mockImplementation(async (_o: unknown, cb: (e: TrainEvent) => void) => {
    emit = cb;
    return jobId;
  });
  await waitFor(() => expect((screen.getByTestId("train-start") as HTMLButtonElement).disabled).toBe(false));
  fireEvent.click(screen.getByTestId("train-start"));
  await waitFor(() => expect((screen.getByTestId("train-cancel") as HTMLButtonElement).disabled).toBe(false));
  return (e) => emit(e);
}

const text = (id: string) => screen.getByTestId(id).textContent ?? "";

afterEach(() => {
  cleanup();
  trainStore.set(TRAIN_IDLE);
  vi.clearAllMocks();
});

describe("TrainScreen", () => {
  it("shows what there is to train on and refuses to start, with the reason, when it cannot", async () => {
    api.trainOverview.mockResolvedValue({
      ...base,
      individuals: 2,
      detections: 5,
      individualsWithRepeats: 0,
      canTrain: false,
      reason: "at least 10 individuals with two or more photos are needed (0 so far)",
    });
    render(<TrainScreen onChanged={() => {}} />);
    await waitFor(() => expect(text("train-individuals")).toBe("2"));
    expect(text("train-detections")).toBe("5");
    expect(text("train-repeats")).toBe("0");
    expect(text("train-missing")).toBe("12");
    expect(text("train-missing-note")).toMatch(/12 detections have no cached features yet; they are computed first, from the photos/);
    expect(text("train-active-version")).toBe("1.0");
    expect(text("train-reason")).toContain("at least 10 individuals with two or more photos are needed (0 so far)");
    expect((screen.getByTestId("train-start") as HTMLButtonElement).disabled).toBe(true);
    fireEvent.click(screen.getByTestId("train-start"));
    expect(api.trainStart).not.toHaveBeenCalled();
  });

  it("streams a run into the phase line and both plots, then shows before/after and the adopted version", async () => {
    api.trainOverview.mockResolvedValueOnce(base).mockResolvedValueOnce(adoptedOverview);
    render(<TrainScreen onChanged={() => {}} />);
    expect((screen.getByTestId("train-epochs") as HTMLInputElement).value).toBe("40");
    expect((screen.getByTestId("train-seed") as HTMLInputElement).value).toBe("42");
    expect((screen.getByTestId("train-subcenters") as HTMLSelectElement).value).toBe("1");
    expect((screen.getByTestId("train-dynamic-margin") as HTMLInputElement).checked).toBe(false);
    fireEvent.input(screen.getByTestId("train-epochs"), { target: { value: "3" } });
    fireEvent.change(screen.getByTestId("train-subcenters"), { target: { value: "2" } });
    fireEvent.click(screen.getByTestId("train-dynamic-margin"));

    const emit = await startRun(17);
    expect(api.trainStart).toHaveBeenCalledWith({ epochs: 3, seed: 42, subcenters: 2, dynamicMargin: true }, expect.any(Function));
    expect((screen.getByTestId("train-start") as HTMLButtonElement).disabled).toBe(true);

    emit({ event: "phase", phase: "features", done: 4, total: 12 });
    await waitFor(() => expect(text("train-progress")).toContain("Computing features"));
    expect(text("train-progress")).toContain("4/12");
    const bar = screen.getByRole("progressbar");
    expect(bar.getAttribute("aria-valuenow")).toBe("4");
    expect(bar.getAttribute("aria-valuemax")).toBe("12");

    emit({ event: "phase", phase: "views", done: 8, total: 20 });
    await waitFor(() => expect(text("train-progress")).toContain("Computing augmented views"));
    expect(text("train-progress")).toContain("8/20");

    emit({ event: "phase", phase: "training", done: 0, total: 6 });
    emit(epoch("effnet-b5", 1, 9.81, null));
    emit(epoch("effnet-b5", 2, 7.42, 0.641));
    emit(epoch("effnet-b5", 3, 6.1, 0.702));
    emit(epoch("convnext", 1, 10.2, null));
    emit(epoch("convnext", 2, 8.03, 0.655));
    emit({ event: "phase", phase: "training", done: 5, total: 6 });
    await waitFor(() => expect(text("train-epoch")).toContain("convnext · epoch 2/3 · loss 8.030"));
    expect(text("train-progress")).toContain("Training");
    expect(text("train-progress")).toContain("5/6");

    const loss = screen.getByTestId("train-loss-plot");
    const lossLines = loss.querySelectorAll("path.plot-line");
    expect(lossLines).toHaveLength(2);
    expect([...loss.querySelectorAll("[data-backbone]")].map((g) => g.getAttribute("data-backbone"))).toEqual(["effnet-b5", "convnext"]);
    expect(lossLines[0].getAttribute("d")).toMatch(/^M[\d.]+ [\d.]+ L[\d.]+ [\d.]+ L[\d.]+ [\d.]+$/);
    expect(loss.querySelector("svg title")?.textContent).toBe("Training loss per epoch");
    expect(loss.querySelector("svg desc")?.textContent).toBe("effnet-b5: 6.100 at epoch 3; convnext: 8.030 at epoch 2");
    // Epoch 1 had no validation score: two measured points for effnet-b5, one for convnext (a dot, no line).
    const map = screen.getByTestId("train-map-plot");
    const mapSeries = map.querySelectorAll("[data-backbone]");
    expect(mapSeries[0].querySelectorAll("circle")).toHaveLength(2);
    expect(mapSeries[0].querySelector("path.plot-line")?.getAttribute("d")).toMatch(/^M[\d.]+ [\d.]+ L[\d.]+ [\d.]+$/);
    expect(mapSeries[1].querySelectorAll("circle")).toHaveLength(1);
    expect(mapSeries[1].querySelector("path.plot-line")).toBeNull();
    expect(map.textContent).toContain("0.702");

    emit({ event: "phase", phase: "adopting", done: 1, total: 2 });
    emit({ event: "finished", result: result() });
    await screen.findByTestId("train-result");
    expect(text("train-verdict")).toBe("Adopted as version 1.0-ft1. MAP@5 with new individuals rose from 0.612 to 0.688.");
    expect(text("score-known-map5")).toBe("MAP@50.7010.774+0.073");
    expect(text("score-known-top1")).toContain("0.625");
    expect(text("score-known-top5")).toContain("0.859");
    expect(text("score-open-map5")).toBe("MAP@50.6120.688+0.076");
    expect(text("score-open-top1")).toContain("+0.050");
    expect(text("score-threshold")).toContain("0.450");
    expect(text("score-threshold")).toContain("0.520");
    expect(text("train-scores")).toMatch(/Known individuals \(held-out photos\) · 64 queries/);
    expect(text("train-scores")).toMatch(/With new individuals · 80 queries/);
    expect(text("split-train")).toBe("254");
    expect(text("split-photos")).toBe("64");
    expect(text("split-individuals")).toBe("4");
    expect(text("train-seconds")).toBe("3 min 05 s");
    expect(text("train-ran-on")).toBe("Trained on: CPU");
    expect(screen.queryByTestId("train-gpu-fallback")).toBeNull();
    expect(text("train-progress")).toContain("Done");
    // The overview is read again: the new version is active, and the plots stay.
    await waitFor(() => expect(text("train-active-version")).toBe("1.0-ft1"));
    expect(api.trainOverview).toHaveBeenCalledTimes(2);
    expect(screen.getAllByTestId("train-version").find((r) => r.getAttribute("aria-current") === "true")?.getAttribute("data-version")).toBe(
      "1.0-ft1",
    );
    expect(screen.getByTestId("train-loss-plot").querySelectorAll("path.plot-line")).toHaveLength(2);
    expect((screen.getByTestId("train-start") as HTMLButtonElement).disabled).toBe(false);
  });

  it("says why a run that did no better was not adopted", async () => {
    api.trainOverview.mockResolvedValue(base);
    render(<TrainScreen onChanged={() => {}} />);
    const emit = await startRun();
    emit({
      event: "finished",
      result: result({
        adopted: false,
        version: null,
        reason: "MAP@5 with new individuals fell from 0.612 to 0.598.",
        after: { ...result().before, open: { count: 80, map5: 0.598, top1: 0.54, top5: 0.69 } },
      }),
    });
    await screen.findByTestId("train-result");
    expect(screen.getByTestId("train-verdict").getAttribute("data-adopted")).toBe("false");
    expect(text("train-verdict")).toBe("Not adopted: MAP@5 with new individuals fell from 0.612 to 0.598. The active version is unchanged.");
    expect(text("score-open-map5")).toContain("−0.014");
    expect(screen.getByTestId("score-open-map5").querySelector(".delta")?.classList.contains("down")).toBe(true);
  });

  it("warns when a build that trains on the GPU could not use it", async () => {
    api.trainOverview.mockResolvedValue(base);
    render(<TrainScreen onChanged={() => {}} />);
    const emit = await startRun();
    emit({
      event: "finished",
      result: result({ gpuFallback: "training on the GPU: CUDA device 0 could not be used: no CUDA driver" }),
    });
    await screen.findByTestId("train-result");
    expect(text("train-ran-on")).toBe("Trained on: CPU");
    const warning = screen.getByTestId("train-gpu-fallback");
    expect(warning.getAttribute("role")).toBe("alert");
    expect(warning.textContent).toBe("Warning: training on the GPU: CUDA device 0 could not be used: no CUDA driver; it trained on the CPU.");
  });

  it("cancels the run by its job id and says nothing was adopted", async () => {
    api.trainOverview.mockResolvedValue(base);
    api.jobCancel.mockResolvedValue(undefined);
    render(<TrainScreen onChanged={() => {}} />);
    const emit = await startRun(23);
    emit({ event: "phase", phase: "training", done: 1, total: 6 });
    fireEvent.click(screen.getByTestId("train-cancel"));
    await waitFor(() => expect(api.jobCancel).toHaveBeenCalledWith(23));
    expect(screen.getByTestId("train-cancel").textContent).toBe("Cancelling…");
    emit({ event: "cancelled" });
    await waitFor(() => expect(text("train-cancelled")).toMatch(/Nothing was adopted; the active version is unchanged/));
    expect(screen.queryByTestId("train-result")).toBeNull();
    expect(screen.queryByTestId("train-error")).toBeNull();
  });

  it("shows a failed run's error, and a busy refusal to start", async () => {
    api.trainOverview.mockResolvedValue(base);
    render(<TrainScreen onChanged={() => {}} />);
    const emit = await startRun();
    emit({ event: "failed", error: { kind: "model", message: "pack has no trainable neck" } });
    await waitFor(() => expect(text("train-error")).toBe("Model: pack has no trainable neck"));
    expect(text("train-progress")).toContain("Failed");

    api.trainStart.mockRejectedValueOnce({ kind: "busy", message: "an import is running" });
    fireEvent.click(screen.getByTestId("train-start"));
    await waitFor(() => expect(text("train-error")).toBe("Busy: an import is running"));
    expect(screen.getByTestId("train-error").getAttribute("data-kind")).toBe("busy");
  });

  it("refuses options the engine cannot take without calling it", async () => {
    api.trainOverview.mockResolvedValue(base);
    render(<TrainScreen onChanged={() => {}} />);
    await waitFor(() => expect((screen.getByTestId("train-start") as HTMLButtonElement).disabled).toBe(false));
    fireEvent.input(screen.getByTestId("train-epochs"), { target: { value: "0" } });
    fireEvent.click(screen.getByTestId("train-start"));
    expect(text("train-screen-error")).toMatch(/epochs must be a whole number/);
    expect(api.trainStart).not.toHaveBeenCalled();
  });

  it("rolls back to the active version's parent, or switches to a chosen version", async () => {
    api.trainOverview.mockResolvedValue(adoptedOverview);
    api.trainRollback.mockResolvedValueOnce(base);
    const onChanged = vi.fn();
    render(<TrainScreen onChanged={onChanged} />);
    await waitFor(() => expect(screen.getAllByTestId("train-version")).toHaveLength(2));
    const [orig, ft] = screen.getAllByTestId("train-version");
    expect(ft.textContent).toContain("active");
    expect(ft.textContent).toContain("0.612 → 0.688");
    expect(ft.textContent).toContain("2026-07-02 16:40");
    expect(orig.textContent).toContain("original pack");
    // Only the active version rolls back; the others can be chosen.
    expect(screen.getAllByTestId("train-rollback")).toHaveLength(1);
    expect(orig.querySelector("[data-testid=train-use-version]")).not.toBeNull();

    fireEvent.click(screen.getByTestId("train-rollback"));
    await waitFor(() => expect(api.trainRollback).toHaveBeenCalledWith(null));
    await waitFor(() => expect(text("train-active-version")).toBe("1.0"));
    expect(onChanged).toHaveBeenCalled();
    expect(screen.getByText("Now using version 1.0.")).toBeTruthy();
    // 1.0 is active again and has no parent: nothing to roll back to.
    expect(screen.queryByTestId("train-rollback")).toBeNull();

    api.trainRollback.mockRejectedValueOnce({ kind: "notFound", message: "version 1.0-ft1 is gone" });
    api.trainOverview.mockResolvedValue(adoptedOverview);
    cleanup();
    render(<TrainScreen onChanged={onChanged} />);
    await waitFor(() => expect(screen.getAllByTestId("train-use-version")).toHaveLength(1));
    fireEvent.click(screen.getByTestId("train-use-version"));
    await waitFor(() => expect(api.trainRollback).toHaveBeenLastCalledWith("1.0"));
    await waitFor(() => expect(text("train-screen-error")).toBe("Not found: version 1.0-ft1 is gone"));
  });
});
