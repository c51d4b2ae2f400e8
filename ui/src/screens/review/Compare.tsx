/**
 * Query crop beside the selected suggestion's best crop, zoomed and panned
 * together (one `View` drives both panes), with the query optionally
 * mirrored: a left-side dorsal fin compared against a right-side one.
 */
import { useRef } from "preact/hooks";
import { imageSrc } from "../../ipc";
import { panBy, viewTransform, wheelFactor, zoomAt, IDENTITY, type View } from "../../lib/zoom";

/**
 * The query's region in its original photo: zoomed in, the query pane reads
 * the original's pixels there instead of stretching the small stored crop.
 */
export type Region = { photoPath: string; box: [number, number, number, number]; width: number; height: number };

/** From this zoom on, the query pane shows the original photo's region. */
export const ORIGINAL_FROM = 1.5;

type Props = {
  queryPath: string | null;
  queryRegion?: Region | null;
  candidatePath: string | null;
  candidateLabel: string;
  flip: boolean;
  onFlip: () => void;
  view: View;
  setView: (f: (v: View) => View) => void;
};

export function Compare(p: Props) {
  return (
    <div class="compare" data-testid="review-compare">
      <div class="compare-head">
        <span>Query{p.flip ? " (mirrored)" : ""}</span>
        <span class="spacer" />
        <span class="muted">wheel: zoom · drag: pan · double-click: reset</span>
        <button
          type="button"
          data-testid="review-flip"
          class={p.flip ? "toggle on" : "toggle"}
          aria-pressed={p.flip}
          onClick={p.onFlip}
          title="Mirror the query (F)"
        >
          Flip <kbd>F</kbd>
        </button>
      </div>
      <div class="compare-panes">
        <Pane
          path={p.queryPath}
          region={p.queryRegion ?? null}
          label="query"
          flip={p.flip}
          view={p.view}
          setView={p.setView}
        />
        <Pane path={p.candidatePath} label={p.candidateLabel} flip={false} view={p.view} setView={p.setView} />
      </div>
      <div class="compare-foot">
        <span>query</span>
        <span>{p.candidateLabel}</span>
      </div>
    </div>
  );
}

function Pane({
  path,
  region = null,
  label,
  flip,
  view,
  setView,
}: {
  path: string | null;
  region?: Region | null;
  label: string;
  flip: boolean;
  view: View;
  setView: (f: (v: View) => View) => void;
}) {
  const original = region != null && view.scale >= ORIGINAL_FROM;
  const drag = useRef<{ x: number; y: number; id: number } | null>(null);

  const onWheel = (e: WheelEvent) => {
    e.preventDefault();
    const r = (e.currentTarget as HTMLElement).getBoundingClientRect();
    if (!r.width || !r.height) return;
    const px = (e.clientX - r.left) / r.width;
    const py = (e.clientY - r.top) / r.height;
    setView((v) => zoomAt(v, wheelFactor(e.deltaY), px, py));
  };
  const onPointerDown = (e: PointerEvent) => {
    if (e.button !== 0) return;
    (e.currentTarget as HTMLElement).setPointerCapture?.(e.pointerId);
    drag.current = { x: e.clientX, y: e.clientY, id: e.pointerId };
  };
  const onPointerMove = (e: PointerEvent) => {
    const d = drag.current;
    if (!d || d.id !== e.pointerId) return;
    const r = (e.currentTarget as HTMLElement).getBoundingClientRect();
    if (!r.width || !r.height) return;
    const dx = (e.clientX - d.x) / r.width;
    const dy = (e.clientY - d.y) / r.height;
    drag.current = { ...d, x: e.clientX, y: e.clientY };
    setView((v) => panBy(v, dx, dy));
  };
  const end = () => (drag.current = null);

  return (
    <div
      class="pane"
      onWheel={onWheel}
      onPointerDown={onPointerDown}
      onPointerMove={onPointerMove}
      onPointerUp={end}
      onPointerCancel={end}
      onDblClick={() => setView(() => IDENTITY)}
    >
      <div class="zoom" style={{ transform: viewTransform(view) }}>
        {original && region ? (
          <svg
            class="original-region"
            data-testid="query-original"
            viewBox={`${region.box[0]} ${region.box[1]} ${Math.max(1, region.box[2] - region.box[0])} ${Math.max(1, region.box[3] - region.box[1])}`}
            preserveAspectRatio="xMidYMid meet"
            style={flip ? { transform: "scaleX(-1)" } : undefined}
            aria-label={`${label} from the original photo`}
          >
            <image href={imageSrc(region.photoPath)} x={0} y={0} width={region.width} height={region.height} preserveAspectRatio="none" />
          </svg>
        ) : path ? (
          <img
            src={imageSrc(path)}
            alt={label}
            draggable={false}
            style={flip ? { transform: "scaleX(-1)" } : undefined}
          />
        ) : (
          <div class="img-missing">no crop</div>
        )}
      </div>
    </div>
  );
}
