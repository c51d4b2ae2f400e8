/**
 * Box geometry for drawing, moving and resizing a detection box on the
 * photo, in the photo's own pixels (x1, y1, x2, y2). Pure, so the pointer
 * handling in `PhotoBox` stays thin and this is tested without a DOM.
 */

export type Box = [number, number, number, number];
export type Point = { x: number; y: number };

/** Boxes smaller than this (photo pixels, either side) are a slip, not an animal. */
export const MIN_SIDE = 8;

/** What a drag does: draw a new box, move one, or pull one of its corners. */
export type Drag =
  | { kind: "draw"; from: Point }
  | { kind: "move"; from: Point; box: Box }
  | { kind: "resize"; corner: Corner; box: Box };

export type Corner = "nw" | "ne" | "sw" | "se";

function clamp(v: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, v));
}

/** The box spanned by two points, ordered and kept inside the photo. */
export function spanned(a: Point, b: Point, w: number, h: number): Box {
  const x1 = clamp(Math.min(a.x, b.x), 0, w);
  const x2 = clamp(Math.max(a.x, b.x), 0, w);
  const y1 = clamp(Math.min(a.y, b.y), 0, h);
  const y2 = clamp(Math.max(a.y, b.y), 0, h);
  return [x1, y1, x2, y2];
}

/** Whether a box is big enough to keep. */
export function usable(b: Box): boolean {
  return b[2] - b[0] >= MIN_SIDE && b[3] - b[1] >= MIN_SIDE;
}

/** `box` moved by the drag from `from` to `to`, kept whole inside the photo. */
export function moved(box: Box, from: Point, to: Point, w: number, h: number): Box {
  const bw = box[2] - box[0];
  const bh = box[3] - box[1];
  const x1 = clamp(box[0] + (to.x - from.x), 0, Math.max(0, w - bw));
  const y1 = clamp(box[1] + (to.y - from.y), 0, Math.max(0, h - bh));
  return [x1, y1, x1 + bw, y1 + bh];
}

/** `box` with `corner` pulled to `to` (the opposite corner stays). */
export function resized(box: Box, corner: Corner, to: Point, w: number, h: number): Box {
  const fixed: Point = {
    x: corner.endsWith("w") ? box[2] : box[0],
    y: corner.startsWith("n") ? box[3] : box[1],
  };
  return spanned(fixed, to, w, h);
}

/** The box a drag gives when the pointer is at `to`. */
export function dragged(d: Drag, to: Point, w: number, h: number): Box {
  switch (d.kind) {
    case "draw":
      return spanned(d.from, to, w, h);
    case "move":
      return moved(d.box, d.from, to, w, h);
    case "resize":
      return resized(d.box, d.corner, to, w, h);
  }
}

/** The four corners of a box, for handles. */
export function corners(b: Box): Array<{ corner: Corner; at: Point }> {
  return [
    { corner: "nw", at: { x: b[0], y: b[1] } },
    { corner: "ne", at: { x: b[2], y: b[1] } },
    { corner: "sw", at: { x: b[0], y: b[3] } },
    { corner: "se", at: { x: b[2], y: b[3] } },
  ];
}

/** The same box, to the pixel (a click without a drag changes nothing). */
export function sameBox(a: Box, b: Box): boolean {
  return a.every((v, i) => Math.round(v) === Math.round(b[i]));
}

/** Rounded to whole pixels, as the engine stores boxes. */
export function rounded(b: Box): Box {
  return [Math.round(b[0]), Math.round(b[1]), Math.round(b[2]), Math.round(b[3])];
}
