//! The HTTP API (see `whaleid::sync::wire`): bearer-token authentication,
//! a request size limit, every payload parsed and validated before the
//! store sees it, and errors as `{"error": "..."}`.

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use whaleid::sync::ops::is_sha256;
use whaleid::sync::wire::{ErrorReply, PushRequest, BATCH, MEDIA, PULL, PUSH};

use crate::store::Store;

pub type Shared = Arc<Mutex<dyn Store>>;

/// An error reply.
struct Failure(StatusCode, String);

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        (self.0, Json(ErrorReply { error: self.1 })).into_response()
    }
}

fn internal(e: impl std::fmt::Display) -> Failure {
    Failure(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
}

/// The user the request's bearer token belongs to.
async fn user(store: &Shared, headers: &HeaderMap) -> Result<String, Failure> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            Failure(
                StatusCode::UNAUTHORIZED,
                "no token: send Authorization: Bearer TOKEN (issued by `whaleid-server token add`)"
                    .into(),
            )
        })?
        .to_string();
    let store = store.clone();
    let found = tokio::task::spawn_blocking(move || {
        store
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .user_for(&token)
    })
    .await
    .map_err(internal)?
    .map_err(internal)?;
    found.ok_or_else(|| Failure(StatusCode::UNAUTHORIZED, "unknown token".into()))
}

async fn push(
    State(store): State<Shared>,
    headers: HeaderMap,
    body: Result<Json<PushRequest>, JsonRejection>,
) -> Result<Response, Failure> {
    let user = user(&store, &headers).await?;
    let Json(request) = body.map_err(|e| Failure(e.status(), e.body_text()))?;
    if request.ops.len() > 2 * BATCH {
        return Err(Failure(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "{} operations in one push; send at most {}",
                request.ops.len(),
                2 * BATCH
            ),
        ));
    }
    let reply = tokio::task::spawn_blocking(move || {
        store
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(&user, &request.ops)
    })
    .await
    .map_err(internal)?
    .map_err(internal)?;
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
    let reply = tokio::task::spawn_blocking(move || {
        store
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pull(q.after.max(0), limit)
    })
    .await
    .map_err(internal)?
    .map_err(internal)?;
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
    tokio::task::spawn_blocking(move || {
        store
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .put_media(&sha, &body)
    })
    .await
    .map_err(internal)?
    .map_err(internal)?;
    Ok(Json(serde_json::json!({ "stored": true })).into_response())
}

async fn get_media(
    State(store): State<Shared>,
    headers: HeaderMap,
    Path(sha): Path<String>,
) -> Result<Response, Failure> {
    user(&store, &headers).await?;
    media_name(&sha)?;
    let found = tokio::task::spawn_blocking(move || {
        store
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_media(&sha)
    })
    .await
    .map_err(internal)?
    .map_err(internal)?;
    match found {
        Some(bytes) => Ok(([(header::CONTENT_TYPE, "image/jpeg")], bytes).into_response()),
        None => Err(Failure(
            StatusCode::NOT_FOUND,
            "no such media here (yet)".into(),
        )),
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
        .route("/v1/health", get(health))
        .layer(DefaultBodyLimit::max(max_body))
        .with_state(store)
}
