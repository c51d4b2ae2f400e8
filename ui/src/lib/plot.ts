/**
 * Line-plot geometry for the Train screen's live curves (loss and validation
 * MAP@5 per epoch, one line per backbone): "nice" axis ticks, linear scales
 * and SVG path strings, fitted into a box with margins for the tick labels.
 * Pure, so the chart component only draws what this computes and the edge
 * cases (a single epoch, epochs without a validation score, a flat curve)
 * are pinned by tests rather than by looking at the screen.
 */
export type Point = { x: number; y: number | null };
export type Series = { key: string; points: Point[] };

/** The SVG box and the room left around the plotting area for tick labels. */
export type Box = { width: number; height: number; top: number; right: number; bottom: number; left: number };

export type Tick = { value: number; pos: number; label: string };
export type Dot = { x: number; y: number; point: Point & { y: number } };
export type PlottedSeries = { key: string; path: string; dots: Dot[] };

export type LinePlot = {
  series: PlottedSeries[];
  xTicks: Tick[];
  yTicks: Tick[];
  /** The plotting area in SVG units: x0..x1 left to right, y0 (top) ..y1 (bottom). */
  area: { x0: number; x1: number; y0: number; y1: number };
  /** False when no series has a single measured point. */
  hasData: boolean;
};

export type PlotOptions = {
  /** Fixed x range, e.g. [1, epochs] so a line grows across a run instead of rescaling. */
  xDomain?: [number, number];
  /** Fixed y range, e.g. [0, 1] for a score; otherwise fitted to the data. */
  yDomain?: [number, number];
  xTickCount?: number;
  yTickCount?: number;
  /** Ticks at whole numbers only (epochs). */
  integerX?: boolean;
};

/**
 * The 1, 2 or 5 times a power of ten nearest `raw` (on a log scale, as d3
 * picks them), so asking for about n ticks gives about n ticks.
 */
export function niceStep(raw: number, integer = false): number {
  if (!(raw > 0) || !Number.isFinite(raw)) return 1;
  const p = 10 ** Math.floor(Math.log10(raw));
  const f = raw / p;
  const step = (f >= Math.SQRT2 * 5 ? 10 : f >= Math.sqrt(10) ? 5 : f >= Math.SQRT2 ? 2 : 1) * p;
  return integer ? Math.max(1, Math.round(step)) : step;
}

/** Decimals that show a tick step exactly: 0.05 → 2, 5 → 0. */
export function stepDecimals(step: number): number {
  if (!(step > 0) || !Number.isFinite(step)) return 0;
  return Math.max(0, Math.min(10, -Math.floor(Math.log10(step) + 1e-9)));
}

/**
 * A range that covers `[lo, hi]`, widened to whole tick steps, and its ticks.
 * A flat range (one value, or all equal) is opened around the value so the
 * line sits in the middle instead of dividing by zero.
 */
export function niceRange(
  lo: number,
  hi: number,
  count = 5,
  integer = false,
): { domain: [number, number]; ticks: number[]; step: number } {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) [lo, hi] = [0, 1];
  if (lo > hi) [lo, hi] = [hi, lo];
  if (lo === hi) {
    const pad = integer ? 1 : Math.abs(lo) * 0.1 || 1;
    lo -= pad;
    hi += pad;
  }
  const step = niceStep((hi - lo) / Math.max(1, count), integer);
  const d = stepDecimals(step);
  const round = (v: number) => Number(v.toFixed(d));
  const start = round(Math.floor(lo / step + 1e-9) * step);
  const end = round(Math.ceil(hi / step - 1e-9) * step);
  const ticks: number[] = [];
  for (let i = 0; start + i * step <= end + step * 1e-6; i++) ticks.push(round(start + i * step));
  return { domain: [start, end], ticks, step };
}

