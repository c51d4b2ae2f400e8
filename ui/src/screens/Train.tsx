/**
 * Fine-tune the model on this catalogue's confirmed identifications. Shows
 * what there is to train on, the options, the live run (phase, loss and
 * validation MAP@5 per epoch per backbone, from the train store so it keeps
 * running while you review), the before/after verdict, and the pack versions
 * with the way back to an earlier one.
 */
import { useCallback, useEffect, useState } from "preact/hooks";
import type { AppError } from "../bindings/AppError";
import type { TrainOverview } from "../bindings/TrainOverview";
import type { TrainPhase } from "../bindings/TrainPhase";
import { ErrorLine } from "../components/ErrorLine";
import { JobControls, jobLabel } from "../components/JobControls";
import { toAppError, trainOverview, trainRollback } from "../ipc";
import { formatDuration, formatPercent, formatScore, fraction, plural } from "../lib/format";
import { useStore } from "../state/store";
import {
  DEFAULT_OPTIONS,
  cancelTrain,
  epochSeries,
  isTraining,
  onTrainEnd,
  optionsForm,
  parseOptions,
  resetTrain,
  startTrain,
  trainStore,
  type OptionsForm,
  type TrainState,
} from "../state/train";
import { LineChart } from "./train/LineChart";
import { TrainResultView } from "./train/Result";
import { VersionList } from "./train/Versions";

export function TrainScreen({ onChanged }: { onChanged: () => void }) {
  const run = useStore(trainStore);
  const [overview, setOverview] = useState<TrainOverview | null>(null);
  const [form, setForm] = useState<OptionsForm>(() => optionsForm(trainStore.get().options ?? DEFAULT_OPTIONS));
  const [error, setError] = useState<AppError | null>(null);
  const [note, setNote] = useState("");
  const [switching, setSwitching] = useState(false);
  const active = isTraining(run.phase);

  const load = useCallback(async () => {
    try {
      setOverview(await trainOverview());
    } catch (e) {
      setError(toAppError(e));
    }
  }, []);

  useEffect(() => {
    void load();
  }, [load]);
  // A run that ends (here or while on another screen) may have adopted a version.
  useEffect(() => onTrainEnd(() => void load()), [load]);

  const canStart = !!overview?.canTrain && !active && !switching;

  const start = () => {
    if (!canStart) return;
    const o = parseOptions(form);
    if ("kind" in o) {
      setError(o);
      return;
    }
    setError(null);
    setNote("");
    void startTrain(o);
  };

  const use = async (version: string | null) => {
    setSwitching(true);
    setError(null);
    setNote("");
    try {
      const ov = await trainRollback(version);
      setOverview(ov);
      setNote(`Now using version ${ov.activeVersion ?? "—"}.`);
      onChanged();
    } catch (e) {
      setError(toAppError(e));
    } finally {
      setSwitching(false);
    }
  };

  const set = (k: keyof OptionsForm) => (e: Event) => {
    const el = e.currentTarget as HTMLInputElement;
    setForm((f) => ({ ...f, [k]: el.type === "checkbox" ? el.checked : el.value }));
  };

  return (
    <section class="train">
      <h1>Train the model</h1>
      <p class="muted">
        Fine-tunes the model pack on the identifications confirmed in this catalogue. Some photos and individuals are held
        out to compare the new model with the current one; it is adopted only if it does better, and earlier versions stay
        available.
      </p>
      <ErrorLine error={error} testId="train-screen-error" />
      {note && <p class="hint">{note}</p>}

      <div class="panel" data-testid="train-overview">
        <h2>Training data</h2>
        {overview ? <OverviewView o={overview} /> : <p class="muted">…</p>}
      </div>

      <div class="panel">
        <h2>Options</h2>
        <div class="form-grid">
          <label>
            <span class="label">Epochs</span>
            <input
              type="number"
              min={1}
              max={1000}
              step={1}
              data-testid="train-epochs"
              value={form.epochs}
              disabled={active}
              onInput={set("epochs")}
            />
          </label>
          <label>
            <span class="label">Seed</span>
            <input
              type="number"
              min={0}
              step={1}
              data-testid="train-seed"
              value={form.seed}
              disabled={active}
              onInput={set("seed")}
            />
          </label>
          <label>
            <span class="label">Sub-centres per individual</span>
            <select data-testid="train-subcenters" value={form.subcenters} disabled={active} onChange={set("subcenters")}>
              <option value="1">1 (ArcFace)</option>
              <option value="2">2 (sub-centre ArcFace)</option>
            </select>
          </label>
          <label class="check">
            <input
              type="checkbox"
              data-testid="train-dynamic-margin"
              checked={form.dynamicMargin}
              disabled={active}
              onChange={set("dynamicMargin")}
            />
            <span>
              Dynamic margins <span class="muted">(smaller margins for individuals with many photos)</span>
            </span>
          </label>
        </div>
        <div class="row">
          <button type="button" class="primary" data-testid="train-start" disabled={!canStart} onClick={start}>
            Start training
          </button>
          <JobControls
            phase={run.phase}
            jobId={run.jobId}
            active={active}
            onCancel={cancelTrain}
            onClear={resetTrain}
            cancelTestId="train-cancel"
          />
        </div>
      </div>

      {run.phase !== "idle" && <RunView run={run} />}

      <div class="panel">
        <h2>Versions</h2>
        {overview ? (
          <VersionList versions={overview.versions} disabled={active || switching} onUse={(v) => void use(v)} />
        ) : (
          <p class="muted">…</p>
        )}
      </div>
    </section>
  );
}

