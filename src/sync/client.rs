//! `whaleid sync`: push this catalogue's new operations to the team's
//! server, then pull and apply everyone else's.
//!
//! Every step can be cut and resumed. A push batch the server applied but
//! whose reply was lost is pushed again and accepted again (operations are
//! idempotent). Each pulled batch is applied in one transaction and the
//! server position it reaches is stored after it: a crash in between pulls
//! that batch again, and its operations are then already applied, so
//! nothing is lost or applied twice.

use std::path::Path;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Serialize;
use sha2::Digest;

use super::apply::receive_with;
use super::log::{collect, mark_pushed, unpushed};
use super::plan::Conflict;
use super::wire::{
    ErrorReply, Held, PullReply, PushReply, PushRequest, Refusal, UploadStatus, BATCH,
    CHUNK_SHA256, MAX_CHUNK, MEDIA, PHOTOS, PHOTOS_HELD, PHOTO_SIZE, PULL, PUSH,
};
use crate::cancel::CancelToken;
use crate::catalogue::Catalogue;
use crate::error::{Error, Result};

/// Setting key: the server position this catalogue has applied up to.
pub const PULLED: &str = "sync.pulled";
/// Setting key: when the last sync finished (UTC, ISO 8601).
pub const LAST_SYNC: &str = "sync.last";

fn agent(roots: ureq::tls::RootCerts) -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(300)))
        .http_status_as_error(false)
        .tls_config(ureq::tls::TlsConfig::builder().root_certs(roots).build())
        .build()
        .into()
}

/// The most a reply may hold (a pull of embeddings is the largest).
const REPLY_LIMIT: u64 = 256 * 1024 * 1024;

/// `url` without trailing slashes, if it is an `http://` or `https://` one.
pub(crate) fn checked_url(url: &str) -> Result<String> {
    let url = url.trim_end_matches('/').to_string();
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(Error::Invalid(format!(
            "server `{url}` must start with http:// or https://"
        )));
    }
    Ok(url)
}

/// A server and the token to talk to it with.
#[derive(Debug, Clone)]
pub struct Remote {
    url: String,
    token: String,
    agent: ureq::Agent,
}

impl Remote {
    /// A server (`http://` or `https://`); HTTPS trusts the public CAs
    /// (Mozilla's roots, built in) unless [`Remote::trusting`] says otherwise.
    pub fn new(url: &str, token: &str) -> Result<Self> {
        Ok(Self {
            url: checked_url(url)?,
            token: token.to_string(),
            agent: agent(ureq::tls::RootCerts::WebPki),
        })
    }

    /// Trust the certificate authorities in `ca_pem` (a PEM file, such as
    /// a team's own CA for a server with a self-made certificate) instead
    /// of the public ones.
    pub fn trusting(mut self, ca_pem: &Path) -> Result<Self> {
        let pem = std::fs::read(ca_pem).map_err(|e| Error::io(ca_pem, e))?;
        let mut certs = Vec::new();
        for item in ureq::tls::parse_pem(&pem) {
            match item {
                Ok(ureq::tls::PemItem::Certificate(c)) => certs.push(c),
                Ok(_) => {}
                Err(e) => {
                    return Err(Error::Invalid(format!(
                        "{}: not a PEM certificate file: {e}",
                        ca_pem.display()
                    )))
                }
            }
        }
        if certs.is_empty() {
            return Err(Error::Invalid(format!(
                "{}: no certificate in it (expected PEM `BEGIN CERTIFICATE` blocks)",
                ca_pem.display()
            )));
        }
        self.agent = agent(ureq::tls::RootCerts::new_with_certs(&certs));
        Ok(self)
    }

    pub(crate) fn fail(&self, reason: impl Into<String>) -> Error {
        Error::sync(&self.url, reason)
    }

