// @vitest-environment jsdom
import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/preact";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { IndividualSummary } from "../bindings/IndividualSummary";

const api = vi.hoisted(() => ({
  individualsList: vi.fn(),
}));
vi.mock("../ipc", async (orig) => ({ ...(await orig<typeof import("../ipc")>()), ...api }));
const { CatalogueScreen } = await import("./Catalogue");

const card = (id: number, code: string): IndividualSummary => ({
  id, code, name: null, species: "humpback_whale", sightings: 2, firstSeen: "2024-06-01T10:00:00",
  lastSeen: "2024-06-02T10:00:00", representativeCrop: null, newSightings: 0,
});

afterEach(() => {
  cleanup();
  vi.clearAllMocks();
});

/** The filter of the latest `individuals_list` call. */
const lastFilter = () => api.individualsList.mock.calls.at(-1)![0];

describe("Catalogue", () => {
  it("filters the grid by grades: quality or better, distinctiveness set, side and part", async () => {
    api.individualsList.mockImplementation(async (f: { minQuality?: string | null }) =>
      f.minQuality ? [card(1, "HW-1")] : [card(1, "HW-1"), card(2, "HW-2")],
    );
    render(<CatalogueScreen onChanged={() => {}} />);
    await waitFor(() => expect(screen.getAllByTestId("individual-card")).toHaveLength(2));
    expect(lastFilter()).toMatchObject({ minQuality: null, distinctiveness: [], side: null, part: null });

    fireEvent.change(screen.getByTestId("filter-quality"), { target: { value: "Q2" } });
    await waitFor(() => expect(screen.getAllByTestId("individual-card")).toHaveLength(1));
    expect(lastFilter().minQuality).toBe("Q2");

    fireEvent.click(screen.getByTestId("filter-distinctiveness-D2"));
    fireEvent.click(screen.getByTestId("filter-distinctiveness-D1"));
    fireEvent.change(screen.getByTestId("filter-side"), { target: { value: "left" } });
    fireEvent.change(screen.getByTestId("filter-part"), { target: { value: "fluke" } });
    await waitFor(() =>
      expect(lastFilter()).toMatchObject({ minQuality: "Q2", distinctiveness: ["D1", "D2"], side: "left", part: "fluke" }),
    );
    expect(screen.getByTestId("filter-distinctiveness-D1").getAttribute("aria-pressed")).toBe("true");
    expect(screen.getByTestId("filter-distinctiveness-D3").getAttribute("aria-pressed")).toBe("false");

    // Clicking a grade again takes it out; "any" clears a choice.
    fireEvent.click(screen.getByTestId("filter-distinctiveness-D1"));
    fireEvent.change(screen.getByTestId("filter-quality"), { target: { value: "" } });
    await waitFor(() => expect(lastFilter()).toMatchObject({ minQuality: null, distinctiveness: ["D2"] }));
    await waitFor(() => expect(screen.getAllByTestId("individual-card")).toHaveLength(2));
  });
});
