//! The HTTP API (see `whaleid::sync::wire`): bearer-token authentication,
//! a request size limit, every payload parsed and validated before the
//! store sees it, and errors as `{"error": "..."}`.
//!
//! A push is judged one operation at a time: an operation this server
//! cannot read (a kind from a newer WhaleID, a broken field), one it
//! refuses (a bad code, a missing reference, a clock far ahead) and one
//! the catalogue cannot store (the engine then applies the batch one
//! operation at a time) each come back in `refused` with the reason,
//! while the others are applied. The laptop keeps what was refused,
//! reports it and carries on pulling, so no single operation stops a
//! team's sync. Every 500 is written to stderr with the request's method,
//! path and error ([`log_server_errors`]), user-written text escaped.

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Path, Query, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use whaleid::catalogue::codes::shown;
use whaleid::sync::hlc::{wall_millis, MAX_DRIFT_MS};
use whaleid::sync::ops::{is_sha256, Op};
use whaleid::sync::wire::{
    ErrorReply, Held, Refusal, UploadStatus, BATCH, CHUNK_SHA256, MAX_CHUNK, MAX_PHOTO, MEDIA,
    PHOTOS, PHOTOS_HELD, PHOTO_SIZE, PULL, PUSH,
};
use whaleid::ErrorKind;

use crate::store::Store;

pub type Shared = Arc<Mutex<dyn Store>>;

/// An error reply.
#[derive(Debug)]
struct Failure(StatusCode, String);

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let logged = self.0.is_server_error().then(|| Logged(self.1.clone()));
        let mut response = (self.0, Json(ErrorReply { error: self.1 })).into_response();
        if let Some(logged) = logged {
            response.extensions_mut().insert(logged);
        }
        response
    }
}

/// The error behind a 5xx reply, for [`log_server_errors`].
#[derive(Debug, Clone)]
struct Logged(String);

/// Write every 5xx reply to stderr: the method, the path (never the query,
/// which holds nothing secret but is the client's) and the error, each
/// escaped so that a path or a stored text cannot forge log lines or
/// drive the terminal that shows the log.
async fn log_server_errors(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let response = next.run(request).await;
    if response.status().is_server_error() {
        let why = response
            .extensions()
            .get::<Logged>()
            .map_or("(no error text)", |l| l.0.as_str());
        eprintln!(
            "whaleid-server: {} {method} {}: {}",
            response.status().as_u16(),
            shown(&path),
            shown(why)
        );
    }
    response
}

