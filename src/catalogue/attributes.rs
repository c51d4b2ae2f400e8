//! Photo-ID attributes of a detection: photo quality, distinctiveness of
//! the animal, the side shown and the body part shown, each set (or
//! cleared) on its own, with who set it and when.
//!
//! Quality and distinctiveness follow Urian et al. (2015, "Recommendations
//! for photo-identification methods used in capture-recapture models with
//! cetaceans", Marine Mammal Science 31:298–321) on a three-grade scale:
//! Q1 excellent, Q2 good, Q3 poor; D1 very distinctive, D2 average, D3 low
//! or clean. Three grades rather than a 1–5 score because the use they
//! serve is a cut-off ("only Q1–Q2 photos of D1–D2 animals go into the
//! capture–recapture model") and a stratification by distinctiveness, and
//! because analysts agree far more often on three well-described grades
//! than on five: a finer scale adds disagreement, not information, to both
//! uses.
//!
//! Every attribute is optional (not graded yet). They live in
//! `detection_attributes` (migration 12), one row per detection and
//! attribute: setting or clearing one writes its row, and a trigger notes
//! it for sync, where each becomes an `attribute_set` operation and the
//! latest setting of each attribute of each detection wins
//! (`crate::sync::plan`). A cleared attribute keeps its row with no value,
//! so that a clearing syncs and wins like a setting.

use std::fmt;
use std::str::FromStr;

use rusqlite::{params, OptionalExtension};
use serde::{Deserialize, Serialize};

use super::sql::NOW;
use super::Catalogue;
use crate::error::{Error, Result};

/// Spells each value of a closed list once: its stored and shown text,
/// parsing (case-insensitive) and every value in order.
macro_rules! grade {
    ($(#[$doc:meta])* $name:ident, $what:literal, { $($(#[$vdoc:meta])* $v:ident = $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        pub enum $name {
            $($(#[$vdoc])* #[serde(rename = $text)] $v),+
        }

        impl $name {
            /// Every value, best or first first.
            pub const ALL: &'static [$name] = &[$($name::$v),+];

            /// As stored, synced and shown.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$v => $text),+
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = Error;

            fn from_str(s: &str) -> Result<Self> {
                let t = s.trim();
                $name::ALL
                    .iter()
                    .copied()
                    .find(|v| v.as_str().eq_ignore_ascii_case(t))
                    .ok_or_else(|| {
                        let all: Vec<&str> = $name::ALL.iter().map(|v| v.as_str()).collect();
                        Error::Invalid(format!(
                            "{} `{}` is not one of {}",
                            $what,
                            super::codes::clipped(s),
                            all.join(", ")
                        ))
                    })
            }
        }
    };
}

grade!(
    /// Photographic quality of the detection's image (Urian et al. 2015).
    /// `Q1 < Q2 < Q3` in this order: a smaller grade is a better photo.
    Quality, "quality", {
        /// Excellent: in focus, perpendicular, the whole mark pattern visible.
        Q1 = "Q1",
        /// Good: usable for matching.
        Q2 = "Q2",
        /// Poor: not fit for capture–recapture.
        Q3 = "Q3",
    }
);

grade!(
    /// How distinctive the individual is in this image (Urian et al. 2015).
    Distinctiveness, "distinctiveness", {
        /// Very distinctive: large marks, recognisable in poor photos.
        D1 = "D1",
        /// Average: some marks, recognisable in good photos.
        D2 = "D2",
        /// Low or clean: few or no marks.
        D3 = "D3",
    }
);

grade!(
    /// The side of the animal the image shows.
    Side, "side", {
        Left = "left",
        Right = "right",
        Both = "both",
        Unknown = "unknown",
    }
);

grade!(
    /// The body part the image shows.
    Part, "part", {
        DorsalFin = "dorsal-fin",
        Fluke = "fluke",
        Flank = "flank",
        Head = "head",
        Other = "other",
    }
);

grade!(
    /// Which attribute: the names stored, synced and given to `--clear`.
    Attribute, "attribute", {
        Quality = "quality",
        Distinctiveness = "distinctiveness",
        Side = "side",
        Part = "part",
    }
);

impl Attribute {
    /// Check `value` is one of this attribute's values; the stored text.
    pub fn check(self, value: &str) -> Result<&'static str> {
        Ok(match self {
            Attribute::Quality => value.parse::<Quality>()?.as_str(),
            Attribute::Distinctiveness => value.parse::<Distinctiveness>()?.as_str(),
            Attribute::Side => value.parse::<Side>()?.as_str(),
            Attribute::Part => value.parse::<Part>()?.as_str(),
        })
    }
}

/// One attribute's value with who set it and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Set<T> {
    pub value: T,
    pub by: Option<String>,
    /// UTC, as every `*_at` column.
    pub at: String,
}

