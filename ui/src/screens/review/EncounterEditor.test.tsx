// @vitest-environment jsdom
import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/preact";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { EncounterView } from "../../bindings/EncounterView";

const api = vi.hoisted(() => ({
  encounterGet: vi.fn(),
  encounterEdit: vi.fn(),
  encounterSplit: vi.fn(),
  encounterJoin: vi.fn(),
}));
vi.mock("../../ipc", async (orig) => ({ ...(await orig<typeof import("../../ipc")>()), ...api }));
const { EncounterEditor, changesOf, formValues } = await import("./EncounterEditor");

const encounter = (fields: Partial<EncounterView> = {}): EncounterView => ({
  id: 4,
  uuid: "0190f000-0000-7000-8000-00000000e001",
  startedAt: "2024-06-01T10:00:00",
  endedAt: "2024-06-01T10:05:00",
  place: "Reef",
  latitude: -35.2,
  longitude: 174.1,
  observers: ["Ana Silva"],
  vessel: null,
  groupBest: 12,
  groupMin: 10,
  groupMax: null,
  behaviour: null,
  notes: null,
  survey: null,
  joinedInto: null,
  photoIds: [1, 2, 3],
  edits: [{ field: "place", by: "Ana Silva", at: "2026-12-03T10:00:00.000Z" }],
  ...fields,
});

const type = (testId: string, value: string) => fireEvent.input(screen.getByTestId(testId), { target: { value } });

afterEach(() => {
  cleanup();
  vi.clearAllMocks();
});

describe("EncounterEditor", () => {
  it("is disabled for a photo in no encounter", () => {
    render(<EncounterEditor encounterId={null} />);
    expect((screen.getByTestId("encounter-edit") as HTMLButtonElement).disabled).toBe(true);
    expect(api.encounterGet).not.toHaveBeenCalled();
  });

  it("opens the encounter's record and saves only the fields changed, a blank one as a clearing", async () => {
    api.encounterGet.mockResolvedValue(encounter());
    api.encounterEdit.mockResolvedValue(encounter({ place: "Bay of Islands", observers: ["Ana Silva", "Ben Cole"], groupMin: null }));
    const changed = vi.fn();
    render(<EncounterEditor encounterId={4} onChanged={changed} />);
    fireEvent.click(screen.getByTestId("encounter-edit"));
    await waitFor(() => expect((screen.getByTestId("encounter-place") as HTMLInputElement).value).toBe("Reef"));
    expect(api.encounterGet).toHaveBeenCalledWith(4);
    expect((screen.getByTestId("encounter-group-best") as HTMLInputElement).value).toBe("12");
    expect((screen.getByTestId("encounter-position") as HTMLInputElement).value).toBe("-35.2, 174.1");
    expect(screen.getByTestId("encounter-place").closest("label")!.title).toContain("set by Ana Silva");

    type("encounter-place", "Bay of Islands");
    type("encounter-observers", "Ana Silva; Ben Cole");
    type("encounter-group-min", "");
    fireEvent.click(screen.getByTestId("encounter-save"));
    await waitFor(() => expect(api.encounterEdit).toHaveBeenCalled());
    expect(api.encounterEdit).toHaveBeenCalledWith(4, [
      { field: "place", value: "Bay of Islands" },
      { field: "observers", value: "Ana Silva; Ben Cole" },
      { field: "groupMin", value: null },
    ]);
    await waitFor(() => expect(screen.getByTestId("encounter-status").textContent).toBe("Saved 3 fields"));
    expect(changed).toHaveBeenCalledTimes(1);
    expect((screen.getByTestId("encounter-group-min") as HTMLInputElement).value).toBe("");
  });

  it("shows the engine's refusal and keeps what was typed", async () => {
    api.encounterGet.mockResolvedValue(encounter());
    api.encounterEdit.mockRejectedValue({
      kind: "invalid",
      message: "group size: the minimum (13) is greater than the best (12)",
    });
    render(<EncounterEditor encounterId={4} />);
    fireEvent.click(screen.getByTestId("encounter-edit"));
    await waitFor(() => screen.getByTestId("encounter-group-min"));
    type("encounter-group-min", "13");
    fireEvent.click(screen.getByTestId("encounter-save"));
    await waitFor(() => expect(screen.getByTestId("encounter-error").textContent).toContain("greater than the best"));
    expect((screen.getByTestId("encounter-group-min") as HTMLInputElement).value).toBe("13");
  });

  it("splits at a time and joins other encounters by number", async () => {
    api.encounterGet.mockResolvedValueOnce(encounter()).mockResolvedValueOnce(encounter({ photoIds: [1] }));
    api.encounterSplit.mockResolvedValue(encounter({ id: 9, photoIds: [2, 3] }));
    api.encounterJoin.mockResolvedValue(encounter({ photoIds: [1, 2, 3, 7] }));
    render(<EncounterEditor encounterId={4} />);
    fireEvent.click(screen.getByTestId("encounter-edit"));
    await waitFor(() => screen.getByTestId("encounter-split-at"));
    type("encounter-split-at", "2024-06-01 10:03");
    fireEvent.click(screen.getByTestId("encounter-split"));
    await waitFor(() =>
      expect(screen.getByTestId("encounter-status").textContent).toBe("Split: 2 photo(s) moved to encounter #9"),
    );
    expect(api.encounterSplit).toHaveBeenCalledWith(4, "2024-06-01 10:03", null);
    expect(screen.getByTestId("encounter-photos").textContent).toContain("1 photo");

    type("encounter-join-ids", "#9, 12");
    fireEvent.click(screen.getByTestId("encounter-join"));
    await waitFor(() => expect(api.encounterJoin).toHaveBeenCalledWith(4, [9, 12]));
    await waitFor(() => expect(screen.getByTestId("encounter-photos").textContent).toContain("4 photos"));

    type("encounter-join-ids", "nine");
    fireEvent.click(screen.getByTestId("encounter-join"));
    await waitFor(() => expect(screen.getByTestId("encounter-error").textContent).toContain("encounter numbers"));
    expect(api.encounterJoin).toHaveBeenCalledTimes(1);
  });

  it("changesOf compares trimmed text and formValues spells the record", () => {
    const before = formValues(encounter());
    expect(changesOf(before, { ...before, place: " Reef " })).toEqual([]);
    expect(changesOf(before, { ...before, notes: "calf" })).toEqual([{ field: "notes", value: "calf" }]);
    expect(before.observers).toBe("Ana Silva");
    expect(before.groupMax).toBe("");
  });
});
