//! What client and server send each other over HTTP (JSON).
//!
//! * `POST /v1/push` with [`PushRequest`] → [`PushReply`]: the server applies
//!   the operations to the team's catalogue (the same planner and applier as
//!   a laptop) and says which it accepted and which it refused, and why.
//!   Pushing an operation again is harmless.
//! * `GET /v1/pull?after=SEQ&limit=N` → [`PullReply`]: the operations the
//!   server holds after position `SEQ`, in the order it applied them. A
//!   client stores the last position it applied and resumes from it.
//!
//! Both need `Authorization: Bearer TOKEN` (the scheme in any case).
//! Errors are `{"error": "..."}` with a 4xx or 5xx status.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::ops::Op;

pub const PUSH: &str = "/v1/push";
pub const PULL: &str = "/v1/pull";
/// `PUT` or `GET` `/v1/media/SHA256`: a crop, named by the sha256 of its bytes.
pub const MEDIA: &str = "/v1/media";
/// Original photos, content-addressed, chunked and resumable
/// (`whaleid sync --photos`; see [`super::photos`]):
///
/// * `GET /v1/photos/SHA256/upload` → [`UploadStatus`]: how many bytes of
///   the photo the server holds.
/// * `PUT /v1/photos/SHA256/upload?offset=N&size=T`, header
///   [`CHUNK_SHA256`]: a chunk of at most [`MAX_CHUNK`] bytes at `offset`,
///   which must be what the server holds (409 otherwise, with the status).
///   Refused, nothing stored, unless the chunk hashes to the header; once
///   `size` bytes are in, the photo is kept only if they hash to its name.
///   Only photos whose record the server holds are taken.
/// * `GET /v1/photos/SHA256?offset=N&len=M`: those bytes of a photo the
///   server holds whole, with its size in [`PHOTO_SIZE`].
pub const PHOTOS: &str = "/v1/photos";
/// `POST /v1/photos/held` with [`Held`] (at most [`BATCH`] names) → [`Held`]:
/// which of these photos the server holds whole, so a laptop asks once per
/// batch rather than once per photo.
pub const PHOTOS_HELD: &str = "/v1/photos/held";
pub const CHUNK_SHA256: &str = "x-chunk-sha256";
pub const PHOTO_SIZE: &str = "x-photo-size";
/// The largest chunk the server takes or sends.
pub const MAX_CHUNK: usize = 8 << 20;
/// The largest original photo (raw files included).
pub const MAX_PHOTO: u64 = 2 << 30;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Held {
    pub sha256: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadStatus {
    /// Bytes held so far (the offset to send next).
    pub received: u64,
    /// The whole photo is held, checked against its hash.
    pub complete: bool,
}

/// Operations per push or pull.
pub const BATCH: usize = 500;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PushRequest {
    pub ops: Vec<Op>,
}

/// An operation the server would not apply.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Refusal {
    pub op: String,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PushReply {
    /// Applied now, or already held.
    pub accepted: Vec<String>,
    pub refused: Vec<Refusal>,
    /// The server's last position after this push.
    pub last_seq: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PullReply {
    pub ops: Vec<Op>,
    /// The position of the last operation returned (`after` when none).
    pub last_seq: i64,
    /// More operations wait after `last_seq`.
    pub more: bool,
    /// Who pushed each operation, by its id: the user of the token the
    /// server took it with. An operation's `author` is what the laptop
    /// that made it claims (any text); this is what the server checked.
    /// Absent for operations pushed before servers recorded it; older
    /// servers do not send it and older clients ignore it.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub pushed_by: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ErrorReply {
    pub error: String,
}
