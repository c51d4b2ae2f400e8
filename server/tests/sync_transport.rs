//! The transport between laptops and a real `whaleid-server` on loopback:
//! a download cut midway by a proxy that hangs up, HTTPS with a team CA
//! (and an unknown certificate refused), and original photos in checked
//! chunks that resume after a cut.
//!
//! Catalogues are made with the tiny test pack through real ONNX Runtime
//! and SQLite and synced with the engine's client (what `whaleid sync`
//! runs); every laptop must end with the sender's state, nothing lost or
//! doubled.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use support::{on_every_store, run_sync, sync_via, Backend, Server, BIN};
use whaleid::catalogue::Catalogue;
use whaleid::sync::client::Remote;
use whaleid::sync::state::canonical;
use whaleid::CancelToken;
use whaleid_testkit::{self as kit, import_all, labelled, pipeline};

/// A proxy in front of the server that forwards each connection's request
/// whole but only the first `cut` bytes of the reply, then hangs up: a
/// connection that drops mid-download.
fn cutting_proxy(server: &str, cut: usize) -> String {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let upstream = server.trim_start_matches("http://").to_string();
    std::thread::spawn(move || {
        for client in listener.incoming() {
            let Ok(mut client) = client else { break };
            let upstream = upstream.clone();
            std::thread::spawn(move || {
                let Ok(mut server) = std::net::TcpStream::connect(&upstream) else {
                    return;
                };
                let mut to_server = client.try_clone().unwrap();
                let mut from_client = server.try_clone().unwrap();
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut to_server, &mut from_client);
                });
                let mut sent = 0;
                let mut buf = [0u8; 8192];
                while sent < cut {
                    let n = match server.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => n.min(cut - sent),
                    };
                    if client.write_all(&buf[..n]).is_err() {
                        break;
                    }
                    sent += n;
                }
                let _ = client.shutdown(std::net::Shutdown::Both);
            });
        }
    });
    format!("http://{addr}")
}

#[test]
fn a_download_cut_midway_is_finished_by_the_next_sync_with_nothing_lost_or_doubled() {
    let dir = tempfile::tempdir().unwrap();
    let backend = Backend::Sqlite(dir.path().join("server"));
    let token = backend.cmd(&["token", "add", "ana"]);
    let server = Server::start(&backend, &[]);
    let pipeline = pipeline();
    let mut ana = Catalogue::create(dir.path().join("ana")).unwrap();
    import_all(
        &mut ana,
        &pipeline,
        &labelled(&dir.path().join("photos"), &[0, 1, 2]),
    );
    // Thumbnails, as a survey ingest writes them (a labelled import does not).
    let db = kit::sql(&ana);
    let mut stmt = db
        .prepare("SELECT sha256, original_path FROM photos")
        .unwrap();
    let photos_a: Vec<(String, String)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    drop(stmt);
    for (sha, path) in &photos_a {
        let image = whaleid::photo::Picture::from_image(path, image::open(path).unwrap().to_rgb8());
        let thumb = ana
            .media_dir()
            .join(whaleid::ingest::media::thumb_file(sha));
        std::fs::create_dir_all(thumb.parent().unwrap()).unwrap();
        whaleid::ingest::media::save_thumbnail(&image, &thumb).unwrap();
    }
    run_sync(&mut ana, &server.url, &token, "ana");

    // Ben's first pull loses the connection 3 kB into the reply.
    let mut ben = Catalogue::create(dir.path().join("ben")).unwrap();
    let proxy = cutting_proxy(&server.url, 3_000);
    let err = sync_via(&mut ben, &Remote::new(&proxy, &token).unwrap(), "ben")
        .unwrap_err()
        .to_string();
    assert!(err.contains("sync server"), "{err}");
    let photos = |c: &Catalogue| -> i64 {
        kit::sql(c)
            .query_row("SELECT count(*) FROM photos", [], |r| r.get(0))
            .unwrap()
    };
    assert_eq!(photos(&ben), 0, "a batch half received is not applied");
    // The next sync, on a good connection, gets everything once.
    let done = run_sync(&mut ben, &server.url, &token, "ben");
    assert!(done.pulled > 0 && done.media_missing == 0, "{done:?}");
    assert_eq!(photos(&ben), 9);
    assert_eq!(canonical(&ben).unwrap(), canonical(&ana).unwrap());
    // Thumbnails came with the photos, byte for byte Ana's.
    for (sha, _) in &photos_a {
        let file = whaleid::ingest::media::thumb_file(sha);
        let theirs = std::fs::read(ana.media_dir().join(&file)).unwrap();
        assert_eq!(std::fs::read(ben.media_dir().join(&file)).unwrap(), theirs);
    }
    // Nine thumbnails, and the crops (equal crops are one file).
    assert!(done.media_fetched > 9, "crops and thumbnails: {done:?}");
    let again = run_sync(&mut ben, &server.url, &token, "ben");
    assert_eq!((again.pulled, again.applied), (0, 0));
}

