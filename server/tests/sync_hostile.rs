//! The server against hostile or broken input (issue 19 items 4 and 5): one
//! operation it refuses or cannot apply never blocks the others, codes
//! follow the engine's rule and refusals carry no raw terminal escapes,
//! every 500 is logged with its path and error, the bearer scheme is read
//! in any case, tokens are 256 random bits, and pulls name the token's
//! user beside the author an operation claims.

mod support;

use std::path::{Path, PathBuf};

use support::{count, on_every_store, serving, sync_via, Backend, Server};
use whaleid::catalogue::Catalogue;
use whaleid::sync::client::Remote;
use whaleid::sync::log::{collect, unpushed};
use whaleid::sync::ops::{Change, Op};
use whaleid_testkit as kit;

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into()
}

/// `GET path` with this Authorization header: the status and the body.
fn get(url: &str, path: &str, authorization: &str) -> (u16, String) {
    let mut resp = agent()
        .get(&format!("{url}{path}"))
        .header("Authorization", authorization)
        .call()
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.body_mut().read_to_string().unwrap_or_default())
}

fn post(url: &str, path: &str, token: &str, body: &str) -> (u16, String) {
    let mut resp = agent()
        .post(&format!("{url}{path}"))
        .header("Authorization", &format!("Bearer {token}"))
        .header("Content-Type", "application/json")
        .send(body)
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.body_mut().read_to_string().unwrap_or_default())
}

/// The server's SQLite catalogue, opened beside it (WAL: both see all).
fn server_catalogue(data: &Path) -> rusqlite::Connection {
    rusqlite::Connection::open(data.join("catalogue").join("catalogue.sqlite")).unwrap()
}

/// An SQLite store in `dir/server` holding Ana's token, with `sql` run on
/// its catalogue before any server starts (a fault planted): the store's
/// folder, the store and the token.
fn store_with(dir: &Path, sql: &str) -> (PathBuf, Backend, String) {
    let data = dir.join("server");
    let backend = Backend::Sqlite(data.clone());
    let token = backend.cmd(&["token", "add", "ana"]);
    server_catalogue(&data).execute_batch(sql).unwrap();
    (data, backend, token)
}

/// A laptop in `dir/laptop` that made one individual, W1, as Ana: the
/// catalogue and that operation, not pushed yet.
fn laptop_with_w1(dir: &Path) -> (Catalogue, Op) {
    let mut cat = Catalogue::create(dir.join("laptop")).unwrap();
    cat.ensure_individual("W1", None).unwrap();
    collect(&mut cat, "ana").unwrap();
    let made = unpushed(&cat, 10).unwrap().remove(0);
    (cat, made)
}

#[test]
fn an_operation_the_server_cannot_apply_is_refused_alone_and_the_laptop_still_syncs() {
    let dir = tempfile::tempdir().unwrap();
    // A fault in applying one operation, as the unique-constraint failure
    // of issue 19 item 1 was: the catalogue aborts inserting this code.
    let (data, backend, token) = store_with(
        dir.path(),
        "CREATE TRIGGER poison BEFORE INSERT ON individuals WHEN NEW.code = 'POISON'
         BEGIN SELECT RAISE(ABORT, 'poisoned code'); END;
         CREATE TRIGGER poison_update BEFORE UPDATE OF code ON individuals
         WHEN NEW.code = 'POISON'
         BEGIN SELECT RAISE(ABORT, 'poisoned code'); END;",
    );
    let server = Server::start(&backend, &[]);
    let mut ana = Catalogue::create(dir.path().join("ana")).unwrap();
    for code in ["W1", "POISON", "W2"] {
        ana.ensure_individual(code, None).unwrap();
    }
    let remote = Remote::new(&server.url, &token).unwrap();
    let report = sync_via(&mut ana, &remote, "ana").expect("the sync is not blocked");
    assert_eq!(report.pushed, 2, "{report:?}");
    assert_eq!(report.refused.len(), 1, "{:?}", report.refused);
    assert!(
        report.refused[0].reason.contains("poisoned code"),
        "{:?}",
        report.refused
    );
    // The other two reached the server and the next laptop.
    let mut ben = Catalogue::create(dir.path().join("ben")).unwrap();
    sync_via(&mut ben, &remote, "ben").unwrap();
    assert!(ben.individual("W1").is_ok() && ben.individual("W2").is_ok());
    assert!(ben.individual("POISON").is_err());
    // The refused one stays on Ana's laptop and goes once the fault is
    // gone; syncing again meanwhile is no error either.
    let again = sync_via(&mut ana, &remote, "ana").unwrap();
    assert_eq!(again.refused.len(), 1);
    server_catalogue(&data)
        .execute_batch("DROP TRIGGER poison; DROP TRIGGER poison_update;")
        .unwrap();
    let fixed = sync_via(&mut ana, &remote, "ana").unwrap();
    assert!(fixed.refused.is_empty(), "{:?}", fixed.refused);
    sync_via(&mut ben, &remote, "ben").unwrap();
    assert!(ben.individual("POISON").is_ok());
}

