// @vitest-environment jsdom
import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/preact";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { IndividualSummary } from "../../bindings/IndividualSummary";

const api = vi.hoisted(() => ({
  individualsList: vi.fn(),
  individualMerge: vi.fn(),
  individualMergeDirection: vi.fn(),
}));
vi.mock("../../ipc", async (orig) => ({ ...(await orig<typeof import("../../ipc")>()), ...api }));
const { MergeDialog } = await import("./MergeDialog");

const beluga: IndividualSummary = {
  id: 7, code: "BEL-1", name: null, species: "beluga", sightings: 11, firstSeen: "2024-06-01", lastSeen: "2024-07-01",
  representativeCrop: null, newSightings: 0,
};
const tmp: IndividualSummary = {
  id: 15, code: "tmp-1", name: null, species: null, sightings: 1, firstSeen: null, lastSeen: null,
  representativeCrop: null, newSightings: 1,
};

afterEach(() => {
  cleanup();
  vi.clearAllMocks();
});

async function open(self: IndividualSummary, other: IndividualSummary) {
  api.individualsList.mockResolvedValue([other]);
  // The engine keeps the individual with more sightings: the beluga.
  api.individualMergeDirection.mockResolvedValue({ fromId: tmp.id, intoId: beluga.id });
  api.individualMerge.mockResolvedValue({ summary: beluga, sightings: [], events: [] });
  render(<MergeDialog self={self} onDone={() => {}} onCancel={() => {}} />);
  fireEvent.click(await screen.findByText(other.code));
  await waitFor(() => expect(api.individualMergeDirection).toHaveBeenCalledWith(self.id, other.id));
  await waitFor(() => expect(screen.getByTestId("merge-confirm").hasAttribute("disabled")).toBe(false));
}

describe("MergeDialog", () => {
  it("opened on the throwaway's page, defaults to merging it into the bigger individual", async () => {
    await open(tmp, beluga);
    expect(screen.getByTestId("merge-confirm").textContent).toBe("Merge tmp-1 into BEL-1");
    fireEvent.click(screen.getByTestId("merge-confirm"));
    await waitFor(() => expect(api.individualMerge).toHaveBeenCalledWith(tmp.id, beluga.id));
  });

  it("opened on the bigger individual's page, defaults the same way, and can be swapped", async () => {
    await open(beluga, tmp);
    expect(screen.getByTestId("merge-confirm").textContent).toBe("Merge tmp-1 into BEL-1");
    fireEvent.click(screen.getByTestId("merge-swap"));
    expect(screen.getByTestId("merge-confirm").textContent).toBe("Merge BEL-1 into tmp-1");
    fireEvent.click(screen.getByTestId("merge-confirm"));
    await waitFor(() => expect(api.individualMerge).toHaveBeenCalledWith(beluga.id, tmp.id));
  });
});
