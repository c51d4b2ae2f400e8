/**
 * The one gateway between the UI and the Rust shell.
 *
 * Only this folder imports `@tauri-apps/api`; screens call the typed wrappers
 * below and never see `invoke`, command names or argument spelling. Every
 * wrapper rejects with an `AppError` (`{ kind, message }`) whatever the
 * webview actually rejected with, so callers can branch on `kind` ("cancelled"
 * vs "model" vs "busy") without guessing at shapes. Argument names are the
 * camelCase Tauri expects for the Rust snake_case parameters.
 */
import { Channel, convertFileSrc, invoke, isTauri } from "@tauri-apps/api/core";
import { getCurrentWebview } from "@tauri-apps/api/webview";

import type { AboutInfo } from "../bindings/AboutInfo";
import type { AppError } from "../bindings/AppError";
import type { AttributeChange } from "../bindings/AttributeChange";
import type { Grades } from "../bindings/Grades";
import type { CatalogueInfo } from "../bindings/CatalogueInfo";
import type { ExportResult } from "../bindings/ExportResult";
import type { IndividualDetail } from "../bindings/IndividualDetail";
import type { IndividualFilter } from "../bindings/IndividualFilter";
import type { IndividualSummary } from "../bindings/IndividualSummary";
import type { IngestEvent } from "../bindings/IngestEvent";
import type { PackInfo } from "../bindings/PackInfo";
import type { ReviewOutcome } from "../bindings/ReviewOutcome";
import type { ReviewQueue } from "../bindings/ReviewQueue";
import type { Settings } from "../bindings/Settings";
import type { SyncEvent } from "../bindings/SyncEvent";
import type { SyncPreview } from "../bindings/SyncPreview";
import type { BoxChanged } from "../bindings/BoxChanged";
import type { PhotoBoxRow } from "../bindings/PhotoBoxRow";
import type { SyncSettings } from "../bindings/SyncSettings";
import type { SyncStatus } from "../bindings/SyncStatus";
import type { TrainEvent } from "../bindings/TrainEvent";
import type { TrainOptions } from "../bindings/TrainOptions";
import type { TrainOverview } from "../bindings/TrainOverview";
import type { Undone } from "../bindings/Undone";
import type { MatchScope } from "../bindings/MatchScope";
import type { ScopedSuggestions } from "../bindings/ScopedSuggestions";
import type { IndividualHit } from "../bindings/IndividualHit";
import type { MergeDirection } from "../bindings/MergeDirection";
import type { DwcaDataset } from "../bindings/DwcaDataset";
import type { EncounterChange } from "../bindings/EncounterChange";
import type { EncounterView } from "../bindings/EncounterView";
import type { MarkChoices } from "../bindings/MarkChoices";
import type { PublishFilter } from "../bindings/PublishFilter";
import type { PublishResult } from "../bindings/PublishResult";
import type { AgreementReportView } from "../bindings/AgreementReportView";
import type { DisagreementItem } from "../bindings/DisagreementItem";
import type { OpinionOutcome } from "../bindings/OpinionOutcome";
import type { SecondReviewQueue } from "../bindings/SecondReviewQueue";

export type ErrorKind = AppError["kind"];

/**
 * What each kind is called on screen. A `Record` over the generated
 * `ErrorKind` (the engine's one vocabulary), so a kind added in Rust does not
 * type-check here until it has a label; the kinds the UI accepts are its keys.
 */
const LABEL: Record<ErrorKind, string> = {
  notFound: "Not found",
  invalid: "Invalid",
  cancelled: "Cancelled",
  photo: "Photo",
  catalogue: "Catalogue",
  model: "Model",
  io: "File system",
  sync: "Server",
  busy: "Busy",
  internal: "Error",
};

function isKind(k: unknown): k is ErrorKind {
  return typeof k === "string" && Object.prototype.hasOwnProperty.call(LABEL, k);
}

/**
 * Turns whatever an `invoke` rejected with into an `AppError`.
 *
 * The Rust side serialises its errors as `{ kind, message }`, but Tauri itself
 * rejects with a bare string for its own failures (unknown command, denied
 * capability, argument that does not deserialise), and JS code in between
 * may throw `Error`s. Those all become `internal` with the text kept.
 */
