//! `whaleid detection add|set|remove|list|undo`: boxes by hand from the
//! command line, through the same engine calls as the app
//! ([`whaleid::ingest::boxes`]). Each change prints one JSON line (what
//! changed and how many detections wait for review); `list` prints one
//! JSON line per live box, with its photo-ID attributes. `grade` sets or
//! clears a detection's attributes
//! ([`whaleid::catalogue::attributes`]) and prints them.

use std::path::PathBuf;

use anyhow::{bail, Result};
use clap::{Args, Subcommand};

use whaleid::catalogue::attributes::{Attribute, Distinctiveness, Edit, Part, Quality, Side};
use whaleid::catalogue::{observer, Catalogue};
use whaleid::embed::Embedder;
use whaleid::ingest::boxes::{self, BoxModels};
use whaleid::packs::Pack;

use crate::ModelArgs;
use whaleid::packs::binding::remembered_dir;

#[derive(Subcommand, Debug)]
pub enum DetectionCommand {
    /// Draw a box on a photo (another animal, or the first box on a photo
    /// with no detection): cropped, embedded and given suggestions.
    Add {
        /// The photo: its number in the catalogue, or its file.
        photo: String,
        #[command(flatten)]
        change: BoxArgs,
        #[command(flatten)]
        models: ModelArgs,
    },
    /// Move or resize a box: a new detection replaces it (a confirmed
    /// identification carries over). On a whole-frame photo, set its
    /// `whole` detection to draw the first box.
    Set {
        /// The detection: its number (#146, as the app and the CSV export
        /// show it) or its UUID.
        detection: String,
        #[command(flatten)]
        change: BoxArgs,
        #[command(flatten)]
        models: ModelArgs,
    },
    /// Remove a box (it is kept with its decisions; nothing lists it).
    Remove {
        /// The detection: its number or its UUID.
        detection: String,
        #[command(flatten)]
        who: Who,
    },
    /// The live boxes of a photo, one JSON line each.
    List {
        /// The photo: its number in the catalogue, or its file.
        photo: String,
        #[arg(long, short)]
        catalogue: PathBuf,
    },
    /// Take back the latest box change (add, set or remove).
    Undo {
        #[command(flatten)]
        who: Who,
    },
    /// Grade a detection: photo quality, distinctiveness, side and body
    /// part (each on its own; what is not given stays), or clear some.
    Grade {
        /// The detection: its number (#146) or its UUID.
        detection: String,
        /// Photo quality: Q1 excellent, Q2 good, Q3 poor.
        #[arg(long, value_name = "Q1|Q2|Q3")]
        quality: Option<Quality>,
        /// Distinctiveness: D1 very distinctive, D2 average, D3 low/clean.
        #[arg(long, value_name = "D1|D2|D3")]
        distinctiveness: Option<Distinctiveness>,
        /// The side shown.
        #[arg(long, value_name = "left|right|both|unknown")]
        side: Option<Side>,
        /// The body part shown.
        #[arg(long, value_name = "dorsal-fin|fluke|flank|head|other")]
        part: Option<Part>,
        /// Back to not graded: quality, distinctiveness, side or part
        /// (repeat, or separate with commas).
        #[arg(long, value_name = "FIELD", value_delimiter = ',')]
        clear: Vec<Attribute>,
        #[command(flatten)]
        who: Who,
    },
}

/// The edits `grade` asks for, in the order the options are listed.
fn edits(
    quality: Option<Quality>,
    distinctiveness: Option<Distinctiveness>,
    side: Option<Side>,
    part: Option<Part>,
    clear: &[Attribute],
) -> Vec<Edit> {
    let mut out: Vec<Edit> = [
        quality.map(Edit::Quality),
        distinctiveness.map(Edit::Distinctiveness),
        side.map(Edit::Side),
        part.map(Edit::Part),
    ]
    .into_iter()
    .flatten()
    .collect();
    out.extend(clear.iter().map(|a| Edit::Clear(*a)));
    out
}

/// A box as `list` prints it: its row and its attributes.
fn with_attributes(cat: &Catalogue, row: &boxes::BoxRow) -> Result<serde_json::Value> {
    let mut v = serde_json::to_value(row)?;
    if let Some(o) = v.as_object_mut() {
        o.insert(
            "attributes".into(),
            serde_json::to_value(cat.attributes(row.id)?)?,
        );
    }
    Ok(v)
}

#[derive(Args, Debug)]
pub struct BoxArgs {
    /// The box in the photo's pixels: x1,y1,x2,y2.
    #[arg(long = "box", value_parser = parse_box, allow_hyphen_values = true)]
    bbox: [f32; 4],
    #[command(flatten)]
    who: Who,
}

