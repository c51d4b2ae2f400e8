import { useId } from "preact/hooks";
import { plotLines, type Box, type Series } from "../../lib/plot";

const W = 420;
const H = 220;
const BOX: Box = { width: W, height: H, top: 12, right: 14, bottom: 30, left: 46 };

type Props = {
  title: string;
  /** Axis name of the values, for the y label and the description. */
  yLabel: string;
  series: Series[];
  /** The run's epochs, so the lines grow across a fixed axis. */
  epochs: number;
  yDomain?: [number, number];
  format: (v: number) => string;
  /** Shown in the plot while no series has a value yet. */
  empty: string;
  testId?: string;
};

/** A live per-epoch curve, one line per backbone; geometry from lib/plot. */
export function LineChart(p: Props) {
  const id = useId();
  const plot = plotLines(p.series, BOX, { xDomain: [1, Math.max(1, p.epochs)], yDomain: p.yDomain, integerX: true });
  const { x0, x1, y0, y1 } = plot.area;
  const latest = plot.series
    .map((s) => ({ key: s.key, last: s.dots[s.dots.length - 1] }))
    .filter((s) => s.last);
  const desc = latest.length
    ? latest.map((s) => `${s.key}: ${p.format(s.last.point.y)} at epoch ${s.last.point.x}`).join("; ")
    : p.empty;
  return (
    <figure class="plot" data-testid={p.testId}>
      <svg class="plot-chart" viewBox={`0 0 ${W} ${H}`} role="img" aria-labelledby={`${id}-t ${id}-d`}>
        <title id={`${id}-t`}>{p.title}</title>
        <desc id={`${id}-d`}>{desc}</desc>
        {plot.yTicks.map((t) => (
          <g key={`y${t.value}`} class="plot-grid">
            <line x1={x0} y1={t.pos} x2={x1} y2={t.pos} />
            <text x={x0 - 6} y={t.pos} text-anchor="end" dominant-baseline="middle">
              {t.label}
            </text>
          </g>
        ))}
        {plot.xTicks.map((t) => (
          <g key={`x${t.value}`} class="plot-grid">
            <line x1={t.pos} y1={y1} x2={t.pos} y2={y1 + 4} />
            <text x={t.pos} y={y1 + 16} text-anchor="middle">
              {t.label}
            </text>
          </g>
        ))}
        <rect class="plot-frame" x={x0} y={y0} width={x1 - x0} height={y1 - y0} />
        <text class="plot-axis" x={x1} y={H - 2} text-anchor="end">
          epoch
        </text>
        {plot.series.map((s, i) => (
          <g key={s.key} class={`plot-series s${i % 4}`} data-backbone={s.key}>
            {s.dots.length > 1 && <path class="plot-line" d={s.path} />}
            {s.dots.map((d) => (
              <circle key={d.point.x} class="plot-dot" cx={d.x} cy={d.y} r={2.5}>
                <title>
                  {s.key} · epoch {d.point.x} · {p.yLabel} {p.format(d.point.y)}
                </title>
              </circle>
            ))}
          </g>
        ))}
        {!plot.hasData && (
          <text x={(x0 + x1) / 2} y={(y0 + y1) / 2} text-anchor="middle" class="plot-none">
            {p.empty}
          </text>
        )}
      </svg>
      <figcaption>
        <strong>{p.title}</strong>
        <ul class="plot-legend">
          {plot.series.map((s, i) => {
            const last = s.dots[s.dots.length - 1];
            return (
              <li key={s.key} class={`s${i % 4}`}>
                <span class="swatch" aria-hidden="true" />
                {s.key} <span class="num">{last ? p.format(last.point.y) : "—"}</span>
              </li>
            );
          })}
        </ul>
      </figcaption>
    </figure>
  );
}