export function toAppError(e: unknown): AppError {
  if (typeof e === "string") {
    const trimmed = e.trim();
    if (trimmed.startsWith("{")) {
      try {
        return toAppError(JSON.parse(trimmed));
      } catch {
        /* not JSON after all: keep the text */
      }
    }
    return { kind: "internal", message: e };
  }
  if (e instanceof Error) return { kind: "internal", message: e.message || e.name };
  if (e && typeof e === "object") {
    const o = e as Record<string, unknown>;
    const message =
      typeof o.message === "string" ? o.message : o.message == null ? "" : JSON.stringify(o.message);
    if (isKind(o.kind)) return { kind: o.kind, message };
    if (typeof o.kind === "string") {
      return { kind: "internal", message: message ? `${o.kind}: ${message}` : o.kind };
    }
    if (message) return { kind: "internal", message };
    return { kind: "internal", message: safeJson(e) };
  }
  return { kind: "internal", message: e === undefined ? "unknown error" : String(e) };
}

function safeJson(v: unknown): string {
  try {
    return JSON.stringify(v);
  } catch {
    return String(v);
  }
}

export function isAppError(e: unknown): e is AppError {
  return !!e && typeof e === "object" && isKind((e as AppError).kind) && typeof (e as AppError).message === "string";
}

/**
 * A line a person can read: "Model: pack has no detector". `labels` renames
 * kinds where a screen knows better what they mean (on Welcome a `catalogue`
 * error is a folder that cannot be used). A sync failure needs no renaming:
 * the engine reports it as `sync`, "Server".
 */
export function errorText(e: unknown, labels?: Partial<Record<ErrorKind, string>>): string {
  const err = isAppError(e) ? e : toAppError(e);
  const label = labels?.[err.kind] ?? LABEL[err.kind];
  return err.message ? `${label}: ${err.message}` : label;
}

async function call<T>(cmd: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(cmd, args);
  } catch (e) {
    throw toAppError(e);
  }
}

// ---- catalogue ----------------------------------------------------------

export const catalogueCurrent = () => call<CatalogueInfo | null>("catalogue_current");
export const catalogueOpen = (path: string) => call<CatalogueInfo>("catalogue_open", { path });
export const catalogueCreate = (path: string) => call<CatalogueInfo>("catalogue_create", { path });

// ---- ingest -------------------------------------------------------------

/**
 * Starts an ingest job; events arrive on `onEvent` until finished/cancelled/failed.
 * `species`, when given, is the survey's species: suggestions are limited to it.
 */
export function ingestStart(
  paths: string[],
  species: string | null,
  onEvent: (e: IngestEvent) => void,
): Promise<number> {
  const channel = new Channel<IngestEvent>();
  channel.onmessage = onEvent;
  return call<number>("ingest_start", { paths, species, onEvent: channel });
}

export const jobCancel = (jobId: number) => call<void>("job_cancel", { jobId });

// ---- review -------------------------------------------------------------

export const reviewQueue = (limit: number | null) => call<ReviewQueue>("review_queue", { limit });
export const reviewAccept = (
  detectionId: number,
  individualId: number,
  score: number | null,
  rank: number | null = null,
) => call<ReviewOutcome>("review_accept", { detectionId, individualId, score, rank });
export const reviewNewIndividual = (detectionId: number, code: string, species: string | null) =>
  call<ReviewOutcome>("review_new_individual", { detectionId, code, species });
export const reviewUnidentifiable = (detectionId: number) =>
  call<ReviewOutcome>("review_unidentifiable", { detectionId });
export const reviewSameAs = (detectionId: number, individualId: number) =>
  call<ReviewOutcome>("review_same_as", { detectionId, individualId });
export const reviewUndo = () => call<Undone | null>("review_undo");
/** A detection's suggestions ranked again within a scope of grades (same side, quality); nothing is stored. */
export const scopedSuggestions = (detectionId: number, scope: MatchScope) =>
  call<ScopedSuggestions>("scoped_suggestions", { detectionId, scope });

// ---- second reviewer ----------------------------------------------------

/** What an opinion says: an individual (with its id), a new one, or not identifiable. */
export type OpinionChoice = "individual" | "new" | "unidentifiable";
/** Whether decisions need a second reviewer; `on` switches it first. */
export const secondReviewRequired = (on: boolean | null) => call<boolean>("second_review_required", { on });
/** The observer's blind queue: nothing of the first decisions. */
export const secondReviewQueue = () => call<SecondReviewQueue>("second_review_queue");
export const secondOpinion = (detectionId: number, choice: OpinionChoice, individualId: number | null) =>
  call<OpinionOutcome>("second_opinion", { detectionId, choice, individualId });
