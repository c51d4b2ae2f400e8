// @vitest-environment jsdom
import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/preact";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { AttributeChange } from "../bindings/AttributeChange";
import type { ReviewItem } from "../bindings/ReviewItem";
import type { ReviewOutcome } from "../bindings/ReviewOutcome";
import type { Suggestion } from "../bindings/Suggestion";
import { NO_GRADES } from "../lib/grades";

const api = vi.hoisted(() => ({
  reviewQueue: vi.fn(),
  reviewAccept: vi.fn(),
  reviewNewIndividual: vi.fn(),
  reviewUnidentifiable: vi.fn(),
  reviewSameAs: vi.fn(),
  reviewUndo: vi.fn(),
  reviewSearch: vi.fn(),
  boxList: vi.fn(),
  boxAdd: vi.fn(),
  boxSet: vi.fn(),
  boxRemove: vi.fn(),
  boxUndo: vi.fn(),
  setAttributes: vi.fn(),
  encounterGet: vi.fn(),
  encounterSplit: vi.fn(),
}));
vi.mock("../ipc", async (orig) => ({ ...(await orig<typeof import("../ipc")>()), ...api }));

const { ReviewScreen } = await import("./Review");

function sugg(rank: number, individualId: number | null, score = 0.9 - rank / 10): Suggestion {
  return {
    rank,
    individualId,
    code: individualId == null ? null : `HW-${individualId}`,
    name: null,
    species: "humpback",
    score,
    bestCrop: individualId == null ? null : `/cat/crops/${individualId}.jpg`,
    strip: [],
  };
}
function item(
  detectionId: number,
  encounterId: number | null,
  suggestions: Suggestion[],
  suggestedSpecies: string | null = null,
): ReviewItem {
  return {
    detectionId,
    photoId: detectionId,
    encounterId,
    encounterLabel: encounterId == null ? "no date" : `encounter ${encounterId}`,
    photoPath: `/s/${detectionId}.jpg`,
    thumbPath: null,
    cropPath: `/cat/q/${detectionId}.jpg`,
    photoWidth: 400,
    photoHeight: 300,
    box: [10, 20, 110, 120],
    takenAt: "2026-06-30T14:05:00",
    latitude: null,
    longitude: null,
    species: null,
    suggestedSpecies,
    suggestions,
    threshold: 0.65,
    grades: NO_GRADES,
  };
}

/** A tiny fake backend: a queue that shrinks as decisions are made. */
let queue: ReviewItem[] = [];
function outcome(detectionId: number, action: ReviewOutcome["action"], individualId: number | null, code: string | null): ReviewOutcome {
  queue = queue.filter((q) => q.detectionId !== detectionId);
  return { detectionId, action, individualId, code, toReview: queue.length };
}

beforeEach(() => {
  queue = [
    item(1, 7, [sugg(1, 100), sugg(2, 200), sugg(3, null), sugg(4, 300), sugg(5, 400)]),
    item(2, 7, [sugg(1, null), sugg(2, 500), sugg(3, 600), sugg(4, 700), sugg(5, 800)]),
    item(3, 8, [sugg(1, 900), sugg(2, null), sugg(3, 1), sugg(4, 2), sugg(5, 3)]),
  ];
  api.reviewQueue.mockImplementation(async () => ({ items: [...queue], total: queue.length }));
  api.reviewAccept.mockImplementation(async (d: number, ind: number) => outcome(d, "accept", ind, `HW-${ind}`));
  api.reviewNewIndividual.mockImplementation(async (d: number, code: string) => outcome(d, "newIndividual", 4242, code));
  api.reviewUnidentifiable.mockImplementation(async (d: number) => outcome(d, "unidentifiable", null, null));
  api.reviewSameAs.mockImplementation(async (d: number, ind: number) => outcome(d, "accept", ind, `HW-${ind}`));
  api.reviewUndo.mockResolvedValue(null);
  api.reviewSearch.mockResolvedValue([]);
  api.boxList.mockImplementation(async (photoId: number) => [
    { detectionId: photoId, box: [10, 20, 110, 120], class: "whole", drawnBy: null, createdAt: "", individual: null },
  ]);
  api.boxUndo.mockResolvedValue(null);
  // Grades are stored on the fake queue's items, as the catalogue stores them.
  api.setAttributes.mockImplementation(async (d: number, changes: AttributeChange[]) => {
    const it = queue.find((q) => q.detectionId === d)!;
    const grades = { ...it.grades };
    for (const c of changes) Object.assign(grades, { [c.attribute]: c.value });
    queue = queue.map((q) => (q.detectionId === d ? { ...q, grades } : q));
    return grades;
  });
});
afterEach(() => {
  cleanup();
  vi.clearAllMocks();
});

