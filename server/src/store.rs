//! Where the server keeps the team's catalogue and its users.
//!
//! [`Store`] is what the HTTP layer needs; [`SqliteStore`] keeps a WhaleID
//! catalogue (the master copy, applied to with the same planner and applier
//! as every laptop, so it checks every reference) and a `server.sqlite`
//! with the users' tokens (only their sha256) and who pushed what (handed
//! out with every pull, beside the author each operation claims).
//! [`SqliteUsers`] opens that file alone, for the token commands, which
//! run beside a serving server.

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

    /// Original photos (see `whaleid::sync::wire::PHOTOS`); the HTTP layer
    /// checks names, offsets and chunk hashes before calling these.
    /// Whether the catalogue holds a photo with these bytes.
    fn knows_photo(&mut self, sha256: &str) -> Result<bool>;
    /// The size of a photo held whole.
    fn photo_size(&mut self, sha256: &str) -> Result<Option<u64>>;
    /// Bytes of a photo held whole.
    fn photo_read(&mut self, sha256: &str, offset: u64, len: usize) -> Result<Vec<u8>>;
    /// Bytes of an unfinished upload held so far.
    fn upload_received(&mut self, sha256: &str) -> Result<u64>;
    /// Add `bytes` at the end of an unfinished upload (which is `offset`
    /// long: checked by the caller under the same lock).
    fn upload_append(&mut self, sha256: &str, offset: u64, bytes: &[u8]) -> Result<()>;
    /// The upload is all in: keep it as the photo if it hashes to `sha256`
    /// (`true`), else discard it (`false`).
    fn upload_finish(&mut self, sha256: &str) -> Result<bool>;
}

#[derive(Debug)]
pub struct SqliteStore {
    dir: PathBuf,
    catalogue: Catalogue,
    users: Connection,
    /// The planner's view of the catalogue, kept between pushes.
    state: Option<whaleid::sync::plan::LocalState>,
}

pub const CATALOGUE_DIR: &str = "catalogue";
pub const USERS_DB: &str = "server.sqlite";
pub const PHOTOS_DIR: &str = "photos";

/// What is stored of a token: its sha256.
pub(crate) fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A new token for `user` (checked to be a printable name): 256 bits
/// from the operating system's random number generator, as 64 lowercase
/// hex digits. Nothing in it depends on the time or on the user, so a
/// token says nothing about when or for whom it was issued.
pub(crate) fn new_token(user: &str) -> Result<String> {
    if user.trim().is_empty()
        || user.len() > 100
        || user.chars().any(whaleid::catalogue::codes::is_hidden_char)
    {
        bail!(
            "user name {:?} must be 1 to 100 printable characters",
            whaleid::catalogue::codes::clipped(user)
        );
    }
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|e| anyhow::anyhow!("the operating system's random number generator: {e}"))?;
    Ok(hex::encode(bytes))
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
        let catalogue = if has_catalogue(dir) {
            Catalogue::open(&cat_dir)?
        } else {
            Catalogue::create(&cat_dir)?
        };
        let users = SqliteUsers::open(dir)?.conn;
        Ok(Self {
            dir: dir.to_path_buf(),
            catalogue,
            users,
            state: None,
        })
    }

    /// Issue a new token for `user` (replacing any earlier one); only its
    /// hash is kept, so it is shown once.
    pub fn add_user(&mut self, user: &str) -> Result<String> {
        issue(&self.users, user)
    }

    pub fn users(&self) -> Result<Vec<(String, String)>> {
        list(&self.users)
    }
}

/// Whether the data folder `dir` holds its master catalogue yet.
fn has_catalogue(dir: &Path) -> bool {
    dir.join(CATALOGUE_DIR)
        .join(whaleid::catalogue::DB_FILE)
        .exists()
}

/// Make the data folder `dir` as `serve` would, master catalogue included,
/// when it has no catalogue yet, and let go of it at once; leave a folder
/// that has one alone (a server may be serving it). For the first
/// `token add`, so a new folder is whole before the server first starts.
pub fn prepare(dir: &Path) -> Result<()> {
    if !has_catalogue(dir) {
        drop(SqliteStore::open(dir)?);
    }
    Ok(())
}

/// The users' store of a data folder (`server.sqlite`) alone, without the
/// master catalogue: what `whaleid-server token` opens, so tokens are
/// issued and revoked while `serve` runs on the same folder (holding the
/// catalogue's writer lock). The server looks a token up at every request,
/// so it sees a change from its next one.
#[derive(Debug)]
pub struct SqliteUsers {
    conn: Connection,
}