#[test]
fn every_server_error_is_logged_with_the_request_path_and_the_error() {
    let dir = tempfile::tempdir().unwrap();
    // A stored operation the server can no longer read: pulls fail (500).
    let (_, backend, token) = store_with(
        dir.path(),
        "INSERT INTO sync_ops (id, hlc, author, kind, record, body, origin)
         VALUES ('x', '0', 'a', 'k', 'r', '{not json', 'remote')",
    );
    let server = Server::start_logged(&backend, &[]);
    let (status, body) = get(&server.url, "/v1/pull?after=0", &format!("Bearer {token}"));
    assert_eq!(status, 500, "{body}");
    // A 4xx is the client's business, not the log's.
    let (status, _) = get(&server.url, "/v1/pull?after=0", "Bearer nope");
    assert_eq!(status, 401);
    let log = server.kill_for_log();
    let line = log
        .lines()
        .find(|l| l.contains("500"))
        .unwrap_or_else(|| panic!("no 500 in the log: {log:?}"));
    assert!(line.contains("/v1/pull"), "{line}");
    assert!(line.contains("unreadable operation"), "{line}");
    assert!(!log.contains("401"), "{log}");
}

#[test]
fn the_bearer_scheme_is_read_in_any_case() {
    let dir = tempfile::tempdir().unwrap();
    let backend = Backend::Sqlite(dir.path().join("server"));
    let (server, [token]) = serving(dir.path(), &backend, ["ana"], &[]);
    for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
        let (status, body) = get(
            &server.url,
            "/v1/pull?after=0",
            &format!("{scheme} {token}"),
        );
        assert_eq!(status, 200, "{scheme}: {body}");
    }
    for wrong in [
        format!("Basic {token}"),
        format!("Bearer{token}"),
        token.clone(),
    ] {
        let (status, _) = get(&server.url, "/v1/pull?after=0", &wrong);
        assert_eq!(status, 401, "{wrong}");
    }
}

#[test]
fn tokens_are_256_random_bits_that_say_nothing_of_when_they_were_issued() {
    let dir = tempfile::tempdir().unwrap();
    let backend = Backend::Sqlite(dir.path().join("server"));
    let tokens: Vec<String> = (0..4)
        .map(|i| backend.cmd(&["token", "add", &format!("user{i}")]))
        .collect();
    for t in &tokens {
        assert_eq!(t.len(), 64, "{t}");
        assert!(
            t.chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()),
            "{t}"
        );
    }
    // Tokens issued within a second shared their first 10 hex digits (a
    // v7 UUID's clock); random ones share 8 once in 4 billion.
    for (i, a) in tokens.iter().enumerate() {
        for b in &tokens[i + 1..] {
            assert_ne!(a[..8], b[..8], "{a} and {b} share a prefix");
            assert_ne!(a[32..40], b[32..40], "{a} and {b} share a middle");
        }
    }
}

fn pushed_by_the_token_user(dir: &Path, backend: &Backend) {
    let (server, [token]) = serving(dir, backend, ["ana"], &[]);
    let mut cat = Catalogue::create(dir.join("laptop")).unwrap();
    cat.ensure_individual("W1", None).unwrap();
    // Whoever holds Ana's token may claim any author.
    let report = sync_via(
        &mut cat,
        &Remote::new(&server.url, &token).unwrap(),
        "mallory",
    )
    .unwrap();
    assert_eq!(report.pushed, 1);
    let (status, body) = get(&server.url, "/v1/pull?after=0", &format!("Bearer {token}"));
    assert_eq!(status, 200, "{body}");
    let reply: serde_json::Value = serde_json::from_str(&body).unwrap();
    let op = &reply["ops"][0];
    assert_eq!(op["author"], "mallory", "the claimed author stays: {reply}");
    let id = op["id"].as_str().unwrap();
    assert_eq!(reply["pushed_by"][id], "ana", "{reply}");
    // The engine's client reads the field too (and older ones ignore it).
    let pulled = Remote::new(&server.url, &token)
        .unwrap()
        .pull(0, 10)
        .unwrap();
    assert_eq!(pulled.pushed_by.get(id).map(String::as_str), Some("ana"));
}

