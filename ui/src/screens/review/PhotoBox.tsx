import { useRef, useState } from "preact/hooks";
import type { ReviewItem } from "../../bindings/ReviewItem";
import { imageSrc } from "../../ipc";
import { corners, dragged, rounded, sameBox, usable, type Box, type Drag, type Point } from "../../lib/boxes";

/** A live box on the photo: the one under review or another animal in it. */
export type PhotoBoxEntry = {
  detectionId: number;
  box: Box;
  drawnBy: string | null;
  /** For a box received through sync, the server account that sent it. */
  drawnByAccount?: string;
};

/** Who drew a box; for a received one, the account that sent it beside the name its laptop gave, when that is another. */
function drawnBy(b: PhotoBoxEntry): string {
  if (!b.drawnBy) return " · detector";
  const account = b.drawnByAccount !== undefined && b.drawnByAccount !== b.drawnBy ? ` (account ${b.drawnByAccount})` : "";
  return ` · drawn by ${b.drawnBy}${account}`;
}

type Props = {
  item: ReviewItem;
  /** Every live box of the photo (the item's own included). */
  boxes: PhotoBoxEntry[];
  /** B was pressed: a drag draws a new box. */
  drawing: boolean;
  /** The box chosen for moving, resizing or deleting. */
  selected: number | null;
  onSelect: (detectionId: number | null) => void;
  onDrawn: (box: Box) => void;
  onChanged: (detectionId: number, box: Box) => void;
};

/**
 * The whole photo with its boxes. Boxes are in original photo pixels, so the
 * SVG's viewBox is the photo's size and the (smaller) catalogue thumbnail,
 * when there is one, is stretched into it: same aspect ratio, and it decodes
 * far faster than a 24-megapixel original.
 *
 * Drawing (after B) and moving or resizing a selected box work on pointer
 * events turned into photo pixels by the SVG's own transform; the change is
 * sent once, when the pointer is released.
 */
export function PhotoBox({ item, boxes, drawing, selected, onSelect, onDrawn, onChanged }: Props) {
  const w = Math.max(1, item.photoWidth);
  const h = Math.max(1, item.photoHeight);
  const src = imageSrc(item.thumbPath ?? item.photoPath);
  const svg = useRef<SVGSVGElement>(null);
  const [drag, setDrag] = useState<{ d: Drag; target: number | null; now: Box } | null>(null);
  const shown = boxes.some((b) => b.detectionId === item.detectionId)
    ? boxes
    : [{ detectionId: item.detectionId, box: item.box as Box, drawnBy: null }, ...boxes];

  const toPhoto = (e: PointerEvent): Point | null => {
    const el = svg.current;
    const ctm = el?.getScreenCTM?.();
    if (!el || !ctm) return null;
    const p = el.createSVGPoint();
    p.x = e.clientX;
    p.y = e.clientY;
    const q = p.matrixTransform(ctm.inverse());
    return { x: q.x, y: q.y };
  };

  const start = (e: PointerEvent, d: (at: Point) => Drag, target: number | null) => {
    const at = toPhoto(e);
    if (!at) return;
    e.preventDefault();
    e.stopPropagation();
    try {
      (e.currentTarget as Element).setPointerCapture?.(e.pointerId);
    } catch {
      // A pointer the browser does not track (a synthetic event) cannot be captured.
    }
    const first = d(at);
    setDrag({ d: first, target, now: dragged(first, at, w, h) });
  };

  const onMove = (e: PointerEvent) => {
    if (!drag) return;
    const at = toPhoto(e);
    if (at) setDrag({ ...drag, now: dragged(drag.d, at, w, h) });
  };

  const onUp = (e: PointerEvent) => {
    if (!drag) return;
    const at = toPhoto(e);
    const box = rounded(at ? dragged(drag.d, at, w, h) : drag.now);
    setDrag(null);
    if (drag.d.kind === "draw") {
      if (usable(box)) onDrawn(box);
    } else if (drag.target != null) {
      const before = shown.find((b) => b.detectionId === drag.target)?.box;
      if (before && !sameBox(before, box) && usable(box)) onChanged(drag.target, box);
    }
  };

  return (
    <svg
      ref={svg}
      class={`photo-box${drawing ? " drawing" : ""}`}
      data-testid="photo-box"
      viewBox={`0 0 ${w} ${h}`}
      preserveAspectRatio="xMidYMid meet"
      role="img"
      aria-label="photo with detection boxes"
      onPointerDown={(e) => {
        if (drawing) start(e, (at) => ({ kind: "draw", from: at }), null);
        else onSelect(null);
      }}
      onPointerMove={onMove}
      onPointerUp={onUp}
    >
      <image href={src} x={0} y={0} width={w} height={h} preserveAspectRatio="none" />
      {shown.map((b) => {
        const live = drag && drag.target === b.detectionId ? drag.now : b.box;
        const [x1, y1, x2, y2] = live;
        const mine = b.detectionId === item.detectionId;
        const isSelected = selected === b.detectionId;
        return (
          <g key={b.detectionId}>
            <rect
              class={`det-box${mine ? "" : " other"}${isSelected ? " selected" : ""}`}
              data-testid="det-box"
              data-detection-id={String(b.detectionId)}
              x={Math.min(x1, x2)}
              y={Math.min(y1, y2)}
              width={Math.abs(x2 - x1)}
              height={Math.abs(y2 - y1)}
              vector-effect="non-scaling-stroke"
              onPointerDown={(e) => {
                if (drawing) return;
                if (!isSelected) {
                  e.stopPropagation();
                  onSelect(b.detectionId);
                  return;
                }
                start(e, (at) => ({ kind: "move", from: at, box: b.box }), b.detectionId);
              }}
            >
              <title>
                #{b.detectionId}
                {drawnBy(b)}
              </title>
            </rect>
            {isSelected &&
              !drawing &&
              corners(live).map((c) => (
                <circle
                  key={c.corner}
                  class="box-handle"
                  data-testid={`box-handle-${c.corner}`}
                  cx={c.at.x}
                  cy={c.at.y}
                  r={Math.max(w, h) / 120}
                  onPointerDown={(e) =>
                    start(e, () => ({ kind: "resize", corner: c.corner, box: b.box }), b.detectionId)
                  }
                />
              ))}
          </g>
        );
      })}
      {drag?.d.kind === "draw" && (
        <rect
          class="det-box drawing"
          data-testid="box-drawing"
          x={drag.now[0]}
          y={drag.now[1]}
          width={drag.now[2] - drag.now[0]}
          height={drag.now[3] - drag.now[1]}
          vector-effect="non-scaling-stroke"
        />
      )}
    </svg>
  );
}
