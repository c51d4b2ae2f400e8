//! The institutional store: the team's operation log in PostgreSQL.
//!
//! Where [`crate::store::SqliteStore`] applies every push to a WhaleID
//! catalogue, this store keeps the log itself (`whaleid_ops`, in the order
//! the server accepted it), the crops (`whaleid_media`) and the users. The
//! planner's view of the catalogue lives in memory, rebuilt from the log at
//! start, so pushes are checked exactly as the SQLite store checks them
//! (references, payloads), and pulls hand out the same operations in the
//! same order. A laptop that pulls everything has the whole catalogue.

use anyhow::{bail, Context, Result};
use postgres::{Client, NoTls};
use sha2::{Digest, Sha256};
use whaleid::sync::ops::Op;
use whaleid::sync::plan::{simulate, simulate_owned, LocalState};
use whaleid::sync::wire::{PullReply, PushReply};

use crate::store::{new_token, refusals, token_hash, Store};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS whaleid_ops (
    seq       BIGSERIAL PRIMARY KEY,
    id        TEXT NOT NULL UNIQUE,
    body      TEXT NOT NULL,
    pushed_by TEXT NOT NULL,
    at        TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS whaleid_users (
    name       TEXT PRIMARY KEY,
    token_sha  TEXT NOT NULL UNIQUE,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS whaleid_media (
    sha256 TEXT PRIMARY KEY,
    bytes  BYTEA NOT NULL
);
-- Original photos, in the chunks they arrived in; whole (and checked
-- against their hash) once in whaleid_photos.
CREATE TABLE IF NOT EXISTS whaleid_photo_chunks (
    sha256 TEXT NOT NULL,
    start  BIGINT NOT NULL,
    bytes  BYTEA NOT NULL,
    PRIMARY KEY (sha256, start)
);
CREATE TABLE IF NOT EXISTS whaleid_photos (
    sha256 TEXT PRIMARY KEY,
    size   BIGINT NOT NULL
);
";

/// Operations replayed per step when rebuilding the state at start.
const REPLAY: usize = 500;

pub struct PgStore {
    client: Client,
    state: LocalState,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore")
            .field("operations", &self.state.applied.len())
            .finish()
    }
}

impl PgStore {
    /// Connect (`postgres://user:password@host/db`), create the tables if
    /// needed, and rebuild the planner state from the log.
    pub fn open(url: &str) -> Result<Self> {
        let mut client = Client::connect(url, NoTls).context("connecting to PostgreSQL")?;
        client.batch_execute(SCHEMA)?;
        // What this server can check embeddings against: the packs installed with it.
        let mut state = LocalState {
            pack_dims: whaleid::catalogue::vectors::installed_dims(),
            ..LocalState::default()
        };
        let rows = client.query("SELECT body FROM whaleid_ops ORDER BY seq", &[])?;
        let ops: Vec<Op> = rows
            .iter()
            .map(|r| serde_json::from_str(r.get::<_, &str>(0)))
            .collect::<std::result::Result<_, _>>()
            .context("an unreadable stored operation")?;
        for chunk in ops.chunks(REPLAY) {
            state = simulate_owned(state, chunk).1;
        }
        Ok(Self { client, state })
    }

    /// See [`crate::store::SqliteStore::add_user`].
    pub fn add_user(&mut self, user: &str) -> Result<String> {
        let token = new_token(user)?;
        self.client.execute(
            "INSERT INTO whaleid_users (name, token_sha) VALUES ($1, $2)
             ON CONFLICT (name) DO UPDATE SET token_sha = excluded.token_sha",
            &[&user, &token_hash(&token)],
        )?;
        Ok(token)
    }

    /// See [`crate::store::SqliteUsers::revoke_user`].
    pub fn revoke_user(&mut self, user: &str) -> Result<()> {
        if self
            .client
            .execute("DELETE FROM whaleid_users WHERE name = $1", &[&user])?
            == 0
        {
            bail!(
                "user {:?} has no token",
                whaleid::catalogue::codes::clipped(user)
            );
        }
        Ok(())
    }

    pub fn users(&mut self) -> Result<Vec<(String, String)>> {
        Ok(self
            .client
            .query(
                "SELECT name, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')
                 FROM whaleid_users ORDER BY name",
                &[],
            )?
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect())
    }

    fn last_seq(&mut self) -> Result<i64> {
        Ok(self
            .client
            .query_one("SELECT coalesce(max(seq), 0) FROM whaleid_ops", &[])?
            .get(0))
    }
}

impl Store for PgStore {
    fn user_for(&mut self, token: &str) -> Result<Option<String>> {
        Ok(self
            .client
            .query_opt(
                "SELECT name FROM whaleid_users WHERE token_sha = $1",
                &[&token_hash(token)],
            )?
            .map(|r| r.get(0)))
    }

    fn push(&mut self, user: &str, ops: &[Op]) -> Result<PushReply> {
        let (plan, next) = simulate(&self.state, ops);
        let refused = refusals(&plan);
        let accepted: Vec<&Op> = ops
            .iter()
            .filter(|o| !refused.iter().any(|r| r.op == o.id))
            .collect();
        let mut tx = self.client.transaction()?;
        for op in &accepted {
            let body = serde_json::to_string(op)?;
            tx.execute(
                "INSERT INTO whaleid_ops (id, body, pushed_by) VALUES ($1, $2, $3)
                 ON CONFLICT (id) DO NOTHING",
                &[&op.id, &body, &user],
            )?;
        }
        tx.commit()?;
        self.state = next;
        Ok(PushReply {
            accepted: accepted.iter().map(|o| o.id.clone()).collect(),
            refused,
            last_seq: self.last_seq()?,
        })
    }

    fn pull(&mut self, after: i64, limit: usize) -> Result<PullReply> {
        let rows = self.client.query(
            "SELECT seq, body, pushed_by FROM whaleid_ops WHERE seq > $1 ORDER BY seq LIMIT $2",
            &[&after, &(limit as i64 + 1)],
        )?;
        let more = rows.len() > limit;
        let mut ops = Vec::with_capacity(rows.len().min(limit));
        let mut pushed_by = std::collections::BTreeMap::new();
        let mut last_seq = after;
        for r in rows.iter().take(limit) {
            let op: Op = serde_json::from_str(r.get::<_, &str>(1)).with_context(|| {
                format!(
                    "an unreadable stored operation at seq {}",
                    r.get::<_, i64>(0)
                )
            })?;
            pushed_by.insert(op.id.clone(), r.get::<_, String>(2));
            ops.push(op);
            last_seq = r.get(0);
        }
        Ok(PullReply {
            ops,
            last_seq,
            more,
            pushed_by,
        })
    }

    fn put_media(&mut self, sha256: &str, bytes: &[u8]) -> Result<()> {
        let got = hex::encode(Sha256::digest(bytes));
        if got != sha256 {
            bail!("media {sha256}: the bytes hash to {got}");
        }
        self.client.execute(
            "INSERT INTO whaleid_media (sha256, bytes) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            &[&sha256, &bytes],
        )?;
        Ok(())
    }

    fn get_media(&mut self, sha256: &str) -> Result<Option<Vec<u8>>> {
        Ok(self
            .client
            .query_opt(
                "SELECT bytes FROM whaleid_media WHERE sha256 = $1",
                &[&sha256],
            )?
            .map(|r| r.get(0)))
    }

    fn knows_photo(&mut self, sha256: &str) -> Result<bool> {
        Ok(self.state.photos.values().any(|s| s == sha256))
    }

    fn photo_size(&mut self, sha256: &str) -> Result<Option<u64>> {
        Ok(self
            .client
            .query_opt(
                "SELECT size FROM whaleid_photos WHERE sha256 = $1",
                &[&sha256],
            )?
            .map(|r| r.get::<_, i64>(0) as u64))
    }

    fn photo_read(&mut self, sha256: &str, offset: u64, len: usize) -> Result<Vec<u8>> {
        let (from, to) = (offset as i64, (offset + len as u64) as i64);
        let rows = self.client.query(
            "SELECT start, bytes FROM whaleid_photo_chunks
             WHERE sha256 = $1 AND start < $3 AND start + length(bytes) > $2
             ORDER BY start",
            &[&sha256, &from, &to],
        )?;
        let mut out = Vec::with_capacity(len);
        for row in rows {
            let start: i64 = row.get(0);
            let bytes: &[u8] = row.get(1);
            let lo = (from.max(start) - start) as usize;
            let hi = (to.min(start + bytes.len() as i64) - start) as usize;
            out.extend_from_slice(&bytes[lo..hi]);
        }
        Ok(out)
    }

    fn upload_received(&mut self, sha256: &str) -> Result<u64> {
        let n: i64 = self
            .client
            .query_one(
                "SELECT coalesce(sum(length(bytes)), 0)::BIGINT FROM whaleid_photo_chunks
                 WHERE sha256 = $1",
                &[&sha256],
            )?
            .get(0);
        Ok(n as u64)
    }

    fn upload_append(&mut self, sha256: &str, offset: u64, bytes: &[u8]) -> Result<()> {
        self.client.execute(
            "INSERT INTO whaleid_photo_chunks (sha256, start, bytes) VALUES ($1, $2, $3)",
            &[&sha256, &(offset as i64), &bytes],
        )?;
        Ok(())
    }

    fn upload_finish(&mut self, sha256: &str) -> Result<bool> {
        // One chunk at a time: a photo may be larger than memory allows.
        let mut hasher = Sha256::new();
        let mut next = 0i64;
        let mut size = 0i64;
        while let Some(row) = self.client.query_opt(
            "SELECT start, bytes FROM whaleid_photo_chunks
             WHERE sha256 = $1 AND start >= $2 ORDER BY start LIMIT 1",
            &[&sha256, &next],
        )? {
            let bytes: &[u8] = row.get(1);
            hasher.update(bytes);
            size += bytes.len() as i64;
            next = row.get::<_, i64>(0) + 1;
        }
        if hex::encode(hasher.finalize()) != sha256 {
            self.client.execute(
                "DELETE FROM whaleid_photo_chunks WHERE sha256 = $1",
                &[&sha256],
            )?;
            return Ok(false);
        }
        self.client.execute(
            "INSERT INTO whaleid_photos (sha256, size) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            &[&sha256, &size],
        )?;
        Ok(true)
    }
}