export const disagreementsList = () => call<DisagreementItem[]>("disagreements_list");
/** A normal decision settling a disagreement; `code` (and `species`) for a new individual. */
export const disagreementResolve = (
  detectionId: number,
  choice: OpinionChoice,
  individualId: number | null,
  code: string | null,
  species: string | null,
) => call<ReviewOutcome>("disagreement_resolve", { detectionId, choice, individualId, code, species });
export const agreementReport = () => call<AgreementReportView>("agreement_report");
/** Sets (or, with `value: null`, clears) grades of one detection; its grades after. */
export const setAttributes = (detectionId: number, changes: AttributeChange[]) =>
  call<Grades>("set_attributes", { detectionId, changes });

// ---- boxes drawn by hand ------------------------------------------------
/** x1, y1, x2, y2 in photo pixels. */
export type BoxCoords = [number, number, number, number];
export const boxList = (photoId: number) => call<PhotoBoxRow[]>("box_list", { photoId });
export const boxAdd = (photoId: number, bbox: BoxCoords) => call<BoxChanged>("box_add", { photoId, bbox });
export const boxSet = (detectionId: number, bbox: BoxCoords) => call<BoxChanged>("box_set", { detectionId, bbox });
export const boxRemove = (detectionId: number) => call<BoxChanged>("box_remove", { detectionId });
export const boxUndo = () => call<BoxChanged | null>("box_undo");

// ---- encounters ---------------------------------------------------------

/** Encounters in time order; `from`/`to` (YYYY-MM-DD) keep those started within. */
export const encounterList = (from: string | null, to: string | null) =>
  call<EncounterView[]>("encounter_list", { from, to });
export const encounterGet = (encounterId: number) => call<EncounterView>("encounter_get", { encounterId });
/** Sets (or, with a blank or null value, clears) fields; the encounter after. */
export const encounterEdit = (encounterId: number, changes: EncounterChange[]) =>
  call<EncounterView>("encounter_edit", { encounterId, changes });
/** Photos at or after `at`, or the photos listed, go to a new encounter (returned) with the fields copied. */
export const encounterSplit = (encounterId: number, at: string | null, photoIds: number[] | null) =>
  call<EncounterView>("encounter_split", { encounterId, at, photoIds });
/** `others` join `keep` (their photos move to it; they stay, marked joined); the kept one after. */
export const encounterJoin = (keep: number, others: number[]) =>
  call<EncounterView>("encounter_join", { keep, others });

// ---- individuals --------------------------------------------------------

export const individualsList = (filter: IndividualFilter) =>
  call<IndividualSummary[]>("individuals_list", { filter });
export const individualGet = (id: number) => call<IndividualDetail>("individual_get", { id });
export const individualMerge = (fromId: number, intoId: number) =>
  call<IndividualDetail>("individual_merge", { fromId, intoId });
export const individualRename = (id: number, code: string) =>
  call<IndividualDetail>("individual_rename", { id, code });
export const individualSplit = (id: number, detectionIds: number[], newCode: string) =>
  call<IndividualDetail>("individual_split", { id, detectionIds, newCode });
export const individualUndo = (eventId: number) => call<IndividualDetail>("individual_undo", { eventId });

// ---- training -----------------------------------------------------------

export const trainOverview = () => call<TrainOverview>("train_overview");

/**
 * Starts fine-tuning on the catalogue's confirmed identifications; events
 * arrive on `onEvent` until finished/cancelled/failed. Rejects with `busy`
 * while another job runs. Cancel with `jobCancel`.
 */
export function trainStart(options: TrainOptions, onEvent: (e: TrainEvent) => void): Promise<number> {
  const channel = new Channel<TrainEvent>();
  channel.onmessage = onEvent;
  return call<number>("train_start", { options, onEvent: channel });
}

/** Makes `version` the active pack version; `null` goes back to the active version's parent. */
export const trainRollback = (version: string | null) => call<TrainOverview>("train_rollback", { version });

// ---- sync with the team's server ----------------------------------------

export const syncStatus = () => call<SyncStatus>("sync_status");
/** Stores the server, token (`null` keeps the stored one) and author. */
export const syncConfigure = (settings: SyncSettings) => call<SyncStatus>("sync_configure", { settings });
/** Takes a conflict or duplicate suggestion off the to-review list; returns the new status. */
export const syncDismiss = (id: number) => call<SyncStatus>("sync_dismiss", { id });
/**
 * Asks the server what a sync would do; nothing is applied. Rejects with `io`
 * when the server is unreachable or refuses the token, `invalid` when sync is
 * not configured.
 */
export const syncPreview = () => call<SyncPreview>("sync_preview");

