//! Operations: one change to a catalogue, as laptops and the server
//! exchange them.
//!
//! Every operation has its own UUID (so sending it twice is harmless), the
//! author who made it and a [`Hlc`] timestamp (so every catalogue orders
//! concurrent changes the same way). Records are named by their UUIDs, never
//! by local row ids or file paths: a path from a payload is never used as a
//! file path. [`Op::validate`] checks a payload before anything is stored.

use serde::{Deserialize, Serialize};

use super::hlc::Hlc;

/// The most values an embedding may carry (the largest ensembles are 4608).
pub const MAX_EMBEDDING_DIM: usize = 16_384;
/// The longest individual code, author or other short text.
pub const MAX_TEXT: usize = 200;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Op {
    pub id: String,
    pub hlc: Hlc,
    pub author: String,
    pub change: Change,
}

/// Whether a decision says the detection shows the individual.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Confirmed,
    Rejected,
}

/// Who took a decision (as `identifications.source`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DecisionSource {
    Person,
    Import,
    Model,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Change {
    /// A photo, named by the sha256 of its bytes (the original file itself
    /// travels separately, if at all).
    PhotoAdded {
        photo: String,
        sha256: String,
        width: u32,
        height: u32,
        taken_at: Option<String>,
        latitude: Option<f64>,
        longitude: Option<f64>,
        /// sha256 of the photo's thumbnail (JPEG), which travels separately
        /// (`/v1/media/SHA256`); absent when there is none.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        thumb: Option<String>,
    },
    DetectionAdded {
        detection: String,
        photo: String,
        /// `[x1, y1, x2, y2]` in the photo's pixels.
        bbox: [f32; 4],
        class: String,
        score: Option<f32>,
        /// sha256 of the crop image shown for review, which travels
        /// separately (`/v1/media/SHA256`); absent when there is none.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        crop: Option<String>,
        /// The species given for the detection's survey, when one was.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        species: Option<String>,
        /// Who drew the box by hand; absent for a detector's or an
        /// import's box.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        drawn_by: Option<String>,
        /// The detection this box was moved or resized from.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        replaces: Option<String>,
    },
    /// A box was removed (by a person, or replaced by a moved one): it stays
    /// with its decisions, and every live view skips it.
    DetectionRemoved {
        detection: String,
        /// The box that replaced it, when it was moved or resized.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        replaced_by: Option<String>,
    },
    /// A removed box is live again (its removal was undone).
    DetectionRestored {
        detection: String,
    },
    EmbeddingAdded {
        detection: String,
        pack_name: String,
        pack_version: String,
        /// Sent as base64 of the little-endian `f32` bytes ([`vector_b64`]).
        #[serde(with = "vector_b64")]
        vector: Vec<f32>,
    },
    IndividualCreated {
        individual: String,
        code: String,
        species: Option<String>,
    },
    IndividualRenamed {
        individual: String,
        code: String,
    },
    /// `from`'s photos count for `into` from now on.
    IndividualsMerged {
        event: String,
        from: String,
        into: String,
    },
    MergeUndone {
        event: String,
    },
    /// A decision about a detection. Decisions are events: a later one
    /// supersedes an earlier one for the same detection, and both stay.
    Decided {
        decision: String,
        detection: String,
        individual: String,
        verdict: Verdict,
        source: DecisionSource,
        score: Option<f32>,
    },
    DecisionWithdrawn {
        decision: String,
    },
    /// A photo-ID attribute of a detection (`quality`, `distinctiveness`,
    /// `side` or `part`, see `crate::catalogue::attributes`) was set to
    /// `value`, or cleared (no `value`). Per detection and attribute, the
    /// latest setting wins.
    AttributeSet {
        detection: String,
        attribute: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        value: Option<String>,
    },
    /// A field of an encounter (see `crate::catalogue::encounters::Field`)
    /// was set to `value` (its synced text), or cleared (no `value`). An
    /// encounter not held yet is made. Per encounter and field, the latest
    /// setting wins.
    EncounterSet {
        encounter: String,
        field: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        value: Option<String>,
    },
    /// A photo is now in `encounter` (made if not held yet), or in none.
    /// Per photo, the latest wins; a split or a join is a run of these.
    PhotoEncounter {
        photo: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        encounter: Option<String>,
    },
    /// A person's opinion on what a detection shows, in the second
    /// reviewer's rounds (`crate::catalogue::second_review`): `round` 1 is
    /// a first decision (its `case` is itself), 2 a blind second opinion, 3
    /// the resolution of a disagreement (both name the first's `case`).
    /// `choice` is `individual` (naming it), `new` (naming the individual
    /// it created, if any) or `unidentifiable`. Opinions are events: every
    /// one is kept.
    OpinionGiven {
        opinion: String,
        case: String,
        detection: String,
        round: u8,
        choice: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        individual: Option<String>,
    },
    /// Decisions need a second reviewer (`required`) or not, from now on.
    /// Every switching is kept; the latest holds.
    SecondReviewSwitched {
        switch: String,
        required: bool,
    },
}

