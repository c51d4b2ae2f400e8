//! `whaleid-server`: the team's master catalogue, which field laptops sync
//! with (`whaleid sync`). One command starts it on an SQLite data folder:
//!
//! ```sh
//! whaleid-server token add ana --data /srv/whaleid     # prints Ana's token once
//! whaleid-server serve --data /srv/whaleid --listen 0.0.0.0:8787
//! ```
//!
//! `token` works on the users alone, never the master catalogue (whose
//! writer lock `serve` holds), so tokens are issued and revoked while the
//! server runs; it looks a token up at every request and sees the change.
//!
//! Institutions can keep it in PostgreSQL instead: `--postgres URL` in place
//! of `--data DIR` (crops then live in the database too). With
//! `--tls-cert FILE --tls-key FILE` it serves HTTPS (rustls) only; laptops
//! trust a certificate from a public CA as they are, or the team's own CA
//! with `whaleid sync --ca-cert FILE`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Result};
use clap::{Args, Parser, Subcommand};

use whaleid_server::pg::PgStore;
use whaleid_server::store::{SqliteStore, SqliteUsers};

#[derive(Parser, Debug)]
#[command(name = "whaleid-server", version, about = "WhaleID catalogue server")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Where the server keeps everything: one of the two.
#[derive(Args, Debug, Clone)]
struct Backend {
    /// A data folder: the master catalogue (SQLite) and its users.
    #[arg(long)]
    data: Option<PathBuf>,
    /// A PostgreSQL database, `postgres://user:password@host/db`.
    #[arg(long, conflicts_with = "data")]
    postgres: Option<String>,
}

enum Opened {
    Sqlite(SqliteStore),
    Pg(PgStore),
}

/// The users' tokens only: what `token` opens.
enum Users {
    Sqlite(SqliteUsers),
    Pg(Box<PgStore>),
}

impl Backend {
    fn open(&self) -> Result<Opened> {
        match (&self.data, &self.postgres) {
            (Some(dir), None) => Ok(Opened::Sqlite(SqliteStore::open(dir)?)),
            (None, Some(url)) => Ok(Opened::Pg(PgStore::open(url)?)),
            _ => bail!("say where the server keeps its data: --data DIR or --postgres URL"),
        }
    }

    /// The users' store without the master catalogue, which a running
    /// `serve` holds as its one writer.
    fn open_users(&self) -> Result<Users> {
        match (&self.data, &self.postgres) {
            (Some(dir), None) => {
                whaleid_server::store::prepare(dir)?;
                Ok(Users::Sqlite(SqliteUsers::open(dir)?))
            }
            (None, Some(url)) => Ok(Users::Pg(Box::new(PgStore::open(url)?))),
            _ => bail!("say where the server keeps its data: --data DIR or --postgres URL"),
        }
    }
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Serve the sync API.
    Serve {
        #[command(flatten)]
        backend: Backend,
        /// Address to listen on (port 0: any free port, printed at start).
        #[arg(long, default_value = "127.0.0.1:8787")]
        listen: String,
        /// Largest request body, in MiB.
        #[arg(long, default_value_t = 32)]
        max_body_mib: usize,
        /// Serve HTTPS with this certificate chain (PEM); needs --tls-key.
        #[arg(long, requires = "tls_key")]
        tls_cert: Option<PathBuf>,
        /// The certificate's private key (PEM: PKCS#8, PKCS#1 or SEC1).
        #[arg(long, requires = "tls_cert")]
        tls_key: Option<PathBuf>,
    },
    /// Issue, list and revoke users' tokens (also while the server runs).
    #[command(subcommand)]
    Token(TokenCommand),
}

#[derive(Subcommand, Debug)]
enum TokenCommand {
    /// Issue a token for a user (replacing an earlier one); printed once.
    Add {
        user: String,
        #[command(flatten)]
        backend: Backend,
    },
    /// Take a user's token back: the server refuses it from its next
    /// request (what the user pushed stays).
    Revoke {
        user: String,
        #[command(flatten)]
        backend: Backend,
    },
    /// The users with tokens.
    List {
        #[command(flatten)]
        backend: Backend,
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
        Command::Token(TokenCommand::Add { user, backend }) => {
            let token = match backend.open_users()? {
                Users::Sqlite(mut s) => s.add_user(&user)?,
                Users::Pg(mut s) => s.add_user(&user)?,
            };
            println!("{token}");
        }
        Command::Token(TokenCommand::Revoke { user, backend }) => {
            match backend.open_users()? {
                Users::Sqlite(mut s) => s.revoke_user(&user)?,
                Users::Pg(mut s) => s.revoke_user(&user)?,
            }
            println!(
                "revoked {}'s token",
                whaleid::catalogue::codes::shown(&user)
            );
        }
        Command::Token(TokenCommand::List { backend }) => {
            let users = match backend.open_users()? {
                Users::Sqlite(s) => s.users()?,
                Users::Pg(mut s) => s.users()?,
            };
            for (name, created) in users {
                println!("{name}\t{created}");
            }
        }
        Command::Serve {
            backend,
            listen,
            max_body_mib,
            tls_cert,
            tls_key,
        } => {
            let tls = tls_cert
                .zip(tls_key)
                .map(|(cert, key)| whaleid_server::Tls { cert, key });
            let tls = tls.as_ref();
            let opened = backend.open()?;
            // The PostgreSQL client runs its own runtime: start ours after
            // connecting, and serve from it.
            let runtime = tokio::runtime::Runtime::new()?;
            let ready = |url: &str| println!("listening on {url}");
            let shutdown = async {
                let _ = tokio::signal::ctrl_c().await;
            };
            runtime.block_on(async move {
                match opened {
                    Opened::Sqlite(s) => {
                        whaleid_server::serve(s, &listen, max_body_mib << 20, tls, ready, shutdown)
                            .await
                    }
                    Opened::Pg(s) => {
                        whaleid_server::serve(s, &listen, max_body_mib << 20, tls, ready, shutdown)
                            .await
                    }
                }
            })?;
        }
    }
    Ok(())
}