    /// Requests to the server, with the token.
    fn get(&self, path: &str) -> ureq::RequestBuilder<ureq::typestate::WithoutBody> {
        self.agent
            .get(format!("{}{path}", self.url))
            .header("Authorization", format!("Bearer {}", self.token))
    }

    fn put(&self, path: &str) -> ureq::RequestBuilder<ureq::typestate::WithBody> {
        self.agent
            .put(format!("{}{path}", self.url))
            .header("Authorization", format!("Bearer {}", self.token))
    }

    fn post(&self, path: &str) -> ureq::RequestBuilder<ureq::typestate::WithBody> {
        self.agent
            .post(format!("{}{path}", self.url))
            .header("Authorization", format!("Bearer {}", self.token))
    }

    /// A request that got no HTTP answer, said in words a user can act on.
    fn transport(&self, e: ureq::Error) -> Error {
        // rustls reports through the I/O error of the handshake.
        let tls = match &e {
            ureq::Error::Rustls(t) => Some(t),
            ureq::Error::Io(io) => io.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()),
            _ => None,
        };
        match tls {
            Some(rustls::Error::InvalidCertificate(why)) => self.fail(format!(
                "the server's certificate is not trusted ({why:?}); if the team signs its \
                 own, pass its CA certificate (whaleid sync --ca-cert FILE)"
            )),
            _ => Error::sync_from(&self.url, e),
        }
    }

    fn reply<T: DeserializeOwned>(&self, mut resp: ureq::http::Response<ureq::Body>) -> Result<T> {
        let status = resp.status().as_u16();
        let text = resp
            .body_mut()
            .with_config()
            .limit(REPLY_LIMIT)
            .read_to_string()
            .map_err(|e| self.fail(format!("reading the reply: {e}")))?;
        if status >= 400 {
            let why = serde_json::from_str::<ErrorReply>(&text)
                .map(|e| e.error)
                .unwrap_or_else(|_| text.chars().take(200).collect());
            return Err(self.fail(format!("HTTP {status}: {why}")));
        }
        serde_json::from_str(&text).map_err(|e| self.fail(format!("unreadable reply: {e}")))
    }

    fn post_json<B: Serialize, T: DeserializeOwned>(&self, path: &str, body: &B) -> Result<T> {
        let resp = self
            .post(path)
            .send_json(body)
            .map_err(|e| self.transport(e))?;
        self.reply(resp)
    }

    pub fn push(&self, ops: Vec<super::ops::Op>) -> Result<PushReply> {
        self.post_json(PUSH, &PushRequest { ops })
    }

    /// Upload a crop (idempotent).
    pub fn put_media(&self, sha256: &str, bytes: &[u8]) -> Result<()> {
        let resp = self
            .put(&format!("{MEDIA}/{sha256}"))
            .send(bytes)
            .map_err(|e| self.transport(e))?;
        self.reply::<serde_json::Value>(resp).map(|_| ())
    }

    /// A crop, or `None` when the server does not have it (yet).
    pub fn get_media(&self, sha256: &str) -> Result<Option<Vec<u8>>> {
        let mut resp = self
            .get(&format!("{MEDIA}/{sha256}"))
            .call()
            .map_err(|e| self.transport(e))?;
        match resp.status().as_u16() {
            404 => Ok(None),
            s if s >= 400 => self.reply::<serde_json::Value>(resp).map(|_| None),
            _ => resp
                .body_mut()
                .with_config()
                .limit(REPLY_LIMIT)
                .read_to_vec()
                .map(Some)
                .map_err(|e| self.fail(format!("reading media {sha256}: {e}"))),
        }
    }

    /// Which of `sha256` (at most [`BATCH`]) the server holds whole.
    pub fn photos_held(&self, sha256: &[String]) -> Result<Vec<String>> {
        let reply: Held = self.post_json(
            PHOTOS_HELD,
            &Held {
                sha256: sha256.to_vec(),
            },
        )?;
        Ok(reply.sha256)
    }

    /// How much of an original photo the server holds; `None` when it has
    /// no record of the photo (not pushed yet).
    pub fn upload_status(&self, sha256: &str) -> Result<Option<UploadStatus>> {
        let resp = self
            .get(&format!("{PHOTOS}/{sha256}/upload"))
            .call()
            .map_err(|e| self.transport(e))?;
        if resp.status().as_u16() == 404 {
            return Ok(None);
        }
        self.reply(resp).map(Some)
    }

    /// Send `chunk`, the bytes of a `size`-byte photo from `offset`; `None`
    /// when the server holds a different amount than `offset` (another
    /// laptop is sending the same photo): ask [`Remote::upload_status`].
    pub fn put_photo_chunk(
        &self,
        sha256: &str,
        offset: u64,
        size: u64,
        chunk: &[u8],
    ) -> Result<Option<UploadStatus>> {
        let resp = self
            .put(&format!("{PHOTOS}/{sha256}/upload"))
            .query("offset", offset.to_string())
            .query("size", size.to_string())
            .header(CHUNK_SHA256, &hex::encode(sha2::Sha256::digest(chunk)))
            .send(chunk)
            .map_err(|e| self.transport(e))?;
        if resp.status().as_u16() == 409 {
            return Ok(None);
        }
        self.reply(resp).map(Some)
    }

    /// Up to `len` bytes of a photo from `offset`, and its size; `None`
    /// when the server does not hold it whole (yet).
    pub fn get_photo_chunk(
        &self,
        sha256: &str,
        offset: u64,
        len: usize,
    ) -> Result<Option<(Vec<u8>, u64)>> {
        let mut resp = self
            .get(&format!("{PHOTOS}/{sha256}"))
            .query("offset", offset.to_string())
            .query("len", len.to_string())
            .call()
            .map_err(|e| self.transport(e))?;
        match resp.status().as_u16() {
            404 => return Ok(None),
            s if s >= 400 => return self.reply::<serde_json::Value>(resp).map(|_| None),
            _ => {}
        }
        let size = resp
            .headers()
            .get(PHOTO_SIZE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| self.fail(format!("photo {sha256}: no {PHOTO_SIZE} header")))?;
        let bytes = resp
            .body_mut()
            .with_config()
            .limit(MAX_CHUNK as u64)
            .read_to_vec()
            .map_err(|e| self.fail(format!("reading photo {sha256}: {e}")))?;
        Ok(Some((bytes, size)))
    }

    pub fn pull(&self, after: i64, limit: usize) -> Result<PullReply> {
        let resp = self
            .get(PULL)
            .query("after", after.to_string())
            .query("limit", limit.to_string())
            .call()
            .map_err(|e| self.transport(e))?;
        self.reply(resp)
    }
}

