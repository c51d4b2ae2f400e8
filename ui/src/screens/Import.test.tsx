// @vitest-environment jsdom
import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/preact";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { IngestEvent } from "../bindings/IngestEvent";

const api = vi.hoisted(() => ({ ingestStart: vi.fn(), jobCancel: vi.fn() }));
vi.mock("../ipc", async (orig) => ({ ...(await orig<typeof import("../ipc")>()), ...api }));

const { ImportScreen } = await import("./Import");
const { ingestStore, IDLE } = await import("../state/ingest");

afterEach(() => {
  cleanup();
  ingestStore.set(IDLE);
  localStorage.clear();
  vi.clearAllMocks();
});

describe("ImportScreen", () => {
  it("runs a job from the typed path: progress, cancel, then a summary with problems", async () => {
    let emit: (e: IngestEvent) => void = () => {};
    api.ingestStart.mockImplementation(async (_paths: string[], _species: string | null, cb: (e: IngestEvent) => void) => {
      emit = cb;
      return 9;
    });
    api.jobCancel.mockResolvedValue(undefined);
    const onReview = vi.fn();
    render(<ImportScreen onReview={onReview} />);

    fireEvent.input(screen.getByTestId("import-path"), { target: { value: "/media/card" } });
    fireEvent.input(screen.getByTestId("import-species"), { target: { value: " humpback_whale " } });
    fireEvent.click(screen.getByTestId("import-start"));
    await waitFor(() =>
      expect(api.ingestStart).toHaveBeenCalledWith(["/media/card"], "humpback_whale", expect.any(Function)),
    );
    await waitFor(() => expect((screen.getByTestId("import-cancel") as HTMLButtonElement).disabled).toBe(false));

    emit({ event: "scanned", files: 10, skipped: 1 });
    emit({ event: "progress", read: 5, done: 4, total: 10, photosPerSecond: 2, etaSeconds: 3 });
    await waitFor(() => expect(screen.getByTestId("import-progress").textContent).toContain("4/10"));
    expect(screen.getByTestId("import-progress").textContent).toContain("2.0 photos/s");
    expect((screen.getByTestId("import-start") as HTMLButtonElement).disabled).toBe(true);

    fireEvent.click(screen.getByTestId("import-cancel"));
    await waitFor(() => expect(api.jobCancel).toHaveBeenCalledWith(9));

    emit({
      event: "finished",
      summary: {
        newPhotos: 6,
        knownPhotos: 3,
        failed: [{ path: "/media/card/bad.jpg", reason: "truncated JPEG" }],
        skipped: [{ path: "/media/card/notes.txt", reason: "not a photo" }],
        detections: 8,
        noDetection: ["/media/card/sea.jpg"],
        encounters: 2,
        newIndividualSuggestions: 1,
        seconds: 5,
        photosPerSecond: 1.8,
        ranOn: "CPU",
        gpuFallback: "CUDA not available: Failed to load library libonnxruntime_providers_cuda.so with error: libcuda.so.1: cannot open shared object file",
      },
    });
    await screen.findByTestId("import-summary");
    expect(screen.getByTestId("summary-new").textContent).toBe("6");
    expect(screen.getByTestId("summary-known").textContent).toBe("3");
    expect(screen.getByTestId("summary-failed").textContent).toBe("1");
    expect(screen.getByTestId("summary-detections").textContent).toBe("8");
    // A GPU asked for and not had is said, never silent.
    expect(screen.getByTestId("summary-ran-on").textContent).toBe("Ran on: CPU");
    const fallback = screen.getByTestId("summary-gpu-fallback");
    expect(fallback.getAttribute("role")).toBe("alert");
    expect(fallback.textContent).toContain("Warning: CUDA not available: Failed to load library libonnxruntime_providers_cuda.so");
    expect(fallback.textContent).toContain("ran on the CPU");
    const problems = screen.getByTestId("import-problems").querySelectorAll("li");
    expect([...problems].map((li) => li.getAttribute("data-kind"))).toEqual(["failed", "skipped"]);
    expect(problems[0].textContent).toContain("truncated JPEG");
    expect(screen.getByTestId("import-summary").textContent).toMatch(/3 photos were already in the catalogue/);
    fireEvent.click(screen.getByTestId("go-review"));
    expect(onReview).toHaveBeenCalled();
  });

  it("shows the folder walk as it goes, then the import's own progress", async () => {
    let emit: (e: IngestEvent) => void = () => {};
    api.ingestStart.mockImplementation(async (_p: string[], _s: string | null, cb: (e: IngestEvent) => void) => {
      emit = cb;
      return 4;
    });
    render(<ImportScreen onReview={() => {}} />);
    fireEvent.input(screen.getByTestId("import-path"), { target: { value: "/media/card" } });
    fireEvent.click(screen.getByTestId("import-start"));
    await waitFor(() => expect(api.ingestStart).toHaveBeenCalled());
    const progress = () => screen.getByTestId("import-progress");

    emit({ event: "scanning", seen: 12, photos: 10, folder: "/media/card/DCIM/100CANON" });
    await waitFor(() => expect(screen.getByTestId("import-scan").textContent).toBe("12 files, 10 photos"));
    expect(progress().textContent).toContain("Scanning…");
    expect(progress().textContent).toContain("100CANON");
    // No "0/0" nor an ETA while nothing is known of the total.
    expect(progress().textContent).not.toMatch(/0\/0|ETA/);

    emit({ event: "scanning", seen: 1234, photos: 1100, folder: "/media/card/DCIM/101CANON" });
    await waitFor(() => expect(screen.getByTestId("import-scan").textContent).toBe("1,234 files, 1,100 photos"));
    expect(progress().textContent).toContain("101CANON");
    expect(progress().getAttribute("data-phase")).toBe("scanning");

    emit({ event: "scanned", files: 1100, skipped: 134 });
    await waitFor(() => expect(progress().textContent).toContain("0/1100"));
    expect(screen.queryByTestId("import-scan")).toBeNull();
    expect(progress().textContent).toContain("134 files not photos");
    emit({ event: "progress", read: 20, done: 10, total: 1100, photosPerSecond: 5, etaSeconds: 218 });
    await waitFor(() => expect(progress().textContent).toContain("10/1100"));
  });

  it("offers to resume a folder imported before", async () => {
    api.ingestStart.mockResolvedValue(1);
    const { unmount } = render(<ImportScreen onReview={() => {}} />);
    fireEvent.input(screen.getByTestId("import-path"), { target: { value: "/survey/day1/" } });
    expect(screen.getByTestId("import-start").textContent).toBe("Import");
    fireEvent.click(screen.getByTestId("import-start"));
    await waitFor(() => expect(api.ingestStart).toHaveBeenCalled());
    ingestStore.set(IDLE);
    unmount();
    render(<ImportScreen onReview={() => {}} />);
    fireEvent.input(screen.getByTestId("import-path"), { target: { value: "/survey/day1" } });
    expect(screen.getByTestId("import-start").textContent).toMatch(/resume/i);
  });

  it("offers resume only for a run that started and did not finish", async () => {
    // A path that does not exist: the start is refused, nothing to resume.
    api.ingestStart.mockRejectedValueOnce({ kind: "io", message: "/nowhere: No such file or directory" });
    const { unmount } = render(<ImportScreen onReview={() => {}} />);
    fireEvent.input(screen.getByTestId("import-path"), { target: { value: "/nowhere" } });
    fireEvent.click(screen.getByTestId("import-start"));
    // The reason alone, without an empty progress bar at 0/0.
    const refused = await screen.findByTestId("import-refused");
    expect(refused.textContent).toContain("No such file");
    expect(screen.queryByTestId("import-progress")).toBeNull();
    ingestStore.set(IDLE);
    unmount();
    // A run that finishes leaves nothing to resume either.
    let emit: (e: IngestEvent) => void = () => {};
    api.ingestStart.mockImplementation(async (_p: string[], _s: string | null, cb: (e: IngestEvent) => void) => {
      emit = cb;
      return 2;
    });
    render(<ImportScreen onReview={() => {}} />);
    fireEvent.input(screen.getByTestId("import-path"), { target: { value: "/survey/day2" } });
    fireEvent.click(screen.getByTestId("import-start"));
    await waitFor(() => expect(screen.getByTestId("import-start").textContent).toMatch(/resume/i));
    emit({
      event: "finished",
      summary: {
        newPhotos: 1,
        knownPhotos: 0,
        failed: [],
        skipped: [],
        detections: 1,
        noDetection: [],
        encounters: 1,
        newIndividualSuggestions: 0,
        seconds: 1,
        photosPerSecond: 1,
        ranOn: "CUDA (NVIDIA H200)",
      },
    });
    await screen.findByTestId("import-summary");
    expect(screen.getByTestId("summary-ran-on").textContent).toBe("Ran on: CUDA (NVIDIA H200)");
    expect(screen.queryByTestId("summary-gpu-fallback")).toBeNull();
    expect(screen.getByTestId("import-start").textContent).toBe("Import");
    fireEvent.input(screen.getByTestId("import-path"), { target: { value: "/nowhere" } });
    expect(screen.getByTestId("import-start").textContent).toBe("Import");
  });
});