fn internal(e: impl std::fmt::Display) -> Failure {
    Failure(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
}

/// A store's failure: an engine error answers with the status of its kind
/// (the one vocabulary the CLI and the app report too); anything else is
/// the server's own failure.
fn store_failure(e: anyhow::Error) -> Failure {
    match e.downcast_ref::<whaleid::Error>() {
        Some(engine) => Failure(status_of(engine.kind()), e.to_string()),
        None => internal(e),
    }
}

/// The HTTP status for an engine error kind. The client tells a failure by
/// any status from 400 (`whaleid::sync::client`), and 404 means "not held"
/// only on the routes that answer it themselves.
fn status_of(kind: ErrorKind) -> StatusCode {
    match kind {
        ErrorKind::Invalid => StatusCode::UNPROCESSABLE_ENTITY,
        ErrorKind::NotFound => StatusCode::NOT_FOUND,
        ErrorKind::Busy => StatusCode::SERVICE_UNAVAILABLE,
        ErrorKind::Cancelled
        | ErrorKind::Photo
        | ErrorKind::Catalogue
        | ErrorKind::Model
        | ErrorKind::Io
        | ErrorKind::Sync
        | ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// The token of an `Authorization: Bearer TOKEN` header; the scheme is
/// case-insensitive (RFC 9110 §11.1), as are the spaces after it.
fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once([' ', '\t'])?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// The user the request's bearer token belongs to.
async fn user(store: &Shared, headers: &HeaderMap) -> Result<String, Failure> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(bearer_token)
        .ok_or_else(|| {
            Failure(
                StatusCode::UNAUTHORIZED,
                "no token: send Authorization: Bearer TOKEN (issued by `whaleid-server token add`)"
                    .into(),
            )
        })?
        .to_string();
    let found = with_store(store, move |s| s.user_for(&token)).await?;
    found.ok_or_else(|| Failure(StatusCode::UNAUTHORIZED, "unknown token".into()))
}

/// A push as sent (`whaleid::sync::wire::PushRequest`): its operations
/// are read one by one ([`read_ops`]).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPush {
    ops: Vec<serde_json::Value>,
}

/// The operations of a push that this server can read, and a refusal for
/// each one it cannot but that names itself by a UUID (so the laptop can
/// tell which): one unreadable operation does not cost the others. A
/// request whose unreadable operation has no usable id is refused whole,
/// as before: it did not come from a WhaleID client.
fn read_ops(raw: Vec<serde_json::Value>) -> Result<(Vec<Op>, Vec<Refusal>), Failure> {
    let mut ops = Vec::with_capacity(raw.len());
    let mut unreadable = Vec::new();
    for (n, value) in raw.into_iter().enumerate() {
        let id = value
            .get("id")
            .and_then(|v| v.as_str())
            .filter(|id| uuid::Uuid::parse_str(id).is_ok())
            .map(str::to_string);
        match (serde_json::from_value::<Op>(value), id) {
            (Ok(op), _) => ops.push(op),
            (Err(e), Some(op)) => unreadable.push(Refusal {
                op,
                reason: format!(
                    "this server cannot read the operation: {}",
                    clipped_error(&e)
                ),
            }),
            (Err(e), None) => {
                return Err(Failure(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    format!("ops[{n}]: {}", clipped_error(&e)),
                ))
            }
        }
    }
    Ok((ops, unreadable))
}

/// A parse error as a short, printable reason.
fn clipped_error(e: &serde_json::Error) -> String {
    let text = e.to_string();
    let short: String = text.chars().take(300).collect();
    shown(&short).into_owned()
}

async fn push(
    State(store): State<Shared>,
    headers: HeaderMap,
    body: Result<Json<RawPush>, JsonRejection>,
) -> Result<Response, Failure> {
    let user = user(&store, &headers).await?;
    let Json(raw) = body.map_err(|e| Failure(e.status(), e.body_text()))?;
    if raw.ops.len() > 2 * BATCH {
        return Err(Failure(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "{} operations in one push; send at most {}",
                raw.ops.len(),
                2 * BATCH
            ),
        ));
    }
    let (ops, unreadable) = read_ops(raw.ops)?;
    // A laptop whose clock runs far ahead would drag every catalogue's
    // clock with it (each continues after the latest timestamp it holds):
    // its operations are refused until the clock is put right.
    let limit = wall_millis().saturating_add(MAX_DRIFT_MS);
    let (ops, ahead): (Vec<_>, Vec<_>) = ops.into_iter().partition(|o| o.hlc.millis <= limit);
    let ahead: Vec<Refusal> = ahead
        .into_iter()
        .map(|o| Refusal {
            reason: format!(
                "its timestamp {} is {} h ahead of the server's clock: check the clock of the computer that made it",
                o.hlc,
                (o.hlc.millis - wall_millis()) / 3_600_000
            ),
            op: o.id,
        })
        .collect();
    let mut reply = with_store(&store, move |s| s.push(&user, &ops)).await?;
    reply.refused.extend(ahead);
    reply.refused.extend(unreadable);
    Ok(Json(reply).into_response())
}

#[derive(Debug, Deserialize)]
struct PullQuery {
    after: i64,
    limit: Option<usize>,
}

