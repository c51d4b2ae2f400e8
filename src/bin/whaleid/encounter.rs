//! `whaleid encounter list|show|edit|split|join`: encounters as records
//! (time, place, position, observers, vessel, group size, behaviour,
//! notes, survey), through the same engine calls as the app
//! ([`whaleid::catalogue::encounters`]). `list` prints one JSON line per
//! encounter; the others print the encounter as one JSON line, with who
//! set each field and when, and its photo numbers.

use std::path::PathBuf;

use anyhow::{bail, Result};
use clap::{Args, Subcommand, ValueEnum};

use whaleid::catalogue::encounters::{find_encounter, observers, Patch, SplitAt};

use crate::detection::Who;

#[derive(Subcommand, Debug)]
pub enum EncounterCommand {
    /// The encounters, in time order, one JSON line each.
    List {
        #[arg(long, short)]
        catalogue: PathBuf,
        /// Only those started on or after this day (YYYY-MM-DD).
        #[arg(long)]
        from: Option<String>,
        /// Only those started on or before this day (YYYY-MM-DD).
        #[arg(long)]
        to: Option<String>,
    },
    /// One encounter with who set each field and its photos.
    Show {
        /// The encounter: its number (#12) or its UUID.
        encounter: String,
        #[arg(long, short)]
        catalogue: PathBuf,
    },
    /// Set or clear fields (what is not given stays).
    Edit(Box<EditArgs>),
    /// Move the photos taken at or after a time, or the photos named, to
    /// a new encounter with a copy of the fields.
    Split {
        encounter: String,
        /// Photos taken at or after this time go to the new encounter.
        #[arg(long, conflicts_with = "photos", required_unless_present = "photos")]
        at: Option<String>,
        /// These photos (their numbers) go to the new encounter.
        #[arg(long, value_delimiter = ',')]
        photos: Vec<i64>,
        #[command(flatten)]
        who: Who,
    },
    /// Join encounters into the first: their photos move to it, its empty
    /// fields take theirs, and they are marked joined (nothing is deleted).
    Join {
        /// The encounter kept.
        keep: String,
        /// The encounters joined into it.
        #[arg(required = true)]
        others: Vec<String>,
        #[command(flatten)]
        who: Who,
    },
}

#[derive(Args, Debug)]
pub struct EditArgs {
    /// The encounter: its number (#12) or its UUID.
    encounter: String,
    /// When it started: YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS].
    #[arg(long)]
    start: Option<String>,
    /// When it ended.
    #[arg(long)]
    end: Option<String>,
    /// The place name.
    #[arg(long)]
    place: Option<String>,
    /// Latitude (with --lon), decimal degrees.
    #[arg(long, allow_hyphen_values = true, requires = "lon")]
    lat: Option<f64>,
    /// Longitude (with --lat), decimal degrees.
    #[arg(long, allow_hyphen_values = true, requires = "lat")]
    lon: Option<f64>,
    /// Observers, separated by `;`: "Ana Silva; Ben Cole".
    #[arg(long)]
    observers: Option<String>,
    /// Vessel or platform.
    #[arg(long)]
    vessel: Option<String>,
    /// Group size, best estimate.
    #[arg(long)]
    group_best: Option<u32>,
    /// Group size, minimum.
    #[arg(long)]
    group_min: Option<u32>,
    /// Group size, maximum.
    #[arg(long)]
    group_max: Option<u32>,
    #[arg(long)]
    behaviour: Option<String>,
    #[arg(long)]
    notes: Option<String>,
    #[arg(long)]
    survey: Option<String>,
    /// Fields to clear (repeat, or separate with commas).
    #[arg(long, value_name = "FIELD", value_delimiter = ',')]
    clear: Vec<Clear>,
    #[command(flatten)]
    who: Who,
}

/// A field `edit --clear` empties.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Clear {
    Start,
    End,
    Place,
    Position,
    Observers,
    Vessel,
    Group,
    GroupBest,
    GroupMin,
    GroupMax,
    Behaviour,
    Notes,
    Survey,
}

/// `Some(Some(v))` for a value given, `Some(None)` for a field cleared; a
/// field both given and cleared is refused.
fn set_or_clear<T>(given: Option<T>, cleared: bool, name: &str) -> Result<Option<Option<T>>> {
    match (given, cleared) {
        (Some(_), true) => bail!("{name} is both given and cleared"),
        (Some(v), false) => Ok(Some(Some(v))),
        (None, true) => Ok(Some(None)),
        (None, false) => Ok(None),
    }
}

