//! The IPC contract's types: Rust structs that serialise to exactly what the
//! frontend's TypeScript types say (the app's commands take and return
//! these; events carry them too).
//!
//! ts-rs writes each type to `ui/src/bindings/<Type>.ts` when the test
//! `export_bindings` runs (`cargo test --workspace`); the files are committed,
//! and CI checks them with `git diff --exit-code ui/src/bindings`, so a Rust
//! change that the UI has not seen fails the build. (The folder is set once,
//! as `TS_RS_EXPORT_DIR` in `.cargo/config.toml`.)
//! Ids are SQLite `i64`s but `number` in TypeScript: catalogue ids stay far
//! below 2^53.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::error::AppError;

/// A model pack as the settings and catalogue screens show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct PackInfo {
    pub name: String,
    pub version: String,
    pub path: String,
    pub description: String,
    pub backbones: Vec<String>,
    pub detector: bool,
    pub embedding_dim: usize,
    /// The new-individual threshold in force: the catalogue's calibrated
    /// one, else the pack's default.
    pub threshold: f32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct CatalogueInfo {
    pub path: String,
    /// The folder's name.
    pub name: String,
    pub photos: usize,
    pub detections: usize,
    pub individuals: usize,
    pub to_review: usize,
    pub pack: Option<PackInfo>,
    /// Set when opening it migrated it to a newer schema (after a backup).
    pub upgraded: Option<CatalogueUpgrade>,
}

/// A file that was not imported, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct FileProblem {
    pub path: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct IngestSummary {
    pub new_photos: usize,
    pub known_photos: usize,
    /// Photos that could not be read or decoded.
    pub failed: Vec<FileProblem>,
    /// Files the scan did not take (not a photo format, hidden, links...).
    pub skipped: Vec<FileProblem>,
    pub detections: usize,
    /// Photos kept with nothing detected, for the user to box by hand.
    pub no_detection: Vec<String>,
    pub encounters: usize,
    pub new_individual_suggestions: usize,
    pub seconds: f64,
    pub photos_per_second: f64,
    /// Where the models ran: `CPU`, `CUDA (NVIDIA ...)`.
    pub ran_on: String,
    /// Why a GPU asked for was not used (`CUDA not available: ...`): shown
    /// as a warning; absent when none was asked for or it ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub gpu_fallback: Option<String>,
}

/// Sent on the per-job channel of `ingest_start`, tagged by `event`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(
    tag = "event",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
