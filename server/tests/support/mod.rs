//! What the sync server's tests share: the server binary run as a command
//! and as a process on loopback (killed when dropped, or on purpose), the
//! stores every test runs on (SQLite always, PostgreSQL when
//! `WHALEID_TEST_POSTGRES` names one), and syncs as `whaleid sync` runs them.
//! The photos and catalogues come from `whaleid_testkit`.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use whaleid::catalogue::Catalogue;
use whaleid::sync::client::{sync, Remote, SyncReport};
use whaleid::CancelToken;
use whaleid_testkit as kit;

pub const BIN: &str = env!("CARGO_BIN_EXE_whaleid-server");

pub fn server_cmd(args: &[&str]) -> String {
    let out = Command::new(BIN)
        .args(args)
        .output()
        .expect("run whaleid-server");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// Where a test server keeps its data: always an SQLite folder; and a
/// fresh PostgreSQL database too when `WHALEID_TEST_POSTGRES` names a server
/// to make it in (`.ci/run` starts one), so both stores pass the same tests.
#[derive(Debug, Clone)]
pub enum Backend {
    Sqlite(PathBuf),
    Postgres(std::sync::Arc<PgDb>),
}

/// A database made for one test, dropped with it (servers still connected
/// included), so a machine that runs the tests again collects nothing.
#[derive(Debug)]
pub struct PgDb {
    admin: String,
    name: String,
    url: String,
}

impl PgDb {
    pub fn create(admin: String) -> std::sync::Arc<PgDb> {
        let name = format!("whaleid_test_{}", uuid::Uuid::now_v7().simple());
        let mut client = postgres::Client::connect(&admin, postgres::NoTls)
            .expect("connect to WHALEID_TEST_POSTGRES");
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .unwrap();
        let (base, _) = admin.rsplit_once('/').expect("a URL ending in /DATABASE");
        std::sync::Arc::new(PgDb {
            url: format!("{base}/{name}"),
            admin,
            name,
        })
    }
}

impl Drop for PgDb {
    fn drop(&mut self) {
        if let Ok(mut client) = postgres::Client::connect(&self.admin, postgres::NoTls) {
            let _ = client.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ));
        }
    }
}

/// Run `test` on each store in a folder of its own.
pub fn on_every_store(test: fn(&Path, &Backend)) {
    let dir = tempfile::tempdir().unwrap();
    for (n, backend) in Backend::all(dir.path()).into_iter().enumerate() {
        eprintln!("store: {backend:?}");
        test(&dir.path().join(format!("run{n}")), &backend);
    }
}

impl Backend {
    pub fn all(dir: &Path) -> Vec<Backend> {
        let mut out = vec![Backend::Sqlite(dir.join("server"))];
        if let Ok(admin) = std::env::var("WHALEID_TEST_POSTGRES") {
            out.push(Backend::Postgres(PgDb::create(admin)));
        }
        out
    }

    /// An empty store of the same kind, beside this one.
    pub fn another(&self, dir: &Path) -> Backend {
        match self {
            Backend::Sqlite(_) => Backend::Sqlite(dir.to_path_buf()),
            Backend::Postgres(db) => Backend::Postgres(PgDb::create(db.admin.clone())),
        }
    }

    pub fn args(&self) -> Vec<String> {
        match self {
            Backend::Sqlite(dir) => vec!["--data".into(), dir.to_string_lossy().into_owned()],
            Backend::Postgres(db) => vec!["--postgres".into(), db.url.clone()],
        }
    }

    pub fn cmd(&self, args: &[&str]) -> String {
        let mut all: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        all.extend(self.args());
        let refs: Vec<&str> = all.iter().map(String::as_str).collect();
        server_cmd(&refs)
    }
}

/// A running server; killed when dropped.
pub struct Server {
    child: Child,
    pub url: String,
}

impl Server {
    pub fn start(backend: &Backend, extra: &[&str]) -> Self {
        Self::spawn(backend, extra, Stdio::inherit())
    }

    /// A server whose log (its standard error) the test reads with
    /// [`Server::kill_for_log`] instead of seeing it in its own output.
    pub fn start_logged(backend: &Backend, extra: &[&str]) -> Self {
        Self::spawn(backend, extra, Stdio::piped())
    }

    fn spawn(backend: &Backend, extra: &[&str], stderr: Stdio) -> Self {
        let mut args: Vec<String> = vec!["serve".into(), "--listen".into(), "127.0.0.1:0".into()];
        args.extend(backend.args());
        args.extend(extra.iter().map(|a| a.to_string()));
        let mut child = Command::new(BIN)
            .args(&args)
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("start whaleid-server");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_string();
        Self { child, url }
    }

    /// SIGKILL: no shutdown, as a crash or a pulled plug.
    pub fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// Killed (SIGKILL); all it logged, for a server started with
    /// [`Server::start_logged`].
    pub fn kill_for_log(mut self) -> String {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
        let mut log = String::new();
        self.child
            .stderr
            .take()
            .expect("a server started with start_logged")
            .read_to_string(&mut log)
            .unwrap();
        log
    }
}

/// `dir` made, a token for each of `users` (in that order), and a server
/// started on `backend` with the options `extra`: where most tests begin.
pub fn serving<const N: usize>(
    dir: &Path,
    backend: &Backend,
    users: [&str; N],
    extra: &[&str],
) -> (Server, [String; N]) {
    std::fs::create_dir_all(dir).unwrap();
    let tokens = users.map(|user| backend.cmd(&["token", "add", user]));
    (Server::start(backend, extra), tokens)
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A sync as `whaleid sync` runs it, not cancelled, progress unheard.
pub fn sync_via(cat: &mut Catalogue, remote: &Remote, author: &str) -> whaleid::Result<SyncReport> {
    sync(cat, remote, author, &CancelToken::new(), &mut |_, _| {})
}

pub fn run_sync(cat: &mut Catalogue, url: &str, token: &str, author: &str) -> SyncReport {
    let report = sync_via(cat, &Remote::new(url, token).unwrap(), author).unwrap();
    assert!(report.refused.is_empty(), "{author}: {:?}", report.refused);
    report
}

pub fn count(cat: &Catalogue, sql: &str) -> i64 {
    kit::sql(cat).query_row(sql, [], |r| r.get(0)).unwrap()
}