fn uuid_ok(field: &str, v: &str) -> Result<(), String> {
    uuid::Uuid::parse_str(v)
        .map(|_| ())
        .map_err(|_| format!("{field} `{}` is not a UUID", clip(v)))
}

fn text_ok(field: &str, v: &str) -> Result<(), String> {
    if v.trim().is_empty() {
        return Err(format!("{field} is empty"));
    }
    if v.chars().count() > MAX_TEXT {
        return Err(format!("{field} is longer than {MAX_TEXT} characters"));
    }
    if v.chars().any(char::is_control) {
        return Err(format!("{field} `{}` contains control characters", clip(v)));
    }
    Ok(())
}

/// Whether `v` is a sha256 in lowercase hex (what names media files).
pub fn is_sha256(v: &str) -> bool {
    v.len() == 64
        && v.chars()
            .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
}

fn sha_ok(field: &str, v: &str) -> Result<(), String> {
    if is_sha256(v) {
        Ok(())
    } else {
        Err(format!(
            "{field} `{}` is not 64 lowercase hex digits",
            clip(v)
        ))
    }
}

/// At most 40 characters of an untrusted value, for error messages,
/// escaped: a refusal travels to terminals and logs.
fn clip(v: &str) -> String {
    crate::catalogue::codes::clipped(v)
}

/// An individual's code, by the one rule every catalogue applies.
fn code_ok(v: &str) -> Result<(), String> {
    crate::catalogue::codes::check_code(v).map_err(|why| format!("code {why}"))
}

impl Op {
    /// Everything that can be checked without the catalogue: ids are
    /// UUIDs, texts are short and printable, numbers are finite and boxes
    /// are boxes. References to other records are the planner's to check.
    pub fn validate(&self) -> Result<(), String> {
        uuid_ok("op id", &self.id)?;
        text_ok("author", &self.author)?;
        let at = |r: Result<(), String>| r.map_err(|e| format!("op {}: {e}", self.id));
        at(self.change.validate())
    }

    /// The record this operation is about, when it names one.
    pub fn kind(&self) -> &'static str {
        match &self.change {
            Change::PhotoAdded { .. } => "photo_added",
            Change::DetectionAdded { .. } => "detection_added",
            Change::DetectionRemoved { .. } => "detection_removed",
            Change::DetectionRestored { .. } => "detection_restored",
            Change::EmbeddingAdded { .. } => "embedding_added",
            Change::IndividualCreated { .. } => "individual_created",
            Change::IndividualRenamed { .. } => "individual_renamed",
            Change::IndividualsMerged { .. } => "individuals_merged",
            Change::MergeUndone { .. } => "merge_undone",
            Change::Decided { .. } => "decided",
            Change::DecisionWithdrawn { .. } => "decision_withdrawn",
            Change::AttributeSet { .. } => "attribute_set",
            Change::OpinionGiven { .. } => "opinion_given",
            Change::SecondReviewSwitched { .. } => "second_review_switched",
            Change::EncounterSet { .. } => "encounter_set",
            Change::PhotoEncounter { .. } => "photo_encounter",
        }
    }
}

/// `check` of an optional value, when present.
fn opt<T: ?Sized>(
    v: Option<&T>,
    check: impl FnOnce(&T) -> Result<(), String>,
) -> Result<(), String> {
    v.map_or(Ok(()), check)
}

fn place_ok(latitude: Option<f64>, longitude: Option<f64>) -> Result<(), String> {
    if latitude.is_some_and(|l| !(-90.0..=90.0).contains(&l))
        || longitude.is_some_and(|l| !(-180.0..=180.0).contains(&l))
    {
        return Err("latitude/longitude out of range".into());
    }
    Ok(())
}

