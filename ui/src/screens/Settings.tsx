/**
 * Settings: where the catalogue lives, which model pack it uses, how
 * inference runs (providers, threads) and the new-individual threshold.
 */
import { useEffect, useState } from "preact/hooks";
import type { AppError } from "../bindings/AppError";
import type { PackInfo } from "../bindings/PackInfo";
import type { Settings } from "../bindings/Settings";
import { ErrorLine } from "../components/ErrorLine";
import { PathField } from "../components/PathField";
import { packImport, settingsGet, settingsSet, toAppError } from "../ipc";

export function SettingsScreen({ onChanged }: { onChanged: () => void }) {
  const [settings, setSettings] = useState<Settings | null>(null);
  const [threads, setThreads] = useState("");
  const [threshold, setThreshold] = useState("");
  const [packPath, setPackPath] = useState("");
  const [error, setError] = useState<AppError | null>(null);
  const [note, setNote] = useState("");
  const [busy, setBusy] = useState(false);

  const show = (s: Settings) => {
    setSettings(s);
    setThreads(String(s.threads));
    setThreshold(String(s.threshold));
  };

  useEffect(() => {
    settingsGet()
      .then(show)
      .catch((e) => setError(toAppError(e)));
  }, []);

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
    setBusy(true);
    setError(null);
    try {
      show(await settingsSet(threads.trim() === "" ? null : t, threshold.trim() === "" ? null : th));
      setNote("Saved.");
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
        <div class="form-grid">
          <label>
            <span class="label">Threads (0 = automatic)</span>
            <input
              type="number"
              min={0}
              step={1}
              data-testid="settings-threads"
              value={threads}
              onInput={(e) => setThreads((e.currentTarget as HTMLInputElement).value)}
            />
          </label>
          <label>
            <span class="label">New-individual threshold</span>
            <input
              type="number"
              min={0}
              max={1}
              step={0.01}
              data-testid="settings-threshold"
              value={threshold}
              onInput={(e) => setThreshold((e.currentTarget as HTMLInputElement).value)}
            />
          </label>
        </div>
        <p class="muted">
          Below the threshold, "new individual" is ranked above a catalogue match. It applies to photos imported after
          saving.
        </p>
        <div class="row">
          <button type="button" class="primary" data-testid="settings-save" disabled={busy || !settings} onClick={save}>
            Save
          </button>
        </div>
      </div>
    </section>
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
      <dd>{pack.embeddingDim}-d · pack threshold {pack.threshold}</dd>
      <dt>Folder</dt>
      <dd class="path">{pack.path}</dd>
    </dl>
  );
}
