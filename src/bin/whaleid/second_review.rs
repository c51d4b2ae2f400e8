//! `whaleid review second-reviewer|second|opinion|disagreements|resolve|agreement`:
//! the second reviewer from the command line, through the same engine
//! calls as the app ([`whaleid::catalogue::second_review`]).
//!
//! `second` lists what waits for a person's blind opinion, one JSON line
//! each, with the photo and the model's suggestions and nothing of the
//! first decision; `opinion` gives one and prints the outcome (only then
//! showing the first opinion); `disagreements` prints one JSON line per
//! detection whose opinions differ; `resolve` settles one with a normal
//! decision; `agreement` prints the analyst-agreement report as a table
//! (or JSON with `--json`).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::{Args, Subcommand};

use whaleid::catalogue::second_review::{AgreementReport, Resolution, Said};
use whaleid::catalogue::Catalogue;
use whaleid::ingest::boxes::find_detection;

use crate::detection::author;

#[derive(Subcommand, Debug)]
pub enum ReviewCommand {
    /// Whether decisions in this catalogue need a second reviewer (each
    /// decision then waits for a blind opinion by another person).
    SecondReviewer {
        /// on or off; without it, say which.
        #[arg(value_parser = ["on", "off"])]
        state: Option<String>,
        #[command(flatten)]
        who: Reviewer,
    },
    /// The detections waiting for this person's blind second opinion, one
    /// JSON line each (the first decision is not shown).
    Second {
        #[command(flatten)]
        who: Reviewer,
    },
    /// Give a blind second opinion on a detection.
    Opinion {
        /// The detection: its number (#146) or its UUID.
        detection: String,
        #[command(flatten)]
        answer: Answer,
        #[command(flatten)]
        who: Reviewer,
    },
    /// The detections whose two opinions differ, one JSON line each, with
    /// both opinions.
    Disagreements {
        #[arg(long, short)]
        catalogue: PathBuf,
    },
    /// Resolve a disagreement with a normal decision (anyone may).
    Resolve {
        /// The detection: its number (#146) or its UUID.
        detection: String,
        /// The individual it shows (its code).
        #[arg(long, value_name = "CODE", group = "resolution")]
        individual: Option<String>,
        /// A new individual, with this code.
        #[arg(long = "new", value_name = "CODE", group = "resolution")]
        new_code: Option<String>,
        /// The new individual's species.
        #[arg(long, requires = "new_code")]
        species: Option<String>,
        /// Not identifiable.
        #[arg(long, group = "resolution")]
        unidentifiable: bool,
        #[command(flatten)]
        who: Reviewer,
    },
    /// How often people agreed: per pair of people and per photo quality.
    Agreement {
        #[arg(long, short)]
        catalogue: PathBuf,
        /// The report as one JSON object.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Args, Debug)]
pub struct Reviewer {
    /// The catalogue.
    #[arg(long, short)]
    catalogue: PathBuf,
    /// Who reviews [default: the observer: $WHALEID_OBSERVER, else
    /// `catalogue config --observer`, else the login name].
    #[arg(long = "as", visible_alias = "author")]
    name: Option<String>,
}

impl Reviewer {
    fn open(&self) -> Result<(Catalogue, String)> {
        let cat = Catalogue::open(&self.catalogue)?;
        let by = author(&cat, self.name.as_deref())?;
        Ok((cat, by))
    }
}

/// A blind opinion: exactly one of the three.
#[derive(Args, Debug)]
#[group(required = true, multiple = false)]
pub struct Answer {
    /// The individual it shows (its code).
    #[arg(long, value_name = "CODE")]
    individual: Option<String>,
    /// An individual not in the catalogue.
    #[arg(long = "new")]
    new: bool,
    /// Not identifiable.
    #[arg(long)]
    unidentifiable: bool,
}

fn print_json<T: serde::Serialize>(v: &T) -> Result<()> {
    crate::print_line(serde_json::to_value(v)?)
}

pub fn run(c: ReviewCommand) -> Result<ExitCode> {
    match c {
        ReviewCommand::SecondReviewer { state, who } => {
            let (mut cat, by) = who.open()?;
            if let Some(state) = state {
                cat.set_second_review_required(state == "on", Some(&by))?;
            }
            let on = cat.second_review_required()?;
            say!("second reviewer: {}", if on { "on" } else { "off" });
        }
        ReviewCommand::Second { who } => {
            let (cat, by) = who.open()?;
            for item in cat.second_review_queue(&by)? {
                print_json(&item)?;
            }
        }
        ReviewCommand::Opinion {
            detection,
            answer,
            who,
        } => {
            let (mut cat, by) = who.open()?;
            let detection = find_detection(&cat, &detection)?;
            let said = match (answer.individual, answer.new) {
                (Some(code), _) => Said::Individual(cat.individual(&code)?.id),
                (None, true) => Said::New,
                (None, false) => Said::Unidentifiable,
            };
            print_json(&cat.give_opinion(detection, said, &by)?)?;
        }
        ReviewCommand::Disagreements { catalogue } => {
            let cat = Catalogue::open(&catalogue)?;
            for d in cat.disagreements()? {
                print_json(&d)?;
            }
        }
        ReviewCommand::Resolve {
            detection,
            individual,
            new_code,
            species,
            unidentifiable,
            who,
        } => {
            let (mut cat, by) = who.open()?;
            let detection = find_detection(&cat, &detection)?;
            let resolution = match (individual, &new_code, unidentifiable) {
                (Some(code), _, _) => Resolution::Individual(cat.individual(&code)?.id),
                (None, Some(code), _) => Resolution::New {
                    code,
                    species: species.as_deref(),
                },
                (None, None, true) => Resolution::Unidentifiable,
                (None, None, false) => {
                    anyhow::bail!("say how: --individual CODE, --new CODE or --unidentifiable")
                }
            };
            print_json(&cat.resolve_disagreement(detection, resolution, &by)?)?;
        }
        ReviewCommand::Agreement { catalogue, json } => {
            let report = Catalogue::open(&catalogue)?.agreement_report()?;
            if json {
                print_json(&report)?;
            } else {
                print_table(&report);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn shown_percent(p: Option<f64>) -> String {
    p.map_or_else(|| "-".into(), |p| format!("{p:.1}%"))
}

/// The report as two tables: pairs of people, then quality grades.
fn print_table(r: &AgreementReport) {
    say!(
        "{} detections judged by two people, {} agreed ({})",
        r.items,
        r.agreed,
        shown_percent(r.percent)
    );
    say!("");
    say!(
        "{:<20} {:<20} {:>6} {:>6} {:>8} {:>7}",
        "person",
        "person",
        "items",
        "agreed",
        "percent",
        "kappa"
    );
    for p in &r.pairs {
        say!(
            "{:<20} {:<20} {:>6} {:>6} {:>8} {:>7}",
            p.a,
            p.b,
            p.items,
            p.agreed,
            shown_percent(p.percent),
            p.kappa.map_or_else(|| "-".into(), |k| format!("{k:.3}"))
        );
    }
    say!("");
    say!(
        "{:<9} {:>6} {:>6} {:>8}",
        "quality",
        "items",
        "agreed",
        "percent"
    );
    for g in &r.grades {
        say!(
            "{:<9} {:>6} {:>6} {:>8}",
            g.grade,
            g.items,
            g.agreed,
            shown_percent(g.percent)
        );
    }
}