async fn pull(
    State(store): State<Shared>,
    headers: HeaderMap,
    query: Result<Query<PullQuery>, QueryRejection>,
) -> Result<Response, Failure> {
    user(&store, &headers).await?;
    let Query(q) = query.map_err(|e| Failure(StatusCode::BAD_REQUEST, e.body_text()))?;
    let limit = q.limit.unwrap_or(BATCH).clamp(1, 2 * BATCH);
    let reply = with_store(&store, move |s| s.pull(q.after.max(0), limit)).await?;
    Ok(Json(reply).into_response())
}

fn media_name(sha: &str) -> Result<(), Failure> {
    if is_sha256(sha) {
        Ok(())
    } else {
        Err(Failure(
            StatusCode::BAD_REQUEST,
            "media are named by the sha256 of their bytes (64 lowercase hex digits)".into(),
        ))
    }
}

async fn put_media(
    State(store): State<Shared>,
    headers: HeaderMap,
    Path(sha): Path<String>,
    body: Bytes,
) -> Result<Response, Failure> {
    user(&store, &headers).await?;
    media_name(&sha)?;
    let got = hex::encode(Sha256::digest(&body));
    if got != sha {
        return Err(Failure(
            StatusCode::BAD_REQUEST,
            format!("the bytes hash to {got}, not {sha}: nothing stored"),
        ));
    }
    with_store(&store, move |s| s.put_media(&sha, &body)).await?;
    Ok(Json(serde_json::json!({ "stored": true })).into_response())
}

async fn get_media(
    State(store): State<Shared>,
    headers: HeaderMap,
    Path(sha): Path<String>,
) -> Result<Response, Failure> {
    user(&store, &headers).await?;
    media_name(&sha)?;
    let found = with_store(&store, move |s| s.get_media(&sha)).await?;
    match found {
        Some(bytes) => Ok(([(header::CONTENT_TYPE, "image/jpeg")], bytes).into_response()),
        None => Err(Failure(
            StatusCode::NOT_FOUND,
            "no such media here (yet)".into(),
        )),
    }
}

/// Run `f` on the store, off the async threads.
async fn with_store<T: Send + 'static>(
    store: &Shared,
    f: impl FnOnce(&mut dyn Store) -> anyhow::Result<T> + Send + 'static,
) -> Result<T, Failure> {
    let store = store.clone();
    tokio::task::spawn_blocking(move || f(&mut *store.lock().unwrap_or_else(|e| e.into_inner())))
        .await
        .map_err(internal)?
        .map_err(store_failure)
}

fn unknown_photo() -> Failure {
    Failure(
        StatusCode::NOT_FOUND,
        "no photo with these bytes in the catalogue: push its record first".into(),
    )
}

async fn upload_status(
    State(store): State<Shared>,
    headers: HeaderMap,
    Path(sha): Path<String>,
) -> Result<Response, Failure> {
    user(&store, &headers).await?;
    media_name(&sha)?;
    let status = with_store(&store, move |s| {
        if let Some(size) = s.photo_size(&sha)? {
            return Ok(Some(UploadStatus {
                received: size,
                complete: true,
            }));
        }
        if !s.knows_photo(&sha)? {
            return Ok(None);
        }
        Ok(Some(UploadStatus {
            received: s.upload_received(&sha)?,
            complete: false,
        }))
    })
    .await?;
    status
        .map(|s| Json(s).into_response())
        .ok_or_else(unknown_photo)
}

async fn photos_held(
    State(store): State<Shared>,
    headers: HeaderMap,
    body: Result<Json<Held>, JsonRejection>,
) -> Result<Response, Failure> {
    user(&store, &headers).await?;
    let Json(asked) = body.map_err(|e| Failure(e.status(), e.body_text()))?;
    if asked.sha256.len() > BATCH {
        return Err(Failure(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("{} photos asked about; at most {BATCH}", asked.sha256.len()),
        ));
    }
    for sha in &asked.sha256 {
        media_name(sha)?;
    }
    let held = with_store(&store, move |s| {
        let mut held = Vec::new();
        for sha in asked.sha256 {
            if s.photo_size(&sha)?.is_some() {
                held.push(sha);
            }
        }
        Ok(held)
    })
    .await?;
    Ok(Json(Held { sha256: held }).into_response())
}

