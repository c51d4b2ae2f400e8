//! The second reviewer: a decision confirmed blind by another person, the
//! list of disagreements, and how often analysts agree (issue 16; Urian et
//! al. 2015 ask photo-ID studies to measure agreement between analysts).
//!
//! **The switch** (`whaleid review second-reviewer on|off`, the app's
//! Second review screen) says whether decisions need a second reviewer. It
//! is the team's setting: each switching is stored with who and when, and
//! synced (`second_review_switched`), and the latest holds on every
//! laptop. No switching yet: off.
//!
//! **Opinions** are events stored in `review_opinions` (migration 14) and
//! synced as `opinion_given` operations; none is changed or deleted, and
//! every state below is derived from all of them, so every catalogue that
//! holds the same opinions shows the same queue, list and report.
//!
//! "Earlier" and "latest" here are by UUID: opinions and switchings get
//! time-ordered (v7) UUIDs where they are made, and their UUIDs travel
//! with them, so every laptop orders them alike. The times stored beside
//! them are for people to read: a received one carries its operation's
//! timestamp, which may be a little later than the wall clock of the
//! laptop that made it.
//!
//! * While the switch is on, every decision a person takes in the review
//!   (accept a suggestion, name a new individual, mark not identifiable) is
//!   stored as usual (it leaves the review queue and counts as the current
//!   decision) and also opens a **case**: its first opinion (round 1), by
//!   the person deciding. A later decision about the same detection opens a
//!   new case, which is the one that counts from then on. A first decision
//!   taken back (undone, or replaced outside the review) waits for no one.
//! * A case waits in the **second-review queue** of everyone but the first
//!   person. The queue shows the photo and the model's suggestions, never
//!   the first opinion (the suggestions' crops leave out the detection
//!   itself, which would betray the individual it was put with).
//! * The **second opinion** (round 2) is given blind, by a different name:
//!   the same person is refused. The first one given by someone else counts
//!   (another, given at the same time on another laptop, is kept but not
//!   counted). Equal opinions (the same individual after merges, both "new
//!   individual", both "not identifiable") make the decision final,
//!   confirmed by both. Different ones put the case on the **disagreement
//!   list**, where the first decision stays current until anyone resolves
//!   it with a normal decision, recorded as the case's resolution (round 3).
//! * "New individual" is its own answer: a second reviewer who names the
//!   individual the first one created (only findable by searching for it)
//!   disagrees with "new".
//!
//! **The report** counts, per pair of people, the detections both judged
//! (the latest case of each detection with a counted second opinion), how
//! many they agreed on, the percentage and Cohen's kappa, whose categories
//! are the answers themselves (each individual, "new", "not identifiable"):
//! kappa = (p_o − p_e) / (1 − p_e), p_e = Σ_k p_a(k)·p_b(k) over the two
//! people's shares of each answer; none when p_e is 1 (both always gave
//! one same answer). The same counts are given per photo-quality grade of
//! the detection (Q1, Q2, Q3, ungraded; see [`super::attributes`]).

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use rusqlite::{params, Connection};
use serde::Serialize;

use super::records::Tx;
use super::review::{QueueItem, ReviewOutcome};
use super::sql::{NOW, RESOLVED_CTE};
use super::{new_uuid, observer, Catalogue};
use crate::error::{Error, Result};

/// What an opinion says a detection shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Choice {
    Individual,
    New,
    Unidentifiable,
}

impl Choice {
    pub fn as_str(self) -> &'static str {
        match self {
            Choice::Individual => "individual",
            Choice::New => "new",
            Choice::Unidentifiable => "unidentifiable",
        }
    }

    pub fn parse(s: &str) -> Result<Self> {
        Ok(match s {
            "individual" => Choice::Individual,
            "new" => Choice::New,
            "unidentifiable" => Choice::Unidentifiable,
            other => return Err(Error::Invalid(format!("unknown opinion {other:?}"))),
        })
    }
}

/// A blind second opinion as a person gives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Said {
    Individual(i64),
    New,
    Unidentifiable,
}

/// How a disagreement is resolved: a normal decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution<'a> {
    Individual(i64),
    New {
        code: &'a str,
        species: Option<&'a str>,
    },
    Unidentifiable,
}

