/**
 * Import a survey: a folder dropped on the window, chosen, or typed. Shows
 * the live job (from the ingest store, so it keeps running while you review),
 * the per-file problems, and the summary with the way into Review.
 */
import { useState } from "preact/hooks";
import type { AppError } from "../bindings/AppError";
import type { IngestSummary } from "../bindings/IngestSummary";
import { ErrorLine } from "../components/ErrorLine";
import { JobControls, jobLabel } from "../components/JobControls";
import { PathField } from "../components/PathField";
import { baseName, formatDuration, formatEta, formatPercent, formatRate, fraction, plural } from "../lib/format";
import {
  cancelIngest,
  ingestStore,
  isActive,
  resetIngest,
  startIngest,
  unfinishedImport,
  type IngestState,
} from "../state/ingest";
import { useStore } from "../state/store";

export function ImportScreen({ onReview }: { onReview: () => void }) {
  const job = useStore(ingestStore);
  const [path, setPath] = useState(job.paths[0] ?? "");
  const [species, setSpecies] = useState("");
  const [error, setError] = useState<AppError | null>(null);
  const active = isActive(job.phase);

  const start = (paths = [path.trim()]) => {
    const p = paths.filter(Boolean);
    if (!p.length) {
      setError({ kind: "invalid", message: "type, choose or drop a folder first" });
      return;
    }
    setError(null);
    void startIngest(p, species.trim() || null);
  };

  const again = path.trim() !== "" && unfinishedImport(path);

  return (
    <section class="import">
      <h1>Import photos</h1>
      <div class="panel dropzone">
        <p class="muted">Drop a survey folder anywhere on this window, choose one, or type its path.</p>
        <PathField
          label="Folder"
          value={path}
          onInput={setPath}
          onSubmit={() => !active && start()}
          inputTestId="import-path"
          pickTestId="import-pick"
          pick="folder"
          onError={setError}
          disabled={active}
          placeholder="/media/card/DCIM"
        />
        <div class="form-grid">
          <label>
            <span class="label">Survey species</span>
            <input
              type="text"
              data-testid="import-species"
              value={species}
              disabled={active}
              placeholder="optional, e.g. humpback_whale"
              onInput={(e) => setSpecies((e.target as HTMLInputElement).value)}
            />
          </label>
        </div>
        <p class="hint">
          With a species, suggestions come from that species (and individuals whose species is not recorded), and new
          individuals are named with it. Leave it empty for a survey of several species.
        </p>
        <div class="row">
          <button type="button" class="primary" data-testid="import-start" disabled={active} onClick={() => start()}>
            {again ? "Import again (resume)" : "Import"}
          </button>
          <JobControls
            phase={job.phase}
            jobId={job.jobId}
            active={active}
            onCancel={cancelIngest}
            onClear={resetIngest}
            cancelTestId="import-cancel"
          />
        </div>
        {again && !active && (
          <p class="hint">
            An earlier import of this folder did not finish. Photos already in the catalogue are recognised and skipped,
            so importing it again resumes where it stopped.
          </p>
        )}
        <ErrorLine error={error} />
      </div>
      {job.phase !== "idle" && <JobView job={job} onReview={onReview} />}
    </section>
  );
}

function JobView({ job, onReview }: { job: IngestState; onReview: () => void }) {
  const p = job.progress;
  const done = p?.done ?? 0;
  const total = p?.total ?? job.scanned?.files ?? 0;
  // While the folders are walked there is no total yet: show what the walk found.
  const scan = job.scan;
  const walking = scan != null && job.scanned == null && isActive(job.phase);
  // Refused before any photo was read (a missing path, a folder without
  // photos): the reason alone, not an empty progress bar at 0/0.
  if (job.phase === "failed" && p == null && job.scanned == null && job.summary == null) {
    return (
      <div class="panel job" data-testid="import-refused">
        <div class="job-paths muted" title={job.paths.join("\n")}>
          {job.paths.map(baseName).join(", ")}
        </div>
        <ErrorLine error={job.error} />
      </div>
    );
  }
  return (
    <div class="panel job">
      <div class="job-paths muted" title={job.paths.join("\n")}>
        {job.paths.map(baseName).join(", ")}
      </div>
      <div class="progress" data-testid="import-progress" data-phase={job.phase}>
        <div
          class="bar"
          role="progressbar"
          aria-valuemin={0}
          aria-valuemax={total}
          aria-valuenow={done}
        >
          <div class="fill" style={{ width: `${fraction(done, total) * 100}%` }} />
        </div>
        {walking ? (
          <div class="progress-text">
            <strong>{phaseLabel(job)}</strong>
            <span class="num" data-testid="import-scan">
              {count(scan.seen, "file")}, {count(scan.photos, "photo")}
            </span>
            <span class="path muted" title={scan.folder}>
              {baseName(scan.folder)}
            </span>
          </div>
        ) : (
          <div class="progress-text">
            <strong>{phaseLabel(job)}</strong>
            <span class="num">
              {done}/{total}
            </span>
            <span>{formatPercent(done, total)}</span>
            {p && <span>read {p.read}</span>}
            {p && <span>{formatRate(p.photosPerSecond)}</span>}
            {isActive(job.phase) && p && <span>ETA {formatEta(p.etaSeconds)}</span>}
            {job.scanned && job.scanned.skipped > 0 && <span>{plural(job.scanned.skipped, "file")} not photos</span>}
          </div>
        )}
      </div>
      {job.phase === "cancelled" && (
        <p class="hint">
          Cancelled after {plural(job.cancelledDone ?? done, "photo")}. Start the same folder again to resume: finished
          photos are skipped.
        </p>
      )}
      <ErrorLine error={job.error} />
      {job.summary && <Summary s={job.summary} onReview={onReview} />}
    </div>
  );
}