#[ts(export)]
pub enum IngestEvent {
    /// The folders were walked: `files` photos will be read.
    Scanned {
        files: usize,
        skipped: usize,
    },
    /// At most four a second, as the engine sends them.
    Progress {
        read: usize,
        done: usize,
        total: usize,
        photos_per_second: f64,
        eta_seconds: Option<f64>,
    },
    Finished {
        summary: IngestSummary,
    },
    /// Committed photos are kept; ingesting the same folders again resumes.
    Cancelled {
        done: usize,
    },
    Failed {
        error: AppError,
    },
    /// The folders are being walked: `seen` entries looked at so far, of
    /// which `photos` are photos; `folder` is the one being read. At most
    /// four a second, before `scanned`.
    Scanning {
        seen: usize,
        photos: usize,
        folder: String,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct Suggestion {
    /// 1..6 (five candidates and "new individual").
    pub rank: u32,
    /// `null`: "new individual".
    #[ts(type = "number | null")]
    pub individual_id: Option<i64>,
    pub code: Option<String>,
    pub name: Option<String>,
    pub species: Option<String>,
    pub score: Option<f32>,
    /// Absolute path of the individual's crop most similar to the query.
    pub best_crop: Option<String>,
    /// Absolute paths of up to 8 other crops of that individual.
    pub strip: Vec<String>,
}

/// A detection's photo-ID grades (issue 16, `whaleid::catalogue::attributes`):
/// each value as stored, `null` where not graded.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct Grades {
    #[ts(type = "\"Q1\" | \"Q2\" | \"Q3\" | null")]
    pub quality: Option<String>,
    #[ts(type = "\"D1\" | \"D2\" | \"D3\" | null")]
    pub distinctiveness: Option<String>,
    #[ts(type = "\"left\" | \"right\" | \"both\" | \"unknown\" | null")]
    pub side: Option<String>,
    #[ts(type = "\"dorsal-fin\" | \"fluke\" | \"flank\" | \"head\" | \"other\" | null")]
    pub part: Option<String>,
}

/// One change `set_attributes` makes: set `attribute` to `value`, or clear
/// it (back to not graded) where `value` is `null`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct AttributeChange {
    #[ts(type = "\"quality\" | \"distinctiveness\" | \"side\" | \"part\"")]
    pub attribute: String,
    pub value: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct ReviewItem {
    #[ts(type = "number")]
    pub detection_id: i64,
    #[ts(type = "number")]
    pub photo_id: i64,
    #[ts(type = "number | null")]
    pub encounter_id: Option<i64>,
    /// e.g. "2026-06-30 14:05 · 12 photos" or "no date".
    pub encounter_label: String,
    pub photo_path: String,
    pub thumb_path: Option<String>,
    pub crop_path: Option<String>,
    pub photo_width: u32,
    pub photo_height: u32,
    /// x1, y1, x2, y2 in photo pixels.
    #[serde(rename = "box")]
    #[ts(rename = "box")]
    pub bbox: [f32; 4],
    pub taken_at: Option<String>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    /// The survey's species, when given at import: the suggestions are
    /// limited to it (and to individuals of unknown species).
    pub species: Option<String>,
    /// What the new-individual prompt offers: the survey's species, else
    /// the nearest suggestion's.
    pub suggested_species: Option<String>,
    /// The five best catalogue candidates and, where the threshold puts
    /// it among them, the "new individual" entry (up to six, in rank order).
    pub suggestions: Vec<Suggestion>,
    /// The new-individual threshold in force for this detection (its
    /// species' own where calibrated); `null` with no pack and no setting.
    pub threshold: Option<f32>,
    /// The detection's photo-ID grades, set with `set_attributes`.
    pub grades: Grades,
}

/// Ordered by encounter, then time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct ReviewQueue {
    pub items: Vec<ReviewItem>,
    pub total: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub enum ReviewAction {
    Accept,
    NewIndividual,
    Unidentifiable,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct ReviewOutcome {
    #[ts(type = "number")]
    pub detection_id: i64,
    pub action: ReviewAction,
    #[ts(type = "number | null")]
    pub individual_id: Option<i64>,
    pub code: Option<String>,
    pub to_review: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct Undone {
    #[ts(type = "number")]
    pub detection_id: i64,
    pub action: ReviewAction,
    pub to_review: usize,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct IndividualFilter {
    pub search: Option<String>,
    pub species: Option<String>,
    pub date_from: Option<String>,
    pub date_to: Option<String>,
    pub has_new_sightings: bool,
    /// Only individuals with one sighting graded this quality or better
    /// and each grade below (issue 16); absent or `null`: any.
    #[ts(optional, type = "\"Q1\" | \"Q2\" | \"Q3\" | null")]
    pub min_quality: Option<String>,
    #[ts(optional, type = "Array<\"D1\" | \"D2\" | \"D3\">")]
    pub distinctiveness: Option<Vec<String>>,
    #[ts(
        optional,
        type = "\"left\" | \"right\" | \"both\" | \"unknown\" | null"
    )]
    pub side: Option<String>,
    #[ts(
        optional,
        type = "\"dorsal-fin\" | \"fluke\" | \"flank\" | \"head\" | \"other\" | null"
    )]
    pub part: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct IndividualSummary {
    #[ts(type = "number")]
    pub id: i64,
    pub code: String,
    pub name: Option<String>,
    pub species: Option<String>,
    pub sightings: usize,
    pub first_seen: Option<String>,
    pub last_seen: Option<String>,
    pub representative_crop: Option<String>,
    pub new_sightings: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct Sighting {
    #[ts(type = "number")]
    pub detection_id: i64,
    #[ts(type = "number")]
    pub photo_id: i64,
    pub crop_path: Option<String>,
    pub photo_path: String,
    pub taken_at: Option<String>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    #[ts(type = "number | null")]
    pub encounter_id: Option<i64>,
    pub source: String,
    pub decided_by: Option<String>,
    /// For a decision received through sync, the server account that
    /// pushed it (`decided_by` is the author it claims); shown beside it
    /// where it is another name. Absent for a decision made here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub decided_by_account: Option<String>,
    pub score: Option<f32>,
    /// The detection's photo-ID grades.
    pub grades: Grades,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct IndividualEvent {
    #[ts(type = "number")]
    pub id: i64,
    pub kind: String,
    #[ts(type = "number | null")]
    pub other_id: Option<i64>,
    pub created_at: String,
    pub undone: bool,
    /// Whether Undo is offered: not for an undo itself, nor once undone.
    pub undoable: bool,
    /// The observer who made the edit, when known.
    pub by: Option<String>,
    /// For a merge received through sync, the server account that pushed
    /// it (`by` is the author it claims). Absent for an edit made here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub by_account: Option<String>,
    pub summary: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct IndividualDetail {
    pub summary: IndividualSummary,
    pub sightings: Vec<Sighting>,
    pub events: Vec<IndividualEvent>,
}

/// Execution providers: those this build and library offer, and those the
/// last opened models actually run on.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct ProviderInfo {
    pub available: Vec<String>,
    pub used: Vec<String>,
    /// Where the last opened models ran, as people read it: `CPU`, `CUDA
    /// (NVIDIA ...)`; absent until an ingest opened them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub ran_on: Option<String>,
    /// Why a GPU asked for was not used (`CUDA not available: ...`): a
    /// warning to show; absent when none was asked for or it ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub gpu_fallback: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct Settings {
    pub catalogue_path: Option<String>,
    pub pack: Option<PackInfo>,
    pub providers: ProviderInfo,
    /// Inference threads per model; 0 lets ONNX Runtime use every core.
    pub threads: usize,
    /// The new-individual threshold in force.
    pub threshold: f32,
    /// `calibrated`, `set` (typed by a person) or `pack_default`.
    pub threshold_source: String,
    /// What the calibration behind the threshold measured, when it is the
    /// calibrated one and was saved for the pack version in use.
    pub calibration: Option<CalibrationInfo>,
    /// The expected share of new individuals calibration weighs to now.
    pub new_share: f64,
    /// Where that share comes from, in words.
    pub new_share_source: String,
    /// Waiting detections ranked again by the save that returned this.
    pub reranked: Option<usize>,
}

/// A saved calibration, as Settings shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct CalibrationInfo {
    /// The share of new individuals it was weighed to, and where that came from.
    pub share: f64,
    pub share_source: String,
    /// Expected share of known animals shown "new individual" first.
    pub known_shown_new: f64,
    /// Expected share of new animals caught ("new individual" first).
    pub new_caught: f64,
    /// Leave-one-out queries it was measured on.
    pub queries: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct ExportResult {
    pub path: String,
    pub rows: usize,
}

/// Which identified sightings a publication export takes (issue 16, the
/// engine's `publish::Filter`); an empty field does not filter.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct PublishFilter {
    /// Species as recorded, any case.
    pub species: Vec<String>,
    /// First and last day taken, `YYYY-MM-DD`, inclusive.
    pub from: Option<String>,
    pub to: Option<String>,
    /// Only detections graded this quality or better.
    #[ts(type = "\"Q1\" | \"Q2\" | \"Q3\" | null")]
    pub min_quality: Option<String>,
    /// Only detections graded one of these.
    #[ts(type = "Array<\"D1\" | \"D2\" | \"D3\">")]
    pub distinctiveness: Vec<String>,
}

/// What a Darwin Core Archive's `eml.xml` says about the dataset.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct DwcaDataset {
    pub title: String,
    /// `Name`, `name@example.org` or `Name <name@example.org>`.
    pub contact: String,
    #[ts(type = "\"CC0-1.0\" | \"CC-BY-4.0\" | \"CC-BY-NC-4.0\"")]
    pub licence: String,
}

/// One MARK survey occasion, `YYYY-MM-DD` inclusive.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct SurveyRange {
    pub from: String,
    pub to: String,
}