#[derive(Args, Debug)]
pub struct Who {
    /// The catalogue.
    #[arg(long, short)]
    pub(crate) catalogue: PathBuf,
    /// Who draws [default: the observer: $WHALEID_OBSERVER, else
    /// `catalogue config --observer`, else the login name].
    #[arg(long = "author", visible_alias = "by")]
    author: Option<String>,
}

impl Who {
    pub(crate) fn open(&self) -> Result<(Catalogue, String)> {
        let cat = Catalogue::open(&self.catalogue)?;
        let by = author(&cat, self.author.as_deref())?;
        Ok((cat, by))
    }
}

/// Who the change is by: the one place the CLI decides it for boxes.
pub(crate) fn author(cat: &Catalogue, given: Option<&str>) -> Result<String> {
    match observer::observer(cat, given)? {
        Some(name) => Ok(name),
        None => bail!(
            "no observer name: give --author NAME, or set one with `whaleid catalogue config -c DIR --observer NAME`"
        ),
    }
}

fn parse_box(s: &str) -> std::result::Result<[f32; 4], String> {
    let parts: Vec<&str> = s.split(',').map(str::trim).collect();
    let values: Vec<f32> = parts
        .iter()
        .map(|p| p.parse::<f32>())
        .collect::<std::result::Result<_, _>>()
        .map_err(|_| format!("`{s}` is not four numbers x1,y1,x2,y2"))?;
    match values.as_slice() {
        [x1, y1, x2, y2] => Ok([*x1, *y1, *x2, *y2]),
        _ => Err(format!("`{s}` is not four numbers x1,y1,x2,y2")),
    }
}

fn models(cat: &Catalogue, args: &ModelArgs) -> Result<(Pack, Embedder)> {
    let pack = Pack::load(args.pack_dir_or(remembered_dir(cat)?)?)?;
    let embedder = Embedder::open(&pack, &args.session())?;
    Ok((pack, embedder))
}

fn print_json<T: serde::Serialize>(v: &T) -> Result<()> {
    println!("{}", crate::json_safe(&serde_json::to_string(v)?));
    Ok(())
}

pub fn run(c: DetectionCommand) -> Result<std::process::ExitCode> {
    let cancel = crate::cancel_on_ctrl_c();
    match c {
        DetectionCommand::Add {
            photo,
            change,
            models: m,
        } => {
            let (mut cat, by) = change.who.open()?;
            let photo = boxes::find_photo(&cat, &photo)?;
            let (pack, embedder) = models(&cat, &m)?;
            let models = BoxModels {
                pack: &pack,
                embedder: &embedder,
            };
            print_json(&boxes::add_box(
                &mut cat,
                models,
                photo,
                change.bbox,
                &by,
                &cancel,
            )?)?;
        }
        DetectionCommand::Set {
            detection,
            change,
            models: m,
        } => {
            let (mut cat, by) = change.who.open()?;
            let detection = boxes::find_detection(&cat, &detection)?;
            let (pack, embedder) = models(&cat, &m)?;
            let models = BoxModels {
                pack: &pack,
                embedder: &embedder,
            };
            print_json(&boxes::set_box(
                &mut cat,
                models,
                detection,
                change.bbox,
                &by,
                &cancel,
            )?)?;
        }
        DetectionCommand::Remove { detection, who } => {
            let (mut cat, by) = who.open()?;
            let detection = boxes::find_detection(&cat, &detection)?;
            print_json(&boxes::remove_box(&mut cat, detection, &by)?)?;
        }
        DetectionCommand::List { photo, catalogue } => {
            let cat = crate::catalogue::open_reader(&catalogue)?;
            let photo = boxes::find_photo(&cat, &photo)?;
            for row in boxes::boxes_of(&cat, photo)? {
                print_json(&with_attributes(&cat, &row)?)?;
            }
        }
        DetectionCommand::Undo { who } => {
            let (mut cat, by) = who.open()?;
            match boxes::undo_box(&mut cat, &by)? {
                Some(change) => print_json(&change)?,
                None => tell!("nothing to undo: no box was drawn, moved or removed here"),
            }
        }
        DetectionCommand::Grade {
            detection,
            quality,
            distinctiveness,
            side,
            part,
            clear,
            who,
        } => {
            let edits = edits(quality, distinctiveness, side, part, &clear);
            let (mut cat, by) = who.open()?;
            let id = boxes::find_detection(&cat, &detection)?;
            let attributes = cat.set_attributes(id, &edits, &by)?;
            print_json(&serde_json::json!({ "detection": id, "attributes": attributes }))?;
        }
    }
    Ok(std::process::ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::parse_box;

    #[test]
    fn a_box_is_four_numbers() {
        assert_eq!(parse_box("1,2.5, 30,40").unwrap(), [1.0, 2.5, 30.0, 40.0]);
        assert!(parse_box("1,2,3").unwrap_err().contains("four numbers"));
        assert!(parse_box("1,2,x,4").is_err());
    }
}
