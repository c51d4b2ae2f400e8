//! `whaleid sync`: exchange operations with the team's server.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Result};
use clap::Args;

use whaleid::catalogue::Catalogue;
use whaleid::sync::client::{sync, Remote, Stage};
use whaleid::sync::log::keys;
use whaleid::sync::photos::{sync_photos, CHUNK};

#[derive(Args, Debug)]
pub struct SyncArgs {
    #[arg(long, short)]
    catalogue: PathBuf,
    /// The server, e.g. http://10.0.0.5:8787.
    #[arg(long)]
    server: String,
    /// Trust this CA certificate (PEM) for an https:// server whose
    /// certificate a public CA did not sign [default: $WHALEID_CA_CERT].
    #[arg(long)]
    ca_cert: Option<PathBuf>,
    /// Your token [default: $WHALEID_TOKEN].
    #[arg(long)]
    token: Option<String>,
    /// Who the changes made here are by (remembered) [default: the last one given, else $USER].
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
    let Some(token) = a.token.or_else(|| std::env::var("WHALEID_TOKEN").ok()) else {
        bail!("no token: pass --token or set WHALEID_TOKEN (an admin issues one with `whaleid-server token add NAME`)");
    };
    let mut cat = Catalogue::open(&a.catalogue)?;
    if let Some(author) = &a.author {
        cat.set_setting(keys::AUTHOR, author)?;
    }
    let author = cat
        .setting(keys::AUTHOR)?
        .or_else(|| std::env::var("USER").ok())
        .unwrap_or_else(|| "unknown".into());
    let mut remote = Remote::new(&a.server, &token)?;
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
        eprintln!("{what} {n} operations");
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
                    eprintln!("photos: {} MiB moved", moved >> 20);
                }
            },
        )?)
    } else {
        None
    };
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({ "sync": report, "photos": photos }))?
        );
    } else {
        println!(
            "pushed {} operations, pulled {} ({} changes here); server position {}",
            report.pushed, report.pulled, report.applied, report.position
        );
        println!(
            "crops: {} sent, {} fetched, {} not on the server yet",
            report.media_sent, report.media_fetched, report.media_missing
        );
        if let Some(p) = &photos {
            println!(
                "photos: {} sent ({} MiB), {} fetched ({} MiB), {} not on the server yet",
                p.sent,
                p.bytes_sent >> 20,
                p.fetched,
                p.bytes_fetched >> 20,
                p.not_on_server
            );
            for s in &p.skipped {
                println!("photo not sent: {s}");
            }
        }
        for d in &report.duplicates {
            println!(
                "possible duplicate: {} looks like {} (similarity {:.2}); merge them with `whaleid individual merge` if they are one animal",
                d.code, d.other_code, d.score
            );
        }
        for r in &report.refused {
            println!("refused by the server: {} ({})", r.op, r.reason);
        }
        for c in &report.conflicts {
            println!("to review: {}", serde_json::to_string(c)?);
        }
    }
    Ok(if report.refused.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}
