//! Encounters edited, split and joined on two laptops syncing through a
//! real `whaleid-server` process (issue 16): per field the latest setting
//! wins, a split on one laptop while the other edits keeps both, and a
//! join reaches the other laptop with every photo.

mod support;

use std::path::Path;

use support::{on_every_store, run_sync, serving, Backend};
use whaleid::catalogue::encounters::{find_encounter, Patch, SplitAt};
use whaleid::catalogue::Catalogue;
use whaleid::sync::state::canonical;
use whaleid_testkit::{self as kit, import_all, labelled, pipeline};

const UUID: &str = "0190f000-0000-7000-8000-00000000e001";

#[test]
fn encounters_edited_split_and_joined_on_two_laptops_converge_through_the_server() {
    on_every_store(converge);
}

/// Six photos a minute apart from 10:00, in the order of their bytes.
fn surveyed(dir: &Path, name: &str) -> Catalogue {
    let mut cat = Catalogue::create(dir.join(name)).unwrap();
    import_all(
        &mut cat,
        &pipeline(),
        &labelled(&dir.join("photos"), &[1, 2]),
    );
    let db = kit::sql(&cat);
    db.execute_batch(
        "UPDATE photos SET taken_at = (SELECT '2024-06-01T10:0' || (count(*) - 1) || ':00'
             FROM photos q WHERE q.sha256 <= photos.sha256)",
    )
    .unwrap();
    cat
}

fn place_of(cat: &Catalogue, uuid: &str) -> Option<String> {
    cat.encounter(find_encounter(cat, uuid).unwrap())
        .unwrap()
        .place
}

fn converge(dir: &Path, backend: &Backend) {
    let (server, [ana_token, ben_token]) = serving(dir, backend, ["ana", "ben"], &[]);
    let url = server.url.clone();
    let mut ana = surveyed(dir, "ana");
    let mut ben = surveyed(dir, "ben");
    // Ana's survey grouped the photos into one encounter, as an ingest does.
    let db = kit::sql(&ana);
    db.execute(
        "INSERT INTO encounters (uuid, started_at, ended_at) VALUES (?1, '2024-06-01T10:00:00', '2024-06-01T10:05:00')",
        [UUID],
    )
    .unwrap();
    db.execute("UPDATE photos SET encounter_id = last_insert_rowid()", [])
        .unwrap();
    let sync_all = |ana: &mut Catalogue, ben: &mut Catalogue| {
        run_sync(ana, &url, &ana_token, "ana");
        run_sync(ben, &url, &ben_token, "ben");
        run_sync(ana, &url, &ana_token, "ana");
    };
    sync_all(&mut ana, &mut ben);
    let on_ben = find_encounter(&ben, UUID).unwrap();
    assert_eq!(ben.encounter(on_ben).unwrap().photos, 6);

    // Offline: Ana splits at 10:03 and names the place; Ben, later, names
    // the place otherwise and sets the group size of the same encounter.
    let e = find_encounter(&ana, UUID).unwrap();
    let split = ana
        .split_encounter(e, &SplitAt::Time("2024-06-01T10:03".into()), "ana")
        .unwrap();
    let place = |p: &str| Patch {
        place: Some(Some(p.into())),
        ..Patch::default()
    };
    ana.edit_encounter(e, &place("Reef"), "ana").unwrap();
    run_sync(&mut ana, &url, &ana_token, "ana");
    std::thread::sleep(std::time::Duration::from_millis(20));
    let group = Patch {
        group_best: Some(Some(8)),
        group_max: Some(Some(10)),
        ..place("Russell")
    };
    ben.edit_encounter(on_ben, &group, "ben").unwrap();
    sync_all(&mut ana, &mut ben);
    for (name, cat) in [("ana", &ana), ("ben", &ben)] {
        let old = cat.encounter(find_encounter(cat, UUID).unwrap()).unwrap();
        assert_eq!(old.place.as_deref(), Some("Russell"), "{name}");
        assert_eq!((old.group.best, old.group.max), (Some(8), Some(10)));
        assert_eq!(old.photos, 3, "{name}");
        let new = cat
            .encounter(find_encounter(cat, &split.encounter.uuid).unwrap())
            .unwrap();
        assert_eq!(new.photos, 3, "{name}");
        assert_eq!(new.place, None, "{name}: copied before any place");
    }
    assert_eq!(canonical(&ana).unwrap(), canonical(&ben).unwrap());

    // Ben joins the split-off encounter back; Ana names its place first.
    let new_on_ana = find_encounter(&ana, &split.encounter.uuid).unwrap();
    ana.edit_encounter(new_on_ana, &place("Outer reef"), "ana")
        .unwrap();
    run_sync(&mut ana, &url, &ana_token, "ana");
    run_sync(&mut ben, &url, &ben_token, "ben");
    let new_on_ben = find_encounter(&ben, &split.encounter.uuid).unwrap();
    ben.join_encounters(on_ben, &[new_on_ben], "ben").unwrap();
    sync_all(&mut ana, &mut ben);
    for cat in [&ana, &ben] {
        let listed = cat.encounters(None, None).unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!((listed[0].uuid.as_str(), listed[0].photos), (UUID, 6));
        assert_eq!(
            place_of(cat, &split.encounter.uuid).as_deref(),
            Some("Outer reef")
        );
    }
    assert_eq!(canonical(&ana).unwrap(), canonical(&ben).unwrap());
    drop(server);
}
