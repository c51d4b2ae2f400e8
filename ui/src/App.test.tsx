// @vitest-environment jsdom
import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/preact";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { AboutInfo } from "./bindings/AboutInfo";
import type { CatalogueInfo } from "./bindings/CatalogueInfo";
import type { IndividualDetail } from "./bindings/IndividualDetail";
import type { IndividualSummary } from "./bindings/IndividualSummary";
import type { Settings } from "./bindings/Settings";
import type { SyncEvent } from "./bindings/SyncEvent";
import { NO_GRADES } from "./lib/grades";

const pack = {
  name: "generic",
  version: "1.0",
  path: "/packs/generic",
  description: "",
  backbones: ["effnet-b5", "convnext"],
  detector: true,
  embeddingDim: 1024,
  threshold: 0.45,
};
const info: CatalogueInfo = {
  path: "/w/cat",
  name: "cat",
  photos: 12,
  detections: 14,
  individuals: 2,
  toReview: 0,
  pack,
  upgraded: null,
};
const inds: IndividualSummary[] = [
  { id: 1, code: "HW-001", name: "Salt", species: "humpback", sightings: 2, firstSeen: "2026-06-01", lastSeen: "2026-06-30", representativeCrop: "/w/cat/c1.jpg", newSightings: 1 },
  { id: 2, code: "HW-002", name: null, species: "humpback", sightings: 1, firstSeen: null, lastSeen: null, representativeCrop: null, newSightings: 0 },
];
const detail: IndividualDetail = {
  summary: inds[0],
  sightings: [
    { detectionId: 10, photoId: 1, cropPath: "/c/10.jpg", photoPath: "/p/1.jpg", takenAt: "2026-06-01T10:00:00", latitude: 44.1, longitude: -63.2, encounterId: 3, source: "review", decidedBy: "person", score: 0.8, grades: NO_GRADES },
    { detectionId: 11, photoId: 2, cropPath: "/c/11.jpg", photoPath: "/p/2.jpg", takenAt: "2026-06-30T09:00:00", latitude: 44.3, longitude: -63.0, encounterId: 4, source: "review", decidedBy: "person", score: 0.7, grades: NO_GRADES },
  ],
  events: [{ id: 5, kind: "rename", otherId: null, createdAt: "2026-07-01T08:00:00", undone: false, undoable: true, by: "Kim", summary: "HW-X → HW-001" }],
};
const settings: Settings = {
  cataloguePath: "/w/cat",
  pack,
  providers: { available: ["CPU", "CUDA"], used: ["CUDA"] },
  threads: 4,
  threshold: 0.45,
  thresholdSource: "calibrated",
  calibration: { share: 0.15, shareSource: "15% new, the default", knownShownNew: 0.2, newCaught: 0.6, queries: 280 },
  newShare: 0.15,
  newShareSource: "15% new, the default",
  reranked: null,
};

const about: AboutInfo = {
  version: "0.1.0",
  onnxRuntime: "1.31.1",
  onnxRuntimePath: "/usr/lib/WhaleID/lib/libonnxruntime.so.1.31.1",
  onnxRuntimeError: null,
  providersInLibrary: ["cpu"],
  providersInBuild: ["cpu"],
  providersUsed: ["cpu"],
  pack: "generic 1.0",
  packPath: "/packs/generic",
  catalogue: "/w/cat",
  preferences: "/home/r/.config/org.whaleid.app/prefs.json",
  logFile: "/home/r/.local/share/org.whaleid.app/logs/whaleid.log",
};

const api = vi.hoisted(() => ({
  catalogueCurrent: vi.fn(),
  catalogueOpen: vi.fn(),
  individualsList: vi.fn(),
  individualGet: vi.fn(),
  individualUndo: vi.fn(),
  settingsGet: vi.fn(),
  settingsSet: vi.fn(),
  exportCsv: vi.fn(),
  reviewQueue: vi.fn(),
  trainOverview: vi.fn(),
  syncStatus: vi.fn(),
  syncStart: vi.fn(),
  observerGet: vi.fn(),
  observerSet: vi.fn(),
  aboutGet: vi.fn(),
  diagnosticsGet: vi.fn(),
  diagnosticsCopy: vi.fn(),
}));
vi.mock("./ipc", async (orig) => ({ ...(await orig<typeof import("./ipc")>()), ...api }));
const { App } = await import("./App");
const { syncStore, SYNC_IDLE } = await import("./state/sync");

afterEach(() => {
  cleanup();
  vi.clearAllMocks();
});
// Most tests run with an observer name already chosen (no first-run prompt).
beforeEach(() => {
  api.observerGet.mockResolvedValue("Kim");
  api.aboutGet.mockResolvedValue(about);
});