/**
 * Starts a sync (push, then pull and apply); events arrive on `onEvent` until
 * finished/cancelled/failed. Rejects with `busy` while another job runs.
 * Cancel with `jobCancel`.
 */
export function syncStart(onEvent: (e: SyncEvent) => void): Promise<number> {
  const channel = new Channel<SyncEvent>();
  channel.onmessage = onEvent;
  return call<number>("sync_start", { onEvent: channel });
}

// ---- settings, packs, export -------------------------------------------

export const settingsGet = () => call<Settings>("settings_get");
/** `null` leaves a value as it is; a new threshold or share ranks the waiting detections again. */
export const settingsSet = (threads: number | null, threshold: number | null, newShare: number | null = null) =>
  call<Settings>("settings_set", { threads, threshold, newShare });
export const packImport = (path: string) => call<PackInfo>("pack_import", { path });
export const exportCsv = (path: string) => call<ExportResult>("export_csv", { path });
export const exportKaggle = (path: string) => call<ExportResult>("export_kaggle", { path });
/** The publication formats (issue 16): each writes the identified sightings `filter` keeps and lists those it left out. */
export const exportDwca = (path: string, filter: PublishFilter, dataset: DwcaDataset) =>
  call<PublishResult>("export_dwca", { path, filter, dataset });
export const exportWildbook = (path: string, filter: PublishFilter) =>
  call<PublishResult>("export_wildbook", { path, filter });
export const exportMark = (path: string, filter: PublishFilter, choices: MarkChoices) =>
  call<PublishResult>("export_mark", { path, filter, choices });
export const exportSocprog = (path: string, filter: PublishFilter) =>
  call<PublishResult>("export_socprog", { path, filter });

// ---- native dialogs -----------------------------------------------------

export const pickFolder = () => call<string | null>("pick_folder");
export const pickSaveFile = (suggestedName: string) => call<string | null>("pick_save_file", { suggestedName });

// ---- images and drag-drop ----------------------------------------------

/** URL for a file on disk through the asset protocol; "" for no path. */
export function imageSrc(path: string | null | undefined): string {
  if (!path) return "";
  return isTauri() ? convertFileSrc(path) : path;
}

export type DropHandlers = {
  /** A drag entered (true) or left (false) the window. */
  hover?: (over: boolean) => void;
  drop: (paths: string[]) => void;
};

/**
 * Listens for files dragged onto the window (the webview event gives real
 * paths, unlike the DOM's drop event). Resolves to an unlisten function; a
 * no-op outside Tauri so the UI still loads in a plain browser.
 */
export async function onDropPaths(h: DropHandlers): Promise<() => void> {
  if (!isTauri()) return () => {};
  return getCurrentWebview().onDragDropEvent((ev) => {
    const p = ev.payload;
    if (p.type === "enter" || p.type === "over") h.hover?.(true);
    else if (p.type === "leave") h.hover?.(false);
    else if (p.type === "drop") {
      h.hover?.(false);
      if (p.paths.length) h.drop(p.paths);
    }
  });
}

export type { AppError };

// ---- assign to any individual -------------------------------------------
/** Catalogued individuals matching `query` (code, name, species, alias), by similarity to the detection when given. */
export const reviewSearch = (detectionId: number | null, query: string, limit?: number) =>
  call<IndividualHit[]>("review_search", { detectionId, query, limit: limit ?? null });

/** The observer name someone chose (saved in the app, `$WHALEID_OBSERVER` or
 * the catalogue's); `null` until there is one, when the app asks once. */
export const observerGet = () => call<string | null>("observer_get");
/** Saves the observer name recorded on every decision, edit, import and sync. */
export const observerSet = (name: string) => call<string>("observer_set", { name });
/** The default way to merge two individuals: the one with more sightings
 * (or the older) is kept, whichever page the merge started from. */
export const individualMergeDirection = (aId: number, bId: number) =>
  call<MergeDirection>("individual_merge_direction", { aId, bId });

// ---- about ----------------------------------------------------------------

/** This WhaleID: version, ONNX Runtime, providers, pack, and where the
 * catalogue, preferences and log are (what `whaleid doctor` prints). */
export const aboutGet = () => call<AboutInfo>("about_get");
/** The About facts plus the log's last lines, as text for a bug report. */
export const diagnosticsGet = () => call<string>("diagnostics_get");
/** Puts the diagnostics on the desktop clipboard (from Rust) and returns them. */
export const diagnosticsCopy = () => call<string>("diagnostics_copy");