/// One opinion, with the individual it names as that individual is now.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Opinion {
    pub uuid: String,
    /// 1: the first decision, 2: the blind second opinion, 3: the
    /// resolution of a disagreement.
    pub round: u8,
    pub choice: Choice,
    /// The individual named, resolved through merges.
    pub individual: Option<i64>,
    /// That individual's code.
    pub code: Option<String>,
    pub by: String,
    pub at: String,
}

impl Opinion {
    /// What is compared between two opinions: the answer's category.
    fn answer(&self) -> Answer {
        match (self.choice, self.individual) {
            (Choice::Individual, Some(id)) => Answer::Individual(id),
            (Choice::Unidentifiable, _) => Answer::Unidentifiable,
            _ => Answer::New,
        }
    }

    /// The answer in words: a code, "new" or "unidentifiable".
    pub fn summary(&self) -> String {
        match (self.choice, &self.code) {
            (Choice::Individual, Some(code)) => code.clone(),
            (choice, _) => choice.as_str().to_string(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Answer {
    Individual(i64),
    New,
    Unidentifiable,
}

/// Where a case stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseState {
    /// Waiting for a second opinion.
    Waiting,
    Agreed,
    Disagreed,
    Resolved,
}

/// A first decision and what followed it.
#[derive(Debug, Clone)]
struct Case {
    detection_id: i64,
    first: Opinion,
    /// The first second opinion by someone else.
    second: Option<Opinion>,
    resolution: Option<Opinion>,
}

impl Case {
    fn state(&self) -> CaseState {
        match (&self.second, &self.resolution) {
            (_, Some(_)) => CaseState::Resolved,
            (None, None) => CaseState::Waiting,
            (Some(s), None) if s.answer() == self.first.answer() => CaseState::Agreed,
            (Some(_), None) => CaseState::Disagreed,
        }
    }
}

/// What a second opinion led to, with the first opinion now shown.
#[derive(Debug, Clone, Serialize)]
pub struct OpinionOutcome {
    pub detection_id: i64,
    pub state: CaseState,
    pub first: Opinion,
    pub second: Opinion,
}

/// A detection whose two opinions differ, waiting for a resolution.
#[derive(Debug, Clone, Serialize)]
pub struct Disagreement {
    pub detection_id: i64,
    pub photo_path: PathBuf,
    pub crop: Option<PathBuf>,
    pub first: Opinion,
    pub second: Opinion,
}

/// Agreement of one pair of people (names in order).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PairAgreement {
    pub a: String,
    pub b: String,
    pub items: usize,
    pub agreed: usize,
    pub percent: Option<f64>,
    pub kappa: Option<f64>,
}

/// Agreement on the detections of one photo-quality grade.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GradeAgreement {
    /// `Q1`, `Q2`, `Q3` or `ungraded`.
    pub grade: String,
    pub items: usize,
    pub agreed: usize,
    pub percent: Option<f64>,
}

/// The analyst-agreement report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AgreementReport {
    pub items: usize,
    pub agreed: usize,
    pub percent: Option<f64>,
    pub pairs: Vec<PairAgreement>,
    /// Always Q1, Q2, Q3, ungraded, in that order.
    pub grades: Vec<GradeAgreement>,
}

fn percent(agreed: usize, items: usize) -> Option<f64> {
    (items > 0).then(|| 100.0 * agreed as f64 / items as f64)
}

/// Cohen's kappa of two people's answers to the same items.
fn kappa(pairs: &[(Answer, Answer)]) -> Option<f64> {
    let n = pairs.len() as f64;
    if pairs.is_empty() {
        return None;
    }
    let mut a: HashMap<Answer, f64> = HashMap::new();
    let mut b: HashMap<Answer, f64> = HashMap::new();
    for (x, y) in pairs {
        *a.entry(*x).or_default() += 1.0;
        *b.entry(*y).or_default() += 1.0;
    }
    let observed = pairs.iter().filter(|(x, y)| x == y).count() as f64 / n;
    let expected: f64 = a
        .iter()
        .map(|(k, na)| (na / n) * (b.get(k).copied().unwrap_or(0.0) / n))
        .sum();
    (1.0 - expected > 1e-12).then(|| (observed - expected) / (1.0 - expected))
}

