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
//! Both need `Authorization: Bearer TOKEN`. Errors are `{"error": "..."}`
//! with a 4xx or 5xx status.

use serde::{Deserialize, Serialize};

use super::ops::Op;

pub const PUSH: &str = "/v1/push";
pub const PULL: &str = "/v1/pull";
/// `PUT` or `GET` `/v1/media/SHA256`: a crop, named by the sha256 of its bytes.
pub const MEDIA: &str = "/v1/media";
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
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ErrorReply {
    pub error: String,
}
