// @vitest-environment jsdom
import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/preact";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { ReviewItem } from "../bindings/ReviewItem";
import type { ReviewOutcome } from "../bindings/ReviewOutcome";
import type { Suggestion } from "../bindings/Suggestion";

const api = vi.hoisted(() => ({
  reviewQueue: vi.fn(),
  reviewAccept: vi.fn(),
  reviewNewIndividual: vi.fn(),
  reviewUnidentifiable: vi.fn(),
  reviewSameAs: vi.fn(),
  reviewUndo: vi.fn(),
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
});
afterEach(() => {
  cleanup();
  vi.clearAllMocks();
});

const current = () => screen.getByTestId("review-item").getAttribute("data-detection-id");
const key = (k: string, target: Element | Window = window) => fireEvent.keyDown(target, { key: k });

describe("ReviewScreen", () => {
  it("shows the suggestions in rank order with the new-individual entry where the backend put it", async () => {
    render(<ReviewScreen onChanged={() => {}} />);
    await waitFor(() => expect(current()).toBe("1"));
    // Each photo is named by its file, in the queue and in the header.
    expect(screen.getByTestId("review-file").textContent).toBe("1.jpg");
    expect(screen.getAllByTestId("queue-item")[0].textContent).toContain("1.jpg");
    expect(screen.getAllByTestId("queue-item")[0].getAttribute("title")).toContain("/s/1.jpg");
    const s = screen.getAllByTestId("suggestion");
    expect(s.map((e) => e.getAttribute("data-rank"))).toEqual(["1", "2", "3", "4", "5"]);
    expect(s.map((e) => e.getAttribute("data-individual-id"))).toEqual(["100", "200", "", "300", "400"]);
    expect(screen.getByTestId("review-remaining").textContent).toBe("3");
  });

  it("2 accepts the second suggestion, then moves on to the next item", async () => {
    const changed = vi.fn();
    render(<ReviewScreen onChanged={changed} />);
    await waitFor(() => expect(current()).toBe("1"));
    key("2");
    await waitFor(() => expect(current()).toBe("2"));
    expect(api.reviewAccept).toHaveBeenCalledWith(1, 200, expect.closeTo(0.7, 5), 2);
    expect(screen.getByTestId("review-status").textContent).toContain("HW-200");
    expect(screen.getByTestId("review-remaining").textContent).toBe("2");
    expect(changed).toHaveBeenCalled();
  });

  it("a number on the new-individual entry opens the code prompt; typing there triggers no shortcuts; Enter confirms", async () => {
    render(<ReviewScreen onChanged={() => {}} />);
    await waitFor(() => expect(current()).toBe("1"));
    key("3");
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

  it("shows the empty state for an empty queue", async () => {
    queue = [];
    render(<ReviewScreen onChanged={() => {}} />);
    await screen.findByTestId("review-empty");
    expect(screen.queryByTestId("review-item")).toBeNull();
  });
});