/// Every opinion (on one detection, or on all), oldest first, by case:
/// the cases in the order of their first opinions.
fn cases(c: &Connection, detection: Option<i64>) -> Result<Vec<Case>> {
    let mut stmt = c.prepare_cached(&format!(
        "{RESOLVED_CTE}
         SELECT o.uuid, o.case_uuid, o.detection_id, o.round, o.choice, r.id, i.code,
                o.given_by, o.given_at
         FROM review_opinions o
         LEFT JOIN resolved r ON r.start = o.individual_id
         LEFT JOIN individuals i ON i.id = r.id
         WHERE ?1 IS NULL OR o.detection_id = ?1
         ORDER BY o.uuid"
    ))?;
    let rows = stmt.query_map([detection], |r| {
        Ok((
            r.get::<_, String>(1)?,
            r.get::<_, i64>(2)?,
            (
                r.get::<_, String>(0)?,
                r.get::<_, u8>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, Option<i64>>(5)?,
                r.get::<_, Option<String>>(6)?,
                r.get::<_, String>(7)?,
                r.get::<_, String>(8)?,
            ),
        ))
    })?;
    let mut rows: Vec<(String, i64, Opinion)> = rows
        .map(|row| {
            let (case, detection_id, (uuid, round, choice, individual, code, by, at)) = row?;
            let opinion = Opinion {
                uuid,
                round,
                choice: Choice::parse(&choice)?,
                individual,
                code,
                by,
                at,
            };
            Ok((case, detection_id, opinion))
        })
        .collect::<Result<_>>()?;
    // First opinions first: a later round given on a laptop whose clock
    // is behind may carry an earlier UUID than the opinion it answers.
    rows.sort_by_key(|(_, _, o)| o.round != 1);
    let mut out: Vec<Case> = Vec::new();
    let mut by_case: HashMap<String, usize> = HashMap::new();
    for (case, detection_id, opinion) in rows {
        if opinion.round == 1 {
            by_case.insert(case, out.len());
            out.push(Case {
                detection_id,
                first: opinion,
                second: None,
                resolution: None,
            });
            continue;
        }
        // A later round whose case is not here is kept but counts for
        // nothing (the planner refuses one whose case is unknown).
        let Some(case) = by_case.get(&case).map(|&i| &mut out[i]) else {
            continue;
        };
        if opinion.round == 2 && case.second.is_none() && opinion.by != case.first.by {
            case.second = Some(opinion);
        } else if opinion.round == 3 && case.resolution.is_none() {
            case.resolution = Some(opinion);
        }
    }
    Ok(out)
}

/// Each detection's case that counts: its latest.
fn active_cases(c: &Connection) -> Result<BTreeMap<i64, Case>> {
    Ok(cases(c, None)?
        .into_iter()
        .map(|case| (case.detection_id, case))
        .collect())
}

fn active_case(c: &Connection, detection_id: i64) -> Result<Option<Case>> {
    Ok(cases(c, Some(detection_id))?.pop())
}