/// A team CA and a server certificate it signed for 127.0.0.1 and
/// localhost, as PEM files in `dir`: `(ca, cert, key)`.
fn team_ca(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
    std::fs::create_dir_all(dir).unwrap();
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "WhaleID test team CA");
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()])
        .unwrap()
        .signed_by(&key, &issuer)
        .unwrap();
    let paths = (
        dir.join("ca.pem"),
        dir.join("cert.pem"),
        dir.join("key.pem"),
    );
    std::fs::write(&paths.0, ca_cert.pem()).unwrap();
    std::fs::write(&paths.1, cert.pem()).unwrap();
    std::fs::write(&paths.2, key.serialize_pem()).unwrap();
    paths
}

#[test]
fn https_with_the_team_ca_syncs_and_an_unknown_certificate_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (ca, cert, key) = team_ca(&dir.path().join("tls"));
    let backend = Backend::Sqlite(dir.path().join("server"));
    let token_a = backend.cmd(&["token", "add", "ana"]);
    let token_b = backend.cmd(&["token", "add", "ben"]);

    // A certificate file that holds no certificate stops the server at
    // start, naming the file.
    let out = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(backend.args())
        .arg("--tls-cert")
        .arg(&key)
        .arg("--tls-key")
        .arg(&key)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("key.pem"), "{stderr}");

    let server = Server::start(
        &backend,
        &[
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
        ],
    );
    assert!(
        server.url.starts_with("https://127.0.0.1:"),
        "{}",
        server.url
    );

    let pipeline = pipeline();
    let mut ana = Catalogue::create(dir.path().join("ana")).unwrap();
    import_all(
        &mut ana,
        &pipeline,
        &labelled(&dir.path().join("photos-a"), &[1, 2]),
    );

    // Trusting only the public CAs, the laptop refuses the team's
    // certificate, says why, and sends nothing.
    let err = sync_via(
        &mut ana,
        &Remote::new(&server.url, &token_a).unwrap(),
        "ana",
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("not trusted") && err.contains("UnknownIssuer") && err.contains("--ca-cert"),
        "{err}"
    );
    // Plain HTTP to the HTTPS port gets no answer.
    let plain = server.url.replace("https://", "http://");
    if let Ok(resp) = ureq::get(&format!("{plain}/v1/health")).call() {
        panic!("plain HTTP was answered: {}", resp.status());
    }
    // A CA file without a certificate in it is refused by name.
    let err = Remote::new(&server.url, &token_a)
        .unwrap()
        .trusting(&key)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("key.pem") && err.contains("no certificate"),
        "{err}"
    );

    // Trusting the team CA, Ana's catalogue reaches Ben, crops included.
    let trusted = |token: &str| {
        Remote::new(&server.url, token)
            .unwrap()
            .trusting(&ca)
            .unwrap()
    };
    let sent = sync_via(&mut ana, &trusted(&token_a), "ana").unwrap();
    assert!(sent.pushed > 0 && sent.refused.is_empty(), "{sent:?}");
    let mut ben = Catalogue::create(dir.path().join("ben")).unwrap();
    let got = sync_via(&mut ben, &trusted(&token_b), "ben").unwrap();
    assert_eq!(got.pulled, sent.pushed);
    assert_eq!(canonical(&ben).unwrap(), canonical(&ana).unwrap());
    let missing = whaleid::sync::media::missing_crops(&ben).unwrap();
    assert!(missing.is_empty(), "{missing:?}");
}