/// The choices of a MARK export, as `catalogue export --mark` has them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct MarkChoices {
    #[ts(type = "\"days\" | \"months\" | \"surveys\"")]
    pub occasions: String,
    /// The occasions when `occasions` is `surveys`, in date order.
    pub surveys: Vec<SurveyRange>,
    /// One frequency column per group.
    #[ts(type = "\"species\" | \"distinctiveness\" | null")]
    pub groups: Option<String>,
    /// A comment naming the individual before each history.
    pub comments: bool,
}

/// A sighting an export left out, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct LeftOutSighting {
    /// `#DETECTION` and the photo (MARK and SOCPROG: and the code).
    pub sighting: String,
    pub reasons: Vec<String>,
}

/// What a publication export wrote and what it left out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct PublishResult {
    pub path: String,
    /// Records written, counted in `unit`s.
    pub rows: usize,
    /// `occurrence` (DwC-A), `encounter` (Wildbook), `individual` (MARK),
    /// `sighting` (SOCPROG).
    pub unit: String,
    /// What else was written or chosen: SOCPROG's individuals table, MARK's
    /// occasions and groups.
    pub notes: Vec<String>,
    pub left_out: Vec<LeftOutSighting>,
}

/// MAP@5 and top-k accuracy over a set of validation queries.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct EvalMetrics {
    pub count: usize,
    pub map5: f64,
    pub top1: f64,
    pub top5: f64,
}