fn box_ok(bbox: &[f32; 4], score: Option<f32>) -> Result<(), String> {
    let [x1, y1, x2, y2] = *bbox;
    if !bbox.iter().all(|v| v.is_finite()) || x2 <= x1 || y2 <= y1 {
        return Err(format!("box {bbox:?} is not x1 < x2, y1 < y2"));
    }
    score_ok(score)
}

fn score_ok(score: Option<f32>) -> Result<(), String> {
    if score.is_some_and(|s| !s.is_finite()) {
        return Err("score is not a number".into());
    }
    Ok(())
}

fn vector_ok(vector: &[f32]) -> Result<(), String> {
    if vector.is_empty() || vector.len() > MAX_EMBEDDING_DIM {
        return Err(format!(
            "an embedding of {} values (1 to {MAX_EMBEDDING_DIM})",
            vector.len()
        ));
    }
    if !vector.iter().all(|v| v.is_finite()) {
        return Err("the embedding has values that are not numbers".into());
    }
    Ok(())
}

impl Change {
    fn validate(&self) -> Result<(), String> {
        match self {
            Change::PhotoAdded {
                photo,
                sha256,
                width,
                height,
                latitude,
                longitude,
                taken_at,
                thumb,
            } => {
                uuid_ok("photo", photo)?;
                sha_ok("sha256", sha256)?;
                opt(thumb.as_deref(), |t| sha_ok("thumb", t))?;
                if *width == 0 || *height == 0 {
                    return Err("photo width and height must be positive".into());
                }
                opt(taken_at.as_deref(), |t| text_ok("taken_at", t))?;
                place_ok(*latitude, *longitude)
            }
            Change::DetectionAdded {
                detection,
                photo,
                bbox,
                class,
                score,
                crop,
                species,
                drawn_by,
                replaces,
            } => {
                opt(crop.as_deref(), |c| sha_ok("crop", c))?;
                opt(drawn_by.as_deref(), |by| text_ok("drawn_by", by))?;
                if let Some(r) = replaces {
                    uuid_ok("replaces", r)?;
                    if r == detection {
                        return Err("a box cannot replace itself".into());
                    }
                }
                opt(species.as_deref(), |s| text_ok("species", s))?;
                uuid_ok("detection", detection)?;
                uuid_ok("photo", photo)?;
                text_ok("class", class)?;
                box_ok(bbox, *score)
            }
            Change::DetectionRemoved {
                detection,
                replaced_by,
            } => {
                uuid_ok("detection", detection)?;
                opt(replaced_by.as_deref(), |r| uuid_ok("replaced_by", r))
            }
            Change::DetectionRestored { detection } => uuid_ok("detection", detection),
            Change::EmbeddingAdded {
                detection,
                pack_name,
                pack_version,
                vector,
            } => {
                uuid_ok("detection", detection)?;
                text_ok("pack_name", pack_name)?;
                text_ok("pack_version", pack_version)?;
                vector_ok(vector)
            }
            Change::IndividualCreated {
                individual,
                code,
                species,
            } => {
                uuid_ok("individual", individual)?;
                code_ok(code)?;
                opt(species.as_deref(), |s| text_ok("species", s))
            }
            Change::IndividualRenamed { individual, code } => {
                uuid_ok("individual", individual)?;
                code_ok(code)
            }
            Change::IndividualsMerged { event, from, into } => {
                uuid_ok("event", event)?;
                uuid_ok("from", from)?;
                uuid_ok("into", into)?;
                if from == into {
                    return Err("an individual cannot be merged into itself".into());
                }
                Ok(())
            }
            Change::MergeUndone { event } => uuid_ok("event", event),
            Change::Decided {
                decision,
                detection,
                individual,
                score,
                ..
            } => {
                uuid_ok("decision", decision)?;
                uuid_ok("detection", detection)?;
                uuid_ok("individual", individual)?;
                score_ok(*score)
            }
            Change::DecisionWithdrawn { decision } => uuid_ok("decision", decision),
            Change::AttributeSet {
                detection,
                attribute,
                value,
            } => {
                uuid_ok("detection", detection)?;
                attribute_ok(attribute, value.as_deref())
            }
            Change::OpinionGiven {
                opinion,
                case,
                detection,
                round,
                choice,
                individual,
            } => {
                uuid_ok("opinion", opinion)?;
                uuid_ok("case", case)?;
                uuid_ok("detection", detection)?;
                opt(individual.as_deref(), |i| uuid_ok("individual", i))?;
                opinion_ok(opinion == case, *round, choice, individual.is_some())
            }
            Change::SecondReviewSwitched { switch, .. } => uuid_ok("switch", switch),
            Change::EncounterSet {
                encounter,
                field,
                value,
            } => {
                uuid_ok("encounter", encounter)?;
                let field = crate::catalogue::encounters::Field::parse(field)?;
                if value.as_deref() == Some(encounter.as_str()) {
                    return Err("an encounter cannot be joined into itself".into());
                }
                opt(value.as_deref(), |v| field.check(v))
            }
            Change::PhotoEncounter { photo, encounter } => {
                uuid_ok("photo", photo)?;
                opt(encounter.as_deref(), |e| uuid_ok("encounter", e))
            }
        }
    }
}

