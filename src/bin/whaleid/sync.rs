//! `whaleid sync`: exchange operations with the team's server.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Result};
use clap::Args;

use whaleid::catalogue::codes::shown;
use whaleid::catalogue::{observer, Catalogue};
use whaleid::sync::client::{sync, Remote, Stage};
use whaleid::sync::photos::{sync_photos, CHUNK};
use whaleid::sync::review::{self, Found};
use whaleid::sync::state::describe;

#[derive(Args, Debug)]
pub struct SyncArgs {
    #[arg(long, short)]
    catalogue: PathBuf,
    /// The server, e.g. http://10.0.0.5:8787.
    #[arg(long, required_unless_present_any = ["review", "dismiss"])]
    server: Option<String>,
    /// Do not sync: list what earlier syncs left to look at (conflicts
    /// settled one way, possible duplicate individuals), with their ids.
    #[arg(long, conflicts_with_all = ["server", "dismiss"])]
    review: bool,
    /// Do not sync: take item ID off that list.
    #[arg(long, value_name = "ID", conflicts_with = "server")]
    dismiss: Option<i64>,
    /// Trust this CA certificate (PEM) for an https:// server whose
    /// certificate a public CA did not sign [default: $WHALEID_CA_CERT].
    #[arg(long)]
    ca_cert: Option<PathBuf>,
    /// Your token [default: $WHALEID_TOKEN].
    #[arg(long)]
    token: Option<String>,
    /// Who the changes made here are by, remembered as the catalogue's
    /// observer [default: $WHALEID_OBSERVER, else the observer (`catalogue
    /// config --observer`, or the last --author given), else the login name].
    #[arg(long)]
    author: Option<String>,
    /// Also send the original photos imported here, and fetch the ones
    /// other laptops sent (chunked; a cut transfer resumes next time).
    #[arg(long)]
    photos: bool,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

pub fn sync_cmd(a: SyncArgs) -> Result<ExitCode> {
    if a.review || a.dismiss.is_some() {
        return review_cmd(&a);
    }
    let server = a.server.clone().expect("clap requires --server here");
    let Some(token) = a.token.or_else(|| std::env::var("WHALEID_TOKEN").ok()) else {
        bail!("no token: pass --token or set WHALEID_TOKEN (an admin issues one with `whaleid-server token add NAME`)");
    };
    let mut cat = Catalogue::open(&a.catalogue)?;
    let Some(author) = observer::observer(&cat, a.author.as_deref())? else {
        bail!("no observer name: pass --author NAME (remembered) or set WHALEID_OBSERVER");
    };
    if a.author.is_some() {
        observer::set_observer(&mut cat, &author)?;
    }
    let mut remote = Remote::new(&server, &token)?;
    if let Some(ca) = a
        .ca_cert
        .or_else(|| std::env::var_os("WHALEID_CA_CERT").map(PathBuf::from))
    {
        remote = remote.trusting(&ca)?;
    }
    let cancel = crate::cancel_on_ctrl_c();
    let report = sync(&mut cat, &remote, &author, &cancel, &mut |stage, n| {
        let what = match stage {
            Stage::Pushing => "pushed",
            Stage::Pulling => "pulled",
        };
        tell!("{what} {n} operations");
    })?;
    let photos = if a.photos {
        let mut last = 0u64;
        Some(sync_photos(
            &mut cat,
            &remote,
            CHUNK,
            &cancel,
            &mut |moved| {
                if moved >= last + (64 << 20) {
                    last = moved;
                    tell!("photos: {} MiB moved", moved >> 20);
                }
            },
        )?)
    } else {
        None
    };
    if a.json {
        crate::print_pretty(&serde_json::json!({ "sync": report, "photos": photos }))?;
    } else {
        say!(
            "pushed {} operations, pulled {} ({} changes here); server position {}",
            report.pushed,
            report.pulled,
            report.applied,
            report.position
        );
        say!(
            "crops: {} sent, {} fetched, {} not on the server yet",
            report.media_sent,
            report.media_fetched,
            report.media_missing
        );
        if let Some(p) = &photos {
            say!(
                "photos: {} sent ({} MiB), {} fetched ({} MiB), {} not on the server yet",
                p.sent,
                p.bytes_sent >> 20,
                p.fetched,
                p.bytes_fetched >> 20,
                p.not_on_server
            );
            for s in &p.skipped {
                say!("photo not sent: {s}");
            }
        }
        for d in &report.duplicates {
            say!("{}", duplicate_line(d));
        }
        for r in &report.refused {
            say!("refused by the server: {} ({})", r.op, r.reason);
        }
        for r in &report.declined {
            say!("not applied here: {} ({})", r.op, r.reason);
        }
        for c in &report.conflicts {
            println!(
                "to review: {}",
                crate::json_safe(&serde_json::to_string(c)?)
            );
        }
    }
    Ok(if report.refused.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}

fn duplicate_line(d: &whaleid::sync::duplicates::Duplicate) -> String {
    format!(
        "possible duplicate: {} looks like {} (similarity {:.2}); merge them with `whaleid individual merge` if they are one animal",
        d.code, d.other_code, d.score
    )
}

/// `--review` and `--dismiss`: what syncs left for a person.
fn review_cmd(a: &SyncArgs) -> Result<ExitCode> {
    if let Some(id) = a.dismiss {
        review::dismiss(&mut Catalogue::open(&a.catalogue)?, id)?;
        say!("dismissed {id}");
        return Ok(ExitCode::SUCCESS);
    }
    // Listing writes nothing: it runs beside a writer.
    let cat = crate::catalogue::open_reader(&a.catalogue)?;
    let items = review::open_items(&cat)?;
    if a.json {
        crate::print_pretty(&items)?;
        return Ok(ExitCode::SUCCESS);
    }
    if items.is_empty() {
        say!("nothing from earlier syncs to review");
    }
    for item in &items {
        let text = match &item.what {
            Found::Conflict(c) => describe(&cat, c)?,
            Found::Duplicate(d) => duplicate_line(d),
        };
        println!("{}\t{}\t{}", item.id, shown(&item.found_at), shown(&text));
    }
    Ok(ExitCode::SUCCESS)
}