#[test]
fn original_photos_travel_in_checked_chunks_and_resume_after_a_cut() {
    on_every_store(originals);
}

fn originals(dir: &Path, backend: &Backend) {
    use whaleid::sync::photos::sync_photos;
    // Small chunks, so these small photos take several.
    const CH: usize = 256;
    fn photos_via(
        cat: &mut Catalogue,
        remote: &Remote,
    ) -> whaleid::Result<whaleid::sync::photos::PhotoReport> {
        sync_photos(cat, remote, CH, &CancelToken::new(), &mut |_| {})
    }
    std::fs::create_dir_all(dir).unwrap();
    let token_a = backend.cmd(&["token", "add", "ana"]);
    let token_b = backend.cmd(&["token", "add", "ben"]);
    let server = Server::start(backend, &[]);
    let pipeline = pipeline();
    let mut ana = Catalogue::create(dir.join("ana")).unwrap();
    import_all(&mut ana, &pipeline, &labelled(&dir.join("photos"), &[5, 6]));
    run_sync(&mut ana, &server.url, &token_a, "ana");
    let originals: Vec<(String, Vec<u8>)> = {
        let db = kit::sql(&ana);
        let mut stmt = db
            .prepare("SELECT sha256, original_path FROM photos ORDER BY id")
            .unwrap();
        let rows = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get::<_, String>(1)?)))
            .unwrap();
        rows.map(|r| r.unwrap())
            .map(|(sha, path)| (sha, std::fs::read(path).unwrap()))
            .collect()
    };
    let total: u64 = originals.iter().map(|(_, b)| b.len() as u64).sum();
    let remote_a = Remote::new(&server.url, &token_a).unwrap();
    let (sha, bytes) = &originals[0];
    let size = bytes.len() as u64;
    assert!(bytes.len() > 3 * CH, "{} bytes", bytes.len());

    // An upload cut after two chunks.
    let status = remote_a.upload_status(sha).unwrap().unwrap();
    assert_eq!((status.received, status.complete), (0, false));
    for k in 0..2 {
        let at = k * CH;
        let st = remote_a
            .put_photo_chunk(sha, at as u64, size, &bytes[at..at + CH])
            .unwrap()
            .unwrap();
        assert_eq!(st.received, (at + CH) as u64);
    }
    // Bad chunks are refused with the reason, and nothing is stored.
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let put = |sha: &str, offset: usize, size: u64, chunk: &[u8], claim: &str| {
        let mut resp = agent
            .put(&format!("{}/v1/photos/{sha}/upload", server.url))
            .query("offset", offset.to_string())
            .query("size", size.to_string())
            .header("Authorization", &format!("Bearer {token_a}"))
            .header("X-Chunk-Sha256", claim)
            .send(chunk)
            .unwrap();
        let status = resp.status().as_u16();
        (status, resp.body_mut().read_to_string().unwrap())
    };
    let hash = |b: &[u8]| hex::encode(<sha2::Sha256 as sha2::Digest>::digest(b));
    let next = &bytes[2 * CH..3 * CH];
    let (status, body) = put(sha, 2 * CH, size, next, &"00".repeat(32));
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("nothing stored"), "{body}");
    let (status, body) = put(sha, 2 * CH, size, next, "");
    assert_eq!(status, 422, "{body}");
    let (status, body) = put(sha, 2 * CH, 2 * CH as u64 + 1, next, &hash(next));
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("past the photo"), "{body}");
    let (status, body) = put(&"ab".repeat(32), 0, size, next, &hash(next));
    assert_eq!(status, 404, "{body}");
    let (status, body) = put("../../etc/passwd", 0, size, next, &hash(next));
    assert!(status == 400 || status == 404, "{status} {body}");
    // A chunk at the wrong place: the client hears where the upload is.
    assert_eq!(
        remote_a
            .put_photo_chunk(sha, 0, size, &bytes[..CH])
            .unwrap(),
        None
    );
    let status = remote_a.upload_status(sha).unwrap().unwrap();
    assert_eq!((status.received, status.complete), (2 * CH as u64, false));
    // A whole upload whose bytes are not the photo's is discarded.
    let (other, other_bytes) = &originals[1];
    let fake = vec![7u8; other_bytes.len()];
    let (status, body) = put(other, 0, fake.len() as u64, &fake, &hash(&fake));
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("discarded"), "{body}");
    let status = remote_a.upload_status(other).unwrap().unwrap();
    assert_eq!((status.received, status.complete), (0, false));
    assert_eq!(remote_a.get_photo_chunk(other, 0, CH).unwrap(), None);

    // The sync sends every original, resuming the cut one.
    let sent = photos_via(&mut ana, &remote_a).unwrap();
    assert_eq!(sent.sent, originals.len(), "{sent:?}");
    assert_eq!(sent.bytes_sent, total - 2 * CH as u64);
    assert!(sent.skipped.is_empty(), "{:?}", sent.skipped);
    let again = photos_via(&mut ana, &remote_a).unwrap();
    assert_eq!((again.sent, again.bytes_sent), (0, 0));
    // Which photos the server holds whole, asked a batch at a time.
    let unknown = "ab".repeat(32);
    assert_eq!(
        remote_a
            .photos_held(&[unknown.clone(), sha.clone()])
            .unwrap(),
        vec![sha.clone()]
    );
    let err = remote_a
        .photos_held(&["../../etc/passwd".to_string()])
        .unwrap_err()
        .to_string();
    assert!(err.contains("400"), "{err}");

    // Ben receives the records, then fetches the originals; his first
    // download loses the connection partway.
    let mut ben = Catalogue::create(dir.join("ben")).unwrap();
    run_sync(&mut ben, &server.url, &token_b, "ben");
    let proxy = cutting_proxy(&server.url, 3 * CH + 1_000);
    let err = photos_via(&mut ben, &Remote::new(&proxy, &token_b).unwrap())
        .unwrap_err()
        .to_string();
    assert!(err.contains("sync server"), "{err}");
    let partial: u64 = std::fs::read_dir(ben.media_dir().join("originals"))
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .sum();
    assert!(partial > 0);
    let got = photos_via(&mut ben, &Remote::new(&server.url, &token_b).unwrap()).unwrap();
    assert_eq!(got.fetched, originals.len(), "{got:?}");
    assert_eq!(got.bytes_fetched, total - partial);
    // Every photo now opens from Ben's catalogue, byte for byte Ana's.
    for (sha, bytes) in &originals {
        let path: String = kit::sql(&ben)
            .query_row(
                "SELECT original_path FROM photos WHERE sha256 = ?1",
                [sha],
                |r| r.get(0),
            )
            .unwrap();
        assert!(path.ends_with(&format!("{sha}.png")), "{path}");
        assert_eq!(&std::fs::read(&path).unwrap(), bytes);
    }
    let parts = std::fs::read_dir(ben.media_dir().join("originals"))
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().extension().unwrap() == "part")
        .count();
    assert_eq!(parts, 0);
    let again = photos_via(&mut ben, &Remote::new(&server.url, &token_b).unwrap()).unwrap();
    assert_eq!((again.fetched, again.sent, again.bytes_sent), (0, 0, 0));
    // Ben's records of the photos are not changes of his to send.
    assert_eq!(whaleid::sync::log::pending(&ben).unwrap(), 0);
}