function OverviewView({ o }: { o: TrainOverview }) {
  return (
    <>
      <dl class="stats">
        <Stat label="Eligible individuals" value={o.individuals} testId="train-individuals" />
        <Stat label="Confirmed detections" value={o.detections} testId="train-detections" />
        <Stat label="Individuals with repeat photos" value={o.individualsWithRepeats} testId="train-repeats" />
        <Stat label="Features to compute" value={o.missingFeatures} testId="train-missing" />
        <div class="stat">
          <dt>Active version</dt>
          <dd data-testid="train-active-version">{o.activeVersion ?? "—"}</dd>
        </div>
      </dl>
      {o.missingFeatures > 0 && (
        <p class="hint" data-testid="train-missing-note">
          {plural(o.missingFeatures, "detection")} {o.missingFeatures === 1 ? "has" : "have"} no cached features yet;
          they are computed first, from the photos, before training starts.
        </p>
      )}
      {!o.canTrain && (
        <p class="notice" role="status" data-testid="train-reason">
          Training is not possible yet: {o.reason ?? "not enough confirmed identifications"}
        </p>
      )}
    </>
  );
}

const PHASES: Record<TrainPhase, string> = {
  features: "Computing features",
  views: "Computing augmented views",
  training: "Training",
  evaluating: "Evaluating",
  adopting: "Adopting the new version",
  indexing: "Rebuilding the index",
};

function runLabel(run: TrainState): string {
  return jobLabel(run.phase, run.step ? PHASES[run.step.phase] : "Starting…");
}

function RunView({ run }: { run: TrainState }) {
  const step = run.step;
  const done = step?.done ?? 0;
  const total = step?.total ?? 0;
  const last = run.epochs[run.epochs.length - 1];
  const epochs = Math.max(run.options?.epochs ?? 1, ...run.epochs.map((e) => e.epochs));
  const label = runLabel(run);
  return (
    <div class="panel job">
      <div class="progress" data-testid="train-progress" data-phase={run.phase} data-step={step?.phase}>
        <div
          class="bar"
          role="progressbar"
          aria-label={step ? PHASES[step.phase] : "Training"}
          aria-valuemin={0}
          aria-valuemax={total}
          aria-valuenow={done}
        >
          <div class="fill" style={{ width: `${fraction(done, total) * 100}%` }} />
        </div>
        <div class="progress-text">
          <strong>{label}</strong>
          {step && (
            <>
              <span class="num">
                {done}/{total}
              </span>
              <span>{formatPercent(done, total)}</span>
            </>
          )}
          {last && (
            <span data-testid="train-epoch">
              {last.backbone} · epoch {last.epoch}/{last.epochs} · loss {last.loss.toFixed(3)} · accuracy{" "}
              {formatScore(last.accuracy)}
              {last.valMap5 != null && ` · MAP@5 ${formatScore(last.valMap5)}`} · {formatDuration(last.seconds)}
            </span>
          )}
        </div>
      </div>
      {(run.epochs.length > 0 || isTraining(run.phase)) && (
        <div class="plots">
          <LineChart
            title="Training loss per epoch"
            yLabel="loss"
            series={epochSeries(run.epochs, (e) => e.loss)}
            epochs={epochs}
            format={(v) => v.toFixed(3)}
            empty="no epochs yet"
            testId="train-loss-plot"
          />
          <LineChart
            title="Validation MAP@5 per epoch"
            yLabel="MAP@5"
            series={epochSeries(run.epochs, (e) => e.valMap5)}
            epochs={epochs}
            yDomain={[0, 1]}
            format={formatScore}
            empty="no validation scores yet"
            testId="train-map-plot"
          />
        </div>
      )}
      {run.phase === "cancelled" && (
        <p class="hint" data-testid="train-cancelled">
          Cancelled. Nothing was adopted; the active version is unchanged. Features computed so far are kept, so the next
          run starts faster.
        </p>
      )}
      {/* A run cancelled from the engine's side reports it as an error; the line above says it already. */}
      <ErrorLine
        error={run.phase === "cancelled" && run.error?.kind === "cancelled" ? null : run.error}
        testId="train-error"
      />
      {run.result && <TrainResultView r={run.result} />}
    </div>
  );
}

function Stat({ label, value, testId }: { label: string; value: number; testId?: string }) {
  return (
    <div class="stat">
      <dt>{label}</dt>
      <dd data-testid={testId}>{value}</dd>
    </div>
  );
}
