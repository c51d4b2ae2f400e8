//! Tokens are issued, listed and revoked while the server serves (issue 19,
//! item 11). `whaleid-server serve` holds the master catalogue's writer
//! lock for as long as it runs, so `whaleid-server token` must not open
//! that catalogue: it works on the users' store alone. The running server
//! reads that store at every request, so a token issued now pushes at once
//! and a revoked or replaced one is refused from the next request, with no
//! restart.

mod support;

use std::path::Path;
use std::process::Command;

use support::{on_every_store, run_sync, serving, sync_via, Backend, BIN};
use whaleid::catalogue::Catalogue;
use whaleid::sync::client::Remote;
use whaleid_testkit::{import_all, labelled, pipeline};

/// A sync with `token` that the server refuses as unknown.
fn refused(cat: &mut Catalogue, url: &str, token: &str, who: &str) {
    let err = sync_via(cat, &Remote::new(url, token).unwrap(), who)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("401") && err.contains("unknown token"),
        "{who}: {err}"
    );
}

#[test]
fn tokens_are_issued_and_revoked_while_the_server_serves_and_it_sees_them_at_once() {
    on_every_store(tokens_while_serving);
}

fn tokens_while_serving(dir: &Path, backend: &Backend) {
    let (server, [ana]) = serving(dir, backend, ["ana"], &[]);

    // Issued and listed beside the running server, which holds the master
    // catalogue's writer lock.
    let ben = backend.cmd(&["token", "add", "ben"]);
    assert_eq!(ben.len(), 64, "{ben}");
    let listed = backend.cmd(&["token", "list"]);
    let names: Vec<&str> = listed
        .lines()
        .map(|l| l.split('\t').next().unwrap())
        .collect();
    assert_eq!(names, ["ana", "ben"], "{listed}");

    // The running server takes Ben's new token: his photos reach it, and
    // Ana, who has had hers since before the start, receives them.
    let pipeline = pipeline();
    let mut ben_cat = Catalogue::create(dir.join("ben")).unwrap();
    import_all(
        &mut ben_cat,
        &pipeline,
        &labelled(&dir.join("photos"), &[0, 1]),
    );
    let report = run_sync(&mut ben_cat, &server.url, &ben, "ben");
    assert!(report.pushed > 0, "{report:?}");
    let mut ana_cat = Catalogue::create(dir.join("ana")).unwrap();
    run_sync(&mut ana_cat, &server.url, &ana, "ana");
    assert_eq!(ana_cat.stats().unwrap().photos, 6);

    // Revoked while it serves: refused from the next request on.
    let out = backend.cmd(&["token", "revoke", "ben"]);
    assert!(out.contains("ben"), "{out}");
    refused(&mut ben_cat, &server.url, &ben, "ben");
    let listed = backend.cmd(&["token", "list"]);
    assert!(!listed.contains("ben"), "{listed}");
    // Revoking someone without a token says so and fails.
    let out = Command::new(BIN)
        .args(["token", "revoke", "cleo"])
        .args(backend.args())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("cleo") && err.contains("no token"),
        "{err}"
    );

    // Replacing Ana's token refuses the old one at once; the new one works.
    let ana_new = backend.cmd(&["token", "add", "ana"]);
    assert_ne!(ana_new, ana);
    refused(&mut ana_cat, &server.url, &ana, "ana");
    run_sync(&mut ana_cat, &server.url, &ana_new, "ana");

    // Ben's pushes stay the server's, whoever holds a token now.
    let mut cleo_cat = Catalogue::create(dir.join("cleo")).unwrap();
    run_sync(&mut cleo_cat, &server.url, &ana_new, "cleo");
    assert_eq!(cleo_cat.stats().unwrap().photos, 6);
}