/// An attribute by its stored name, and a value as stored for it (exactly:
/// every catalogue must store the same text).
fn attribute_ok(attribute: &str, value: Option<&str>) -> Result<(), String> {
    use crate::catalogue::attributes::Attribute;
    let a = Attribute::ALL
        .iter()
        .copied()
        .find(|a| a.as_str() == attribute)
        .ok_or_else(|| {
            format!(
                "attribute `{}` is not one of quality, distinctiveness, side, part",
                clip(attribute)
            )
        })?;
    match value {
        Some(v) if a.check(v).map_err(|e| e.to_string())? != v => Err(format!(
            "{attribute} `{}` is not written as stored ({})",
            clip(v),
            a.check(v).unwrap_or_default()
        )),
        _ => Ok(()),
    }
}

/// The rounds and answers of the second reviewer, as stored (the CHECKs
/// of `review_opinions`).
fn opinion_ok(own_case: bool, round: u8, choice: &str, named: bool) -> Result<(), String> {
    if !(1..=3).contains(&round) {
        return Err(format!("round {round} is not 1, 2 or 3"));
    }
    if (round == 1) != own_case {
        return Err("a first opinion (round 1), and only one, is its own case".into());
    }
    match (choice, named) {
        ("individual", false) => Err("an opinion naming an individual names none".into()),
        ("unidentifiable", true) => {
            Err("a \"not identifiable\" opinion names an individual".into())
        }
        ("individual" | "new" | "unidentifiable", _) => Ok(()),
        (other, _) => Err(format!(
            "opinion `{}` is not one of individual, new, unidentifiable",
            clip(other)
        )),
    }
}