const current = () => screen.getByTestId("review-item").getAttribute("data-detection-id");
const key = (k: string, target: Element | Window = window) => fireEvent.keyDown(target, { key: k });

describe("ReviewScreen", () => {
  it("keys 1–5 are always the five best catalogue candidates; new individual is the fixed N, suggested where the threshold puts it first", async () => {
    queue[1] = { ...queue[1], threshold: 0.75 };
    render(<ReviewScreen onChanged={() => {}} />);
    await waitFor(() => expect(current()).toBe("1"));
    // Each photo is named by its file, in the queue and in the header.
    expect(screen.getByTestId("review-file").textContent).toBe("1.jpg");
    expect(screen.getAllByTestId("queue-item")[0].textContent).toContain("1.jpg");
    expect(screen.getAllByTestId("queue-item")[0].getAttribute("title")).toContain("/s/1.jpg");
    // #1's stored list is [100, 200, new, 300, 400]: the keys skip "new".
    const s = screen.getAllByTestId("suggestion");
    expect(s.map((e) => e.getAttribute("data-rank"))).toEqual(["1", "2", "3", "4"]);
    expect(s.map((e) => e.getAttribute("data-individual-id"))).toEqual(["100", "200", "300", "400"]);
    expect(screen.getByTestId("review-new").className).not.toContain("suggested");
    expect(screen.getByTestId("review-suggested").textContent).toContain("Suggested: 1 · HW-100");
    expect(screen.getByTestId("review-remaining").textContent).toBe("3");
    // #2's list starts with "new": N is the suggested decision, with the reason and gap.
    key("ArrowRight");
    await waitFor(() => expect(current()).toBe("2"));
    expect(screen.getByTestId("review-new").className).toContain("suggested");
    const why = screen.getByTestId("review-suggested").textContent ?? "";
    expect(why).toContain("new individual");
    expect(why).toContain("best match HW-500 scores 0.700, 0.050 below the threshold 0.750");
    expect(screen.getAllByTestId("suggestion").map((e) => e.getAttribute("data-individual-id"))).toEqual([
      "500",
      "600",
      "700",
      "800",
    ]);
  });

  it("3 accepts the third catalogue candidate even where new individual ranks above it, then moves on", async () => {
    const changed = vi.fn();
    render(<ReviewScreen onChanged={changed} />);
    await waitFor(() => expect(current()).toBe("1"));
    key("3");
    await waitFor(() => expect(current()).toBe("2"));
    expect(api.reviewAccept).toHaveBeenCalledWith(1, 300, expect.closeTo(0.5, 5), 4);
    expect(screen.getByTestId("review-status").textContent).toContain("HW-300");
    expect(screen.getByTestId("review-remaining").textContent).toBe("2");
    expect(changed).toHaveBeenCalled();
    // 1 on #2 (whose list starts with "new") accepts its best candidate, not "new".
    key("1");
    await waitFor(() => expect(current()).toBe("3"));
    expect(api.reviewAccept).toHaveBeenLastCalledWith(2, 500, expect.closeTo(0.7, 5), 2);
    expect(api.reviewNewIndividual).not.toHaveBeenCalled();
  });

  it("N opens the code prompt; typing there triggers no shortcuts; Enter confirms", async () => {
    render(<ReviewScreen onChanged={() => {}} />);
    await waitFor(() => expect(current()).toBe("1"));
    key("n");
    const input = await screen.findByTestId("new-individual-code");
    expect(api.reviewAccept).not.toHaveBeenCalled();
    fireEvent.input(input, { target: { value: "HW-NEW1" } });
    // "x" typed into the code must not mark the photo unidentifiable
    key("x", input);
    expect(api.reviewUnidentifiable).not.toHaveBeenCalled();
    key("Enter", input);
    await waitFor(() => expect(api.reviewNewIndividual).toHaveBeenCalledWith(1, "HW-NEW1", null));
    await waitFor(() => expect(current()).toBe("2"));
    expect(screen.queryByTestId("new-individual-code")).toBeNull();
  });

  it("N with a code the catalogue already has offers that individual, and Enter assigns the photo to it", async () => {
    api.reviewSearch.mockImplementation(async (_d: number, q: string) =>
      q.toLowerCase() === "hw-77"
        ? [{ individualId: 77, code: "HW-77", name: null, species: "beluga", sightings: 11, bestCrop: null, similarity: 0.41 }]
        : [],
    );
    render(<ReviewScreen onChanged={() => {}} />);
    await waitFor(() => expect(current()).toBe("1"));
    key("n");
    const input = await screen.findByTestId("new-individual-code");
    fireEvent.input(input, { target: { value: "hw-77" } });
    const offer = await screen.findByTestId("new-individual-existing");
    expect(offer.textContent).toContain("HW-77 is already in the catalogue");
    expect(offer.textContent).toContain("11 sightings");
    key("Enter", input);
    await waitFor(() => expect(api.reviewAccept).toHaveBeenCalledWith(1, 77, 0.41, null));
    expect(api.reviewNewIndividual).not.toHaveBeenCalled();
  });

  it("an error from N shows inside the prompt, next to the action", async () => {
    api.reviewNewIndividual.mockRejectedValueOnce({ kind: "invalid", message: "code `X` is too long" });
    render(<ReviewScreen onChanged={() => {}} />);
    await waitFor(() => expect(current()).toBe("1"));
    key("n");
    const input = await screen.findByTestId("new-individual-code");
    fireEvent.input(input, { target: { value: "X" } });
    key("Enter", input);
    const err = await screen.findByTestId("prompt-error");
    expect(err.textContent).toContain("too long");
    expect(current()).toBe("1");
  });

  it("B then a drag on a whole-frame photo replaces the whole frame by the box drawn", async () => {
    api.boxSet.mockImplementation(async (d: number) => {
      const fresh = { ...item(10, 7, [sugg(1, 100)]), photoId: 1 };
      queue = [fresh, ...queue.filter((q) => q.detectionId !== d)];
      return { action: "set", undone: false, photoId: 1, detectionId: 10, live: [10], removed: [d], toReview: queue.length };
    });
    render(<ReviewScreen onChanged={() => {}} />);
    await waitFor(() => expect(current()).toBe("1"));
    await waitFor(() => expect(screen.getByTestId("box-count").textContent).toContain("1 box"));
    key("b");
    await waitFor(() => expect(screen.getByTestId("review-draw-box").getAttribute("aria-pressed")).toBe("true"));
    // jsdom has no SVG geometry: stand in for the SVG's screen transform.
    const svg = screen.getByTestId("photo-box") as unknown as SVGSVGElement & Record<string, unknown>;
    svg.getScreenCTM = () => ({ inverse: () => ({}) }) as unknown as DOMMatrix;
    svg.createSVGPoint = () =>
      ({
        x: 0,
        y: 0,
        matrixTransform(this: { x: number; y: number }) {
          return { x: this.x, y: this.y };
        },
      }) as unknown as DOMPoint;
    fireEvent.pointerDown(svg, { clientX: 40, clientY: 50, pointerId: 1 });
    fireEvent.pointerMove(svg, { clientX: 140, clientY: 130, pointerId: 1 });
    fireEvent.pointerUp(svg, { clientX: 160, clientY: 150, pointerId: 1 });
    await waitFor(() => expect(api.boxSet).toHaveBeenCalledWith(1, [40, 50, 160, 150]));
    expect(api.boxAdd).not.toHaveBeenCalled();
    await waitFor(() => expect(current()).toBe("10"));
    expect(screen.getByTestId("review-status").textContent).toContain("suggestions ready");
    // U takes the box back (not a review decision).
    api.boxUndo.mockResolvedValueOnce({ action: "set", undone: true, photoId: 1, detectionId: 10, live: [1], removed: [10], toReview: 3 });
    key("u");
    await waitFor(() => expect(api.boxUndo).toHaveBeenCalled());
    expect(api.reviewUndo).not.toHaveBeenCalled();
  });

  it("A opens the catalogue search; choosing an individual assigns the photo to it", async () => {
    api.reviewSearch.mockResolvedValue([
      { individualId: 900, code: "HW-900", name: "Notch", species: "humpback", sightings: 4, bestCrop: null, similarity: 0.33 },
    ]);
    render(<ReviewScreen onChanged={() => {}} />);
    await waitFor(() => expect(current()).toBe("1"));
    key("a");
    const input = await screen.findByTestId("search-input");
    fireEvent.input(input, { target: { value: "notch" } });
    await screen.findByTestId("search-hit");
    key("Enter", input);
    await waitFor(() => expect(api.reviewAccept).toHaveBeenCalledWith(1, 900, 0.33, null));
    await waitFor(() => expect(current()).toBe("2"));
  });

  it("the new-individual prompt offers the suggested species, which the person may change", async () => {
    queue[0] = { ...item(1, 7, [sugg(1, 100)], "beluga"), species: "beluga" };
    render(<ReviewScreen onChanged={() => {}} />);
    await waitFor(() => expect(current()).toBe("1"));
    // The survey's species scopes the suggestions, and the review says so.
    expect(screen.getByTestId("review-scope").textContent).toContain("suggestions from beluga");
    key("n");
    const code = await screen.findByTestId("new-individual-code");
    const species = screen.getByTestId("new-individual-species") as HTMLInputElement;
    expect(species.value).toBe("beluga");
    await waitFor(() => expect(document.activeElement).toBe(code));
    fireEvent.input(code, { target: { value: "BG-9" } });
    species.focus();
    fireEvent.input(species, { target: { value: "narwhal" } });
    // Typing in the species field keeps the focus there.
    await waitFor(() => expect(species.value).toBe("narwhal"));
    expect(document.activeElement).toBe(species);
    key("Enter", species);
    await waitFor(() => expect(api.reviewNewIndividual).toHaveBeenCalledWith(1, "BG-9", "narwhal"));
  });

  it("Esc cancels the prompt without a decision", async () => {
    render(<ReviewScreen onChanged={() => {}} />);
    await waitFor(() => expect(current()).toBe("1"));
    key("n");
    const input = await screen.findByTestId("new-individual-code");
    key("Escape", input);
    await waitFor(() => expect(screen.queryByTestId("new-individual-code")).toBeNull());
    expect(api.reviewNewIndividual).not.toHaveBeenCalled();
    expect(current()).toBe("1");
  });

  it("P attaches to the individual chosen before in the same encounter, and refuses across encounters", async () => {
    render(<ReviewScreen onChanged={() => {}} />);
    await waitFor(() => expect(current()).toBe("1"));
    key("1"); // #1 → HW-100 in encounter 7
    await waitFor(() => expect(current()).toBe("2"));
    key("p"); // #2 is in encounter 7 too
    await waitFor(() => expect(api.reviewSameAs).toHaveBeenCalledWith(2, 100));
    await waitFor(() => expect(current()).toBe("3"));
    key("p"); // #3 is encounter 8: nothing before it
    expect(api.reviewSameAs).toHaveBeenCalledTimes(1);
    expect(screen.getByTestId("review-status").textContent).toMatch(/no earlier decision/i);
  });

  it("S skips without deciding, arrows move, X decides, and the last decision leaves the empty state", async () => {
    render(<ReviewScreen onChanged={() => {}} />);
    await waitFor(() => expect(current()).toBe("1"));
    key("s");
    await waitFor(() => expect(current()).toBe("2"));
    key("ArrowLeft");
    await waitFor(() => expect(current()).toBe("1"));
    key("ArrowRight");
    key("ArrowRight");
    await waitFor(() => expect(current()).toBe("3"));
    key("x");
    // #3 was last: we fall back to the skipped ones still waiting
    await waitFor(() => expect(current()).toBe("2"));
    key("x");
    await waitFor(() => expect(current()).toBe("1"));
    key("x");
    await screen.findByTestId("review-empty");
    expect(api.reviewUnidentifiable).toHaveBeenCalledTimes(3);
    expect(screen.getByTestId("review-remaining").textContent).toBe("0");
  });

  it("U calls review_undo and returns to the undone item", async () => {
    render(<ReviewScreen onChanged={() => {}} />);
    await waitFor(() => expect(current()).toBe("1"));
    key("1");
    await waitFor(() => expect(current()).toBe("2"));
    const decided = item(1, 7, [sugg(1, 100), sugg(2, 200), sugg(3, null), sugg(4, 300), sugg(5, 400)]);
    api.reviewUndo.mockImplementationOnce(async () => {
      queue = [decided, ...queue];
      return { detectionId: 1, action: "accept", toReview: queue.length };
    });
    key("u");
    await waitFor(() => expect(current()).toBe("1"));
    expect(screen.getByTestId("review-status").textContent).toMatch(/undone: #1 accepted/i);
  });

  it("F toggles the mirrored query in the compare panel", async () => {
    render(<ReviewScreen onChanged={() => {}} />);
    await waitFor(() => expect(current()).toBe("1"));
    const flip = screen.getByTestId("review-flip");
    expect(flip.getAttribute("aria-pressed")).toBe("false");
    key("f");
    await waitFor(() => expect(flip.getAttribute("aria-pressed")).toBe("true"));
    const img = screen.getByTestId("review-compare").querySelector("img[alt='query']") as HTMLImageElement;
    expect(img.style.transform).toBe("scaleX(-1)");
  });

  it("Q then 2 grades the photo Q2 in place: the item stays, the chip shows it, the status says so", async () => {
    render(<ReviewScreen onChanged={() => {}} />);
    await waitFor(() => expect(current()).toBe("1"));
    key("ArrowRight");
    await waitFor(() => expect(current()).toBe("2"));
    key("q");
    expect(screen.getByTestId("review-status").textContent).toContain("Quality: 1 Q1 · 2 Q2 · 3 Q3 · 0 clears");
    key("2");
    await waitFor(() => expect(screen.getByTestId("grade-quality").getAttribute("data-value")).toBe("Q2"));
    expect(api.setAttributes).toHaveBeenCalledWith(2, [{ attribute: "quality", value: "Q2" }]);
    // The chord's 2 is a grade, not candidate 2.
    expect(api.reviewAccept).not.toHaveBeenCalled();
    expect(current()).toBe("2");
    expect(screen.getByTestId("review-status").textContent).toBe("Quality Q2 · #2");
    expect(screen.getByTestId("grade-quality-Q2").getAttribute("aria-pressed")).toBe("true");
    expect(screen.getByTestId("grade-quality-Q1").getAttribute("aria-pressed")).toBe("false");
    // Each chip says its keys.
    expect(screen.getByTestId("grade-quality-Q1").getAttribute("title")).toBe("Q1 excellent (Q then 1)");
    expect(screen.getByTestId("grade-side-left").getAttribute("title")).toBe("left (L, or V then L)");
    expect(screen.getByTestId("review-remaining").textContent).toBe("3");
    // D, V (side) and T (part) chords and L alone, then 0 clears.
    key("d");
    key("1");
    await waitFor(() => expect(screen.getByTestId("grade-distinctiveness").getAttribute("data-value")).toBe("D1"));
    key("l");
    await waitFor(() => expect(screen.getByTestId("grade-side").getAttribute("data-value")).toBe("left"));
    expect(screen.getByTestId("review-status").textContent).toBe("Side left · #2");
    key("v");
    key("b");
    await waitFor(() => expect(screen.getByTestId("grade-side").getAttribute("data-value")).toBe("both"));
    key("t");
    key("k");
    await waitFor(() => expect(screen.getByTestId("grade-part").getAttribute("data-value")).toBe("fluke"));
    key("q");
    key("0");
    await waitFor(() => expect(screen.getByTestId("grade-quality").getAttribute("data-value")).toBe(""));
    expect(screen.getByTestId("review-status").textContent).toBe("Quality cleared · #2");
    expect(current()).toBe("2");
    // The grades went to #2 alone.
    expect(api.setAttributes.mock.calls.every(([d]) => d === 2)).toBe(true);
  });

  it("grades typed in a quick run are all saved, in order, while the first is still on its way", async () => {
    let release = () => {};
    const slow = api.setAttributes.getMockImplementation()!;
    api.setAttributes.mockImplementationOnce(
      (d: number, c: AttributeChange[]) => new Promise((ok) => (release = () => ok(slow(d, c)))),
    );
    render(<ReviewScreen onChanged={() => {}} />);
    await waitFor(() => expect(current()).toBe("1"));
    key("l");
    await waitFor(() => expect(api.setAttributes).toHaveBeenCalledTimes(1));
    // The side is still saving: these wait their turn.
    key("t");
    key("k");
    key("q");
    key("3");
    expect(api.setAttributes).toHaveBeenCalledTimes(1);
    release();
    await waitFor(() => expect(screen.getByTestId("grade-quality").getAttribute("data-value")).toBe("Q3"));
    expect(screen.getByTestId("grade-side").getAttribute("data-value")).toBe("left");
    expect(screen.getByTestId("grade-part").getAttribute("data-value")).toBe("fluke");
    expect(api.setAttributes.mock.calls.map(([, c]) => c[0].attribute)).toEqual(["side", "part", "quality"]);
    expect(screen.getByTestId("review-status").textContent).toBe("Quality Q3 · #1");
  });

  it("a key that is no value of the chord drops it without deciding, and Esc cancels one", async () => {
    render(<ReviewScreen onChanged={() => {}} />);
    await waitFor(() => expect(current()).toBe("1"));
    key("q");
    key("x");
    expect(screen.getByTestId("review-status").textContent).toContain("Quality not set");
    expect(api.reviewUnidentifiable).not.toHaveBeenCalled();
    expect(api.setAttributes).not.toHaveBeenCalled();
    key("t");
    key("Escape");
    // After Esc the next key is a command again: 1 accepts candidate 1.
    key("1");
    await waitFor(() => expect(api.reviewAccept).toHaveBeenCalledWith(1, 100, expect.any(Number), 1));
    expect(api.setAttributes).not.toHaveBeenCalled();
  });

  it("a click on a grade chip sets it, a click on the pressed chip clears it", async () => {
    render(<ReviewScreen onChanged={() => {}} />);
    await waitFor(() => expect(current()).toBe("1"));
    fireEvent.click(screen.getByTestId("grade-side-right"));
    await waitFor(() => expect(screen.getByTestId("grade-side").getAttribute("data-value")).toBe("right"));
    expect(screen.getByTestId("review-status").textContent).toBe("Side right · #1");
    fireEvent.click(screen.getByTestId("grade-part-dorsal-fin"));
    await waitFor(() => expect(screen.getByTestId("grade-part").getAttribute("data-value")).toBe("dorsal-fin"));
    fireEvent.click(screen.getByTestId("grade-side-right"));
    await waitFor(() => expect(screen.getByTestId("grade-side").getAttribute("data-value")).toBe(""));
    expect(api.setAttributes).toHaveBeenLastCalledWith(1, [{ attribute: "side", value: null }]);
    expect(current()).toBe("1");
  });

  it("a refused grade shows the backend's error and leaves the grades as they were", async () => {
    api.setAttributes.mockRejectedValueOnce({ kind: "invalid", message: "detection #1 was removed: restore it before grading it" });
    render(<ReviewScreen onChanged={() => {}} />);
    await waitFor(() => expect(current()).toBe("1"));
    key("q");
    key("1");
    await waitFor(() => expect(screen.getByTestId("review-error").textContent).toContain("restore it before grading it"));
    expect(screen.getByTestId("grade-quality").getAttribute("data-value")).toBe("");
  });

  it("shows the empty state for an empty queue", async () => {
    queue = [];
    render(<ReviewScreen onChanged={() => {}} />);
    await screen.findByTestId("review-empty");
    expect(screen.queryByTestId("review-item")).toBeNull();
  });
  it("reads the queue again after an encounter split, staying on the photo, whose new encounter shows", async () => {
    const view = (id: number, photoIds: number[]) => ({
      id,
      uuid: `0190f000-0000-7000-8000-00000000e00${id}`,
      startedAt: null,
      endedAt: null,
      place: null,
      latitude: null,
      longitude: null,
      observers: [],
      vessel: null,
      groupBest: null,
      groupMin: null,
      groupMax: null,
      behaviour: null,
      notes: null,
      survey: null,
      joinedInto: null,
      photoIds,
      edits: [],
    });
    api.encounterGet.mockImplementation(async (id: number) => (id === 7 ? view(7, [1]) : view(9, [2])));
    // The split moves photo 2 into a new encounter #9, as the catalogue would.
    api.encounterSplit.mockImplementation(async () => {
      queue = queue.map((q) => (q.detectionId === 2 ? { ...q, encounterId: 9, encounterLabel: "encounter 9" } : q));
      return view(9, [2]);
    });
    render(<ReviewScreen onChanged={() => {}} />);
    await waitFor(() => expect(current()).toBe("1"));
    key("ArrowRight");
    await waitFor(() => expect(current()).toBe("2"));
    expect(screen.getByTestId("encounter-edit").textContent).toBe("Encounter #7");
    const loads = api.reviewQueue.mock.calls.length;

    fireEvent.click(screen.getByTestId("encounter-edit"));
    await waitFor(() => screen.getByTestId("encounter-split-at"));
    fireEvent.input(screen.getByTestId("encounter-split-at"), { target: { value: "2026-06-30 14:05" } });
    fireEvent.click(screen.getByTestId("encounter-split"));

    await waitFor(() => expect(api.reviewQueue.mock.calls.length).toBe(loads + 1));
    await waitFor(() => expect(screen.getByTestId("encounter-edit").textContent).toBe("Encounter #9"));
    expect(current()).toBe("2");
  });
});