describe("App", () => {
  it("without a catalogue shows the welcome screen, and opening one names it in the header", async () => {
    api.catalogueCurrent.mockResolvedValue(null);
    api.catalogueOpen.mockResolvedValue(info);
    api.individualsList.mockResolvedValue(inds);
    render(<App />);
    const path = await screen.findByTestId("catalogue-path");
    fireEvent.input(path, { target: { value: "/w/cat" } });
    fireEvent.click(screen.getByTestId("open-catalogue"));
    await waitFor(() => expect(screen.getByTestId("catalogue-name").textContent).toBe("cat"));
    expect(api.catalogueOpen).toHaveBeenCalledWith("/w/cat");
  });

  it("walks catalogue → individual page → undo, settings and export", async () => {
    api.catalogueCurrent.mockResolvedValue(info);
    api.individualsList.mockResolvedValue(inds);
    api.individualGet.mockResolvedValue(detail);
    api.individualUndo.mockResolvedValue({ ...detail, events: [{ ...detail.events[0], undone: true }] });
    api.settingsGet.mockResolvedValue(settings);
    api.settingsSet.mockResolvedValue({ ...settings, threads: 2, threshold: 0.5, thresholdSource: "set", reranked: 3 });
    api.exportCsv.mockResolvedValue({ path: "/tmp/x.csv", rows: 14 });
    render(<App />);

    fireEvent.click(await screen.findByTestId("nav-catalogue"));
    await waitFor(() => expect(screen.getAllByTestId("individual-card")).toHaveLength(2));
    const card = screen.getAllByTestId("individual-card")[0];
    expect(card.getAttribute("data-code")).toBe("HW-001");
    expect(card.getAttribute("data-id")).toBe("1");

    fireEvent.input(screen.getByTestId("individual-search"), { target: { value: "salt" } });
    await waitFor(() => expect(api.individualsList).toHaveBeenLastCalledWith(expect.objectContaining({ search: "salt" })));

    fireEvent.click(card);
    await screen.findByTestId("individual-page");
    await waitFor(() => expect(screen.getAllByTestId("sighting")).toHaveLength(2));
    expect(screen.getByTestId("individual-chart").querySelectorAll("circle")).toHaveLength(2);
    fireEvent.click(screen.getByText("Undo"));
    await waitFor(() => expect(api.individualUndo).toHaveBeenCalledWith(5));
    await waitFor(() => expect(screen.getByTestId("individual-event").textContent).toContain("undone"));

    fireEvent.click(screen.getByTestId("nav-settings"));
    await waitFor(() => expect(screen.getByTestId("settings-pack").textContent).toContain("generic"));
    expect(screen.getByTestId("settings-providers").textContent).toMatch(/CUDA in use/);
    expect(screen.getByTestId("settings-calibration").textContent).toContain(
      '20% of known animals shown "new individual" first; 60% of new animals caught',
    );
    fireEvent.input(screen.getByTestId("settings-threads"), { target: { value: "2" } });
    fireEvent.input(screen.getByTestId("settings-threshold"), { target: { value: "0.5" } });
    fireEvent.click(screen.getByTestId("settings-save"));
    // The share was left as it was, so only the threshold is sent.
    await waitFor(() => expect(api.settingsSet).toHaveBeenCalledWith(2, 0.5, null));
    await waitFor(() => expect(screen.getByText(/3 detections waiting for review were ranked again/)).toBeTruthy());
    expect(screen.getByTestId("settings-calibration").textContent).toContain("set by hand");

    fireEvent.click(screen.getByTestId("nav-export"));
    fireEvent.input(await screen.findByTestId("export-path"), { target: { value: "/tmp/x.csv" } });
    fireEvent.click(screen.getByTestId("export-csv"));
    await waitFor(() => expect(screen.getByTestId("export-result").textContent).toContain("14 rows"));
    expect(api.exportCsv).toHaveBeenCalledWith("/tmp/x.csv");
  });

  it("says once that an older catalogue was upgraded, and where its backup is", async () => {
    const backup = "/w/cat/catalogue.schema-v9-backup-20261203-101500.sqlite";
    api.catalogueCurrent.mockResolvedValue({ ...info, upgraded: { from: 9, to: 10, backup } });
    api.individualsList.mockResolvedValue(inds);
    render(<App />);
    const notice = await screen.findByTestId("upgrade-notice");
    expect(notice.textContent).toContain("schema 9 → 10");
    expect(notice.textContent).toContain(backup);
    fireEvent.click(screen.getByText("OK"));
    await waitFor(() => expect(screen.queryByTestId("upgrade-notice")).toBeNull());
  });

  it("shows About in Settings and copies the diagnostics, showing them when no clipboard takes them", async () => {
    api.catalogueCurrent.mockResolvedValue(info);
    api.individualsList.mockResolvedValue(inds);
    api.settingsGet.mockResolvedValue(settings);
    const text = "WhaleID 0.1.0\nlast 1 line(s) of the log:\nstarted\n";
    api.diagnosticsCopy.mockResolvedValue(text);
    render(<App />);
    fireEvent.click(await screen.findByTestId("nav-settings"));
    await waitFor(() => expect(screen.getByTestId("about-version").textContent).toBe("0.1.0"));
    const panel = screen.getByTestId("about");
    expect(panel.textContent).toContain("1.31.1");
    expect(panel.textContent).toContain("/usr/lib/WhaleID/lib/libonnxruntime.so.1.31.1");
    expect(panel.textContent).toContain("generic 1.0");
    expect(screen.getByTestId("about-log").textContent).toBe(about.logFile);
    fireEvent.click(screen.getByTestId("about-copy"));
    await screen.findByTestId("about-copied");
    expect(api.diagnosticsCopy).toHaveBeenCalledTimes(1);
    expect(screen.queryByTestId("about-text")).toBeNull();

    // No clipboard from Rust nor the page: the text is shown to copy by hand.
    api.diagnosticsCopy.mockRejectedValue({ kind: "invalid", message: "no clipboard" });
    api.diagnosticsGet.mockResolvedValue(text);
    Object.defineProperty(navigator, "clipboard", {
      value: { writeText: vi.fn().mockRejectedValue(new Error("denied")) },
      configurable: true,
    });
    fireEvent.click(screen.getByTestId("about-copy"));
    await waitFor(() => expect((screen.getByTestId("about-text") as HTMLTextAreaElement).value).toBe(text));
    expect(screen.queryByTestId("about-copied")).toBeNull();
  });

  it("has a Train screen in the nav that loads the training overview", async () => {
    api.catalogueCurrent.mockResolvedValue(info);
    api.trainOverview.mockResolvedValue({
      individuals: 2,
      detections: 14,
      individualsWithRepeats: 1,
      missingFeatures: 0,
      canTrain: false,
      reason: "too few individuals",
      activeVersion: "1.0",
      versions: [],
    });
    render(<App />);
    fireEvent.click(await screen.findByTestId("nav-train"));
    await waitFor(() => expect(screen.getByTestId("train-detections").textContent).toBe("14"));
    expect(screen.getByTestId("nav-train").getAttribute("aria-current")).toBe("page");
    expect(screen.getByTestId("train-reason").textContent).toContain("too few individuals");
  });

  it("has a Sync screen after Train, and a finished sync refreshes the header's counts", async () => {
    api.catalogueCurrent.mockResolvedValueOnce(info).mockResolvedValue({ ...info, photos: 40, individuals: 9 });
    api.syncStatus.mockResolvedValue({
      server: "http://10.0.0.5:8787",
      author: "ana",
      hasToken: true,
      caCert: null,
      photos: false,
      toReview: [],
      lastSync: null,
      pending: 2,
      position: 0,
    });
    let emit: (e: SyncEvent) => void = () => {};
    api.syncStart.mockImplementation(async (cb: (e: SyncEvent) => void) => {
      emit = cb;
      return 3;
    });
    render(<App />);
    await screen.findByTestId("nav-sync");
    const nav = screen.getAllByRole("button").filter((b) => b.dataset.testid?.startsWith("nav-"));
    const names = nav.map((b) => b.textContent);
    expect(names.indexOf("Sync")).toBe(names.indexOf("Train") + 1);
    fireEvent.click(screen.getByTestId("nav-sync"));
    await waitFor(() => expect(screen.getByTestId("sync-server").textContent).toBe("http://10.0.0.5:8787"));
    expect(screen.getByTestId("nav-sync").getAttribute("aria-current")).toBe("page");
    await waitFor(() => expect((screen.getByTestId("sync-start") as HTMLButtonElement).disabled).toBe(false));
    fireEvent.click(screen.getByTestId("sync-start"));
    await waitFor(() => expect(api.syncStart).toHaveBeenCalled());
    emit({ event: "finished", summary: {
        pushed: 2,
        pulled: 60,
        applied: 58,
        refused: [],
        conflicts: [],
        position: 60,
        photosSent: 0,
        photosFetched: 0,
        photosWaiting: 0,
        photosSkipped: [],
      },
    });
    await waitFor(() => expect(document.querySelector(".counts")?.textContent).toContain("40 photos · 9 individuals"));
    syncStore.set(SYNC_IDLE);
  });
  it("asks for the observer name once when none was chosen, and not again once saved", async () => {
    api.catalogueCurrent.mockResolvedValue(info);
    api.individualsList.mockResolvedValue(inds);
    api.observerGet.mockResolvedValue(null);
    api.observerSet.mockImplementation(async (name: string) => name.trim());
    render(<App />);
    const input = await screen.findByTestId("observer-name");
    fireEvent.click(screen.getByTestId("observer-save"));
    expect((await screen.findByTestId("observer-error")).textContent).toContain("type your name");
    expect(api.observerSet).not.toHaveBeenCalled();
    fireEvent.input(input, { target: { value: " Kim Lee " } });
    fireEvent.click(screen.getByTestId("observer-save"));
    await waitFor(() => expect(screen.queryByTestId("observer-prompt")).toBeNull());
    expect(api.observerSet).toHaveBeenCalledWith(" Kim Lee ");
  });

  it("shows no observer prompt when a name is chosen", async () => {
    api.catalogueCurrent.mockResolvedValue(info);
    api.individualsList.mockResolvedValue(inds);
    render(<App />);
    await waitFor(() => expect(api.observerGet).toHaveBeenCalled());
    await screen.findByTestId("catalogue-name");
    expect(screen.queryByTestId("observer-prompt")).toBeNull();
  });
});
