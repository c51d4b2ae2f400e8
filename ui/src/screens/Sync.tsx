/**
 * Sync the catalogue with the team's server, from a field laptop. Shows where
 * the catalogue stands (server, author, last sync, changes waiting to be
 * sent), the connection settings, and the two steps of a sync: Preview asks
 * the server what a sync would do without changing anything here; Sync now
 * pushes this laptop's changes, then pulls and applies everyone else's, live
 * from the sync store so it keeps running while you review.
 */
import { useCallback, useEffect, useState } from "preact/hooks";
import type { AppError } from "../bindings/AppError";
import type { SyncPreview } from "../bindings/SyncPreview";
import type { SyncStatus } from "../bindings/SyncStatus";
import { ErrorLine } from "../components/ErrorLine";
import { JobControls, jobLabel } from "../components/JobControls";
import { syncConfigure, syncPreview, syncStatus, toAppError } from "../ipc";
import { formatBytes, formatTaken } from "../lib/format";
import { useStore } from "../state/store";
import {
  cancelSync,
  isSyncing,
  onSyncEnd,
  parseSettings,
  resetSync,
  settingsForm,
  startSync,
  syncStore,
  type SettingsForm,
  type SyncState,
} from "../state/sync";
import { PreviewView, SummaryView } from "./sync/Report";
import { ToReview } from "./sync/ToReview";

const EMPTY_FORM: SettingsForm = { server: "", token: "", author: "", caCert: "", photos: false };

