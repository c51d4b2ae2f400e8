//! Adopting a trained version safely (issue 19, items 6 and 12): a version
//! string cannot make adoption write outside the catalogue, a Ctrl-C that
//! lands during adoption either stops it (nothing adopted, nothing left on
//! disk) or, once committed, is reported as having come too late, and what a
//! killed adoption leaves in `packs/` is cleaned at the next start.

use whaleid::catalogue::{keys, Catalogue};
use whaleid::packs::Pack;
use whaleid::train::finetune::{finetune, FinetuneOptions, Finetuned, Phase, Progress};
use whaleid::train::job::{self, JobOptions, JobOutcome};
use whaleid::train::versions::{adopt, PACKS_DIR};
use whaleid::train::{ArcFaceConfig, FitConfig};
use whaleid::CancelToken;
use whaleid_testkit::{self as kit, imported, names_in, session};

fn options() -> FinetuneOptions {
    FinetuneOptions {
        fit: FitConfig {
            epochs: 2,
            batch_size: 8,
            seed: 7,
            patience: None,
            arcface: ArcFaceConfig::default(),
            ..FitConfig::default()
        },
        val_individual_share: 0.34,
        // Adopt whatever the gain: the mechanics are under test.
        min_gain: -1.0,
        ..FinetuneOptions::default()
    }
}

fn job_options(adopt: bool) -> JobOptions {
    JobOptions {
        finetune: options(),
        session: session(),
        device: whaleid::train::TrainDevice::cpu().device,
        adopt,
        actor: None,
    }
}

fn trained(cat: &Catalogue, pack: &Pack) -> Finetuned {
    finetune(
        cat,
        pack,
        &options(),
        &whaleid::train::TrainDevice::cpu().device,
        &CancelToken::new(),
        &mut |_| {},
    )
    .unwrap()
}

/// An adopting run on `cat` with a Ctrl-C as soon as it reports `phase`.
fn run_with_ctrl_c_at(
    cat: &mut Catalogue,
    pack: &Pack,
    phase: Phase,
) -> whaleid::Result<JobOutcome> {
    let cancel = CancelToken::new();
    job::run(cat, pack, &job_options(true), &cancel, &mut |p| {
        if matches!(p, Progress::Phase { phase: now, .. } if now == phase) {
            cancel.cancel();
        }
    })
}

fn active_version(cat: &Catalogue) -> String {
    cat.setting(keys::PACK_VERSION).unwrap().unwrap()
}

#[test]
fn an_escaping_version_makes_adoption_refuse_and_write_nothing_outside() {
    let dir = tempfile::tempdir().unwrap();
    let (pipeline, mut cat) = imported(dir.path());
    let mut pack = pipeline.pack().clone();
    let trained = trained(&cat, &pack);
    // The version of the issue, with fewer `..` so that a regression lands
    // in this test's own folder (`<tmp>/cat/packs/tiny-1.0.0/../../..`).
    let evil = "1.0.0/../../../elsewhere/ESCAPED";
    pack.manifest.pack.version = evil.into();
    cat.set_setting(keys::PACK_VERSION, evil).unwrap();
    kit::sql(&cat)
        .execute("UPDATE embeddings SET pack_version = ?1", [evil])
        .unwrap();
    let err = adopt(&mut cat, &pack, &trained, None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("pack.version") && err.contains(evil), "{err}");
    assert!(!dir.path().join("elsewhere").exists(), "written outside");
    assert_eq!(names_in(&cat.root().join(PACKS_DIR)), Vec::<String>::new());
    assert!(cat.pack_versions("tiny").unwrap().is_empty());
}

#[test]
fn a_cancel_that_lands_during_adoption_adopts_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (pipeline, mut cat) = imported(dir.path());
    let pack = pipeline.pack().clone();
    // Ctrl-C just as adoption starts.
    let err = run_with_ctrl_c_at(&mut cat, &pack, Phase::Adopting).unwrap_err();
    assert!(matches!(err, whaleid::Error::Cancelled), "{err:?}");
    assert_eq!(active_version(&cat), "0.1.0");
    assert!(cat.pack_versions("tiny").unwrap().is_empty());
    assert_eq!(
        names_in(&cat.root().join(PACKS_DIR)),
        Vec::<String>::new(),
        "the written version is removed"
    );
    assert!(cat.check().unwrap().is_empty());
}

