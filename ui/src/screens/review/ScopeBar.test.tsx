// @vitest-environment jsdom
import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/preact";
import { useState } from "preact/hooks";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { MatchScope } from "../../bindings/MatchScope";
import type { ReviewItem } from "../../bindings/ReviewItem";
import type { ScopedSuggestions } from "../../bindings/ScopedSuggestions";
import type { Suggestion } from "../../bindings/Suggestion";
import { NO_GRADES } from "../../lib/grades";
import { reviewItem } from "../../testing/reviewItem";

const api = vi.hoisted(() => ({ scopedSuggestions: vi.fn() }));
vi.mock("../../ipc", async (orig) => ({ ...(await orig<typeof import("../../ipc")>()), ...api }));

const { ScopeBar, resetSessionScope } = await import("./ScopeBar");

function sugg(rank: number, individualId: number | null): Suggestion {
  return {
    rank,
    individualId,
    code: individualId == null ? null : `HW-${individualId}`,
    name: null,
    species: null,
    score: individualId == null ? null : 0.9 - rank / 10,
    bestCrop: null,
    strip: [],
  };
}

function item(detectionId: number, side: ReviewItem["grades"]["side"], suggestions: Suggestion[]): ReviewItem {
  return reviewItem({ detectionId, suggestions, threshold: 0.5, grades: { ...NO_GRADES, side } });
}

/** The stored ranking: HW-1 (the wrong side) first. */
const STORED = [sugg(1, 1), sugg(2, 2), sugg(3, null)];

/**
 * A fake backend: same side leaves HW-1 out (its photos are graded right),
 * Q2 leaves 5 more photos out; no side graded is refused as the engine does.
 */
function backend(detectionId: number, scope: MatchScope): Promise<ScopedSuggestions> {
  if (scope.sameSide && detectionId === 8) {
    return Promise.reject({ kind: "invalid", message: `detection #${detectionId}: its side is not graded` });
  }
  const parts = [];
  let leftOut = 0;
  let suggestions = STORED;
  if (scope.sameSide) {
    parts.push("same side (left)");
    leftOut += 3;
    suggestions = [sugg(1, 2), sugg(2, null)];
  }
  if (scope.minQuality) {
    parts.push(`quality >= ${scope.minQuality}`);
    leftOut += 5;
  }
  return Promise.resolve({ detectionId, suggestions, label: parts.join(", "), leftOut });
}

/** Review's part: the bar's ranking replaces the item's suggestions. */
function Harness({ items }: { items: ReviewItem[] }) {
  const [list, setList] = useState(items);
  const [index, setIndex] = useState(0);
  const current = list[index];
  return (
    <div>
      <ScopeBar
        item={current}
        onScoped={(id, suggestions) => setList((l) => l.map((i) => (i.detectionId === id ? { ...i, suggestions } : i)))}
      />
      <ol data-testid="codes">{current.suggestions.map((s) => s.code ?? "new").join(" ")}</ol>
      <button type="button" data-testid="next" onClick={() => setIndex(index + 1)} />
    </div>
  );
}

const codes = () => screen.getByTestId("codes").textContent;
const sameSide = () => screen.getByTestId("scope-same-side") as HTMLInputElement;
const minQuality = () => screen.getByTestId("scope-min-quality") as HTMLSelectElement;

beforeEach(() => {
  resetSessionScope();
  api.scopedSuggestions.mockImplementation(backend);
});
afterEach(() => {
  cleanup();
  vi.clearAllMocks();
});

describe("ScopeBar", () => {
  it("re-ranks the item within the same side, says the scope while active, and hands the stored ranking back", async () => {
    render(<Harness items={[item(7, "left", STORED)]} />);
    expect(codes()).toBe("HW-1 HW-2 new");
    expect(screen.queryByTestId("scope-active")).toBeNull();
    expect(api.scopedSuggestions).not.toHaveBeenCalled();
    expect(screen.getByTestId("scope-bar").textContent).toContain("Same side (left)");

    fireEvent.click(sameSide());
    await waitFor(() => expect(codes()).toBe("HW-2 new"));
    expect(api.scopedSuggestions).toHaveBeenCalledWith(7, { sameSide: true, minQuality: null });
    expect(screen.getByTestId("scope-active").textContent).toBe("Scope: same side (left) · 3 photos left out");

    fireEvent.change(minQuality(), { target: { value: "Q2" } });
    await waitFor(() =>
      expect(screen.getByTestId("scope-active").textContent).toBe(
        "Scope: same side (left), quality >= Q2 · 8 photos left out",
      ),
    );
    expect(api.scopedSuggestions).toHaveBeenLastCalledWith(7, { sameSide: true, minQuality: "Q2" });
    // Its own ranking coming back is not searched again.
    const calls = api.scopedSuggestions.mock.calls.length;
    await new Promise((r) => setTimeout(r, 20));
    expect(api.scopedSuggestions.mock.calls.length).toBe(calls);

    fireEvent.click(sameSide());
    fireEvent.change(minQuality(), { target: { value: "" } });
    await waitFor(() => expect(codes()).toBe("HW-1 HW-2 new"));
    expect(screen.queryByTestId("scope-active")).toBeNull();
  });

  it("keeps the scope from item to item and for the next visit to Review", async () => {
    const { unmount } = render(<Harness items={[item(7, "left", STORED), item(9, "left", STORED)]} />);
    fireEvent.click(sameSide());
    await waitFor(() => expect(codes()).toBe("HW-2 new"));
    fireEvent.click(screen.getByTestId("next"));
    await waitFor(() => expect(api.scopedSuggestions).toHaveBeenLastCalledWith(9, { sameSide: true, minQuality: null }));
    await waitFor(() => expect(codes()).toBe("HW-2 new"));
    unmount();

    render(<Harness items={[item(10, "left", STORED)]} />);
    expect(sameSide().checked).toBe(true);
    await waitFor(() => expect(codes()).toBe("HW-2 new"));
  });

  it("shows why a scope cannot apply and leaves the stored ranking", async () => {
    render(<Harness items={[item(7, "left", STORED), item(8, null, STORED)]} />);
    fireEvent.click(sameSide());
    await waitFor(() => expect(codes()).toBe("HW-2 new"));
    fireEvent.click(screen.getByTestId("next"));
    await waitFor(() => expect(screen.getByTestId("scope-error").textContent).toContain("side is not graded"));
    expect(codes()).toBe("HW-1 HW-2 new");
    expect(screen.queryByTestId("scope-active")).toBeNull();
    expect(screen.getByTestId("scope-bar").textContent).toContain("Same side");
  });
});