#[derive(Debug, Deserialize)]
struct ChunkQuery {
    offset: u64,
    size: u64,
}

enum Appended {
    Held(UploadStatus),
    Unknown,
    Elsewhere(u64),
    Mismatch,
}

async fn put_chunk(
    State(store): State<Shared>,
    headers: HeaderMap,
    Path(sha): Path<String>,
    query: Result<Query<ChunkQuery>, QueryRejection>,
    body: Bytes,
) -> Result<Response, Failure> {
    user(&store, &headers).await?;
    media_name(&sha)?;
    let Query(q) = query.map_err(|e| Failure(StatusCode::BAD_REQUEST, e.body_text()))?;
    let bad = |why: String| Err(Failure(StatusCode::BAD_REQUEST, why));
    if q.size == 0 || q.size > MAX_PHOTO {
        return bad(format!(
            "a photo of {} bytes: 1 to {MAX_PHOTO} are taken",
            q.size
        ));
    }
    if body.is_empty() || body.len() > MAX_CHUNK {
        return Err(Failure(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "a chunk of {} bytes: 1 to {MAX_CHUNK} are taken",
                body.len()
            ),
        ));
    }
    let end = q.offset.saturating_add(body.len() as u64);
    if end > q.size {
        return bad(format!(
            "the chunk ends at {end}, past the photo's {} bytes",
            q.size
        ));
    }
    let Some(claimed) = headers.get(CHUNK_SHA256).and_then(|v| v.to_str().ok()) else {
        return bad(format!(
            "no {CHUNK_SHA256} header: every chunk names its sha256"
        ));
    };
    let got = hex::encode(Sha256::digest(&body));
    if got != claimed {
        return Err(Failure(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("the chunk hashes to {got}, not {claimed}: nothing stored"),
        ));
    }
    let (offset, size) = (q.offset, q.size);
    let name = sha.clone();
    let done = with_store(&store, move |s| {
        if let Some(size) = s.photo_size(&sha)? {
            return Ok(Appended::Held(UploadStatus {
                received: size,
                complete: true,
            }));
        }
        if !s.knows_photo(&sha)? {
            return Ok(Appended::Unknown);
        }
        let received = s.upload_received(&sha)?;
        if received != offset {
            return Ok(Appended::Elsewhere(received));
        }
        s.upload_append(&sha, offset, &body)?;
        if end < size {
            return Ok(Appended::Held(UploadStatus {
                received: end,
                complete: false,
            }));
        }
        Ok(if s.upload_finish(&sha)? {
            Appended::Held(UploadStatus {
                received: end,
                complete: true,
            })
        } else {
            Appended::Mismatch
        })
    })
    .await?;
    match done {
        Appended::Held(status) => Ok(Json(status).into_response()),
        Appended::Unknown => Err(unknown_photo()),
        Appended::Elsewhere(received) => Err(Failure(
            StatusCode::CONFLICT,
            format!("the server holds {received} bytes of this photo, not {offset}"),
        )),
        Appended::Mismatch => Err(Failure(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("the {size} bytes received do not hash to {name}: discarded, send it again"),
        )),
    }
}

#[derive(Debug, Deserialize)]
struct RangeQuery {
    offset: u64,
    len: Option<usize>,
}