#[test]
fn a_cancel_after_adoption_committed_is_reported_as_adopted() {
    let dir = tempfile::tempdir().unwrap();
    let (pipeline, mut cat) = imported(dir.path());
    let pack = pipeline.pack().clone();
    // Ctrl-C once the switch is committed, while the index is rebuilt.
    let outcome = run_with_ctrl_c_at(&mut cat, &pack, Phase::Indexing).unwrap();
    let adopted = outcome.adopted.as_ref().expect("adopted");
    assert!(outcome.cancelled_after_adoption);
    assert!(outcome.refreshed.is_some(), "the index matches the version");
    assert_eq!(active_version(&cat), adopted.version);
    assert_eq!(cat.pack_versions("tiny").unwrap().len(), 2);
    assert!(cat.check().unwrap().is_empty());
}

/// What a kill leaves in `packs/`: a staging folder half written, and a
/// complete version renamed into place but never recorded.
fn leave_crash_leftovers(cat: &Catalogue) -> (std::path::PathBuf, std::path::PathBuf) {
    let packs = cat.root().join(PACKS_DIR);
    let staging = packs.join(".tiny-0.1.0+ft.1.partial");
    std::fs::create_dir_all(&staging).unwrap();
    std::fs::write(staging.join("a.neck.safetensors"), b"half").unwrap();
    let unrecorded = packs.join("tiny-0.1.0+ft.1");
    std::fs::create_dir_all(&unrecorded).unwrap();
    let copy = kit::copy_pack("tiny");
    for entry in std::fs::read_dir(copy.path()).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), unrecorded.join(entry.file_name())).unwrap();
    }
    kit::edit_manifest(&unrecorded, |t| {
        t.replace("version = \"0.1.0\"", "version = \"0.1.0+ft.1\"")
    });
    (staging, unrecorded)
}

#[test]
fn leftovers_of_a_killed_adoption_are_cleaned_by_the_next_adoption() {
    let dir = tempfile::tempdir().unwrap();
    let (pipeline, mut cat) = imported(dir.path());
    let pack = pipeline.pack().clone();
    let (staging, _) = leave_crash_leftovers(&cat);
    // Someone's own folder beside them is not WhaleID's to remove.
    let own = cat.root().join(PACKS_DIR).join("notes");
    std::fs::create_dir_all(&own).unwrap();

    let trained = trained(&cat, &pack);
    let adopted = adopt(&mut cat, &pack, &trained, None).unwrap();
    // The unrecorded number is free again: the leftover was removed.
    assert_eq!(adopted.version, "0.1.0+ft.1");
    assert!(!staging.exists());
    assert_eq!(
        names_in(&cat.root().join(PACKS_DIR)),
        ["notes", "tiny-0.1.0+ft.1"]
    );
    let now = Pack::load(&adopted.path).unwrap();
    assert!(
        now.manifest.training.is_some(),
        "the new version, not the leftover"
    );
    // Everything listed loads, and the catalogue is sound.
    let listed = cat.pack_versions("tiny").unwrap();
    assert_eq!(listed.len(), 2);
    for v in &listed {
        Pack::load(&v.path).unwrap();
    }
    assert!(cat.check().unwrap().is_empty());
}

#[test]
fn leftovers_of_a_killed_adoption_are_cleaned_at_the_next_start() {
    let dir = tempfile::tempdir().unwrap();
    let (pipeline, mut cat) = imported(dir.path());
    let pack = pipeline.pack().clone();
    let (staging, unrecorded) = leave_crash_leftovers(&cat);
    // A dry run adopts nothing, but starts by cleaning.
    let outcome = job::run(
        &mut cat,
        &pack,
        &job_options(false),
        &CancelToken::new(),
        &mut |_| {},
    )
    .unwrap();
    assert!(outcome.adopted.is_none());
    assert!(!staging.exists() && !unrecorded.exists());
    assert_eq!(names_in(&cat.root().join(PACKS_DIR)), Vec::<String>::new());
    assert!(cat.pack_versions("tiny").unwrap().is_empty());
    assert_eq!(active_version(&cat), "0.1.0");
}
