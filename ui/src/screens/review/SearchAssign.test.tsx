// @vitest-environment jsdom
import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/preact";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { IndividualHit } from "../../bindings/IndividualHit";

const api = vi.hoisted(() => ({ reviewSearch: vi.fn() }));
vi.mock("../../ipc", async (orig) => ({ ...(await orig<typeof import("../../ipc")>()), ...api }));

const { SearchAssign, exactCodeMatch, SEARCH_LIMIT } = await import("./SearchAssign");

function hit(individualId: number, code: string, similarity: number | null, extra: Partial<IndividualHit> = {}): IndividualHit {
  return {
    individualId,
    code,
    name: null,
    species: "beluga",
    sightings: 2,
    bestCrop: `/cat/media/crops/${individualId}.jpg`,
    similarity,
    ...extra,
  };
}

/** A tiny fake catalogue: substring search over code, name and species, by similarity. */
const catalogue: IndividualHit[] = [
  hit(1, "BEL-001", 0.42, { name: "Ghost", sightings: 11 }),
  hit(2, "BEL-007", 0.873, { sightings: 1 }),
  hit(3, "BEL-010", 0.61),
  hit(4, "HW-003", null, { species: "humpback_whale", bestCrop: null }),
];
function search(q: string): IndividualHit[] {
  const s = q.trim().toLowerCase();
  return catalogue
    .filter((h) => [h.code, h.name ?? "", h.species ?? ""].some((t) => t.toLowerCase().includes(s)))
    .sort((a, b) => (b.similarity ?? -2) - (a.similarity ?? -2));
}

beforeEach(() => {
  api.reviewSearch.mockImplementation(async (_d: number, q: string) => search(q));
});
afterEach(() => {
  cleanup();
  vi.clearAllMocks();
});

const rows = () => screen.queryAllByTestId("search-hit");
const ids = () => rows().map((r) => r.getAttribute("data-individual-id"));
const active = () => rows().findIndex((r) => r.getAttribute("aria-selected") === "true");
const typeInto = (input: HTMLElement, value: string) => fireEvent.input(input, { target: { value } });

function mount(props: Partial<Parameters<typeof SearchAssign>[0]> = {}) {
  const onAssign = vi.fn();
  const onClose = vi.fn();
  render(<SearchAssign detectionId={9} onAssign={onAssign} onClose={onClose} busy={false} error={null} {...props} />);
  return { onAssign, onClose, input: screen.getByTestId("search-input") as HTMLInputElement };
}