/// What a sync did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SyncReport {
    pub pushed: usize,
    /// Operations of this catalogue the server refused (kept here, sent again next time).
    pub refused: Vec<Refusal>,
    pub pulled: usize,
    /// Changes the pulled operations made here.
    pub applied: usize,
    pub conflicts: Vec<Conflict>,
    /// Pulled operations this catalogue did not apply, and why (a rule they
    /// break here, say a vector that does not fit the pack version); the
    /// rest of their batch was applied.
    pub declined: Vec<Refusal>,
    /// Individuals that arrived and look like another one (same animal
    /// named twice?), for a person to merge or not.
    pub duplicates: Vec<super::duplicates::Duplicate>,
    /// Crops uploaded, and fetched for received detections.
    pub media_sent: usize,
    pub media_fetched: usize,
    /// Crops the server does not have yet (fetched by a later sync).
    pub media_missing: usize,
    /// The server position this catalogue is now at.
    pub position: i64,
}

/// Where a sync is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Pushing,
    Pulling,
}

/// Push, then pull until there is nothing more. `author` names who made the
/// local changes that are not logged yet. Cancelling stops between batches;
/// what was done stays done, and the next sync carries on.
pub fn sync(
    cat: &mut Catalogue,
    remote: &Remote,
    author: &str,
    cancel: &CancelToken,
    progress: &mut dyn FnMut(Stage, usize),
) -> Result<SyncReport> {
    let mut report = SyncReport::default();
    collect(cat, author)?;
    super::mend::mend_unpushed_codes(cat)?;
    push_all(cat, remote, cancel, progress, &mut report)?;
    let arrived = pull_all(cat, remote, author, cancel, progress, &mut report)?;
    fetch_media(cat, remote, cancel, &mut report)?;
    let now: String =
        cat.conn()
            .query_row(&format!("SELECT {}", crate::catalogue::sql::NOW), [], |r| {
                r.get(0)
            })?;
    cat.set_setting(LAST_SYNC, &now)?;
    report.duplicates = super::duplicates::suggest(cat, &arrived)?;
    super::review::record(cat, &report.conflicts, &report.duplicates)?;
    Ok(report)
}

