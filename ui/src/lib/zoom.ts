/**
 * Synchronised zoom and pan for the compare panel.
 *
 * A view is kept in pane-relative units (tx, ty are fractions of the pane's
 * width and height), so two panes of different pixel sizes show the same
 * part of their images: the same `View` drives both, applied as
 * `translate(tx*100%, ty*100%) scale(scale)` with the origin at the top left.
 */
export type View = { scale: number; tx: number; ty: number };

export const IDENTITY: View = { scale: 1, tx: 0, ty: 0 };
export const MIN_SCALE = 1;
export const MAX_SCALE = 12;

const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));

/**
 * Keeps the image covering the pane: at scale s the content spans
 * [tx, tx + s] and must contain [0, 1], so tx ∈ [1 − s, 0].
 */
export function clampView(v: View): View {
  const scale = clamp(v.scale, MIN_SCALE, MAX_SCALE);
  return { scale, tx: clamp(v.tx, 1 - scale, 0), ty: clamp(v.ty, 1 - scale, 0) };
}

/**
 * Zoom by `factor` keeping the point under the cursor fixed. (px, py) is the
 * cursor as a fraction of the pane. The content point under the cursor is
 * (p − t) / s; it must stay at p after the zoom, so t' = p − (p − t)·s'/s.
 */
export function zoomAt(v: View, factor: number, px: number, py: number): View {
  const scale = clamp(v.scale * factor, MIN_SCALE, MAX_SCALE);
  const k = scale / v.scale;
  return clampView({ scale, tx: px - (px - v.tx) * k, ty: py - (py - v.ty) * k });
}

/** Wheel delta (pixels, down = positive) to a zoom factor; one notch ≈ 1.2×. */
export function wheelFactor(deltaY: number): number {
  return Math.exp(-clamp(deltaY, -300, 300) / 550);
}

/** Pan by a drag of (dx, dy) pane fractions. */
export function panBy(v: View, dx: number, dy: number): View {
  return clampView({ scale: v.scale, tx: v.tx + dx, ty: v.ty + dy });
}

export function viewTransform(v: View): string {
  return `translate(${(v.tx * 100).toFixed(4)}%, ${(v.ty * 100).toFixed(4)}%) scale(${v.scale.toFixed(4)})`;
}
