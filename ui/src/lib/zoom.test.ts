import { describe, expect, it } from "vitest";
import { clampView, IDENTITY, MAX_SCALE, panBy, viewTransform, wheelFactor, zoomAt, type View } from "./zoom";

/** Where a content point (fraction of the image) lands in the pane. */
const project = (v: View, cx: number, cy: number) => [v.tx + cx * v.scale, v.ty + cy * v.scale];

describe("zoomAt", () => {
  it("keeps the point under the cursor fixed", () => {
    const v = zoomAt(IDENTITY, 2, 0.25, 0.75);
    expect(v.scale).toBe(2);
    // content point under (0.25, 0.75) at scale 1 is (0.25, 0.75); it stays there
    const [x, y] = project(v, 0.25, 0.75);
    expect(x).toBeCloseTo(0.25);
    expect(y).toBeCloseTo(0.75);
  });
  it("keeps the cursor point fixed across successive zooms from a panned view", () => {
    let v = zoomAt(IDENTITY, 3, 0.5, 0.5);
    v = panBy(v, -0.2, 0.1);
    const cx = (0.6 - v.tx) / v.scale;
    const cy = (0.3 - v.ty) / v.scale;
    const w = zoomAt(v, 1.5, 0.6, 0.3);
    const [x, y] = project(w, cx, cy);
    expect(x).toBeCloseTo(0.6);
    expect(y).toBeCloseTo(0.3);
  });
  it("clamps scale between 1 and the maximum", () => {
    expect(zoomAt(IDENTITY, 0.5, 0.5, 0.5)).toEqual(IDENTITY);
    expect(zoomAt({ scale: 10, tx: -4, ty: -4 }, 5, 0.5, 0.5).scale).toBe(MAX_SCALE);
  });
  it("zooming back out to 1 returns exactly to the unzoomed view", () => {
    const v = zoomAt(zoomAt(IDENTITY, 4, 0.9, 0.1), 0.25, 0.3, 0.3);
    expect(v).toEqual({ scale: 1, tx: 0, ty: 0 });
  });
});

describe("panBy", () => {
  it("moves by the drag in pane fractions", () => {
    const v = panBy({ scale: 3, tx: -1, ty: -1 }, 0.25, -0.5);
    expect(v).toEqual({ scale: 3, tx: -0.75, ty: -1.5 });
  });
  it("never uncovers the pane", () => {
    expect(panBy(IDENTITY, 0.3, 0.3)).toEqual(IDENTITY);
    expect(panBy({ scale: 2, tx: -0.5, ty: -0.5 }, -5, 5)).toEqual({ scale: 2, tx: -1, ty: 0 });
  });
  it("one view drives panes of any size the same way (pane-relative units)", () => {
    const v = panBy(zoomAt(IDENTITY, 2, 0.5, 0.5), 0.1, 0);
    // pane A 300px wide, pane B 500px wide: the same content fraction sits at the same pane fraction
    const content = 0.4;
    const a = (v.tx + content * v.scale) * 300;
    const b = (v.tx + content * v.scale) * 500;
    expect(a / 300).toBeCloseTo(b / 500);
  });
});

describe("clampView, wheel, transform", () => {
  it("clampView fixes out-of-range values", () => {
    expect(clampView({ scale: 0.2, tx: 1, ty: -1 })).toEqual(IDENTITY);
  });
  it("wheel down zooms out, up zooms in, symmetric", () => {
    expect(wheelFactor(100)).toBeLessThan(1);
    expect(wheelFactor(-100)).toBeGreaterThan(1);
    expect(wheelFactor(100) * wheelFactor(-100)).toBeCloseTo(1);
    // a huge trackpad fling is bounded
    expect(wheelFactor(-100000)).toBeCloseTo(wheelFactor(-300));
  });
  it("writes the CSS transform in percent of the pane", () => {
    expect(viewTransform({ scale: 2, tx: -0.5, ty: -0.25 })).toBe("translate(-50.0000%, -25.0000%) scale(2.0000)");
  });
});
