/**
 * The import job: a pure reducer from channel events to what the Import
 * screen shows, and the store that holds it across navigation. Starting and
 * cancelling go through the IPC gateway.
 */
import type { AppError } from "../bindings/AppError";
import type { IngestEvent } from "../bindings/IngestEvent";
import type { IngestSummary } from "../bindings/IngestSummary";
import { ingestStart, jobCancel, toAppError } from "../ipc";
import { createStore } from "./store";

export type IngestPhase = "idle" | "starting" | "scanning" | "running" | "cancelling" | "finished" | "cancelled" | "failed";

export type IngestProgress = { read: number; done: number; total: number; photosPerSecond: number; etaSeconds: number | null };

/** The folder walk before any photo is read: entries looked at, photos among them, the folder being read. */
export type ScanProgress = { seen: number; photos: number; folder: string };

export type IngestState = {
  phase: IngestPhase;
  paths: string[];
  jobId: number | null;
  scan: ScanProgress | null;
  scanned: { files: number; skipped: number } | null;
  progress: IngestProgress | null;
  summary: IngestSummary | null;
  cancelledDone: number | null;
  error: AppError | null;
};

export const IDLE: IngestState = {
  phase: "idle",
  paths: [],
  jobId: null,
  scan: null,
  scanned: null,
  progress: null,
  summary: null,
  cancelledDone: null,
  error: null,
};

export function isActive(phase: IngestPhase): boolean {
  return phase === "starting" || phase === "scanning" || phase === "running" || phase === "cancelling";
}

export function reduceIngest(s: IngestState, e: IngestEvent): IngestState {
  switch (e.event) {
    case "scanning":
      return {
        ...s,
        phase: s.phase === "cancelling" ? s.phase : "scanning",
        scan: { seen: e.seen, photos: e.photos, folder: e.folder },
      };
    case "scanned":
      return {
        ...s,
        phase: s.phase === "cancelling" ? s.phase : "running",
        scanned: { files: e.files, skipped: e.skipped },
        progress: s.progress ?? { read: 0, done: 0, total: e.files, photosPerSecond: 0, etaSeconds: null },
      };
    case "progress":
      return {
        ...s,
        phase: s.phase === "cancelling" ? s.phase : "running",
        progress: {
          read: e.read,
          done: e.done,
          total: e.total,
          photosPerSecond: e.photosPerSecond,
          etaSeconds: e.etaSeconds,
        },
      };
    case "finished":
      return {
        ...s,
        phase: "finished",
        summary: e.summary,
        progress: s.progress && { ...s.progress, read: s.progress.total, done: s.progress.total, etaSeconds: 0 },
      };
    case "cancelled":
      return { ...s, phase: "cancelled", cancelledDone: e.done };
    case "failed":
      return { ...s, phase: e.error.kind === "cancelled" ? "cancelled" : "failed", error: e.error };
  }
}

export const ingestStore = createStore<IngestState>(IDLE);

/** Listeners told when a job ends, e.g. to refresh the header counts. */
const onEnd = new Set<() => void>();
export function onIngestEnd(fn: () => void): () => void {
  onEnd.add(fn);
  return () => onEnd.delete(fn);
}

/** `species`: the survey's species, when known (suggestions are limited to it). */
export async function startIngest(paths: string[], species: string | null = null): Promise<void> {
  if (isActive(ingestStore.get().phase)) return;
  ingestStore.set({ ...IDLE, phase: "starting", paths });
  // A run that finished, or that found nothing to import (no photos in the
  // folder), leaves nothing to resume; events may arrive before the start
  // call returns, so this is decided here, once.
  let settled = false;
  try {
    const jobId = await ingestStart(paths, species, (ev) => {
      ingestStore.set((s) => reduceIngest(s, ev));
      if (ev.event === "finished" || (ev.event === "failed" && ev.error.kind === "invalid")) {
        settled = true;
        forgetUnfinished(paths);
      }
      if (ev.event === "finished" || ev.event === "cancelled" || ev.event === "failed") onEnd.forEach((fn) => fn());
    });
    // The job started (the paths exist): until it finishes, re-running it resumes.
    if (!settled) rememberUnfinished(paths);
    // Events may already have moved us on; only record the id.
    ingestStore.set((s) => ({ ...s, jobId, phase: s.phase === "starting" ? "scanning" : s.phase }));
  } catch (e) {
    ingestStore.set((s) => ({ ...s, phase: "failed", error: toAppError(e) }));
  }
}

export async function cancelIngest(): Promise<void> {
  const s = ingestStore.get();
  if (s.jobId == null || !isActive(s.phase)) return;
  ingestStore.set({ ...s, phase: "cancelling" });
  try {
    await jobCancel(s.jobId);
  } catch (e) {
    ingestStore.set((x) => ({ ...x, error: toAppError(e) }));
  }
}

export function resetIngest(): void {
  if (!isActive(ingestStore.get().phase)) ingestStore.set(IDLE);
}

/**
 * Folders whose last import on this machine started and did not finish
 * (cancelled, failed, or the app closed), to offer "resume". A finished run,
 * or a path that never started (missing), is not listed.
 */
const UNFINISHED_KEY = "whaleid.unfinishedImports";
function unfinished(): string[] {
  try {
    return JSON.parse(localStorage.getItem(UNFINISHED_KEY) ?? "[]");
  } catch {
    return [];
  }
}
function storeUnfinished(list: string[]): void {
  try {
    localStorage.setItem(UNFINISHED_KEY, JSON.stringify(list.slice(0, 200)));
  } catch {
    /* storage unavailable: the hint is optional */
  }
}
export function unfinishedImport(path: string): boolean {
  return unfinished().includes(normPath(path));
}
export function rememberUnfinished(paths: string[]): void {
  storeUnfinished([...new Set([...paths.map(normPath), ...unfinished()])]);
}
export function forgetUnfinished(paths: string[]): void {
  const done = new Set(paths.map(normPath));
  storeUnfinished(unfinished().filter((p) => !done.has(p)));
}
function normPath(p: string): string {
  return p.trim().replace(/[\\/]+$/, "");
}
