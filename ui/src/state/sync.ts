/**
 * The sync job: a pure reducer from `sync_start` channel events to what the
 * Sync screen shows, and the store that holds it across navigation (a field
 * laptop on a slow link may take a while; the researcher may go on
 * reviewing). Also the settings form, validated once into `SyncSettings`.
 * Starting and cancelling go through the IPC gateway, like the other jobs.
 */
import type { AppError } from "../bindings/AppError";
import type { SyncEvent } from "../bindings/SyncEvent";
import type { SyncSettings } from "../bindings/SyncSettings";
import type { SyncStatus } from "../bindings/SyncStatus";
import type { SyncSummary } from "../bindings/SyncSummary";
import { jobCancel, syncStart, toAppError } from "../ipc";
import { createStore } from "./store";

export type SyncRunPhase = "idle" | "starting" | "running" | "cancelling" | "finished" | "cancelled" | "failed";

export type SyncState = {
  phase: SyncRunPhase;
  jobId: number | null;
  /** The stage of the latest progress event: `pushing` or `pulling`. */
  stage: string | null;
  /** Operations sent and received so far (each stage's count is cumulative). */
  pushed: number;
  pulled: number;
  /** Bytes of original photos moved so far (when photos are synced). */
  photoBytes: number;
  summary: SyncSummary | null;
  error: AppError | null;
};

export const SYNC_IDLE: SyncState = {
  phase: "idle",
  jobId: null,
  stage: null,
  pushed: 0,
  pulled: 0,
  photoBytes: 0,
  summary: null,
  error: null,
};

export function isSyncing(phase: SyncRunPhase): boolean {
  return phase === "starting" || phase === "running" || phase === "cancelling";
}

export function reduceSync(s: SyncState, e: SyncEvent): SyncState {
  switch (e.event) {
    case "progress": {
      // A late progress event must not undo a pending cancel.
      const phase = s.phase === "cancelling" ? s.phase : "running";
      const counts =
        e.stage === "pushing"
          ? { pushed: e.done }
          : e.stage === "pulling"
            ? { pulled: e.done }
            : e.stage === "photos"
              ? { photoBytes: e.done }
              : {};
      return { ...s, phase, stage: e.stage, ...counts };
    }
    case "finished":
      return { ...s, phase: "finished", summary: e.summary };
    case "cancelled":
      return { ...s, phase: "cancelled" };
    case "failed":
      return { ...s, phase: e.error.kind === "cancelled" ? "cancelled" : "failed", error: e.error };
  }
}

export type SettingsForm = { server: string; token: string; author: string; caCert: string; photos: boolean };

/** The form as the stored status fills it; the token is never sent back, so it starts empty. */
export function settingsForm(s: SyncStatus): SettingsForm {
  return { server: s.server ?? "", token: "", author: s.author, caCert: s.caCert ?? "", photos: s.photos };
}

/** Validates the form once into what `sync_configure` takes; an empty token keeps the stored one. */
export function parseSettings(f: SettingsForm): SyncSettings | AppError {
  const server = f.server.trim();
  const author = f.author.trim();
  const token = f.token.trim();
  if (!/^https?:\/\/\S+$/i.test(server)) {
    return { kind: "invalid", message: "the server must be a URL starting with http:// or https://" };
  }
  if (!author) return { kind: "invalid", message: "say who the changes made on this laptop are by" };
  const caCert = f.caCert.trim();
  return { server, token: token === "" ? null : token, author, caCert: caCert === "" ? null : caCert, photos: f.photos };
}

export const syncStore = createStore<SyncState>(SYNC_IDLE);

/** Listeners told when a sync ends, e.g. to re-read the status and the catalogue counts. */
const onEnd = new Set<() => void>();
export function onSyncEnd(fn: () => void): () => void {
  onEnd.add(fn);
  return () => onEnd.delete(fn);
}

export async function startSync(): Promise<void> {
  if (isSyncing(syncStore.get().phase)) return;
  syncStore.set({ ...SYNC_IDLE, phase: "starting" });
  try {
    const jobId = await syncStart((ev) => {
      syncStore.set((s) => reduceSync(s, ev));
      if (ev.event === "finished" || ev.event === "cancelled" || ev.event === "failed") onEnd.forEach((fn) => fn());
    });
    // Events may already have moved us on; only record the id.
    syncStore.set((s) => ({ ...s, jobId, phase: s.phase === "starting" ? "running" : s.phase }));
  } catch (e) {
    syncStore.set((s) => ({ ...s, phase: "failed", error: toAppError(e) }));
  }
}

export async function cancelSync(): Promise<void> {
  const s = syncStore.get();
  if (s.jobId == null || !isSyncing(s.phase)) return;
  syncStore.set({ ...s, phase: "cancelling" });
  try {
    await jobCancel(s.jobId);
  } catch (e) {
    // The sync goes on; let the Cancel button be pressed again.
    syncStore.set((x) => ({ ...x, phase: x.phase === "cancelling" ? "running" : x.phase, error: toAppError(e) }));
  }
}

export function resetSync(): void {
  if (!isSyncing(syncStore.get().phase)) syncStore.set(SYNC_IDLE);
}
