//! Photo-ID attributes set on two laptops syncing through a real
//! `whaleid-server` process (issue 16): per detection and per attribute the
//! latest setting wins everywhere, and settings of different attributes
//! of one detection made at the same time on two laptops are both kept.

mod support;

use std::path::Path;

use support::{on_every_store, run_sync, serving, Backend};
use whaleid::catalogue::attributes::{Attribute, Edit, Part, Quality, Side};
use whaleid::catalogue::Catalogue;
use whaleid::sync::state::canonical;
use whaleid_testkit::{self as kit, import_all, labelled, pipeline};

#[test]
fn attributes_set_on_two_laptops_converge_through_the_server() {
    on_every_store(converge);
}

fn converge(dir: &Path, backend: &Backend) {
    let (server, [ana_token, ben_token]) = serving(dir, backend, ["ana", "ben"], &[]);
    let url = server.url.clone();
    let pipeline = pipeline();
    let photos = labelled(&dir.join("photos"), &[1, 2]);
    let mut ana = Catalogue::create(dir.join("ana")).unwrap();
    import_all(&mut ana, &pipeline, &photos);
    let mut ben = Catalogue::create(dir.join("ben")).unwrap();
    import_all(&mut ben, &pipeline, &photos);
    let sync_all = |ana: &mut Catalogue, ben: &mut Catalogue| {
        run_sync(ana, &url, &ana_token, "ana");
        run_sync(ben, &url, &ben_token, "ben");
        run_sync(ana, &url, &ana_token, "ana");
    };
    sync_all(&mut ana, &mut ben);
    let (a, b) = (
        kit::detections_by_photo(&ana)[0],
        kit::detections_by_photo(&ben)[0],
    );
    let (a2, b2) = (
        kit::detections_by_photo(&ana)[1],
        kit::detections_by_photo(&ben)[1],
    );

    // Offline: both grade the first detection's quality, Ben later; Ana
    // sets its side and Ben its part. On the second detection, Ana sets
    // the quality and Ben the side, within the same moment.
    ana.set_attributes(
        a,
        &[Edit::Quality(Quality::Q3), Edit::Side(Side::Left)],
        "ana",
    )
    .unwrap();
    ana.set_attributes(a2, &[Edit::Quality(Quality::Q2)], "ana")
        .unwrap();
    ben.set_attributes(b2, &[Edit::Side(Side::Right)], "ben")
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(20));
    ben.set_attributes(
        b,
        &[Edit::Quality(Quality::Q1), Edit::Part(Part::Fluke)],
        "ben",
    )
    .unwrap();

    sync_all(&mut ana, &mut ben);
    for (name, cat, d, d2) in [("ana", &ana, a, a2), ("ben", &ben, b, b2)] {
        let first = cat.attributes(d).unwrap();
        assert_eq!(first.summary(), "Q1 - left fluke", "{name}: {first:?}");
        assert_eq!(first.quality.unwrap().by.as_deref(), Some("ben"));
        assert_eq!(first.side.unwrap().by.as_deref(), Some("ana"));
        let second = cat.attributes(d2).unwrap();
        assert_eq!(second.summary(), "Q2 - right -", "{name}: {second:?}");
    }
    assert_eq!(canonical(&ana).unwrap(), canonical(&ben).unwrap());

    // Ana clears the quality Ben set: the later clearing wins on both.
    ana.set_attributes(a, &[Edit::Clear(Attribute::Quality)], "ana")
        .unwrap();
    sync_all(&mut ana, &mut ben);
    assert!(ben.attributes(b).unwrap().quality.is_none());
    assert_eq!(canonical(&ana).unwrap(), canonical(&ben).unwrap());
    drop(server);
}