/// The individual (after merges) each detection with an opinion shows
/// now, by its current confirmed decision; read in one pass.
fn shown_now(c: &Connection) -> Result<HashMap<i64, i64>> {
    let mut stmt = c.prepare_cached(&format!(
        "{RESOLVED_CTE}
         SELECT idn.detection_id, r.id FROM identifications idn
         JOIN resolved r ON r.start = idn.individual_id
         WHERE idn.superseded_by IS NULL AND idn.withdrawn_at IS NULL
           AND idn.verdict = 'confirmed'
           AND idn.detection_id IN (SELECT detection_id FROM review_opinions)"
    ))?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Whether a case's first decision still holds: the detection still
/// shows the individual it named (after merges; `shown` from
/// [`shown_now`]). A first decision taken back (undone, or replaced by a
/// later one made outside the review) waits for no one. "Not identifiable"
/// marks stay on the laptop that made them, so such a first opinion is
/// taken to hold.
fn stands(case: &Case, shown: &HashMap<i64, i64>) -> bool {
    case.first
        .individual
        .is_none_or(|named| shown.get(&case.detection_id) == Some(&named))
}

/// The cases waiting for `person`'s second opinion.
fn waiting_for(c: &Connection, person: &str) -> Result<Vec<Case>> {
    let shown = shown_now(c)?;
    Ok(active_cases(c)?
        .into_values()
        .filter(|k| k.state() == CaseState::Waiting && k.first.by != person && stands(k, &shown))
        .collect())
}

fn required(c: &Connection) -> Result<bool> {
    use rusqlite::OptionalExtension;
    let latest: Option<bool> = c
        .query_row(
            "SELECT required FROM second_review_switches ORDER BY uuid DESC LIMIT 1",
            [],
            |r| r.get(0),
        )
        .optional()?;
    Ok(latest == Some(true))
}

fn insert_opinion(
    c: &Connection,
    case: Option<&str>,
    detection_id: i64,
    round: u8,
    choice: Choice,
    individual: Option<i64>,
    by: &str,
) -> Result<String> {
    let uuid = new_uuid();
    c.execute(
        "INSERT INTO review_opinions (uuid, case_uuid, detection_id, round, choice, individual_id, given_by)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            uuid,
            case.unwrap_or(&uuid),
            detection_id,
            round,
            choice.as_str(),
            individual,
            by
        ],
    )?;
    Ok(uuid)
}

/// Called by the review with every decision a person takes, in its
/// transaction: the resolution of the detection's disagreement when it is
/// in one, else (while the switch is on) the first opinion of a new case.
pub(crate) fn note_decision(
    tx: &Tx<'_>,
    detection_id: i64,
    choice: Choice,
    individual: Option<i64>,
    by: Option<&str>,
) -> Result<()> {
    let c = tx.conn();
    let case = active_case(c, detection_id)?.filter(|k| k.state() == CaseState::Disagreed);
    let (case, round) = match case {
        Some(k) => (Some(k.first.uuid), 3),
        None if required(c)? => (None, 1),
        None => return Ok(()),
    };
    let by = by.map(str::trim).filter(|b| !b.is_empty()).ok_or_else(|| {
        Error::Invalid(format!(
            "detection {detection_id}: decisions in this catalogue need a second reviewer, \
             so each must name who took it (--author, or the observer name)"
        ))
    })?;
    insert_opinion(
        c,
        case.as_deref(),
        detection_id,
        round,
        choice,
        individual,
        by,
    )?;
    Ok(())
}

impl Catalogue {
    /// Where each detection's standing case is, by detection number: the
    /// cases whose first decision still holds (a resolved one always does:
    /// its resolution is the detection's decision). What the publication
    /// formats say of an identification's verification.
    pub fn second_review_states(&self) -> Result<HashMap<i64, CaseState>> {
        let c = self.conn();
        let shown = shown_now(c)?;
        Ok(active_cases(c)?
            .into_values()
            .filter(|k| k.state() == CaseState::Resolved || stands(k, &shown))
            .map(|k| (k.detection_id, k.state()))
            .collect())
    }

    /// Whether decisions need a second reviewer here.
    pub fn second_review_required(&self) -> Result<bool> {
        required(self.conn())
    }

    /// Switch the second reviewer on or off for decisions taken from now on
    /// (cases already open stay open), by `by`.
    pub fn set_second_review_required(&mut self, on: bool, by: Option<&str>) -> Result<()> {
        self.with_tx(|tx| {
            tx.conn().execute(
                "INSERT INTO second_review_switches (uuid, required, set_by) VALUES (?1, ?2, ?3)",
                params![new_uuid(), on, by],
            )?;
            Ok(())
        })
    }

    /// The detections waiting for `person`'s blind second opinion (those
    /// whose first opinion is someone else's), with the photo and the
    /// model's suggestions and nothing of the first opinion.
    pub fn second_review_queue(&self, person: &str) -> Result<Vec<QueueItem>> {
        let person = observer::validate(person, "second reviewer")?;
        let ids: Vec<i64> = waiting_for(self.conn(), &person)?
            .into_iter()
            .map(|k| k.detection_id)
            .collect();
        self.review_items(&ids)
    }

