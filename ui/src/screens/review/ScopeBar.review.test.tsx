// @vitest-environment jsdom
// The scope bar mounted in the Review screen: the keys act on the scoped
// candidates, and a decision's next item is scoped too.
import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/preact";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { MatchScope } from "../../bindings/MatchScope";
import type { ReviewItem } from "../../bindings/ReviewItem";
import type { Suggestion } from "../../bindings/Suggestion";
import { NO_GRADES } from "../../lib/grades";
import { reviewItem } from "../../testing/reviewItem";

const api = vi.hoisted(() => ({
  reviewQueue: vi.fn(),
  reviewAccept: vi.fn(),
  reviewUndo: vi.fn(),
  reviewSearch: vi.fn(),
  boxList: vi.fn(),
  scopedSuggestions: vi.fn(),
}));
vi.mock("../../ipc", async (orig) => ({ ...(await orig<typeof import("../../ipc")>()), ...api }));

const { ReviewScreen } = await import("../Review");
const { resetSessionScope } = await import("./ScopeBar");

function sugg(rank: number, individualId: number): Suggestion {
  return {
    rank,
    individualId,
    code: `HW-${individualId}`,
    name: null,
    species: null,
    score: 0.9 - rank / 10,
    bestCrop: null,
    strip: [],
  };
}

function item(detectionId: number): ReviewItem {
  return reviewItem({
    detectionId,
    // HW-100's photos show the other side.
    suggestions: [sugg(1, 100), sugg(2, 200), sugg(3, 300)],
    threshold: 0.5,
    grades: { ...NO_GRADES, side: "left" },
  });
}

let queue: ReviewItem[] = [];

beforeEach(() => {
  resetSessionScope();
  queue = [item(1), item(2)];
  api.reviewQueue.mockImplementation(async () => ({ items: [...queue], total: queue.length }));
  api.reviewAccept.mockImplementation(async (d: number, ind: number) => {
    queue = queue.filter((q) => q.detectionId !== d);
    return { detectionId: d, action: "accept", individualId: ind, code: `HW-${ind}`, toReview: queue.length };
  });
  api.reviewUndo.mockResolvedValue(null);
  api.reviewSearch.mockResolvedValue([]);
  api.boxList.mockResolvedValue([]);
  api.scopedSuggestions.mockImplementation(async (detectionId: number, scope: MatchScope) => ({
    detectionId,
    suggestions: scope.sameSide ? [sugg(1, 200), sugg(2, 300)] : item(detectionId).suggestions,
    label: scope.sameSide ? "same side (left)" : "any photo",
    leftOut: scope.sameSide ? 4 : 0,
  }));
});
afterEach(() => {
  cleanup();
  vi.clearAllMocks();
});

const shown = () => screen.getAllByTestId("suggestion").map((e) => e.getAttribute("data-individual-id"));
const current = () => screen.getByTestId("review-item").getAttribute("data-detection-id");

describe("Review with a scope", () => {
  it("keys act on the scoped candidates, and the next item is scoped too", async () => {
    render(<ReviewScreen onChanged={() => {}} />);
    await waitFor(() => expect(shown()).toEqual(["100", "200", "300"]));
    fireEvent.click(screen.getByTestId("scope-same-side"));
    await waitFor(() => expect(shown()).toEqual(["200", "300"]));
    expect(screen.getByTestId("scope-active").textContent).toBe("Scope: same side (left) · 4 photos left out");
    expect(screen.getByTestId("review-suggested").textContent).toContain("HW-200");

    fireEvent.keyDown(window, { key: "1" });
    await waitFor(() => expect(api.reviewAccept).toHaveBeenCalled());
    expect(api.reviewAccept.mock.calls[0].slice(0, 2)).toEqual([1, 200]);
    await waitFor(() => expect(current()).toBe("2"));
    await waitFor(() => expect(api.scopedSuggestions).toHaveBeenLastCalledWith(2, { sameSide: true, minQuality: null }));
    await waitFor(() => expect(shown()).toEqual(["200", "300"]));
  });
});