/// The changes `edit` asks for.
fn patch(a: &EditArgs) -> Result<Patch> {
    let c = |f: Clear| a.clear.contains(&f);
    let whole_group = c(Clear::Group);
    let observers = match set_or_clear(a.observers.as_deref(), c(Clear::Observers), "observers")? {
        Some(Some(text)) => Some(observers(text)?),
        Some(None) => Some(Vec::new()),
        None => None,
    };
    let text = |v: &Option<String>, f: Clear, name: &str| set_or_clear(v.clone(), c(f), name);
    Ok(Patch {
        started_at: text(&a.start, Clear::Start, "start")?,
        ended_at: text(&a.end, Clear::End, "end")?,
        place: text(&a.place, Clear::Place, "place")?,
        position: set_or_clear(a.lat.zip(a.lon), c(Clear::Position), "position")?,
        observers,
        vessel: text(&a.vessel, Clear::Vessel, "vessel")?,
        group_best: set_or_clear(
            a.group_best,
            whole_group || c(Clear::GroupBest),
            "group-best",
        )?,
        group_min: set_or_clear(a.group_min, whole_group || c(Clear::GroupMin), "group-min")?,
        group_max: set_or_clear(a.group_max, whole_group || c(Clear::GroupMax), "group-max")?,
        behaviour: text(&a.behaviour, Clear::Behaviour, "behaviour")?,
        notes: text(&a.notes, Clear::Notes, "notes")?,
        survey: text(&a.survey, Clear::Survey, "survey")?,
    })
}

fn print_json<T: serde::Serialize>(v: &T) -> Result<()> {
    println!("{}", crate::json_safe(&serde_json::to_string(v)?));
    Ok(())
}

pub fn run(c: EncounterCommand) -> Result<std::process::ExitCode> {
    match c {
        EncounterCommand::List {
            catalogue,
            from,
            to,
        } => {
            let cat = crate::catalogue::open_reader(&catalogue)?;
            for e in cat.encounters(from.as_deref(), to.as_deref())? {
                print_json(&e)?;
            }
        }
        EncounterCommand::Show {
            encounter,
            catalogue,
        } => {
            let cat = crate::catalogue::open_reader(&catalogue)?;
            let id = find_encounter(&cat, &encounter)?;
            print_json(&cat.encounter_record(id)?)?;
        }
        EncounterCommand::Edit(a) => {
            let patch = patch(&a)?;
            let (mut cat, by) = a.who.open()?;
            let id = find_encounter(&cat, &a.encounter)?;
            print_json(&cat.edit_encounter(id, &patch, &by)?)?;
        }
        EncounterCommand::Split {
            encounter,
            at,
            photos,
            who,
        } => {
            let how = match at {
                Some(t) => SplitAt::Time(t),
                None => SplitAt::Photos(photos),
            };
            let (mut cat, by) = who.open()?;
            let id = find_encounter(&cat, &encounter)?;
            print_json(&cat.split_encounter(id, &how, &by)?)?;
        }
        EncounterCommand::Join { keep, others, who } => {
            let (mut cat, by) = who.open()?;
            let keep = find_encounter(&cat, &keep)?;
            let others = others
                .iter()
                .map(|o| find_encounter(&cat, o))
                .collect::<whaleid::Result<Vec<_>>>()?;
            print_json(&cat.join_encounters(keep, &others, &by)?)?;
        }
    }
    Ok(std::process::ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(subcommand)]
        c: EncounterCommand,
    }

    fn edit(args: &[&str]) -> Result<Patch> {
        let mut all = vec!["x", "edit", "#1", "-c", "cat"];
        all.extend(args);
        match Cli::try_parse_from(all)?.c {
            EncounterCommand::Edit(a) => patch(&a),
            _ => unreachable!(),
        }
    }

    #[test]
    fn a_field_given_and_cleared_at_once_is_refused_and_group_clears_all_three() {
        let p = edit(&[
            "--place",
            "Reef",
            "--group-best",
            "3",
            "--clear",
            "group-max,notes",
        ])
        .unwrap();
        assert_eq!(p.place, Some(Some("Reef".into())));
        assert_eq!(p.group_best, Some(Some(3)));
        assert_eq!(p.group_max, Some(None));
        assert_eq!(p.notes, Some(None));
        assert_eq!(p.group_min, None);
        let e = edit(&["--place", "Reef", "--clear", "place"]).unwrap_err();
        assert!(
            e.to_string().contains("place is both given and cleared"),
            "{e}"
        );
        let e = edit(&["--group-best", "1", "--clear", "group"]).unwrap_err();
        assert!(e.to_string().contains("group-best"), "{e}");
        let p = edit(&["--lat", "-35.5", "--lon", "174", "--observers", "Ana;  Ben"]).unwrap();
        assert_eq!(p.position, Some(Some((-35.5, 174.0))));
        assert_eq!(
            p.observers,
            Some(vec!["Ana".to_string(), "Ben".to_string()])
        );
        assert!(edit(&["--lat", "-35.5"]).is_err(), "--lat needs --lon");
    }
}
