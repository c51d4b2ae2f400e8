import type { Sighting } from "../../bindings/Sighting";
import { formatDay } from "../../lib/format";
import { plotPositions } from "../../lib/scatter";

const W = 420;
const H = 260;

/** Where the individual was seen: positions on a plain grid, joined in time order. */
export function GpsChart({ sightings }: { sightings: Sighting[] }) {
  const ordered = [...sightings].sort((a, b) => (a.takenAt ?? "").localeCompare(b.takenAt ?? ""));
  const { points, bounds } = plotPositions(ordered, W, H, 20);
  return (
    <figure class="gps">
      <svg
        data-testid="individual-chart"
        class="gps-chart"
        viewBox={`0 0 ${W} ${H}`}
        role="img"
        aria-label={`${points.length} positions`}
      >
        <rect class="gps-frame" x={0.5} y={0.5} width={W - 1} height={H - 1} />
        {[0.25, 0.5, 0.75].map((f) => (
          <g key={f} class="gps-grid">
            <line x1={W * f} y1={0} x2={W * f} y2={H} />
            <line x1={0} y1={H * f} x2={W} y2={H * f} />
          </g>
        ))}
        {points.length > 1 && <polyline class="gps-track" points={points.map((p) => `${p.x},${p.y}`).join(" ")} />}
        {points.map((p, i) => (
          <circle key={p.item.detectionId} class={i === points.length - 1 ? "gps-pt last" : "gps-pt"} cx={p.x} cy={p.y} r={5}>
            <title>
              {formatDay(p.item.takenAt)} · {p.item.latitude?.toFixed(5)}, {p.item.longitude?.toFixed(5)}
            </title>
          </circle>
        ))}
        {points.length === 0 && (
          <text x={W / 2} y={H / 2} text-anchor="middle" class="gps-none">
            no GPS positions
          </text>
        )}
      </svg>
      {bounds && (
        <figcaption class="muted">
          lat {bounds.minLat.toFixed(3)} … {bounds.maxLat.toFixed(3)} · lon {bounds.minLon.toFixed(3)} …{" "}
          {bounds.maxLon.toFixed(3)} · {points.length} of {sightings.length} sightings located
        </figcaption>
      )}
    </figure>
  );
}
