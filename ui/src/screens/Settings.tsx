/**
 * Settings: where the catalogue lives, which model pack it uses, how
 * inference runs (providers, threads), the new-individual threshold, and
 * About (versions, files, diagnostics).
 */
import { useEffect, useRef, useState } from "preact/hooks";
import type { AppError } from "../bindings/AppError";
import type { PackInfo } from "../bindings/PackInfo";
import type { Settings } from "../bindings/Settings";
import { ErrorLine } from "../components/ErrorLine";
import { PathField } from "../components/PathField";
import { AboutPanel } from "./About";
import { observerGet, observerSet, packImport, settingsGet, settingsSet, toAppError } from "../ipc";

export function SettingsScreen({ onChanged }: { onChanged: () => void }) {
  const [settings, setSettings] = useState<Settings | null>(null);
  const [threads, setThreads] = useState("");
  const [threshold, setThreshold] = useState("");
  const [share, setShare] = useState("");
  const [packPath, setPackPath] = useState("");
  const [error, setError] = useState<AppError | null>(null);
  const [note, setNote] = useState("");
  const [busy, setBusy] = useState(false);
  const [observer, setObserver] = useState("");
  /** Fields the user has typed in since they were last filled from Rust: the
   * first load, which can land after the user started typing, leaves them be. */
  const touched = useRef(new Set<"threads" | "threshold" | "share" | "observer">());
  const edit =
    (field: "threads" | "threshold" | "share" | "observer", set: (v: string) => void) => (e: Event) => {
      touched.current.add(field);
      set((e.currentTarget as HTMLInputElement).value);
    };

  /** Fill the fields from `s`; `load` keeps what the user already typed. */
  const show = (s: Settings, load = false) => {
    setSettings(s);
    const fill = (field: "threads" | "threshold" | "share", set: (v: string) => void, v: string) => {
      if (!load || !touched.current.has(field)) set(v);
      if (!load) touched.current.delete(field);
    };
    fill("threads", setThreads, String(s.threads));
    fill("threshold", setThreshold, String(s.threshold));
    fill("share", setShare, String(Math.round(s.newShare * 100)));
  };

  useEffect(() => {
    settingsGet()
      .then((s) => show(s, true))
      .catch((e) => setError(toAppError(e)));
    observerGet()
      .then((name) => {
        if (!touched.current.has("observer")) setObserver(name ?? "");
      })
      .catch((e) => setError(toAppError(e)));
  }, []);

  const saveObserver = async () => {
    setBusy(true);
    setError(null);
    try {
      const saved = await observerSet(observer);
      setObserver(saved);
      touched.current.delete("observer");
      setNote(`Saved. Decisions, edits, imports and syncs made here are recorded as ${saved}.`);
    } catch (e) {
      setError(toAppError(e));
    } finally {
      setBusy(false);
    }
  };

  const save = async () => {
    const t = parseInt(threads, 10);
    const th = parseFloat(threshold);
    if (threads.trim() !== "" && (!Number.isInteger(t) || t < 0)) {
      setError({ kind: "invalid", message: "threads must be a whole number (0 = automatic)" });
      return;
    }
    if (threshold.trim() !== "" && (!Number.isFinite(th) || th < 0 || th > 1)) {
      setError({ kind: "invalid", message: "threshold must be between 0 and 1" });
      return;
    }
    const sh = parseFloat(share);
    if (share.trim() !== "" && (!Number.isFinite(sh) || sh < 0 || sh > 100)) {
      setError({ kind: "invalid", message: "the share of new individuals is a percentage between 0 and 100" });
      return;
    }
    // Only what changed is sent: an unchanged threshold stays "calibrated".
    const newThreshold = threshold.trim() === "" || th === settings?.threshold ? null : th;
    const newShare =
      share.trim() === "" || Math.round(sh) === Math.round((settings?.newShare ?? 0) * 100) ? null : sh / 100;
    setBusy(true);
    setError(null);
    try {
      const saved = await settingsSet(threads.trim() === "" ? null : t, newThreshold, newShare);
      show(saved);
      setNote(
        saved.reranked != null
          ? `Saved. ${saved.reranked} detections waiting for review were ranked again.`
          : "Saved.",
      );
      onChanged();
    } catch (e) {
      setError(toAppError(e));
    } finally {
      setBusy(false);
    }
  };

  const importPack = async (path = packPath) => {
    if (!path.trim()) {
      setError({ kind: "invalid", message: "type or choose a model pack folder first" });
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const pack = await packImport(path.trim());
      setNote(`Model pack ${pack.name} ${pack.version} imported.`);
      show(await settingsGet());
      onChanged();
    } catch (e) {
      setError(toAppError(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section class="settings">
      <h1>Settings</h1>
      <ErrorLine error={error} />
      {note && <p class="hint">{note}</p>}

      <div class="panel">
        <h2>Catalogue</h2>
        <p class="path" data-testid="settings-catalogue">
          {settings?.cataloguePath ?? "no catalogue open"}
        </p>
      </div>

      <div class="panel">
        <h2>New individuals</h2>
        <div class="form-grid">
          <label>
            <span class="label">New-individual threshold</span>
            <input
              type="number"
              min={0}
              max={1}
              step={0.01}
              data-testid="settings-threshold"
              value={threshold}
              onInput={edit("threshold", setThreshold)}
            />
          </label>
          <label>
            <span class="label">Expected new individuals (%)</span>
            <input
              type="number"
              min={0}
              max={100}
              step={1}
              data-testid="settings-new-share"
              value={share}
              onInput={edit("share", setShare)}
            />
          </label>
        </div>
        <p class="muted">
          Below the threshold, "new individual" is suggested before a catalogue match. Calibration chooses it for the
          share of new animals you expect in a survey; saving either ranks every detection waiting for review again.
        </p>
        {settings && <ThresholdView settings={settings} />}
        <div class="row">
          <button type="button" class="primary" data-testid="settings-save" disabled={busy || !settings} onClick={save}>
            Save
          </button>
        </div>
      </div>

      <div class="panel">
        <h2>Observer</h2>
        <div class="form-grid">
          <label>
            <span class="label">Your name</span>
            <input
              type="text"
              maxLength={200}
              data-testid="settings-observer"
              placeholder="recorded on each decision"
              value={observer}
              onInput={edit("observer", setObserver)}
              onKeyDown={(e) => e.key === "Enter" && void saveObserver()}
            />
          </label>
        </div>
        <p class="muted">
          Recorded on every decision, merge, split, import and sync made here; the Sync screen's author is the same
          name.
        </p>
        <div class="row">
          <button type="button" class="primary" data-testid="settings-observer-save" disabled={busy} onClick={saveObserver}>
            Save name
          </button>
        </div>
      </div>

      <div class="panel">
        <h2>Inference</h2>
        <div data-testid="settings-providers" class="providers">
          <span class="label">Execution providers</span>
          {settings ? (
            <ul>
              {settings.providers.available.map((p) => {
                const used = settings.providers.used.includes(p);
                return (
                  <li key={p} class={used ? "used" : ""}>
                    {p} <span class="muted">{used ? "in use" : "available"}</span>
                  </li>
                );
              })}
              {settings.providers.used
                .filter((p) => !settings.providers.available.includes(p))
                .map((p) => (
                  <li key={p} class="used">
                    {p} <span class="muted">in use</span>
                  </li>
                ))}
            </ul>
          ) : (
            <span class="muted">…</span>
          )}
        </div>
        {settings?.providers.ranOn && <p data-testid="settings-ran-on">Ran on: {settings.providers.ranOn}</p>}
        {settings?.providers.gpuFallback && (
          <p class="warn-text" role="alert" data-testid="settings-gpu-fallback">
            Warning: {settings.providers.gpuFallback}; the models ran on the CPU.
          </p>
        )}
        <div class="form-grid">
          <label>
            <span class="label">Threads (0 = automatic)</span>
            <input
              type="number"
              min={0}
              step={1}
              data-testid="settings-threads"
              value={threads}
              onInput={edit("threads", setThreads)}
            />
          </label>
        </div>
        <div class="row">
          <button
            type="button"
            class="primary"
            data-testid="settings-save-inference"
            disabled={busy || !settings}
            onClick={save}
          >
            Save
          </button>
        </div>
      </div>

      <div class="panel">
        <h2>Model pack</h2>
        <div data-testid="settings-pack">
          {settings?.pack ? <PackView pack={settings.pack} /> : <p class="muted">No model pack bound.</p>}
        </div>
        <PathField
          label="Import a pack folder"
          value={packPath}
          onInput={setPackPath}
          onSubmit={() => void importPack()}
          inputTestId="settings-pack-path"
          pickTestId="settings-pack-pick"
          pick="folder"
          onPicked={(p) => void importPack(p)}
          onError={setError}
        />
        <div class="row">
          <button type="button" data-testid="settings-pack-import" disabled={busy} onClick={() => void importPack()}>
            Import pack
          </button>
        </div>
      </div>

      <AboutPanel />
    </section>
  );
}

function ThresholdView({ settings }: { settings: Settings }) {
  const pct = (x: number) => `${(x * 100).toFixed(0)}%`;
  const c = settings.calibration;
  return (
    <dl class="kv" data-testid="settings-calibration">
      <dt>Threshold in use</dt>
      <dd>
        {settings.threshold.toFixed(2)}{" "}
        <span class="muted">
          {settings.thresholdSource === "calibrated"
            ? "calibrated"
            : settings.thresholdSource === "set"
              ? "set by hand"
              : "the pack's default (not calibrated yet)"}
        </span>
      </dd>
      {c && (
        <>
          <dt>Calibrated for</dt>
          <dd>{c.shareSource}</dd>
          <dt>Expected</dt>
          <dd>
            {pct(c.knownShownNew)} of known animals shown "new individual" first; {pct(c.newCaught)} of new animals
            caught <span class="muted">({c.queries} leave-one-out queries)</span>
          </dd>
        </>
      )}
      {(!c || c.shareSource !== settings.newShareSource) && (
        <>
          <dt>{c ? "Share of new individuals now" : "Share of new individuals"}</dt>
          <dd>{settings.newShareSource}</dd>
        </>
      )}
    </dl>
  );
}

function PackView({ pack }: { pack: PackInfo }) {
  return (
    <dl class="kv">
      <dt>Name</dt>
      <dd>
        {pack.name} {pack.version}
      </dd>
      {pack.description && (
        <>
          <dt>About</dt>
          <dd>{pack.description}</dd>
        </>
      )}
      <dt>Models</dt>
      <dd>
        {pack.detector ? "detector + " : "no detector, "}
        {pack.backbones.length ? pack.backbones.join(", ") : "no backbones"}
      </dd>
      <dt>Embedding</dt>
      <dd>{pack.embeddingDim}-d · threshold in use {pack.threshold}</dd>
      <dt>Folder</dt>
      <dd class="path">{pack.path}</dd>
    </dl>
  );
}
