import { describe, expect, it } from "vitest";
import { linearScale, linePath, niceRange, niceStep, plotLines, stepDecimals, type Box } from "./plot";

const box: Box = { width: 220, height: 120, top: 10, right: 10, bottom: 10, left: 10 }; // area 10..210 × 10..110

describe("niceStep and niceRange", () => {
  it("picks the nearest 1, 2 or 5 times a power of ten", () => {
    expect(niceStep(0.13)).toBeCloseTo(0.1);
    expect(niceStep(0.25)).toBeCloseTo(0.2);
    expect(niceStep(3.8)).toBe(5);
    expect(niceStep(8)).toBe(10);
    expect(niceStep(0.2, true)).toBe(1);
    expect(niceStep(0)).toBe(1);
  });
  it("shows a step with just enough decimals", () => {
    expect(stepDecimals(0.05)).toBe(2);
    expect(stepDecimals(0.2)).toBe(1);
    expect(stepDecimals(5)).toBe(0);
    expect(stepDecimals(100)).toBe(0);
  });
  it("widens to whole steps and lists exact ticks", () => {
    const r = niceRange(3.7, 11.2, 4);
    expect(r.domain).toEqual([2, 12]);
    expect(r.ticks).toEqual([2, 4, 6, 8, 10, 12]);
    const f = niceRange(0.12, 0.71, 5);
    expect(f.ticks).toEqual([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8]);
  });
  it("opens a flat range around its value", () => {
    const r = niceRange(5, 5, 4);
    expect(r.domain[0]).toBeLessThan(5);
    expect(r.domain[1]).toBeGreaterThan(5);
    expect(niceRange(0, 0, 4).domain).toEqual([-1, 1]);
  });
});

describe("linearScale", () => {
  it("maps ends to ends and can flip", () => {
    const s = linearScale([0, 1], [110, 10]);
    expect(s(0)).toBe(110);
    expect(s(1)).toBe(10);
    expect(s(0.5)).toBe(60);
  });
  it("puts everything in the middle for a zero-width domain", () => {
    expect(linearScale([3, 3], [10, 210])(3)).toBe(110);
  });
});

describe("linePath", () => {
  it("moves to the first point and draws lines to the rest, rounded to 0.1", () => {
    expect(linePath([{ x: 10, y: 20 }, { x: 30.04, y: 40.26 }, { x: 50, y: 5 }])).toBe("M10 20 L30 40.3 L50 5");
    expect(linePath([])).toBe("");
  });
});

describe("plotLines", () => {
  it("draws one path per series over a fixed epoch axis, higher values higher up", () => {
    const p = plotLines(
      [
        { key: "effnet", points: [{ x: 1, y: 0.2 }, { x: 2, y: 0.5 }] },
        { key: "convnext", points: [{ x: 1, y: 0.3 }] },
      ],
      box,
      { xDomain: [1, 5], yDomain: [0, 1], integerX: true },
    );
    expect(p.hasData).toBe(true);
    const [a, b] = p.series;
    expect(a.key).toBe("effnet");
    expect(a.path).toBe("M10 90 L60 60");
    expect(a.dots[1].y).toBeLessThan(a.dots[0].y);
    // a single point: no line to draw, but a dot to show it
    expect(b.path).toBe("M10 80");
    expect(b.dots).toHaveLength(1);
    expect(p.xTicks.map((t) => t.label)).toEqual(["1", "2", "3", "4", "5"]);
    expect(p.yTicks.map((t) => t.label)).toEqual(["0.0", "0.2", "0.4", "0.6", "0.8", "1.0"]);
    expect(p.yTicks[0].pos).toBe(110);
    expect(p.yTicks[p.yTicks.length - 1].pos).toBe(10);
  });

  it("skips epochs without a validation score and joins the measured ones", () => {
    const p = plotLines(
      [{ key: "b", points: [{ x: 1, y: null }, { x: 2, y: 0.4 }, { x: 3, y: null }, { x: 4, y: 0.6 }] }],
      box,
      { xDomain: [1, 4], yDomain: [0, 1], integerX: true },
    );
    expect(p.series[0].dots.map((d) => d.point.x)).toEqual([2, 4]);
    expect(p.series[0].path.match(/[ML]/g)).toEqual(["M", "L"]);
  });

  it("has no data, and no path, when every score is null", () => {
    const p = plotLines([{ key: "b", points: [{ x: 1, y: null }] }], box, { xDomain: [1, 3], yDomain: [0, 1] });
    expect(p.hasData).toBe(false);
    expect(p.series[0].path).toBe("");
    expect(p.yTicks.length).toBeGreaterThan(1);
  });

  it("fits the y axis to the data with room on nice ticks, and stays inside the area", () => {
    const p = plotLines([{ key: "loss", points: [{ x: 1, y: 11.2 }, { x: 2, y: 7.9 }, { x: 3, y: 3.7 }] }], box, {
      xDomain: [1, 3],
      integerX: true,
    });
    expect(p.yTicks[0].value).toBeLessThanOrEqual(3.7);
    expect(p.yTicks[p.yTicks.length - 1].value).toBeGreaterThanOrEqual(11.2);
    for (const d of p.series[0].dots) {
      expect(d.x).toBeGreaterThanOrEqual(10);
      expect(d.x).toBeLessThanOrEqual(210);
      expect(d.y).toBeGreaterThanOrEqual(10);
      expect(d.y).toBeLessThanOrEqual(110);
    }
  });

  it("centres a lone first epoch of a one-epoch run", () => {
    const p = plotLines([{ key: "loss", points: [{ x: 1, y: 6.5 }] }], box, { xDomain: [1, 1], integerX: true });
    expect(p.series[0].dots[0]).toMatchObject({ x: 110, y: 60 });
    expect(p.xTicks.map((t) => t.label)).toEqual(["1"]);
  });

  it("widens a fixed x axis for points beyond it instead of drawing outside", () => {
    const p = plotLines([{ key: "b", points: [{ x: 8, y: 1 }] }], box, { xDomain: [1, 5], yDomain: [0, 2], integerX: true });
    expect(p.series[0].dots[0].x).toBe(210);
  });
});