/// One model (before or after training) on the validation splits.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct ValidationScores {
    /// Held-out photos of individuals the model trained on (plain nearest
    /// neighbours, no new-individual).
    pub known: EvalMetrics,
    /// The held-out photos plus the photos of held-out individuals (whose
    /// right answer is "new individual"), at `threshold`.
    pub open: EvalMetrics,
    /// The new-individual threshold calibrated for this model on the training photos.
    pub threshold: f32,
}

/// A version of the catalogue's model pack: the one it started with, and
/// every fine-tuned one adopted since.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct PackVersionInfo {
    pub version: String,
    /// The version it was trained from; `null` for the pack the catalogue started with.
    pub parent: Option<String>,
    pub created_at: String,
    pub active: bool,
    /// Validation MAP@5 (with new individuals) of the parent and of this version, when trained.
    pub map5_before: Option<f64>,
    pub map5_after: Option<f64>,
}

/// What the Train screen shows before a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct TrainOverview {
    /// Individuals with at least one confirmed detection.
    pub individuals: usize,
    /// Confirmed detections, the training examples.
    pub detections: usize,
    /// Individuals with photos in two or more pictures (they can be validated by photo).
    pub individuals_with_repeats: usize,
    /// Detections whose backbone features are not cached yet (computed first, from the photos).
    pub missing_features: usize,
    pub can_train: bool,
    /// Why training cannot run, when it cannot.
    pub reason: Option<String>,
    pub active_version: Option<String>,
    pub versions: Vec<PackVersionInfo>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct TrainOptions {
    pub epochs: usize,
    pub seed: u32,
    /// ArcFace sub-centres per individual (1: plain ArcFace, 2: sub-center ArcFace).
    pub subcenters: usize,
    /// Smaller margins for individuals with many photos (1st-place Happywhale).
    pub dynamic_margin: bool,
}

/// Which step of a training run is under way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub enum TrainPhase {
    /// Computing backbone features of detections that have none cached.
    Features,
    /// Computing the augmented views of confirmed detections that have none cached.
    Views,
    Training,
    Evaluating,
    /// Writing the new pack version and re-embedding the catalogue.
    Adopting,
    /// Rebuilding the search index.
    Indexing,
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct TrainResult {
    pub adopted: bool,
    /// The new pack version, when adopted.
    pub version: Option<String>,
    /// Why it was (not) adopted, in words.
    pub reason: String,
    pub before: ValidationScores,
    pub after: ValidationScores,
    pub train_detections: usize,
    /// Held-out photos of known individuals.
    pub validation_photos: usize,
    /// Held-out individuals (all their photos).
    pub validation_individuals: usize,
    pub seconds: f64,
    /// Where it trained: `CPU` or `CUDA device 0`.
    pub ran_on: String,
    /// Why a build that can train on the GPU trained on the CPU: a warning
    /// to show; absent when it ran on the GPU or could not have.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub gpu_fallback: Option<String>,
}

/// Sent on the per-job channel of `train_start`, tagged by `event`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(
    tag = "event",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
#[ts(export)]
pub enum TrainEvent {
    Phase {
        phase: TrainPhase,
        done: usize,
        total: usize,
    },
    /// One epoch of one backbone's neck and head.
    Epoch {
        backbone: String,
        epoch: usize,
        epochs: usize,
        loss: f64,
        accuracy: f64,
        val_map5: Option<f64>,
        seconds: f64,
    },
    Finished {
        result: TrainResult,
    },
    /// Nothing was adopted; cached features are kept.
    Cancelled {},
    Failed {
        error: AppError,
    },
}

