//! `whaleid-server`: the team's master catalogue, which field laptops sync
//! with (`whaleid sync`). One command starts it on an SQLite data folder:
//!
//! ```sh
//! whaleid-server token add ana --data /srv/whaleid     # prints Ana's token once
//! whaleid-server serve --data /srv/whaleid --listen 0.0.0.0:8787
//! ```

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::{Parser, Subcommand};

use whaleid_server::store::SqliteStore;

#[derive(Parser, Debug)]
#[command(name = "whaleid-server", version, about = "WhaleID catalogue server")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Serve the sync API.
    Serve {
        /// The server's data folder (the master catalogue and its users).
        #[arg(long)]
        data: PathBuf,
        /// Address to listen on (port 0: any free port, printed at start).
        #[arg(long, default_value = "127.0.0.1:8787")]
        listen: String,
        /// Largest request body, in MiB.
        #[arg(long, default_value_t = 32)]
        max_body_mib: usize,
    },
    /// Issue and list users' tokens.
    #[command(subcommand)]
    Token(TokenCommand),
}

#[derive(Subcommand, Debug)]
enum TokenCommand {
    /// Issue a token for a user (replacing an earlier one); printed once.
    Add {
        user: String,
        #[arg(long)]
        data: PathBuf,
    },
    /// The users with tokens.
    List {
        #[arg(long)]
        data: PathBuf,
    },
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("whaleid-server: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Token(TokenCommand::Add { user, data }) => {
            let token = SqliteStore::open(&data)?.add_user(&user)?;
            println!("{token}");
        }
        Command::Token(TokenCommand::List { data }) => {
            for (name, created) in SqliteStore::open(&data)?.users()? {
                println!("{name}\t{created}");
            }
        }
        Command::Serve {
            data,
            listen,
            max_body_mib,
        } => {
            let store = SqliteStore::open(&data)?;
            let runtime = tokio::runtime::Runtime::new()?;
            runtime.block_on(whaleid_server::serve(
                store,
                &listen,
                max_body_mib << 20,
                |addr| println!("listening on http://{addr}"),
                async {
                    let _ = tokio::signal::ctrl_c().await;
                },
            ))?;
        }
    }
    Ok(())
}
