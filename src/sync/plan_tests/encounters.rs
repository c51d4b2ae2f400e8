//! Encounters between laptops: per field and per photo the latest wins in
//! every order, a split on one laptop while the other edits keeps both, and
//! bad settings are refused with the reason.

use std::collections::BTreeMap;

use super::*;

impl Laptop {
    fn encounter_field(&mut self, encounter: &str, field: &str, value: Option<&str>) -> Op {
        self.op(Change::EncounterSet {
            encounter: encounter.into(),
            field: field.into(),
            value: value.map(String::from),
        })
    }

    fn move_photo(&mut self, photo: &str, encounter: Option<&str>) -> Op {
        self.op(Change::PhotoEncounter {
            photo: photo.into(),
            encounter: encounter.map(String::from),
        })
    }
}

/// Each field in force of `encounter`.
fn fields_of(s: &LocalState, encounter: &str) -> BTreeMap<String, Option<String>> {
    s.encounter_fields
        .iter()
        .filter(|((e, _), _)| e == encounter)
        .map(|((_, f), set)| (f.clone(), set.value.clone()))
        .collect()
}

fn encounter_of(s: &LocalState, photo: &str) -> Option<String> {
    s.photo_encounters.get(photo).and_then(|p| p.value.clone())
}

/// Two laptops editing one encounter: per field the later setting wins in
/// both orders, different fields are both kept, and an older setting
/// arriving late is recorded, not applied.
#[test]
fn the_latest_setting_of_each_encounter_field_wins_and_different_fields_are_both_kept() {
    let (mut a, mut b) = (Laptop::new(1, "ana"), Laptop::new(2, "ben"));
    let enc = a.uuid();
    let ana = [
        a.encounter_field(&enc, "place", Some("Bay of Islands")),
        a.encounter_field(&enc, "group", Some("12,10,15")),
    ];
    b.wall = a.wall + 10;
    let ben = [
        b.encounter_field(&enc, "place", Some("Russell")),
        b.encounter_field(&enc, "observers", Some("Ben; Cas")),
    ];
    let base = LocalState::default();
    let ((second, one), (_, two)) = both_orders(&base, &ana, &ben);
    let want = BTreeMap::from([
        ("group".to_string(), Some("12,10,15".to_string())),
        ("observers".to_string(), Some("Ben; Cas".to_string())),
        ("place".to_string(), Some("Russell".to_string())),
    ]);
    assert_eq!(fields_of(&one, &enc), want);
    assert_eq!(fields_of(&two, &enc), want);
    assert!(second
        .actions
        .iter()
        .all(|x| matches!(x, Action::SetEncounterField { .. })));
    let (_, ben_first) = apply(&base, &ben);
    let (late, _) = apply(&ben_first, &ana[..1]);
    assert!(
        matches!(late.actions[..], [Action::StaleEncounter { .. }]),
        "{late:?}"
    );
}

/// Ana splits an encounter (a new one with the fields copied, two photos
/// moved to it) while Ben edits the old one's notes and moves one of those
/// photos back later: every order ends the same, the copy keeps the fields
/// as copied, the old encounter has Ben's notes, and each photo is where
/// its latest move put it.
#[test]
fn a_split_on_one_laptop_while_the_other_edits_converges() {
    let (mut a, mut b) = (Laptop::new(1, "ana"), Laptop::new(2, "ben"));
    let old = a.uuid();
    let (p1, o1) = a.photo(1);
    let (p2, o2) = a.photo(2);
    let (p3, o3) = a.photo(3);
    let mut setup = vec![o1, o2, o3, a.encounter_field(&old, "place", Some("Reef"))];
    for p in [&p1, &p2, &p3] {
        setup.push(a.move_photo(p, Some(&old)));
    }
    let (_, base) = apply(&LocalState::default(), &setup);
    b.wall = a.wall;
    let new = a.uuid();
    let split = [
        a.encounter_field(&new, "place", Some("Reef")),
        a.move_photo(&p2, Some(&new)),
        a.move_photo(&p3, Some(&new)),
    ];
    b.wall = a.wall + 5;
    let edits = [
        b.encounter_field(&old, "notes", Some("calf seen")),
        b.move_photo(&p3, Some(&old)),
    ];
    let ((_, one), (_, two)) = both_orders(&base, &split, &edits);
    for s in [&one, &two] {
        assert_eq!(encounter_of(s, &p1).as_deref(), Some(old.as_str()));
        assert_eq!(encounter_of(s, &p2).as_deref(), Some(new.as_str()));
        assert_eq!(encounter_of(s, &p3).as_deref(), Some(old.as_str()));
        assert_eq!(fields_of(s, &new)["place"].as_deref(), Some("Reef"));
        assert_eq!(fields_of(s, &old)["notes"].as_deref(), Some("calf seen"));
    }
    assert_eq!(canonical(&one), canonical(&two));
    assert_eq!(encounters_of(&one), encounters_of(&two));
}

/// Every encounter field and photo's encounter in force, for comparing.
fn encounters_of(s: &LocalState) -> String {
    let fields: BTreeMap<_, _> = s
        .encounter_fields
        .iter()
        .map(|(k, v)| (k.clone(), v.value.clone()))
        .collect();
    let photos: BTreeMap<_, _> = s
        .photo_encounters
        .iter()
        .map(|(k, v)| (k.clone(), v.value.clone()))
        .collect();
    format!("{fields:?}\n{photos:?}")
}

/// A move of a photo not held is refused like any operation naming a
/// missing record; a group size out of order, a position out of range or
/// a value not written as stored are refused before anything is planned.
#[test]
fn encounter_settings_naming_missing_photos_or_bad_values_are_refused() {
    let mut a = Laptop::new(1, "ana");
    let enc = a.uuid();
    let missing = a.uuid();
    let ops = [
        a.move_photo(&missing, Some(&enc)),
        a.encounter_field(&enc, "group", Some("20,25,30")),
        a.encounter_field(&enc, "position", Some("95,10")),
        a.encounter_field(&enc, "started_at", Some("2024-05-01 09:00")),
        a.encounter_field(&enc, "mood", Some("calm")),
        a.encounter_field(&enc, "joined_into", Some(&enc.clone())),
    ];
    let (plan, after) = apply(&LocalState::default(), &ops);
    let reasons: Vec<&str> = plan
        .actions
        .iter()
        .filter_map(|x| match x {
            Action::Refuse { reason, .. } => Some(reason.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(reasons.len(), 6, "{plan:?}");
    assert!(reasons[0].contains("not in this catalogue"), "{reasons:?}");
    assert!(reasons[1].contains("minimum"), "{reasons:?}");
    assert!(reasons[2].contains("range"), "{reasons:?}");
    assert!(reasons[3].contains("not written as stored"), "{reasons:?}");
    assert!(reasons[4].contains("mood"), "{reasons:?}");
    assert!(reasons[5].contains("itself"), "{reasons:?}");
    assert!(after.encounter_fields.is_empty() && after.photo_encounters.is_empty());
}