/// Where the catalogue stands with the team's server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct SyncStatus {
    /// The server URL, once configured.
    pub server: Option<String>,
    /// Who the changes made on this laptop are by.
    pub author: String,
    pub has_token: bool,
    /// The CA certificate trusted for this server (a PEM file), if the
    /// team signs its own; otherwise the public CAs are.
    pub ca_cert: Option<String>,
    /// Original photos are sent and fetched too.
    pub photos: bool,
    /// When the last sync finished (UTC, ISO 8601).
    pub last_sync: Option<String>,
    /// Changes made here that the server has not received.
    pub pending: usize,
    /// The server position this catalogue has applied up to.
    #[ts(type = "number")]
    pub position: i64,
    /// What syncs left for a person to look at, until dismissed.
    pub to_review: Vec<SyncReviewItem>,
}

/// A conflict a sync settled one way, or a possible duplicate individual.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct SyncReviewItem {
    #[ts(type = "number")]
    pub id: i64,
    /// `decisions`, `codeClash` or `duplicate`.
    pub kind: String,
    pub detail: String,
    /// When the sync that found it ran (UTC, ISO 8601).
    pub found_at: String,
    /// For a duplicate: the two individuals (catalogue ids), to merge the
    /// first into the second if they are one animal.
    #[ts(type = "number | null")]
    pub individual_id: Option<i64>,
    #[ts(type = "number | null")]
    pub other_id: Option<i64>,
}

/// What `sync_configure` takes. A `null` token keeps the stored one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct SyncSettings {
    pub server: String,
    pub token: Option<String>,
    pub author: String,
    /// A PEM file to trust for this server; `null` or empty: the public CAs.
    pub ca_cert: Option<String>,
    pub photos: bool,
}

/// Something a person should look at after a sync, in words.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct SyncConflict {
    /// `decisions` (two people decided differently about one detection),
    /// `codeClash` (two individuals were created with one code) or
    /// `duplicate` (an individual that arrived looks like another one).
    pub kind: String,
    pub detail: String,
}

/// What a sync would do, before it is applied.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct SyncPreview {
    pub to_push: usize,
    pub to_pull: usize,
    /// More waits on the server than was looked at.
    pub more: bool,
    /// New photos, detections, embeddings and individuals.
    pub additions: usize,
    pub decisions: usize,
    pub merges: usize,
    /// Received records that are already here (the same photo imported twice...).
    pub already_here: usize,
    pub refused: usize,
    pub conflicts: Vec<SyncConflict>,
}

/// An operation of this catalogue the server refused.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct SyncRefusal {
    pub op: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct SyncSummary {
    pub pushed: usize,
    pub pulled: usize,
    /// Changes the received operations made here.
    pub applied: usize,
    pub refused: Vec<SyncRefusal>,
    pub conflicts: Vec<SyncConflict>,
    #[ts(type = "number")]
    pub position: i64,
    /// Original photos (when they are synced): sent, fetched, and those
    /// another laptop has not sent yet.
    pub photos_sent: usize,
    pub photos_fetched: usize,
    pub photos_waiting: usize,
    /// Originals here that could not be sent, with why.
    pub photos_skipped: Vec<String>,
}

/// Sent on the per-job channel of `sync_start`, tagged by `event`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(
    tag = "event",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
#[ts(export)]
pub enum SyncEvent {
    /// `stage` is `pushing` or `pulling` (`done`: operations so far) or
    /// `photos` (`done`: bytes of original photos moved so far).
    Progress {
        stage: String,
        done: usize,
    },
    Finished {
        summary: SyncSummary,
    },
    /// What was sent or applied stays; the next sync carries on.
    Cancelled {},
    Failed {
        error: AppError,
    },
}

/// The default direction of a merge: `from` is merged into `into` (the one
/// with more sightings, or the older one).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct MergeDirection {
    #[ts(type = "number")]
    pub from_id: i64,
    #[ts(type = "number")]
    pub into_id: i64,
}

/// A catalogued individual found by `review_search`: any individual, not
/// only the five suggestions, with how like the detection it looks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct IndividualHit {
    #[ts(type = "number")]
    pub individual_id: i64,
    pub code: String,
    pub name: Option<String>,
    pub species: Option<String>,
    pub sightings: usize,
    /// Absolute path of its crop most like the detection (else its newest).
    pub best_crop: Option<String>,
    /// Best cosine between the detection and its sightings; `null` when
    /// either side has no embedding for the catalogue's pack.
    pub similarity: Option<f32>,
}