/// A detection's attributes; `None` for each not graded (or cleared).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Attributes {
    pub quality: Option<Set<Quality>>,
    pub distinctiveness: Option<Set<Distinctiveness>>,
    pub side: Option<Set<Side>>,
    pub part: Option<Set<Part>>,
}

impl Attributes {
    /// `Q1 D2 left dorsal-fin`, with `-` for each not graded: the values
    /// alone, as the CLI prints them beside a detection.
    pub fn summary(&self) -> String {
        let v = |s: Option<&'static str>| s.unwrap_or("-");
        format!(
            "{} {} {} {}",
            v(self.quality.as_ref().map(|s| s.value.as_str())),
            v(self.distinctiveness.as_ref().map(|s| s.value.as_str())),
            v(self.side.as_ref().map(|s| s.value.as_str())),
            v(self.part.as_ref().map(|s| s.value.as_str())),
        )
    }

    /// Take one stored row in.
    fn take(&mut self, attribute: Attribute, value: &str, by: Option<String>, at: String) {
        // The table's CHECK allows only the values parsed here.
        match attribute {
            Attribute::Quality => {
                self.quality = value.parse().ok().map(|value| Set { value, by, at })
            }
            Attribute::Distinctiveness => {
                self.distinctiveness = value.parse().ok().map(|value| Set { value, by, at })
            }
            Attribute::Side => self.side = value.parse().ok().map(|value| Set { value, by, at }),
            Attribute::Part => self.part = value.parse().ok().map(|value| Set { value, by, at }),
        }
    }
}

/// A detection's attribute values alone (who and when left out), as the
/// publication formats take them; `None` for each not graded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Grades {
    pub quality: Option<Quality>,
    pub distinctiveness: Option<Distinctiveness>,
    pub side: Option<Side>,
    pub part: Option<Part>,
}

impl Grades {
    /// From the four stored values (quality, distinctiveness, side, part).
    pub(crate) fn of_stored(v: [Option<String>; 4]) -> Self {
        let [q, d, s, p] = v;
        Self {
            quality: q.and_then(|v| v.parse().ok()),
            distinctiveness: d.and_then(|v| v.parse().ok()),
            side: s.and_then(|v| v.parse().ok()),
            part: p.and_then(|v| v.parse().ok()),
        }
    }
}

/// One change to a detection's attributes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Edit {
    Quality(Quality),
    Distinctiveness(Distinctiveness),
    Side(Side),
    Part(Part),
    /// Back to not graded.
    Clear(Attribute),
}

impl Edit {
    /// The attribute it changes and the value it leaves (`None`: cleared).
    pub fn parts(self) -> (Attribute, Option<&'static str>) {
        match self {
            Edit::Quality(q) => (Attribute::Quality, Some(q.as_str())),
            Edit::Distinctiveness(d) => (Attribute::Distinctiveness, Some(d.as_str())),
            Edit::Side(s) => (Attribute::Side, Some(s.as_str())),
            Edit::Part(p) => (Attribute::Part, Some(p.as_str())),
            Edit::Clear(a) => (a, None),
        }
    }
}

