import type { EvalMetrics } from "../../bindings/EvalMetrics";
import type { TrainResult } from "../../bindings/TrainResult";
import { formatDelta, formatDuration, formatScore, plural } from "../../lib/format";

const METRICS: { key: keyof Omit<EvalMetrics, "count">; label: string }[] = [
  { key: "map5", label: "MAP@5" },
  { key: "top1", label: "Top-1" },
  { key: "top5", label: "Top-5" },
];

const SPLITS: { key: "known" | "open"; label: string }[] = [
  { key: "known", label: "Known individuals (held-out photos)" },
  { key: "open", label: "With new individuals" },
];

/** How a finished run went: the verdict first, then the scores it rests on. */
export function TrainResultView({ r }: { r: TrainResult }) {
  return (
    <div class="train-result" data-testid="train-result">
      {r.adopted ? (
        <p class="verdict adopted" data-testid="train-verdict" data-adopted="true">
          Adopted as version <strong>{r.version}</strong>. {r.reason}
        </p>
      ) : (
        <p class="verdict rejected" data-testid="train-verdict" data-adopted="false">
          Not adopted: {r.reason} The active version is unchanged.
        </p>
      )}
      <p class="muted" data-testid="train-ran-on">Trained on: {r.ranOn}</p>
      {r.gpuFallback && (
        <p class="warn-text" role="alert" data-testid="train-gpu-fallback">
          Warning: {r.gpuFallback}; it trained on the CPU.
        </p>
      )}
      <table class="scores" data-testid="train-scores">
        <caption class="muted">Validation before and after training</caption>
        <thead>
          <tr>
            <th scope="col">Metric</th>
            <th scope="col">Before</th>
            <th scope="col">After</th>
            <th scope="col">Change</th>
          </tr>
        </thead>
        {SPLITS.map((sp) => (
          <tbody key={sp.key}>
            <tr class="group">
              <th scope="colgroup" colSpan={4}>
                {sp.label} <span class="muted">· {plural(r.after[sp.key].count, "query", "queries")}</span>
              </th>
            </tr>
            {METRICS.map((m) => {
              const b = r.before[sp.key][m.key];
              const a = r.after[sp.key][m.key];
              return (
                <tr key={m.key} data-testid={`score-${sp.key}-${m.key}`}>
                  <th scope="row">{m.label}</th>
                  <td class="num">{formatScore(b)}</td>
                  <td class="num">{formatScore(a)}</td>
                  <td class={`num delta ${a > b ? "up" : a < b ? "down" : ""}`}>{formatDelta(b, a)}</td>
                </tr>
              );
            })}
          </tbody>
        ))}
        <tbody>
          <tr data-testid="score-threshold">
            <th scope="row" title="Calibrated on the training photos for this check; adopting calibrates the threshold in use on the whole catalogue">
              Validation threshold
            </th>
            <td class="num">{formatScore(r.before.threshold)}</td>
            <td class="num">{formatScore(r.after.threshold)}</td>
            <td class="num delta">{formatDelta(r.before.threshold, r.after.threshold)}</td>
          </tr>
        </tbody>
      </table>
      <dl class="stats">
        <div class="stat">
          <dt>Training detections</dt>
          <dd data-testid="split-train">{r.trainDetections}</dd>
        </div>
        <div class="stat">
          <dt>Validation photos</dt>
          <dd data-testid="split-photos">{r.validationPhotos}</dd>
        </div>
        <div class="stat">
          <dt>Validation individuals</dt>
          <dd data-testid="split-individuals">{r.validationIndividuals}</dd>
        </div>
        <div class="stat">
          <dt>Time</dt>
          <dd data-testid="train-seconds">{formatDuration(r.seconds)}</dd>
        </div>
      </dl>
      <p class="muted">
        Validation photos are held-out photos of individuals the model trained on; validation individuals were left out
        of training entirely, so their right answer is "new individual".
      </p>
    </div>
  );
}