/// The About panel: this WhaleID, the ONNX Runtime it loaded, the providers,
/// the pack in use and where the catalogue, preferences and log are.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct AboutInfo {
    pub version: String,
    /// The loaded library's version and file, or why it did not load.
    pub onnx_runtime: Option<String>,
    pub onnx_runtime_path: Option<String>,
    pub onnx_runtime_error: Option<String>,
    /// Execution providers in the library, in this build, and those the
    /// models last ran on.
    pub providers_in_library: Vec<String>,
    pub providers_in_build: Vec<String>,
    pub providers_used: Vec<String>,
    /// "name version" of the open catalogue's pack, and its folder.
    pub pack: Option<String>,
    pub pack_path: Option<String>,
    pub catalogue: Option<String>,
    pub preferences: String,
    /// `None` when the app could not open its log file.
    pub log_file: Option<String>,
}

/// A catalogue that this open migrated to a newer schema, and where the file
/// as it was is kept.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct CatalogueUpgrade {
    pub from: u32,
    pub to: u32,
    pub backup: String,
}

/// Which catalogue photos the Review's scope bar lets a detection be
/// matched against, by their photo-ID grades (`whaleid::matching::scope`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct MatchScope {
    /// Only photos that may show the side the detection is graded with
    /// (photos graded the other side are left out; ungraded ones stay).
    pub same_side: bool,
    /// Only photos graded this good or better; ungraded ones are left out.
    #[ts(type = "\"Q1\" | \"Q2\" | \"Q3\" | null")]
    pub min_quality: Option<String>,
}

/// A detection's suggestions ranked again within a [`MatchScope`]; nothing
/// is stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct ScopedSuggestions {
    #[ts(type = "number")]
    pub detection_id: i64,
    /// As the review item's own suggestions.
    pub suggestions: Vec<Suggestion>,
    /// The scope in words: "same side (left), quality >= Q2".
    pub label: String,
    /// Catalogue photos the grades left out of the search.
    pub left_out: usize,
}

/// What a second reviewer's opinion (or the first decision it answers)
/// says, once it may be shown (`whaleid::catalogue::second_review`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct OpinionView {
    /// 1: the first decision, 2: the blind second opinion, 3: a resolution.
    pub round: u8,
    #[ts(type = "\"individual\" | \"new\" | \"unidentifiable\"")]
    pub choice: String,
    #[ts(type = "number | null")]
    pub individual_id: Option<i64>,
    pub code: Option<String>,
    pub by: String,
    pub at: String,
}

/// The blind second-review queue of the observer: what the Review shows of
/// each detection, and nothing of the first decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct SecondReviewQueue {
    /// Whether decisions here need a second reviewer.
    pub required: bool,
    /// Who the queue is for (the observer name).
    pub reviewer: String,
    pub items: Vec<ReviewItem>,
}

/// What a blind second opinion led to; only now the first is shown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct OpinionOutcome {
    #[ts(type = "number")]
    pub detection_id: i64,
    #[ts(type = "\"waiting\" | \"agreed\" | \"disagreed\" | \"resolved\"")]
    pub state: String,
    pub first: OpinionView,
    pub second: OpinionView,
}

/// A detection whose two opinions differ, for anyone to resolve.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct DisagreementItem {
    #[ts(type = "number")]
    pub detection_id: i64,
    pub photo_path: String,
    pub crop_path: Option<String>,
    pub first: OpinionView,
    pub second: OpinionView,
}

/// Analyst agreement of one pair of people.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct PairAgreementRow {
    pub a: String,
    pub b: String,
    pub items: usize,
    pub agreed: usize,
    pub percent: Option<f64>,
    /// Cohen's kappa; `null` when it is not defined.
    pub kappa: Option<f64>,
}

/// Analyst agreement on the detections of one photo-quality grade.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct GradeAgreementRow {
    /// Q1, Q2, Q3 or ungraded.
    pub grade: String,
    pub items: usize,
    pub agreed: usize,
    pub percent: Option<f64>,
}

/// The analyst-agreement report: per pair of people, per quality grade.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct AgreementReportView {
    pub items: usize,
    pub agreed: usize,
    pub percent: Option<f64>,
    pub pairs: Vec<PairAgreementRow>,
    pub grades: Vec<GradeAgreementRow>,
}