#[test]
fn pulls_name_the_token_user_beside_the_claimed_author() {
    on_every_store(pushed_by_the_token_user);
}

fn unreadable_alone(dir: &Path, backend: &Backend) {
    let (server, [token]) = serving(dir, backend, ["ana"], &[]);
    let (_laptop, good) = laptop_with_w1(dir);
    let mut future = serde_json::to_value(&good).unwrap();
    future["id"] = "01a22700-0000-7000-8000-00000000f001".into();
    future["change"] = serde_json::json!({"kind": "from_a_newer_whaleid", "x": 1});
    let body = serde_json::json!({ "ops": [future, good] }).to_string();
    let (status, reply) = post(&server.url, "/v1/push", &token, &body);
    assert_eq!(status, 200, "{reply}");
    let reply: serde_json::Value = serde_json::from_str(&reply).unwrap();
    assert_eq!(reply["accepted"], serde_json::json!([good.id]), "{reply}");
    assert_eq!(
        reply["refused"][0]["op"],
        "01a22700-0000-7000-8000-00000000f001"
    );
    let why = reply["refused"][0]["reason"].as_str().unwrap();
    assert!(why.contains("from_a_newer_whaleid"), "{why}");
}

#[test]
fn an_operation_the_server_cannot_read_is_refused_alone() {
    on_every_store(unreadable_alone);
}

fn hostile_codes(dir: &Path, backend: &Backend) {
    let (server, [token]) = serving(dir, backend, ["ana"], &[]);
    let (_laptop, good) = laptop_with_w1(dir);
    let mut ops = vec![];
    for (n, code) in [
        "W\u{1b}[31m2".to_string(),
        "W\u{202e}3".into(),
        "X".repeat(10_000),
    ]
    .into_iter()
    .enumerate()
    {
        let mut bad = good.clone();
        bad.id = format!("01a22700-0000-7000-8000-00000000e00{n}");
        bad.change = Change::IndividualCreated {
            individual: format!("01a22700-0000-7000-8000-00000000d00{n}"),
            code,
            species: None,
        };
        ops.push(bad);
    }
    ops.push(good.clone());
    let reply = Remote::new(&server.url, &token).unwrap().push(ops).unwrap();
    assert_eq!(reply.accepted, vec![good.id.clone()], "{reply:?}");
    assert_eq!(reply.refused.len(), 3, "{reply:?}");
    for r in &reply.refused {
        assert!(r.reason.contains("code"), "{r:?}");
        assert!(
            !r.reason.chars().any(|c| c.is_control() || c == '\u{202e}'),
            "{r:?}"
        );
    }
}

#[test]
fn codes_follow_the_engine_rule_and_refusals_carry_no_raw_escapes() {
    on_every_store(hostile_codes);
}

#[test]
fn renaming_a_code_the_server_refused_lets_it_and_what_followed_through() {
    let dir = tempfile::tempdir().unwrap();
    let backend = Backend::Sqlite(dir.path().join("server"));
    let (server, [token]) = serving(dir.path(), &backend, ["ana"], &[]);
    let remote = Remote::new(&server.url, &token).unwrap();
    // A catalogue from before the rule: an import took a code with a
    // newline. The server refuses its creation, and so (the individual not
    // being in its catalogue) every later operation about it, the rename
    // below included, unless the laptop mends the creation first.
    let mut ana = Catalogue::create(dir.path().join("ana")).unwrap();
    ana.ensure_individual("W1", None).unwrap();
    kit::sql(&ana)
        .execute(
            "INSERT INTO individuals (uuid, code) VALUES ('01a22700-0000-7000-8000-0000000000c1', 'W2\nevil')",
            [],
        )
        .unwrap();
    let first = sync_via(&mut ana, &remote, "ana").unwrap();
    assert_eq!(first.refused.len(), 1, "{:?}", first.refused);
    assert!(
        first.refused[0].reason.contains("control"),
        "{:?}",
        first.refused
    );
    // Renamed to a good code, it goes through on the next sync.
    let bad = ana
        .individual("01a22700-0000-7000-8000-0000000000c1")
        .unwrap();
    ana.rename(&bad.uuid, "W2", Some("ana")).unwrap();
    let second = sync_via(&mut ana, &remote, "ana").unwrap();
    assert!(second.refused.is_empty(), "{:?}", second.refused);
    let mut ben = Catalogue::create(dir.path().join("ben")).unwrap();
    sync_via(&mut ben, &remote, "ben").unwrap();
    assert_eq!(
        ben.individual("01a22700-0000-7000-8000-0000000000c1")
            .unwrap()
            .code,
        "W2"
    );
    assert_eq!(count(&ben, "SELECT count(*) FROM individuals"), 2);
}