    /// `by`'s blind second opinion on a detection waiting for one.
    pub fn give_opinion(
        &mut self,
        detection_id: i64,
        said: Said,
        by: &str,
    ) -> Result<OpinionOutcome> {
        let by = observer::validate(by, "second reviewer")?;
        let (choice, individual) = match said {
            Said::Individual(id) => (Choice::Individual, Some(self.individual_by_id(id)?.id)),
            Said::New => (Choice::New, None),
            Said::Unidentifiable => (Choice::Unidentifiable, None),
        };
        let outcome = self.with_tx(|tx| {
            let c = tx.conn();
            let case = active_case(c, detection_id)?.ok_or_else(|| {
                Error::Invalid(format!(
                    "detection {detection_id} is not waiting for a second opinion"
                ))
            })?;
            if case.first.by == by {
                return Err(Error::Invalid(format!(
                    "{by} took the first decision on detection {detection_id}: \
                     the second opinion must be someone else's"
                )));
            }
            if let Some(second) = &case.second {
                return Err(Error::Invalid(format!(
                    "detection {detection_id} already has a second opinion, by {}",
                    second.by
                )));
            }
            if !stands(&case, &shown_now(c)?) {
                return Err(Error::Invalid(format!(
                    "the first decision on detection {detection_id} was taken back: \
                     it waits for no second opinion"
                )));
            }
            let uuid = insert_opinion(
                c,
                Some(&case.first.uuid),
                detection_id,
                2,
                choice,
                individual,
                &by,
            )?;
            let case = active_case(c, detection_id)?.expect("the case just given to");
            let second = case.second.clone().filter(|s| s.uuid == uuid);
            let second = second.expect("the opinion just given counts");
            Ok(OpinionOutcome {
                detection_id,
                state: case.state(),
                first: case.first,
                second,
            })
        })?;
        Ok(outcome)
    }

