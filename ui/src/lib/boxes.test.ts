import { describe, expect, it } from "vitest";
import { dragged, moved, resized, sameBox, spanned, usable, type Box } from "./boxes";

describe("box geometry", () => {
  it("a drawn box is ordered whichever way it was dragged, and kept inside the photo", () => {
    expect(spanned({ x: 120, y: 90 }, { x: 20, y: 10 }, 400, 300)).toEqual([20, 10, 120, 90]);
    expect(spanned({ x: -30, y: 50 }, { x: 450, y: 400 }, 400, 300)).toEqual([0, 50, 400, 300]);
  });

  it("a slip smaller than 8 px on either side is not a box", () => {
    expect(usable([0, 0, 7, 100])).toBe(false);
    expect(usable([0, 0, 8, 8])).toBe(true);
  });

  it("moving keeps the size and stops at the photo's edges", () => {
    const b: Box = [10, 10, 60, 40];
    expect(moved(b, { x: 0, y: 0 }, { x: 20, y: 5 }, 400, 300)).toEqual([30, 15, 80, 45]);
    expect(moved(b, { x: 0, y: 0 }, { x: 1000, y: -100 }, 400, 300)).toEqual([350, 0, 400, 30]);
  });

  it("resizing pulls one corner and keeps the opposite one", () => {
    const b: Box = [10, 10, 60, 40];
    expect(resized(b, "se", { x: 100, y: 80 }, 400, 300)).toEqual([10, 10, 100, 80]);
    expect(resized(b, "nw", { x: 0, y: 5 }, 400, 300)).toEqual([0, 5, 60, 40]);
    // Pulled past the opposite corner, the box turns over rather than inverting.
    expect(resized(b, "se", { x: 0, y: 0 }, 400, 300)).toEqual([0, 0, 10, 10]);
    expect(dragged({ kind: "resize", corner: "ne", box: b }, { x: 70, y: 0 }, 400, 300)).toEqual([10, 0, 70, 40]);
  });

  it("a click without a drag leaves the same box", () => {
    expect(sameBox([10, 10, 60, 40], [10.2, 9.8, 60, 40.4])).toBe(true);
    expect(sameBox([10, 10, 60, 40], [12, 10, 60, 40])).toBe(false);
  });
});