impl SqliteUsers {
    /// Open (creating if needed) the users' store in the data folder `dir`.
    pub fn open(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir).with_context(|| format!("{}", dir.display()))?;
        let path = dir.join(USERS_DB);
        let conn = Connection::open(&path).with_context(|| format!("{}", path.display()))?;
        // The server and a token command write this file at once: each
        // waits for the other's short transaction rather than failing.
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.execute_batch(
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
        )
        .with_context(|| format!("{}", path.display()))?;
        Ok(Self { conn })
    }

    /// See [`SqliteStore::add_user`].
    pub fn add_user(&mut self, user: &str) -> Result<String> {
        issue(&self.conn, user)
    }

    /// Take `user`'s token back (what they pushed stays); an error when
    /// they have none.
    pub fn revoke_user(&mut self, user: &str) -> Result<()> {
        if self
            .conn
            .execute("DELETE FROM users WHERE name = ?1", [user])?
            == 0
        {
            bail!(
                "user {:?} has no token",
                whaleid::catalogue::codes::clipped(user)
            );
        }
        Ok(())
    }

    /// The users with tokens and when each was issued.
    pub fn users(&self) -> Result<Vec<(String, String)>> {
        list(&self.conn)
    }
}

/// A new token for `user` in the users' store `conn`, replacing any
/// earlier one; only its hash is kept, so it is shown once.
fn issue(conn: &Connection, user: &str) -> Result<String> {
    let token = new_token(user)?;
    conn.execute(
        "INSERT INTO users (name, token_sha) VALUES (?1, ?2)
         ON CONFLICT (name) DO UPDATE SET token_sha = excluded.token_sha",
        params![user, token_hash(&token)],
    )?;
    Ok(token)
}

fn list(conn: &Connection) -> Result<Vec<(String, String)>> {
    let mut stmt = conn.prepare("SELECT name, created_at FROM users ORDER BY name")?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
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

    fn knows_photo(&mut self, sha256: &str) -> Result<bool> {
        Ok(self.catalogue.photo_by_sha256(sha256)?.is_some())
    }

    fn photo_size(&mut self, sha256: &str) -> Result<Option<u64>> {
        match std::fs::metadata(self.photo_path(sha256)) {
            Ok(m) => Ok(Some(m.len())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    fn photo_read(&mut self, sha256: &str, offset: u64, len: usize) -> Result<Vec<u8>> {
        use std::io::{Read, Seek, SeekFrom};
        let mut f = std::fs::File::open(self.photo_path(sha256))?;
        f.seek(SeekFrom::Start(offset))?;
        let mut out = Vec::with_capacity(len);
        f.take(len as u64).read_to_end(&mut out)?;
        Ok(out)
    }

    fn upload_received(&mut self, sha256: &str) -> Result<u64> {
        match std::fs::metadata(self.upload_path(sha256)) {
            Ok(m) => Ok(m.len()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(0),
            Err(e) => Err(e.into()),
        }
    }

    fn upload_append(&mut self, sha256: &str, offset: u64, bytes: &[u8]) -> Result<()> {
        use std::io::Write;
        let path = self.upload_path(sha256);
        std::fs::create_dir_all(path.parent().expect("in the uploads folder"))?;
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)?;
        if f.metadata()?.len() != offset {
            bail!("upload {sha256}: not {offset} bytes long");
        }
        f.write_all(bytes)?;
        // Acknowledged bytes survive a crash of the server.
        f.sync_data()?;
        Ok(())
    }

    fn upload_finish(&mut self, sha256: &str) -> Result<bool> {
        let part = self.upload_path(sha256);
        let mut hasher = Sha256::new();
        std::io::copy(&mut std::fs::File::open(&part)?, &mut hasher)?;
        if hex::encode(hasher.finalize()) != sha256 {
            std::fs::remove_file(&part)?;
            return Ok(false);
        }
        let dest = self.photo_path(sha256);
        std::fs::create_dir_all(dest.parent().expect("in the photos folder"))?;
        std::fs::rename(&part, &dest)?;
        Ok(true)
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
        let mut reply = whaleid::sync::log::page_after(&self.catalogue, after, limit)?;
        let mut stmt = self
            .users
            .prepare_cached("SELECT user FROM pushes WHERE op = ?1")?;
        for op in &reply.ops {
            if let Some(user) = stmt.query_row([&op.id], |r| r.get(0)).optional()? {
                reply.pushed_by.insert(op.id.clone(), user);
            }
        }
        Ok(reply)
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

    /// Originals live in `photos/` of the data folder, by hash (names are
    /// checked to be 64 hex digits before they get here), two levels deep
    /// so no folder holds too many.
    fn photo_path(&self, sha256: &str) -> PathBuf {
        self.dir.join(PHOTOS_DIR).join(&sha256[..2]).join(sha256)
    }

    fn upload_path(&self, sha256: &str) -> PathBuf {
        self.dir.join(PHOTOS_DIR).join("uploads").join(sha256)
    }

    fn last_seq(&self) -> Result<i64> {
        Ok(whaleid::sync::log::last_seq(&self.catalogue)?)
    }
}