/// Embeddings travel as base64 of their little-endian `f32` bytes: exact
/// (every bit survives, so catalogues converge to equal vectors), about
/// 2.4 times smaller than JSON numbers, and quicker to read. A list of
/// numbers is read too (what earlier builds sent and logged).
pub mod vector_b64 {
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine;
    use serde::de::{Error, SeqAccess, Visitor};
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &[f32], s: S) -> Result<S::Ok, S::Error> {
        let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
        s.serialize_str(&STANDARD.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<f32>, D::Error> {
        d.deserialize_any(Vector)
    }

    struct Vector;

    impl<'de> Visitor<'de> for Vector {
        type Value = Vec<f32>;

        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("an embedding: base64 of little-endian f32 values, or a list of numbers")
        }

        fn visit_str<E: Error>(self, v: &str) -> Result<Vec<f32>, E> {
            let bytes = STANDARD
                .decode(v)
                .map_err(|e| E::custom(format!("the embedding is not base64: {e}")))?;
            if bytes.len() % 4 != 0 {
                return Err(E::custom(format!(
                    "the embedding is {} bytes, not a whole number of f32 values",
                    bytes.len()
                )));
            }
            Ok(bytes
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect())
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<f32>, A::Error> {
            let mut out =
                Vec::with_capacity(seq.size_hint().unwrap_or(0).min(super::MAX_EMBEDDING_DIM));
            while let Some(x) = seq.next_element::<f32>()? {
                if out.len() == super::MAX_EMBEDDING_DIM {
                    return Err(A::Error::custom("the embedding has too many values"));
                }
                out.push(x);
            }
            Ok(out)
        }
    }
}

#[cfg(test)]
mod vector_tests {
    use super::*;

    fn embedding(vector: Vec<f32>) -> Change {
        Change::EmbeddingAdded {
            detection: "01a22700-0000-7000-8000-000000000003".into(),
            pack_name: "generic".into(),
            pack_version: "1.0.0".into(),
            vector,
        }
    }

    #[test]
    fn embeddings_travel_as_exact_base64_and_lists_of_numbers_are_still_read() {
        let v = vec![0.1f32, -1.5e-8, f32::MIN_POSITIVE, 3.4e38, -0.0, 1.0 / 3.0];
        let json = serde_json::to_string(&embedding(v.clone())).unwrap();
        assert!(json.contains("\"vector\":\""), "{json}");
        let back: Change = serde_json::from_str(&json).unwrap();
        let Change::EmbeddingAdded { vector, .. } = back else {
            panic!()
        };
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&vector), bits(&v));
        // 4608 values: under half the bytes of JSON numbers.
        let big: Vec<f32> = (0..4608)
            .map(|i| ((i as f32) * 0.37).sin() / 40.0)
            .collect();
        let as_b64 = serde_json::to_string(&embedding(big.clone()))
            .unwrap()
            .len();
        let as_numbers = serde_json::to_string(&big).unwrap().len();
        assert!(as_b64 * 2 < as_numbers, "{as_b64} vs {as_numbers}");
        let old = json.replace(
            &json[json.find("\"vector\":").unwrap()..json.len() - 1],
            "\"vector\":[0.5,-0.25]",
        );
        let Change::EmbeddingAdded { vector, .. } = serde_json::from_str(&old).unwrap() else {
            panic!()
        };
        assert_eq!(vector, vec![0.5, -0.25]);
    }

    #[test]
    fn a_broken_embedding_is_refused_with_the_reason() {
        let json = serde_json::to_string(&embedding(vec![1.0, 2.0])).unwrap();
        let start = json.find("\"vector\":\"").unwrap() + 10;
        let end = json[start..].find('"').unwrap() + start;
        for (bad, why) in [("%%%%", "not base64"), ("AAAAAAA=", "not a whole number")] {
            let text = format!("{}{bad}{}", &json[..start], &json[end..]);
            let err = serde_json::from_str::<Change>(&text)
                .unwrap_err()
                .to_string();
            assert!(err.contains(why), "{err}");
        }
    }
}

#[cfg(test)]
mod attribute_tests {
    use super::*;

    const DETECTION: &str = "01a22700-0000-7000-8000-000000000003";

    fn op(change: Change) -> Op {
        Op {
            id: "01a22700-0000-7000-8000-000000000009".into(),
            hlc: crate::sync::hlc::Clock::new(1, None).tick(1_000),
            author: "ana".into(),
            change,
        }
    }

    #[test]
    fn an_attribute_setting_travels_as_its_kind_and_a_clearing_without_a_value() {
        let set = Change::AttributeSet {
            detection: DETECTION.into(),
            attribute: "part".into(),
            value: Some("dorsal-fin".into()),
        };
        let json = serde_json::to_value(&set).unwrap();
        assert_eq!(json["kind"], "attribute_set");
        assert_eq!(json["value"], "dorsal-fin");
        assert_eq!(serde_json::from_value::<Change>(json).unwrap(), set);
        let cleared: Change = serde_json::from_str(&format!(
            r#"{{"kind":"attribute_set","detection":"{DETECTION}","attribute":"side"}}"#
        ))
        .unwrap();
        assert!(matches!(cleared, Change::AttributeSet { value: None, .. }));
        assert!(op(cleared).validate().is_ok());
        assert!(op(set).validate().is_ok());
    }

    #[test]
    fn an_attribute_setting_with_a_value_of_another_attribute_is_refused() {
        let bad = |attribute: &str, value: Option<&str>| {
            op(Change::AttributeSet {
                detection: DETECTION.into(),
                attribute: attribute.into(),
                value: value.map(String::from),
            })
            .validate()
            .unwrap_err()
        };
        assert!(bad("quality", Some("D1")).contains("D1"));
        assert!(bad("side", Some("Left")).contains("not written as stored"));
        assert!(bad("mood", None).contains("mood"));
    }
}
