import { describe, expect, it } from "vitest";
import { plotPositions } from "./scatter";

const p = (latitude: number | null, longitude: number | null) => ({ latitude, longitude });

describe("plotPositions", () => {
  it("skips sightings without coordinates and reports bounds", () => {
    const r = plotPositions([p(10, 20), p(null, 5), p(11, null), p(12, 22)], 200, 100, 10);
    expect(r.points).toHaveLength(2);
    expect(r.bounds).toEqual({ minLat: 10, maxLat: 12, minLon: 20, maxLon: 22 });
  });
  it("puts north up and east right, inside the margins", () => {
    const r = plotPositions([p(0, 0), p(1, 1)], 200, 200, 10);
    const [sw, ne] = r.points;
    expect(ne.x).toBeGreaterThan(sw.x);
    expect(ne.y).toBeLessThan(sw.y);
    for (const q of r.points) {
      expect(q.x).toBeGreaterThanOrEqual(10 - 1e-9);
      expect(q.x).toBeLessThanOrEqual(190 + 1e-9);
      expect(q.y).toBeGreaterThanOrEqual(10 - 1e-9);
      expect(q.y).toBeLessThanOrEqual(190 + 1e-9);
    }
  });
  it("keeps distances true: a degree of longitude at 60° is half a degree of latitude", () => {
    const r = plotPositions([p(60, 0), p(60, 1), p(60.5, 0)], 400, 400, 0);
    const [o, east, north] = r.points;
    const dx = east.x - o.x;
    const dy = o.y - north.y;
    expect(dx / dy).toBeCloseTo((Math.cos((60.25 * Math.PI) / 180) * 1) / 0.5, 2);
  });
  it("centres a single position", () => {
    const r = plotPositions([p(45, -63)], 300, 200, 20);
    expect(r.points[0].x).toBeCloseTo(150);
    expect(r.points[0].y).toBeCloseTo(100);
  });
  it("is empty with no positions", () => {
    expect(plotPositions([p(null, null)], 100, 100)).toEqual({ points: [], bounds: null });
  });
});