async fn get_photo(
    State(store): State<Shared>,
    headers: HeaderMap,
    Path(sha): Path<String>,
    query: Result<Query<RangeQuery>, QueryRejection>,
) -> Result<Response, Failure> {
    user(&store, &headers).await?;
    media_name(&sha)?;
    let Query(q) = query.map_err(|e| Failure(StatusCode::BAD_REQUEST, e.body_text()))?;
    let len = q.len.unwrap_or(MAX_CHUNK).clamp(1, MAX_CHUNK);
    let found = with_store(&store, move |s| {
        let Some(size) = s.photo_size(&sha)? else {
            return Ok(None);
        };
        if q.offset > size {
            return Ok(Some((size, None)));
        }
        Ok(Some((size, Some(s.photo_read(&sha, q.offset, len)?))))
    })
    .await?;
    match found {
        None => Err(Failure(
            StatusCode::NOT_FOUND,
            "the server does not hold this photo whole (yet)".into(),
        )),
        Some((size, None)) => Err(Failure(
            StatusCode::RANGE_NOT_SATISFIABLE,
            format!("offset {} is past the photo's {size} bytes", q.offset),
        )),
        Some((size, Some(bytes))) => Ok((
            [
                (header::CONTENT_TYPE, "application/octet-stream".to_string()),
                (
                    header::HeaderName::from_static(PHOTO_SIZE),
                    size.to_string(),
                ),
            ],
            bytes,
        )
            .into_response()),
    }
}

async fn health() -> &'static str {
    "ok"
}