export function SyncScreen() {
  const run = useStore(syncStore);
  const [status, setStatus] = useState<SyncStatus | null>(null);
  const [statusError, setStatusError] = useState<AppError | null>(null);
  const [form, setForm] = useState<SettingsForm>(EMPTY_FORM);
  const [formError, setFormError] = useState<AppError | null>(null);
  const [saving, setSaving] = useState(false);
  const [note, setNote] = useState("");
  const [preview, setPreview] = useState<SyncPreview | null>(null);
  const [previewError, setPreviewError] = useState<AppError | null>(null);
  const [previewing, setPreviewing] = useState(false);
  const active = isSyncing(run.phase);

  const load = useCallback(async (fillForm: boolean) => {
    try {
      const s = await syncStatus();
      setStatus(s);
      setStatusError(null);
      // Fill the form from the stored settings, unless the user has
      // started typing before they arrived.
      if (fillForm) setForm((f) => (f === EMPTY_FORM ? settingsForm(s) : f));
    } catch (e) {
      setStatusError(toAppError(e));
    }
  }, []);

  useEffect(() => {
    void load(true);
  }, [load]);
  // A sync that ends (here or while on another screen) changes the position,
  // the pending count and the last sync time; an earlier preview is stale.
  useEffect(
    () =>
      onSyncEnd(() => {
        setPreview(null);
        void load(false);
      }),
    [load],
  );

  const configured = !!status?.server && status.hasToken;
  // Tokens are stored per server: a new address needs its own token.
  const keepsToken = !!status?.hasToken && sameServer(form.server, status.server);
  const canAct = configured && !active && !previewing && !saving;

  const save = async (e?: Event) => {
    e?.preventDefault();
    const settings = parseSettings(form);
    if ("kind" in settings) {
      setFormError(settings);
      return;
    }
    setSaving(true);
    setFormError(null);
    setNote("");
    try {
      const s = await syncConfigure(settings);
      setStatus(s);
      setForm(settingsForm(s));
      setPreview(null);
      setNote("Saved.");
    } catch (err) {
      setFormError(toAppError(err));
    } finally {
      setSaving(false);
    }
  };

  const askPreview = async () => {
    if (!canAct) return;
    setPreviewing(true);
    setPreviewError(null);
    setPreview(null);
    try {
      setPreview(await syncPreview());
      // Previewing logs the changes made here, so the pending count may move.
      void load(false);
    } catch (err) {
      setPreviewError(toAppError(err));
    } finally {
      setPreviewing(false);
    }
  };

  const start = () => {
    if (!canAct) return;
    setPreviewError(null);
    void startSync();
  };

  const set = (k: "server" | "token" | "author" | "caCert") => (e: Event) => {
    const v = (e.currentTarget as HTMLInputElement).value;
    setForm((f) => ({ ...f, [k]: v }));
  };

  return (
    <section class="sync">
      <h1>Sync with the team's server</h1>
      <p class="muted">
        Sends the photos, identifications and merges made on this laptop to the team's server, and brings back everyone
        else's. Nothing is lost if the connection drops: what was done stays, and the next sync carries on.
      </p>
      <ErrorLine error={statusError} testId="sync-status-error" />

      <div class="panel" data-testid="sync-status">
        <h2>Status</h2>
        {status ? <StatusView s={status} /> : <p class="muted">…</p>}
      </div>

      <form class="panel" noValidate onSubmit={(e) => void save(e)}>
        <h2>Connection</h2>
        <div class="form-grid">
          <label>
            <span class="label">Server URL</span>
            <input
              type="url"
              data-testid="sync-server-input"
              placeholder="http://10.0.0.5:8787"
              autoComplete="off"
              spellcheck={false}
              value={form.server}
              disabled={active}
              onInput={set("server")}
            />
          </label>
          <label>
            <span class="label">Token</span>
            <input
              type="password"
              data-testid="sync-token-input"
              placeholder={keepsToken ? "stored; leave empty to keep it" : "from your server admin"}
              autoComplete="off"
              value={form.token}
              disabled={active}
              onInput={set("token")}
            />
          </label>
          <label>
            <span class="label">Author: your observer name (the same as in Settings)</span>
            <input
              type="text"
              data-testid="sync-author-input"
              autoComplete="off"
              value={form.author}
              disabled={active}
              onInput={set("author")}
            />
          </label>
          <label>
            <span class="label">CA certificate (only if the team signs its server's certificate itself)</span>
            <input
              type="text"
              data-testid="sync-ca-input"
              placeholder="/path/to/team-ca.pem; empty: the public CAs"
              autoComplete="off"
              spellcheck={false}
              value={form.caCert}
              disabled={active}
              onInput={set("caCert")}
            />
          </label>
          <label class="check wide">
            <input
              type="checkbox"
              data-testid="sync-photos-input"
              checked={form.photos}
              disabled={active}
              onChange={(e) => {
                const photos = (e.currentTarget as HTMLInputElement).checked;
                setForm((f) => ({ ...f, photos }));
              }}
            />
            <span>Also sync original photos (send the ones imported here, fetch the others; resumes if cut)</span>
          </label>
        </div>
        {status?.hasToken && !keepsToken && form.token.trim() === "" && (
          <p class="hint" data-testid="sync-token-needed">
            Tokens are kept per server: enter the token for this server, or the next sync has none.
          </p>
        )}
        <div class="row">
          <button type="submit" data-testid="sync-save" disabled={saving || active}>
            {saving ? "Saving…" : "Save"}
          </button>
          {note && (
            <span class="muted" role="status" data-testid="sync-saved">
              {note}
            </span>
          )}
        </div>
        <ErrorLine error={formError} testId="sync-settings-error" />
      </form>

      <div class="panel">
        <h2>Sync</h2>
        <p class="muted">
          Preview asks the server what a sync would do, without changing anything here. Sync now applies it.
        </p>
        {status && !configured && (
          <p class="notice" role="status" data-testid="sync-not-ready">
            Save the server URL and a token first.
          </p>
        )}
        <div class="row">
          <button type="button" data-testid="sync-preview" disabled={!canAct} onClick={() => void askPreview()}>
            {previewing ? "Asking the server…" : "Preview"}
          </button>
          <button type="button" class="primary" data-testid="sync-start" disabled={!canAct} onClick={start}>
            Sync now
          </button>
          <JobControls
            phase={run.phase}
            jobId={run.jobId}
            active={active}
            onCancel={cancelSync}
            onClear={resetSync}
            cancelTestId="sync-cancel"
          />
        </div>
        <ErrorLine error={previewError} testId="sync-preview-error" />
        {preview && <PreviewView p={preview} />}
      </div>

      {run.phase !== "idle" && <RunView run={run} />}

      {status && <ToReview items={status.toReview} onStatus={setStatus} />}
    </section>
  );
}

/** The engine stores the address trimmed and without a trailing slash. */
function sameServer(typed: string, stored: string | null): boolean {
  return stored != null && typed.trim().replace(/\/+$/, "") === stored;
}

function StatusView({ s }: { s: SyncStatus }) {
  return (
    <>
      <dl class="kv">
        <dt>Server</dt>
        <dd class={s.server ? "path" : "muted"} data-testid="sync-server">
          {s.server ?? "not configured"}
        </dd>
        <dt>Author</dt>
        <dd data-testid="sync-author">{s.author || "—"}</dd>
        <dt>Token</dt>
        <dd data-testid="sync-token">{s.hasToken ? "stored" : "none stored"}</dd>
        <dt>Certificate</dt>
        <dd data-testid="sync-ca" class={s.caCert ? "path" : undefined}>
          {s.caCert ? `trusting ${s.caCert}` : "public CAs"}
        </dd>
        <dt>Original photos</dt>
        <dd data-testid="sync-photos">{s.photos ? "synced" : "not synced (records, crops and thumbnails only)"}</dd>
        <dt>Last sync</dt>
        <dd data-testid="sync-last">{s.lastSync ? `${formatTaken(s.lastSync)} UTC` : "never"}</dd>
      </dl>
      <dl class="stats">
        <div class="stat">
          <dt>Local changes to send</dt>
          <dd data-testid="sync-pending">{s.pending}</dd>
        </div>
        <div class="stat">
          <dt>Server position</dt>
          <dd data-testid="sync-position">{s.position}</dd>
        </div>
      </dl>
    </>
  );
}

const STAGES: Record<string, string> = { pushing: "Pushing", pulling: "Pulling", photos: "Photos" };

function runLabel(run: SyncState): string {
  return jobLabel(run.phase, run.stage ? (STAGES[run.stage] ?? run.stage) : "Connecting…");
}

function RunView({ run }: { run: SyncState }) {
  const active = isSyncing(run.phase);
  const label = runLabel(run);
  return (
    <div class="panel job">
      <div class="progress" data-testid="sync-progress" data-phase={run.phase} data-stage={run.stage ?? undefined}>
        {/* No total is known ahead: the bar moves while the sync runs and fills when it is done. */}
        <div
          class={`bar ${active ? "indeterminate" : ""}`}
          role="progressbar"
          aria-label={label}
          aria-valuetext={label}
        >
          <div class="fill" style={{ width: active ? undefined : run.phase === "finished" ? "100%" : "0%" }} />
        </div>
        <div class="progress-text">
          <strong>{label}</strong>
          <span class="num" data-testid="sync-counts">
            {run.pushed} pushed · {run.pulled} pulled
            {run.photoBytes > 0 && ` · ${formatBytes(run.photoBytes)} of photos`}
          </span>
        </div>
      </div>
      {run.phase === "cancelled" && (
        <p class="hint" data-testid="sync-cancelled">
          Cancelled. What was sent or applied before stopping stays; the next sync carries on from there.
        </p>
      )}
      {/* A sync cancelled from the engine's side reports it as an error; the line above says it already. */}
      <ErrorLine
        error={run.phase === "cancelled" && run.error?.kind === "cancelled" ? null : run.error}
        testId="sync-error"
      />
      {run.summary && <SummaryView s={run.summary} />}
    </div>
  );
}