    /// Every detection whose two opinions differ and that no one resolved
    /// yet, by detection.
    pub fn disagreements(&self) -> Result<Vec<Disagreement>> {
        let media = self.media_dir();
        let mut out = Vec::new();
        for case in active_cases(self.conn())?.into_values() {
            if case.state() != CaseState::Disagreed {
                continue;
            }
            let (photo, crop): (String, Option<String>) = self.conn().query_row(
                "SELECT p.original_path, d.crop_file FROM detections d
                 JOIN photos p ON p.id = d.photo_id WHERE d.id = ?1",
                [case.detection_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            out.push(Disagreement {
                detection_id: case.detection_id,
                photo_path: PathBuf::from(photo),
                crop: crop.map(|c| media.join(c)),
                second: case.second.expect("a disagreement has a second opinion"),
                first: case.first,
            });
        }
        Ok(out)
    }

    /// Resolve a disagreement with a normal decision by `by` (anyone),
    /// recorded as the case's resolution. A resolution as not identifiable
    /// withdraws the decision that was current; one naming an individual
    /// withdraws a "not identifiable" mark.
    pub fn resolve_disagreement(
        &mut self,
        detection_id: i64,
        resolution: Resolution<'_>,
        by: &str,
    ) -> Result<ReviewOutcome> {
        let by = observer::validate(by, "who resolves")?;
        let waiting = active_case(self.conn(), detection_id)?
            .is_some_and(|k| k.state() == CaseState::Disagreed);
        if !waiting {
            return Err(Error::Invalid(format!(
                "detection {detection_id} is not on the disagreement list"
            )));
        }
        let by = Some(by.as_str());
        let outcome = match resolution {
            Resolution::Individual(id) => self.review_accept(detection_id, id, None, None, by)?,
            Resolution::New { code, species } => {
                self.review_new_individual(detection_id, code, species, by)?
            }
            Resolution::Unidentifiable => self.review_unidentifiable(detection_id, by)?,
        };
        let (table, column) = match resolution {
            Resolution::Unidentifiable => ("identifications", "superseded_by IS NULL AND"),
            _ => ("review_marks", ""),
        };
        self.with_tx(|tx| {
            tx.conn().execute(
                &format!(
                    "UPDATE {table} SET withdrawn_at = {NOW}, updated_at = {NOW}
                     WHERE detection_id = ?1 AND {column} withdrawn_at IS NULL"
                ),
                [detection_id],
            )?;
            Ok(())
        })?;
        Ok(ReviewOutcome {
            to_review: self.to_review()?,
            ..outcome
        })
    }

    /// How often people agreed (see the module notes).
    pub fn agreement_report(&self) -> Result<AgreementReport> {
        // The latest case of each detection that has a counted second opinion.
        let mut judged: BTreeMap<i64, Case> = BTreeMap::new();
        for case in cases(self.conn(), None)? {
            if case.second.is_some() {
                judged.insert(case.detection_id, case);
            }
        }
        let mut grades: BTreeMap<String, (usize, usize)> = ["Q1", "Q2", "Q3", "ungraded"]
            .iter()
            .map(|g| (g.to_string(), (0, 0)))
            .collect();
        let mut pairs: BTreeMap<(String, String), Vec<(Answer, Answer)>> = BTreeMap::new();
        let mut stmt = self.conn().prepare_cached(
            "SELECT value FROM detection_attributes
             WHERE detection_id = ?1 AND attribute = 'quality'",
        )?;
        for case in judged.values() {
            let second = case.second.as_ref().expect("judged");
            let (x, y) = (&case.first, second);
            let (a, b) = if x.by <= y.by { (x, y) } else { (y, x) };
            pairs
                .entry((a.by.clone(), b.by.clone()))
                .or_default()
                .push((a.answer(), b.answer()));
            let grade: Option<String> =
                stmt.query_row([case.detection_id], |r| r.get(0))
                    .or_else(|e| match e {
                        rusqlite::Error::QueryReturnedNoRows => Ok(None),
                        e => Err(e),
                    })?;
            let slot = grades
                .get_mut(grade.as_deref().unwrap_or("ungraded"))
                .expect("a stored grade is Q1-Q3");
            slot.0 += 1;
            slot.1 += usize::from(x.answer() == y.answer());
        }
        let pairs: Vec<PairAgreement> = pairs
            .into_iter()
            .map(|((a, b), answers)| {
                let agreed = answers.iter().filter(|(x, y)| x == y).count();
                PairAgreement {
                    a,
                    b,
                    items: answers.len(),
                    agreed,
                    percent: percent(agreed, answers.len()),
                    kappa: kappa(&answers),
                }
            })
            .collect();
        let grades: Vec<GradeAgreement> = ["Q1", "Q2", "Q3", "ungraded"]
            .iter()
            .map(|g| {
                let (items, agreed) = grades[*g];
                GradeAgreement {
                    grade: g.to_string(),
                    items,
                    agreed,
                    percent: percent(agreed, items),
                }
            })
            .collect();
        let items = judged.len();
        let agreed = grades.iter().map(|g| g.agreed).sum();
        Ok(AgreementReport {
            items,
            agreed,
            percent: percent(agreed, items),
            pairs,
            grades,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kappa_matches_a_hand_computed_table() {
        use Answer::*;
        // 10 items: both say A on 4, both B on 3, a:A b:B on 2, a:B b:A on 1.
        // p_o = 0.7; a: A 6, B 4; b: A 5, B 5; p_e = 0.6*0.5 + 0.4*0.5 = 0.5;
        // kappa = 0.2 / 0.5 = 0.4.
        let mut v = vec![(Individual(1), Individual(1)); 4];
        v.extend([(Individual(2), Individual(2)); 3]);
        v.extend([(Individual(1), Individual(2)); 2]);
        v.push((Individual(2), Individual(1)));
        let k = kappa(&v).unwrap();
        assert!((k - 0.4).abs() < 1e-9, "{k}");
        // One answer from both, always: no kappa.
        assert_eq!(kappa(&[(New, New), (New, New)]), None);
        assert_eq!(kappa(&[]), None);
        // Never agreeing, each with its own answer: kappa 0 - p_e < 0.
        assert!(kappa(&[(New, Unidentifiable), (Unidentifiable, New)]).unwrap() < 0.0);
    }
}