/** Ticks inside a fixed domain (no widening), on nice steps. */
function ticksWithin(domain: [number, number], count: number, integer: boolean): { ticks: number[]; step: number } {
  const [lo, hi] = domain;
  if (lo === hi) return { ticks: [lo], step: 1 };
  const step = niceStep((hi - lo) / Math.max(1, count), integer);
  const d = stepDecimals(step);
  const ticks: number[] = [];
  for (let v = Math.ceil(lo / step - 1e-9) * step; v <= hi + step * 1e-6; v += step) ticks.push(Number(v.toFixed(d)));
  return { ticks, step };
}

/** Maps `domain` onto `range` linearly; a zero-width domain maps to the middle of the range. */
export function linearScale(domain: [number, number], range: [number, number]): (v: number) => number {
  const [d0, d1] = domain;
  const [r0, r1] = range;
  if (d0 === d1) return () => (r0 + r1) / 2;
  const k = (r1 - r0) / (d1 - d0);
  return (v) => r0 + (v - d0) * k;
}

/** SVG units to 0.1: finer than a pixel, and short attribute strings. */
const r1 = (v: number) => Math.round(v * 10) / 10;

/**
 * "M x y L x y …" through the points in x order. A point whose y is null (an
 * epoch that was not validated) is left out and the line joins the measured
 * epochs either side: a sparse validation schedule still reads as one curve.
 * One point gives "M x y" alone, which draws nothing; the dots show it.
 */
export function linePath(dots: { x: number; y: number }[]): string {
  return dots.map((d, i) => `${i === 0 ? "M" : "L"}${r1(d.x)} ${r1(d.y)}`).join(" ");
}

function measured(p: Point): p is Point & { y: number } {
  return p.y != null && Number.isFinite(p.y) && Number.isFinite(p.x);
}

export function plotLines(series: Series[], box: Box, opts: PlotOptions = {}): LinePlot {
  const xTickCount = opts.xTickCount ?? 5;
  const yTickCount = opts.yTickCount ?? 4;
  const integerX = opts.integerX ?? false;
  const area = { x0: box.left, x1: box.width - box.right, y0: box.top, y1: box.height - box.bottom };
  const all = series.flatMap((s) => s.points.filter(measured));

  let xDomain: [number, number];
  let xTicks: number[];
  let xStep: number;
  if (opts.xDomain) {
    const lo = Math.min(opts.xDomain[0], ...all.map((p) => p.x));
    const hi = Math.max(opts.xDomain[1], ...all.map((p) => p.x));
    xDomain = [lo, hi];
    ({ ticks: xTicks, step: xStep } = ticksWithin(xDomain, xTickCount, integerX));
  } else {
    const xs = all.map((p) => p.x);
    ({ domain: xDomain, ticks: xTicks, step: xStep } = xs.length
      ? niceRange(Math.min(...xs), Math.max(...xs), xTickCount, integerX)
      : niceRange(0, 1, xTickCount, integerX));
  }

  let yDomain: [number, number];
  let yTicks: number[];
  let yStep: number;
  if (opts.yDomain) {
    yDomain = opts.yDomain;
    ({ ticks: yTicks, step: yStep } = ticksWithin(yDomain, yTickCount, false));
  } else {
    const ys = all.map((p) => p.y);
    ({ domain: yDomain, ticks: yTicks, step: yStep } = ys.length
      ? niceRange(Math.min(...ys), Math.max(...ys), yTickCount)
      : niceRange(0, 1, yTickCount));
  }

  const sx = linearScale(xDomain, [area.x0, area.x1]);
  const sy = linearScale(yDomain, [area.y1, area.y0]); // up is more
  const xd = stepDecimals(xStep);
  const yd = stepDecimals(yStep);

  return {
    series: series.map((s) => {
      const dots = s.points
        .filter(measured)
        .sort((a, b) => a.x - b.x)
        .map((p) => ({ x: r1(sx(p.x)), y: r1(sy(p.y)), point: p }));
      return { key: s.key, path: linePath(dots), dots };
    }),
    xTicks: xTicks.map((v) => ({ value: v, pos: r1(sx(v)), label: v.toFixed(xd) })),
    yTicks: yTicks.map((v) => ({ value: v, pos: r1(sy(v)), label: v.toFixed(yd) })),
    area,
    hasData: all.length > 0,
  };
}