/// The API over `store`, refusing request bodies over `max_body` bytes.
pub fn router(store: Shared, max_body: usize) -> Router {
    Router::new()
        .route(PUSH, post(push))
        .route(PULL, get(pull))
        .route(&format!("{MEDIA}/{{sha}}"), get(get_media).put(put_media))
        .route(PHOTOS_HELD, post(photos_held))
        .route(&format!("{PHOTOS}/{{sha}}"), get(get_photo))
        .route(
            &format!("{PHOTOS}/{{sha}}/upload"),
            get(upload_status).put(put_chunk),
        )
        .route("/v1/health", get(health))
        .layer(DefaultBodyLimit::max(max_body))
        .layer(axum::middleware::from_fn(log_server_errors))
        .with_state(store)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bearer_scheme_is_read_in_any_case_and_nothing_else_is_a_token() {
        for (header, token) in [
            ("Bearer abc", Some("abc")),
            ("bearer abc", Some("abc")),
            ("BEARER \t abc ", Some("abc")),
            ("  Bearer abc", Some("abc")),
            ("Bearer", None),
            ("Bearer   ", None),
            ("Bearerabc", None),
            ("Basic abc", None),
            ("abc", None),
        ] {
            assert_eq!(bearer_token(header), token, "{header:?}");
        }
    }

    #[test]
    fn an_unreadable_operation_is_refused_alone_when_it_names_itself() {
        let good = serde_json::json!({
            "id": "01a22700-0000-7000-8000-000000000001",
            "hlc": "000000000001-00000000-0000000000000001",
            "author": "ana",
            "change": {"kind": "merge_undone", "event": "01a22700-0000-7000-8000-000000000002"}
        });
        let mut newer = good.clone();
        newer["id"] = "01a22700-0000-7000-8000-000000000003".into();
        newer["change"]["kind"] = "\u{1b}[2Jfrom_the_future".into();
        let (ops, refused) = read_ops(vec![good.clone(), newer.clone()]).unwrap();
        assert_eq!(ops.len(), 1);
        assert_eq!(refused.len(), 1);
        assert_eq!(refused[0].op, "01a22700-0000-7000-8000-000000000003");
        assert!(refused[0].reason.contains("from_the_future"), "{refused:?}");
        assert!(!refused[0].reason.contains('\u{1b}'), "{refused:?}");
        // Without a UUID to name it by, the laptop could not tell which.
        let mut nameless = newer;
        nameless["id"] = "x".into();
        let refused_whole = read_ops(vec![good, nameless]).unwrap_err();
        assert_eq!(refused_whole.0, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            refused_whole.1.starts_with("ops[1]: "),
            "{}",
            refused_whole.1
        );
    }

    mod fuzz {
        use super::super::*;
        use proptest::prelude::*;

        /// Any JSON value, a few levels deep, strings with hostile characters.
        fn json() -> impl Strategy<Value = serde_json::Value> {
            let leaf = prop_oneof![
                Just(serde_json::Value::Null),
                any::<bool>().prop_map(serde_json::Value::from),
                any::<f64>().prop_map(serde_json::Value::from),
                any::<i64>().prop_map(serde_json::Value::from),
                "[\\PC\\x00-\\x1f\\u{9b}\\u{202e}]{0,16}".prop_map(serde_json::Value::from),
            ];
            leaf.prop_recursive(3, 24, 4, |inner| {
                prop_oneof![
                    proptest::collection::vec(inner.clone(), 0..4)
                        .prop_map(serde_json::Value::from),
                    proptest::collection::btree_map("[a-z_]{1,8}", inner, 0..4)
                        .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
                ]
            })
        }

        /// A real operation with one field replaced by anything, or removed.
        fn mutated_op() -> impl Strategy<Value = serde_json::Value> {
            let fields = prop_oneof![
                Just(vec!["id"]),
                Just(vec!["hlc"]),
                Just(vec!["author"]),
                Just(vec!["change", "kind"]),
                Just(vec!["change", "code"]),
                Just(vec!["change", "individual"]),
                Just(vec!["extra"]),
            ];
            (fields, proptest::option::of(json()), any::<bool>()).prop_map(
                |(path, value, keep_id)| {
                    let mut op = serde_json::json!({
                        "id": "01a22700-0000-7000-8000-000000000001",
                        "hlc": "000000000001-00000000-0000000000000001",
                        "author": "ana",
                        "change": {
                            "kind": "individual_created",
                            "individual": "01a22700-0000-7000-8000-000000000002",
                            "code": "W1",
                            "species": null
                        }
                    });
                    let (last, parents) = path.split_last().unwrap();
                    let mut at = &mut op;
                    for p in parents {
                        at = &mut at[*p];
                    }
                    match value {
                        Some(v) => at[*last] = v,
                        None => {
                            if let Some(o) = at.as_object_mut() {
                                o.remove(*last);
                            }
                        }
                    }
                    if keep_id && path != ["id"] {
                        op["id"] = "01a22700-0000-7000-8000-000000000003".into();
                    }
                    op
                },
            )
        }

        proptest! {
            /// Whatever a push holds, it is read without a panic: each
            /// operation is taken, or refused alone under its own UUID with
            /// a printable reason, or (no UUID to name it by) the push is
            /// refused whole naming the operation's place; nothing taken
            /// is lost or made up.
            #[test]
            fn fuzz_push_operations(
                raw in proptest::collection::vec(prop_oneof![mutated_op(), json()], 0..6)
            ) {
                match read_ops(raw.clone()) {
                    Ok((ops, refused)) => {
                        prop_assert_eq!(ops.len() + refused.len(), raw.len());
                        for r in &refused {
                            prop_assert!(uuid::Uuid::parse_str(&r.op).is_ok(), "{:?}", r);
                            prop_assert!(
                                !r.reason.chars().any(whaleid::catalogue::codes::is_hidden_char),
                                "{:?}", r
                            );
                        }
                        for op in &ops {
                            // What the planner checks next never panics either.
                            let _ = op.validate();
                        }
                    }
                    Err(Failure(status, why)) => {
                        prop_assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
                        prop_assert!(why.starts_with("ops["), "{}", why);
                        prop_assert!(
                            !why.chars().any(whaleid::catalogue::codes::is_hidden_char),
                            "{:?}", why
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn a_store_failure_answers_with_its_engine_kind() {
        let refused = store_failure(
            whaleid::Error::Invalid("media x: the bytes received hash to y".into()).into(),
        );
        assert_eq!(refused.0, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(refused.1, "media x: the bytes received hash to y");
        let missing = store_failure(
            anyhow::Error::from(whaleid::Error::NotFound("photo p".into())).context("pulling"),
        );
        assert_eq!(missing.0, StatusCode::NOT_FOUND);
        let db = store_failure(whaleid::Error::Sql(rusqlite::Error::QueryReturnedNoRows).into());
        assert_eq!(db.0, StatusCode::INTERNAL_SERVER_ERROR);
        let other = store_failure(anyhow::anyhow!("disk full"));
        assert_eq!(other.0, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(other.1, "disk full");
    }
}