function phaseLabel(job: IngestState): string {
  if (job.phase === "scanning") return job.scan ? "Scanning…" : "Scanning folder…";
  return jobLabel(job.phase, "Importing");
}

/** 1234, "file" → "1,234 files". */
function count(n: number, one: string): string {
  return `${n.toLocaleString("en-US")} ${n === 1 ? one : `${one}s`}`;
}

function Summary({ s, onReview }: { s: IngestSummary; onReview: () => void }) {
  const problems = [
    ...s.failed.map((f) => ({ ...f, kind: "failed" as const })),
    ...s.skipped.map((f) => ({ ...f, kind: "skipped" as const })),
  ];
  return (
    <div class="summary" data-testid="import-summary">
      <dl class="stats">
        <Stat label="New photos" value={s.newPhotos} testId="summary-new" />
        <Stat label="Already in catalogue" value={s.knownPhotos} testId="summary-known" />
        <Stat label="Failed" value={s.failed.length} testId="summary-failed" warn={s.failed.length > 0} />
        <Stat label="Detections" value={s.detections} testId="summary-detections" />
        <Stat label="Encounters" value={s.encounters} />
        <Stat label="New-individual suggestions" value={s.newIndividualSuggestions} />
        <div class="stat">
          <dt>Time</dt>
          <dd>{formatDuration(s.seconds)}</dd>
        </div>
        <div class="stat">
          <dt>Speed</dt>
          <dd>{formatRate(s.photosPerSecond)}</dd>
        </div>
      </dl>
      <p data-testid="summary-ran-on">Ran on: {s.ranOn}</p>
      {s.gpuFallback && (
        <p class="warn-text" role="alert" data-testid="summary-gpu-fallback">
          Warning: {s.gpuFallback}; the models ran on the CPU.
        </p>
      )}
      {s.knownPhotos > 0 && (
        <p class="hint">
          {plural(s.knownPhotos, "photo")} {s.knownPhotos === 1 ? "was" : "were"} already in the catalogue and skipped
          (resumed).
        </p>
      )}
      <div class="row">
        <button type="button" class="primary" data-testid="go-review" onClick={onReview}>
          Review {plural(s.detections, "detection")}
        </button>
      </div>
      {problems.length > 0 && (
        <>
          <h2>Problems ({problems.length})</h2>
          <ul class="problems" data-testid="import-problems">
            {problems.map((f) => (
              <li key={`${f.kind}:${f.path}`} data-kind={f.kind}>
                <span class={`tag ${f.kind}`}>{f.kind}</span>
                <span class="path" title={f.path}>
                  {f.path}
                </span>
                <span class="reason">{f.reason}</span>
              </li>
            ))}
          </ul>
        </>
      )}
      {problems.length === 0 && <ul class="problems" data-testid="import-problems" />}
      {s.noDetection.length > 0 && (
        <details class="no-detection">
          <summary>{plural(s.noDetection.length, "photo")} with no whale or dolphin found</summary>
          <ul>
            {s.noDetection.map((p) => (
              <li key={p} title={p}>
                {p}
              </li>
            ))}
          </ul>
        </details>
      )}
    </div>
  );
}

function Stat({ label, value, testId, warn }: { label: string; value: number; testId?: string; warn?: boolean }) {
  return (
    <div class={`stat ${warn ? "warn" : ""}`}>
      <dt>{label}</dt>
      <dd data-testid={testId}>{value}</dd>
    </div>
  );
}