impl Catalogue {
    /// Set or clear attributes of detection `detection` (its row id: see
    /// `crate::ingest::boxes::find_detection` for a number or UUID), all or
    /// none, as `by`. Two edits of one attribute are refused. Returns the
    /// attributes after.
    pub fn set_attributes(
        &mut self,
        detection: i64,
        edits: &[Edit],
        by: &str,
    ) -> Result<Attributes> {
        if edits.is_empty() {
            return Err(Error::Invalid(
                "nothing to set: give a quality, distinctiveness, side, part or a field to clear"
                    .into(),
            ));
        }
        let by = by.trim();
        if by.is_empty() {
            return Err(Error::Invalid("attributes need who sets them".into()));
        }
        let mut seen = Vec::new();
        for e in edits {
            let (a, _) = e.parts();
            if seen.contains(&a) {
                return Err(Error::Invalid(format!("{a} is given twice")));
            }
            seen.push(a);
        }
        live_detection(self, detection)?;
        self.with_tx(|tx| {
            let c = tx.conn();
            for e in edits {
                let (attribute, value) = e.parts();
                c.execute(
                    &format!(
                        "INSERT INTO detection_attributes (detection_id, attribute, value, set_by, set_at)
                         VALUES (?1, ?2, ?3, ?4, {NOW})
                         ON CONFLICT (detection_id, attribute) DO UPDATE
                         SET value = excluded.value, set_by = excluded.set_by, set_at = excluded.set_at"
                    ),
                    params![detection, attribute.as_str(), value, by],
                )?;
            }
            Ok(())
        })?;
        self.attributes(detection)
    }

    /// A detection's attributes (removed boxes keep theirs).
    pub fn attributes(&self, detection: i64) -> Result<Attributes> {
        let known: Option<i64> = self
            .conn()
            .query_row(
                "SELECT id FROM detections WHERE id = ?1",
                [detection],
                |r| r.get(0),
            )
            .optional()?;
        if known.is_none() {
            return Err(Error::NotFound(format!(
                "detection #{detection} is not in this catalogue"
            )));
        }
        let mut stmt = self.conn().prepare_cached(
            "SELECT attribute, value, set_by, set_at FROM detection_attributes
             WHERE detection_id = ?1 AND value IS NOT NULL",
        )?;
        let rows = stmt.query_map([detection], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Option<String>>(2)?,
                r.get::<_, String>(3)?,
            ))
        })?;
        let mut out = Attributes::default();
        for row in rows {
            let (attribute, value, by, at) = row?;
            if let Ok(a) = attribute.parse::<Attribute>() {
                out.take(a, &value, by, at);
            }
        }
        Ok(out)
    }
}

/// Attributes are given to live boxes only: a removed box is history.
fn live_detection(cat: &Catalogue, detection: i64) -> Result<()> {
    let removed: Option<bool> = cat
        .conn()
        .query_row(
            "SELECT removed_at IS NOT NULL FROM detections WHERE id = ?1",
            [detection],
            |r| r.get(0),
        )
        .optional()?;
    match removed {
        None => Err(Error::NotFound(format!(
            "detection #{detection} is not in this catalogue"
        ))),
        Some(true) => Err(Error::Invalid(format!(
            "detection #{detection} was removed: restore it before grading it"
        ))),
        Some(false) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_parse_without_regard_to_case_and_name_the_choices_when_wrong() {
        assert_eq!("q2".parse::<Quality>().unwrap(), Quality::Q2);
        assert_eq!("Dorsal-Fin".parse::<Part>().unwrap(), Part::DorsalFin);
        let e = "Q4".parse::<Quality>().unwrap_err().to_string();
        assert!(e.contains("Q4") && e.contains("Q1, Q2, Q3"), "{e}");
        assert_eq!(Attribute::Side.check("LEFT").unwrap(), "left");
        assert!(Attribute::Side.check("top").is_err());
    }

    #[test]
    fn a_better_photo_is_a_smaller_grade() {
        assert!(Quality::Q1 < Quality::Q2 && Quality::Q2 < Quality::Q3);
    }
}
