//! Where the server keeps the team's catalogue and its users.
//!
//! [`Store`] is what the HTTP layer needs; [`SqliteStore`] keeps a WhaleID
//! catalogue (the master copy, applied to with the same planner and applier
//! as every laptop, so it checks every reference) and a `server.sqlite`
//! with the users' tokens (only their sha256) and who pushed what.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use rusqlite::{params, Connection, OptionalExtension};
use sha2::{Digest, Sha256};
use whaleid::catalogue::Catalogue;
use whaleid::sync::apply::receive_with;
use whaleid::sync::ops::Op;
use whaleid::sync::plan::Action;
use whaleid::sync::wire::{PullReply, PushReply, Refusal};

/// What the HTTP layer needs from storage.
pub trait Store: Send {
    /// The user a bearer token belongs to.
    fn user_for(&mut self, token: &str) -> Result<Option<String>>;
    /// Apply operations pushed by `user`.
    fn push(&mut self, user: &str, ops: &[Op]) -> Result<PushReply>;
    /// Operations after position `after`, at most `limit`.
    fn pull(&mut self, after: i64, limit: usize) -> Result<PullReply>;
    /// Keep a crop whose bytes were checked to hash to `sha256`.
    fn put_media(&mut self, sha256: &str, bytes: &[u8]) -> Result<()>;
    fn get_media(&mut self, sha256: &str) -> Result<Option<Vec<u8>>>;
}

#[derive(Debug)]
pub struct SqliteStore {
    catalogue: Catalogue,
    users: Connection,
    /// The planner's view of the catalogue, kept between pushes.
    state: Option<whaleid::sync::plan::LocalState>,
}

pub const CATALOGUE_DIR: &str = "catalogue";
pub const USERS_DB: &str = "server.sqlite";

/// What is stored of a token: its sha256.
pub(crate) fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A new token for `user` (checked to be a printable name): two v7 UUIDs
/// as 64 hex digits, about 148 random bits.
pub(crate) fn new_token(user: &str) -> Result<String> {
    if user.trim().is_empty() || user.len() > 100 || user.chars().any(char::is_control) {
        bail!("user name {user:?} must be 1 to 100 printable characters");
    }
    Ok(format!(
        "{}{}",
        uuid::Uuid::now_v7().simple(),
        uuid::Uuid::now_v7().simple()
    ))
}

/// The operations a plan refused, with why.
pub(crate) fn refusals(plan: &whaleid::sync::plan::Plan) -> Vec<Refusal> {
    plan.actions
        .iter()
        .filter_map(|a| match a {
            Action::Refuse { op, reason } => Some(Refusal {
                op: op.clone(),
                reason: reason.clone(),
            }),
            _ => None,
        })
        .collect()
}

impl SqliteStore {
    /// Open (creating if needed) the server's data folder.
    pub fn open(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir).with_context(|| format!("{}", dir.display()))?;
        let cat_dir: PathBuf = dir.join(CATALOGUE_DIR);
        let catalogue = if cat_dir.join(whaleid::catalogue::DB_FILE).exists() {
            Catalogue::open(&cat_dir)?
        } else {
            Catalogue::create(&cat_dir)?
        };
        let users = Connection::open(dir.join(USERS_DB))?;
        users.execute_batch(
            "PRAGMA journal_mode = WAL;
             CREATE TABLE IF NOT EXISTS users (
                 name       TEXT PRIMARY KEY,
                 token_sha  TEXT NOT NULL UNIQUE,
                 created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
             ) STRICT;
             CREATE TABLE IF NOT EXISTS pushes (
                 op     TEXT PRIMARY KEY,
                 user   TEXT NOT NULL,
                 at     TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
             ) STRICT;",
        )?;
        Ok(Self {
            catalogue,
            users,
            state: None,
        })
    }

    /// Issue a new token for `user` (replacing any earlier one); only its
    /// hash is kept, so it is shown once.
    pub fn add_user(&mut self, user: &str) -> Result<String> {
        let token = new_token(user)?;
        self.users.execute(
            "INSERT INTO users (name, token_sha) VALUES (?1, ?2)
             ON CONFLICT (name) DO UPDATE SET token_sha = excluded.token_sha",
            params![user, token_hash(&token)],
        )?;
        Ok(token)
    }

    pub fn users(&self) -> Result<Vec<(String, String)>> {
        let mut stmt = self
            .users
            .prepare("SELECT name, created_at FROM users ORDER BY name")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

impl Store for SqliteStore {
    fn put_media(&mut self, sha256: &str, bytes: &[u8]) -> Result<()> {
        let path = self.media_path(sha256);
        if !path.exists() {
            whaleid::sync::media::store_checked(&path, sha256, bytes)?;
        }
        Ok(())
    }

    fn get_media(&mut self, sha256: &str) -> Result<Option<Vec<u8>>> {
        match std::fs::read(self.media_path(sha256)) {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    fn user_for(&mut self, token: &str) -> Result<Option<String>> {
        Ok(self
            .users
            .query_row(
                "SELECT name FROM users WHERE token_sha = ?1",
                [token_hash(token)],
                |r| r.get(0),
            )
            .optional()?)
    }

    fn push(&mut self, user: &str, ops: &[Op]) -> Result<PushReply> {
        let plan = receive_with(&mut self.catalogue, ops, user, &mut self.state)?;
        let refused = refusals(&plan);
        let accepted: Vec<String> = ops
            .iter()
            .map(|o| o.id.clone())
            .filter(|id| !refused.iter().any(|r| &r.op == id))
            .collect();
        let mut stmt = self
            .users
            .prepare_cached("INSERT OR IGNORE INTO pushes (op, user) VALUES (?1, ?2)")?;
        for id in &accepted {
            stmt.execute(params![id, user])?;
        }
        Ok(PushReply {
            accepted,
            refused,
            last_seq: self.last_seq()?,
        })
    }

    fn pull(&mut self, after: i64, limit: usize) -> Result<PullReply> {
        let mut stmt = self
            .catalogue
            .conn()
            .prepare("SELECT seq, body FROM sync_ops WHERE seq > ?1 ORDER BY seq LIMIT ?2")?;
        let rows: Vec<(i64, String)> = stmt
            .query_map(params![after, limit as i64 + 1], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?
            .collect::<rusqlite::Result<_>>()?;
        let more = rows.len() > limit;
        let mut ops = Vec::with_capacity(rows.len().min(limit));
        let mut last_seq = after;
        for (seq, body) in rows.into_iter().take(limit) {
            ops.push(serde_json::from_str(&body).context("an unreadable stored operation")?);
            last_seq = seq;
        }
        Ok(PullReply {
            ops,
            last_seq,
            more,
        })
    }
}

impl SqliteStore {
    /// Crops live in the master catalogue's media folder, under the name a
    /// received detection gives them, so the server's catalogue shows them.
    fn media_path(&self, sha256: &str) -> PathBuf {
        self.catalogue
            .media_dir()
            .join(whaleid::sync::media::crop_path(sha256))
    }

    fn last_seq(&self) -> Result<i64> {
        Ok(self.catalogue.conn().query_row(
            "SELECT coalesce(max(seq), 0) FROM sync_ops",
            [],
            |r| r.get(0),
        )?)
    }
}
