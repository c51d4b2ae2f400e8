//! An individual's page, as `individual_get` gives it to the UI, names the
//! server account that pushed a received decision or merge beside the
//! author it claims (issue 19 item 5); what the laptop did itself carries
//! no account. Laptops sync with the engine's client through a real sync
//! server in this process; the app opens the receiving one.

mod support;

use serde_json::{json, Value};
use whaleid::catalogue::Catalogue;
use whaleid::sync::client::{sync, Remote};
use whaleid::CancelToken;
use whaleid_testkit::{self as kit, import_all, labelled};

use support::{app, invoke};

#[test]
fn individual_get_names_the_account_beside_a_received_author() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = whaleid_server::store::SqliteStore::open(&dir.path().join("server")).unwrap();
    let (mallory, ben) = (
        store.add_user("mallory").unwrap(),
        store.add_user("ben").unwrap(),
    );
    let url = whaleid_server::spawn_local(store, 1 << 20).unwrap();
    let run = |cat: &mut Catalogue, token: &str, author: &str| {
        let remote = Remote::new(&url, token).unwrap();
        let report = sync(cat, &remote, author, &CancelToken::new(), &mut |_, _| {}).unwrap();
        assert!(report.refused.is_empty(), "{report:?}");
    };
    let pipeline = kit::pipeline();

    // Mallory's token on a laptop that calls itself Kim Lee: W1 and W2
    // imported, W1 merged into W2.
    let mut kim = Catalogue::create(dir.path().join("kim")).unwrap();
    import_all(
        &mut kim,
        &pipeline,
        &labelled(&dir.path().join("kp"), &[1, 2]),
    );
    kim.merge("W1", "W2", Some("Kim Lee")).unwrap();
    run(&mut kim, &mallory, "Kim Lee");
    // Ben's laptop: his own W4, then Kim's work.
    let ben_dir = dir.path().join("ben");
    let mut bens = Catalogue::create(&ben_dir).unwrap();
    import_all(
        &mut bens,
        &pipeline,
        &labelled(&dir.path().join("bp"), &[4]),
    );
    run(&mut bens, &ben, "Ben");
    let (w2, w4) = (
        bens.individual("W2").unwrap().id,
        bens.individual("W4").unwrap().id,
    );
    drop(bens);

    let (_app, window) = app(&dir.path().join("config"));
    invoke(&window, "catalogue_open", json!({ "path": ben_dir })).unwrap();
    let page = invoke(&window, "individual_get", json!({ "id": w2 })).unwrap();
    let sightings = page["sightings"].as_array().unwrap();
    assert_eq!(sightings.len(), 6, "{page}");
    for s in sightings {
        assert_eq!(s["decidedBy"], "import", "{s}");
        assert_eq!(s["decidedByAccount"], "mallory", "{s}");
    }
    let events = page["events"].as_array().unwrap();
    assert_eq!(events.len(), 1, "{page}");
    assert_eq!(events[0]["by"], "Kim Lee");
    assert_eq!(events[0]["byAccount"], "mallory");

    // Ben's own import: no account at all.
    let own = invoke(&window, "individual_get", json!({ "id": w4 })).unwrap();
    let sightings = own["sightings"].as_array().unwrap();
    assert_eq!(sightings.len(), 3, "{own}");
    for s in sightings {
        assert_eq!(s["decidedBy"], "import", "{s}");
        assert_eq!(s.get("decidedByAccount"), None::<&Value>, "{s}");
    }
}