/// Push the local operations not acknowledged yet, a batch at a time,
/// until the server has taken or refused each.
fn push_all(
    cat: &mut Catalogue,
    remote: &Remote,
    cancel: &CancelToken,
    progress: &mut dyn FnMut(Stage, usize),
    report: &mut SyncReport,
) -> Result<()> {
    let mut refused_ids = std::collections::HashSet::new();
    loop {
        let batch: Vec<_> = unpushed(cat, BATCH + refused_ids.len())?
            .into_iter()
            .filter(|o| !refused_ids.contains(&o.id))
            .take(BATCH)
            .collect();
        if batch.is_empty() {
            return Ok(());
        }
        if cancel.is_cancelled() {
            return Err(Error::Cancelled);
        }
        // The crops and thumbnails first, so whoever pulls these records
        // finds them.
        send_media(cat, remote, &batch, report)?;
        let reply = remote.push(batch)?;
        mark_pushed(cat, &reply.accepted)?;
        report.pushed += reply.accepted.len();
        if reply.accepted.is_empty() && reply.refused.is_empty() {
            return Err(remote.fail("the server accepted nothing and refused nothing"));
        }
        for r in reply.refused {
            refused_ids.insert(r.op.clone());
            report.refused.push(r);
        }
        progress(Stage::Pushing, report.pushed);
    }
}

/// Upload the crops and thumbnails that `batch` names by content, where
/// the file here still has those bytes.
fn send_media(
    cat: &Catalogue,
    remote: &Remote,
    batch: &[super::ops::Op],
    report: &mut SyncReport,
) -> Result<()> {
    for op in batch {
        let (sha, path) = match &op.change {
            super::ops::Change::DetectionAdded {
                detection,
                crop: Some(sha),
                ..
            } => (sha, super::media::local_crop(cat, detection)?),
            super::ops::Change::PhotoAdded {
                sha256,
                thumb: Some(sha),
                ..
            } => (
                sha,
                Some(
                    cat.media_dir()
                        .join(crate::ingest::media::thumb_file(sha256)),
                ),
            ),
            _ => continue,
        };
        if let Some(bytes) = path.and_then(|p| std::fs::read(p).ok()) {
            if hex::encode(sha2::Sha256::digest(&bytes)) == *sha {
                remote.put_media(sha, &bytes)?;
                report.media_sent += 1;
            }
        }
    }
    Ok(())
}