describe("SearchAssign", () => {
  it("lists the whole catalogue by similarity at first, then what is typed, asking once per pause", async () => {
    const { input } = mount();
    expect(document.activeElement).toBe(input);
    await waitFor(() => expect(ids()).toEqual(["2", "3", "1", "4"]));
    expect(api.reviewSearch).toHaveBeenCalledWith(9, "", SEARCH_LIMIT);
    // Each row: code, name, species, sightings, similarity and the best crop.
    const first = rows()[2];
    expect(first.textContent).toContain("BEL-001");
    expect(first.textContent).toContain("Ghost · beluga · 11 sightings");
    expect(first.textContent).toContain("0.420");
    expect(first.querySelector("img")?.getAttribute("src")).toBe("/cat/media/crops/1.jpg");
    expect(rows()[0].textContent).toContain("1 sighting");
    expect(rows()[3].textContent).toContain("—");
    expect(rows()[3].querySelector(".img-missing")).not.toBeNull();

    // Typing fast asks only for the last text.
    api.reviewSearch.mockClear();
    typeInto(input, "h");
    typeInto(input, "hw");
    typeInto(input, "hw-");
    await waitFor(() => expect(ids()).toEqual(["4"]));
    expect(api.reviewSearch).toHaveBeenCalledTimes(1);
    expect(api.reviewSearch).toHaveBeenCalledWith(9, "hw-", SEARCH_LIMIT);
    expect(rows()[0].textContent).toContain("humpback_whale");

    typeInto(input, "orca");
    await screen.findByTestId("search-empty");
    expect(screen.getByTestId("search-empty").textContent).toContain("orca");
  });

  it("arrow keys move the highlight and Enter assigns the highlighted individual", async () => {
    const { input, onAssign } = mount({ initialQuery: "bel" });
    await waitFor(() => expect(ids()).toEqual(["2", "3", "1"]));
    expect(api.reviewSearch).toHaveBeenCalledWith(9, "bel", SEARCH_LIMIT);
    expect(active()).toBe(0);
    fireEvent.keyDown(input, { key: "ArrowDown" });
    fireEvent.keyDown(input, { key: "ArrowDown" });
    fireEvent.keyDown(input, { key: "ArrowDown" }); // stays on the last
    expect(active()).toBe(2);
    fireEvent.keyDown(input, { key: "ArrowUp" });
    expect(active()).toBe(1);
    fireEvent.keyDown(input, { key: "Enter" });
    expect(onAssign).toHaveBeenCalledTimes(1);
    expect(onAssign).toHaveBeenCalledWith(catalogue[2]);
  });

  it("Enter pressed before the hits for the typed text arrive assigns from those hits, not the older ones", async () => {
    const { input, onAssign } = mount();
    await waitFor(() => expect(ids()).toEqual(["2", "3", "1", "4"]));
    typeInto(input, "ghost");
    fireEvent.keyDown(input, { key: "Enter" });
    expect(onAssign).not.toHaveBeenCalled();
    await waitFor(() => expect(onAssign).toHaveBeenCalledWith(catalogue[0]));
    expect(onAssign).toHaveBeenCalledTimes(1);
  });

  it("while busy, Enter and the buttons assign nothing", async () => {
    const { input, onAssign } = mount({ busy: true });
    await waitFor(() => expect(rows().length).toBe(4));
    fireEvent.keyDown(input, { key: "Enter" });
    fireEvent.click(rows()[0].querySelector("button")!);
    expect(onAssign).not.toHaveBeenCalled();
  });

  it("Esc closes, and keys typed here do not reach the review's shortcuts", async () => {
    const outside = vi.fn();
    window.addEventListener("keydown", outside);
    try {
      const { input, onClose, onAssign } = mount();
      await waitFor(() => expect(rows().length).toBe(4));
      fireEvent.keyDown(input, { key: "x" });
      fireEvent.keyDown(input, { key: "1" });
      fireEvent.keyDown(input, { key: "Escape" });
      expect(onClose).toHaveBeenCalledTimes(1);
      expect(onAssign).not.toHaveBeenCalled();
      expect(outside).not.toHaveBeenCalled();
    } finally {
      window.removeEventListener("keydown", outside);
    }
  });

  it("a failed search and a failed assignment are shown inside the panel", async () => {
    api.reviewSearch.mockRejectedValue({ kind: "notFound", message: "no detection 9 in the catalogue" });
    const { rerender } = render(
      <SearchAssign detectionId={9} onAssign={() => {}} onClose={() => {}} busy={false} error={null} />,
    );
    const panel = screen.getByTestId("search-assign");
    const shown = await screen.findByTestId("search-error");
    expect(panel.contains(shown)).toBe(true);
    expect(shown.textContent).toContain("no detection 9 in the catalogue");
    expect(rows()).toEqual([]);

    rerender(
      <SearchAssign
        detectionId={9}
        onAssign={() => {}}
        onClose={() => {}}
        busy={false}
        error={{ kind: "invalid", message: "detection 9 was removed" }}
      />,
    );
    const assignError = screen.getByTestId("assign-error");
    expect(screen.getByTestId("search-assign").contains(assignError)).toBe(true);
    expect(assignError.textContent).toContain("detection 9 was removed");
  });
});

describe("exactCodeMatch", () => {
  it("finds the hit with exactly that code, ignoring case and spaces, or nothing", () => {
    expect(exactCodeMatch(catalogue, " bel-007 ")).toBe(catalogue[1]);
    expect(exactCodeMatch(catalogue, "BEL-00")).toBeNull();
    expect(exactCodeMatch(catalogue, "  ")).toBeNull();
    expect(exactCodeMatch([], "BEL-007")).toBeNull();
  });
});
