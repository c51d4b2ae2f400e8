// @vitest-environment jsdom
import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/preact";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { PublishResult } from "../bindings/PublishResult";

const api = vi.hoisted(() => ({
  exportCsv: vi.fn(),
  exportKaggle: vi.fn(),
  exportDwca: vi.fn(),
  exportWildbook: vi.fn(),
  exportMark: vi.fn(),
  exportSocprog: vi.fn(),
  pickSaveFile: vi.fn(),
}));
vi.mock("../ipc", async (orig) => ({ ...(await orig<typeof import("../ipc")>()), ...api }));
const { ExportScreen } = await import("./Export");

afterEach(() => {
  cleanup();
  vi.clearAllMocks();
});

const type = (id: string, value: string) => fireEvent.input(screen.getByTestId(id), { target: { value } });
const choose = (id: string, value: string) => fireEvent.change(screen.getByTestId(id), { target: { value } });

const leftOut = (n: number) =>
  Array.from({ length: n }, (_, i) => ({ sighting: `#${i + 1} IMG_${i + 1}.JPG`, reasons: i % 2 ? ["no date"] : ["no date", "no position"] }));

describe("Export", () => {
  it("exports a DwC archive of the sightings the filter keeps and lists what was left out", async () => {
    const r: PublishResult = { path: "/w/skye.zip", rows: 12, unit: "occurrence", notes: [], leftOut: leftOut(7) };
    api.exportDwca.mockResolvedValue(r);
    render(<ExportScreen />);
    type("export-path", "/w/skye.zip");
    fireEvent.click(screen.getByTestId("export-format-dwca"));
    type("export-filter-species", "humpback_whale, Bottlenose_dolphin ");
    type("export-filter-from", "2024-06-01");
    type("export-filter-to", "2024-06-30");
    choose("export-filter-quality", "Q2");
    fireEvent.click(screen.getByTestId("export-filter-distinctiveness-D2"));
    fireEvent.click(screen.getByTestId("export-filter-distinctiveness-D1"));
    type("export-dwca-title", " Skye humpbacks ");
    type("export-dwca-contact", "Ana <ana@example.org>");
    choose("export-dwca-licence", "CC0-1.0");
    fireEvent.click(screen.getByTestId("export-run"));

    await waitFor(() => expect(screen.getByTestId("export-result").textContent).toContain("wrote 12 occurrences"));
    expect(api.exportDwca).toHaveBeenCalledWith(
      "/w/skye.zip",
      {
        species: ["humpback_whale", "Bottlenose_dolphin"],
        from: "2024-06-01",
        to: "2024-06-30",
        minQuality: "Q2",
        distinctiveness: ["D1", "D2"],
      },
      { title: "Skye humpbacks", contact: "Ana <ana@example.org>", licence: "CC0-1.0" },
    );
    const left = screen.getByTestId("export-left-out");
    expect(left.textContent).toContain("7 sightings left out");
    expect(left.textContent).toContain("#1 IMG_1.JPG: no date, no position");
    expect(left.querySelectorAll("li")).toHaveLength(5);
    expect(left.textContent).toContain("and 2 more");
    expect(api.exportMark).not.toHaveBeenCalled();
  });

  it("exports MARK histories over surveys, grouped, and says the occasions", async () => {
    api.exportMark.mockResolvedValue({
      path: "/w/h.inp",
      rows: 3,
      unit: "individual",
      notes: ["2 occasions: 2024-06-01..2024-06-02, 2024-06-03..2024-06-03"],
      leftOut: [],
    });
    render(<ExportScreen />);
    type("export-path", "/w/h.inp");
    fireEvent.click(screen.getByTestId("export-format-mark"));
    expect(screen.getByTestId("export-format-mark").getAttribute("aria-pressed")).toBe("true");
    expect(screen.queryByTestId("export-dwca-title")).toBeNull();
    choose("export-mark-occasions", "surveys");
    type("export-mark-survey-from-0", "2024-06-01");
    type("export-mark-survey-to-0", "2024-06-02");
    fireEvent.click(screen.getByTestId("export-mark-add-survey"));
    type("export-mark-survey-from-1", "2024-06-03");
    type("export-mark-survey-to-1", "2024-06-03");
    choose("export-mark-groups", "distinctiveness");
    fireEvent.click(screen.getByTestId("export-run"));

    await waitFor(() => expect(screen.getByTestId("export-result").textContent).toContain("wrote 3 individuals"));
    expect(api.exportMark).toHaveBeenCalledWith(
      "/w/h.inp",
      { species: [], from: null, to: null, minQuality: null, distinctiveness: [] },
      {
        occasions: "surveys",
        surveys: [
          { from: "2024-06-01", to: "2024-06-02" },
          { from: "2024-06-03", to: "2024-06-03" },
        ],
        groups: "distinctiveness",
        comments: true,
      },
    );
    expect(screen.getByText(/2 occasions/)).toBeTruthy();
    expect(screen.getByTestId("export-left-out").textContent).toContain("No sighting left out");
  });

  it("asks where to save when no path is typed, and shows the engine's error naming the file", async () => {
    api.pickSaveFile.mockResolvedValue("/w/sightings.csv");
    api.exportSocprog.mockRejectedValue({ kind: "io", message: "/w/sightings.csv: permission denied" });
    render(<ExportScreen />);
    fireEvent.click(screen.getByTestId("export-format-socprog"));
    fireEvent.click(screen.getByTestId("export-run"));
    await waitFor(() => expect(screen.getByText(/permission denied/)).toBeTruthy());
    expect(api.pickSaveFile).toHaveBeenCalledWith("sightings.csv");
    expect(api.exportSocprog).toHaveBeenCalledWith("/w/sightings.csv", expect.anything());
    expect((screen.getByTestId("export-path") as HTMLInputElement).value).toBe("/w/sightings.csv");
    expect(screen.queryByTestId("export-result")).toBeNull();
    // Another format: the error was about this one's export.
    fireEvent.click(screen.getByTestId("export-format-dwca"));
    expect(screen.queryByText(/permission denied/)).toBeNull();
  });

  it("keeps the CSV and Kaggle buttons", async () => {
    api.exportKaggle.mockResolvedValue({ path: "/w/s.csv", rows: 4 });
    render(<ExportScreen />);
    type("export-path", "/w/s.csv");
    fireEvent.click(screen.getByTestId("export-kaggle"));
    await waitFor(() => expect(screen.getByTestId("export-result").textContent).toContain("Kaggle submission: wrote 4 rows"));
    expect(api.exportKaggle).toHaveBeenCalledWith("/w/s.csv");
    expect(screen.queryByTestId("export-left-out")).toBeNull();
  });
});