/// Pull and apply until the server has nothing more; the individuals
/// created by what arrived. `report.position` is where the pull ended.
fn pull_all(
    cat: &mut Catalogue,
    remote: &Remote,
    author: &str,
    cancel: &CancelToken,
    progress: &mut dyn FnMut(Stage, usize),
    report: &mut SyncReport,
) -> Result<std::collections::BTreeSet<String>> {
    let mut after = super::settings::position(cat)?;
    let mut cache = None;
    let mut arrived = std::collections::BTreeSet::new();
    loop {
        if cancel.is_cancelled() {
            return Err(Error::Cancelled);
        }
        let reply = remote.pull(after, BATCH)?;
        check_accounts(remote, &reply)?;
        if !reply.ops.is_empty() {
            let plan = receive_with(cat, &reply.ops, author, &mut cache)?;
            // Before the position moves past them (see `super::accounts`).
            super::accounts::record(cat, &reply.ops, &reply.pushed_by)?;
            report.pulled += reply.ops.len();
            report.applied += plan.changes();
            report.conflicts.extend(plan.conflicts);
            report
                .declined
                .extend(plan.actions.iter().filter_map(|a| match a {
                    super::plan::Action::Refuse { op, reason } => Some(Refusal {
                        op: op.clone(),
                        reason: reason.clone(),
                    }),
                    _ => None,
                }));
            arrived.extend(plan.actions.iter().filter_map(|a| match a {
                super::plan::Action::CreateIndividual { individual, .. } => {
                    Some(individual.clone())
                }
                _ => None,
            }));
        }
        after = reply.last_seq;
        cat.set_setting(PULLED, &after.to_string())?;
        progress(Stage::Pulling, report.pulled);
        if !reply.more {
            report.position = after;
            return Ok(arrived);
        }
    }
}

/// Refuse a pull whose `pushed_by` names something that is no user name,
/// before any of it is applied.
fn check_accounts(remote: &Remote, reply: &PullReply) -> Result<()> {
    for (op, account) in &reply.pushed_by {
        super::accounts::check_account(account).map_err(|why| {
            remote.fail(format!(
                "the account given for operation {} {why}",
                crate::catalogue::codes::clipped(op)
            ))
        })?;
    }
    Ok(())
}

/// Fetch the crops and thumbnails of received records that are not here.
fn fetch_media(
    cat: &Catalogue,
    remote: &Remote,
    cancel: &CancelToken,
    report: &mut SyncReport,
) -> Result<()> {
    let mut missing = super::media::missing_crops(cat)?;
    missing.extend(super::media::missing_thumbs(cat)?);
    for (sha, path) in missing {
        if cancel.is_cancelled() {
            return Err(Error::Cancelled);
        }
        match remote.get_media(&sha)? {
            Some(bytes) => {
                super::media::store_checked(&path, &sha, &bytes)
                    .map_err(|e| remote.fail(e.to_string()))?;
                report.media_fetched += 1;
            }
            None => report.media_missing += 1,
        }
    }
    Ok(())
}

/// What a sync would do, without changing the catalogue: how many local
/// operations wait to be pushed, and the plan for what the server holds
/// that this catalogue has not applied (at most `limit` operations).
#[derive(Debug, Clone, Serialize)]
pub struct Preview {
    pub to_push: usize,
    pub to_pull: usize,
    /// More than `limit` operations wait on the server.
    pub more: bool,
    pub plan: super::plan::Plan,
}

/// See [`Preview`]. Local changes are logged first (they are part of what
/// would be pushed), which is the only write.
pub fn preview(
    cat: &mut Catalogue,
    remote: &Remote,
    author: &str,
    limit: usize,
) -> Result<Preview> {
    collect(cat, author)?;
    let to_push: i64 = cat.conn().query_row(
        "SELECT count(*) FROM sync_ops WHERE origin = 'local' AND pushed = 0",
        [],
        |r| r.get(0),
    )?;
    let mut after = super::settings::position(cat)?;
    let mut ops = Vec::new();
    let mut more = false;
    while ops.len() < limit {
        let reply = remote.pull(after, BATCH.min(limit - ops.len()))?;
        ops.extend(reply.ops);
        after = reply.last_seq;
        more = reply.more;
        if !reply.more {
            break;
        }
    }
    let state = super::state::load(cat)?;
    let plan = super::plan::plan(&state, &ops);
    Ok(Preview {
        to_push: to_push as usize,
        to_pull: ops.len(),
        more,
        plan,
    })
}
