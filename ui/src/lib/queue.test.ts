import { describe, expect, it } from "vitest";
import type { ReviewItem } from "../bindings/ReviewItem";
import { reviewItem } from "../testing/reviewItem";
import { forgetDecision, groupByEncounter, indexAfterReload, indexOfDetection, sameAsPreviousTarget, type Decision } from "./queue";

function item(detectionId: number, encounterId: number | null, label = `enc ${encounterId}`): ReviewItem {
  return reviewItem({ detectionId, encounterId, encounterLabel: label });
}

describe("groupByEncounter", () => {
  it("makes one group per encounter run, with start offsets into the flat queue", () => {
    const items = [item(1, 7), item(2, 7), item(3, 9), item(4, 9), item(5, 9), item(6, null, "no date")];
    const g = groupByEncounter(items);
    expect(g.map((x) => [x.encounterId, x.start, x.items.map((i) => i.detectionId)])).toEqual([
      [7, 0, [1, 2]],
      [9, 2, [3, 4, 5]],
      [null, 5, [6]],
    ]);
    expect(g[2].label).toBe("no date");
  });
  it("groups photos without an encounter by their label", () => {
    const g = groupByEncounter([item(1, null, "no date"), item(2, null, "no date"), item(3, null, "other")]);
    expect(g.map((x) => x.items.length)).toEqual([2, 1]);
  });
  it("keeps queue order when an encounter comes back split", () => {
    const g = groupByEncounter([item(1, 7), item(2, 8), item(3, 7)]);
    expect(g.map((x) => x.encounterId)).toEqual([7, 8, 7]);
  });
  it("is empty for an empty queue", () => {
    expect(groupByEncounter([])).toEqual([]);
  });
});

describe("indexAfterReload", () => {
  const old = [item(1, 1), item(2, 1), item(3, 1), item(4, 2)];
  it("after deciding the current item, stands on the one that followed it", () => {
    // decided #2 (index 1): new queue lacks it
    const fresh = [item(1, 1), item(3, 1), item(4, 2)];
    expect(indexAfterReload(old, 1, fresh)).toBe(1);
    expect(fresh[indexAfterReload(old, 1, fresh)].detectionId).toBe(3);
  });
  it("does not go back to a skipped item behind us", () => {
    // #1 was skipped (still queued), #2 decided: next is #3, not #1
    const fresh = [item(1, 1), item(3, 1), item(4, 2)];
    expect(fresh[indexAfterReload(old, 1, fresh)].detectionId).toBe(3);
  });
  it("passes over followers that were decided elsewhere in the meantime", () => {
    const fresh = [item(1, 1), item(4, 2)];
    expect(fresh[indexAfterReload(old, 1, fresh)].detectionId).toBe(4);
  });
  it("after the last item, falls back to the last remaining one", () => {
    const fresh = [item(1, 1), item(2, 1), item(3, 1)];
    expect(indexAfterReload(old, 3, fresh)).toBe(2);
  });
  it("is -1 when the queue is empty", () => {
    expect(indexAfterReload(old, 0, [])).toBe(-1);
  });
  it("without advancing, stays on the same item if it is still there", () => {
    expect(indexAfterReload(old, 2, old, false)).toBe(2);
  });
});

describe("indexOfDetection", () => {
  it("finds the detection, else clamps the fallback", () => {
    const items = [item(5, 1), item(6, 1)];
    expect(indexOfDetection(items, 6, 0)).toBe(1);
    expect(indexOfDetection(items, 99, 7)).toBe(1);
    expect(indexOfDetection([], 6, 0)).toBe(-1);
  });
});

describe("sameAsPreviousTarget", () => {
  const d = (detectionId: number, encounterId: number | null, individualId: number | null, action: Decision["action"] = "accept"): Decision => ({
    detectionId,
    encounterId,
    action,
    individualId,
    code: individualId == null ? null : `HW-${individualId}`,
  });

  it("takes the individual of the latest decision in the same encounter", () => {
    const h = [d(1, 7, 100), d(2, 7, 200), d(3, 8, 300)];
    expect(sameAsPreviousTarget(h, { detectionId: 4, encounterId: 7 })).toEqual({ individualId: 200, code: "HW-200" });
  });
  it("ignores decisions from other encounters", () => {
    const h = [d(1, 7, 100), d(3, 8, 300)];
    expect(sameAsPreviousTarget(h, { detectionId: 9, encounterId: 9 })).toBeNull();
  });
  it("passes over 'not identifiable' to the last named individual", () => {
    const h = [d(1, 7, 100), d(2, 7, null, "unidentifiable")];
    expect(sameAsPreviousTarget(h, { detectionId: 3, encounterId: 7 })?.individualId).toBe(100);
  });
  it("counts a new individual created in this encounter", () => {
    const h = [d(1, 7, 555, "newIndividual")];
    expect(sameAsPreviousTarget(h, { detectionId: 2, encounterId: 7 })?.individualId).toBe(555);
  });
  it("has nothing for photos without an encounter", () => {
    const h = [d(1, null, 100)];
    expect(sameAsPreviousTarget(h, { detectionId: 2, encounterId: null })).toBeNull();
  });
  it("does not use the item's own earlier decision (revisited after undo elsewhere)", () => {
    const h = [d(1, 7, 100), d(2, 7, 200)];
    expect(sameAsPreviousTarget(h, { detectionId: 2, encounterId: 7 })?.individualId).toBe(100);
  });
  it("forgets an undone decision", () => {
    const h = forgetDecision([d(1, 7, 100), d(2, 7, 200)], 2);
    expect(h.map((x) => x.detectionId)).toEqual([1]);
    expect(sameAsPreviousTarget(h, { detectionId: 2, encounterId: 7 })?.individualId).toBe(100);
    const same = [d(1, 7, 100)];
    expect(forgetDecision(same, 42)).toBe(same);
  });
});
