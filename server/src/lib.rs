//! The WhaleID catalogue server as a library: the HTTP API ([`http`]) over a
//! [`store::Store`]. The `whaleid-server` binary runs it; tests and
//! benchmarks can start it in their own process.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result};

pub mod http;
pub mod pg;
pub mod store;

/// A certificate chain and its private key, PEM files: the server then
/// speaks HTTPS only (rustls).
#[derive(Debug, Clone)]
pub struct Tls {
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl Tls {
    async fn config(&self) -> Result<axum_server::tls_rustls::RustlsConfig> {
        axum_server::tls_rustls::RustlsConfig::from_pem_file(&self.cert, &self.key)
            .await
            .with_context(|| {
                format!(
                    "TLS certificate {} with key {}",
                    self.cert.display(),
                    self.key.display()
                )
            })
    }
}

/// Serve `store` on `listen` until `shutdown` completes, over HTTPS when
/// `tls` is given. `ready` hears the URL actually served (port 0 picks a
/// free one) before the first request.
pub async fn serve(
    store: impl store::Store + 'static,
    listen: &str,
    max_body: usize,
    tls: Option<&Tls>,
    ready: impl FnOnce(&str),
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<()> {
    // Read the certificate before binding, so a bad one fails at start.
    let tls_config = match tls {
        Some(t) => Some(t.config().await?),
        None => None,
    };
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("listening on {listen}"))?;
    let addr = listener.local_addr()?;
    let shared: http::Shared = Arc::new(Mutex::new(store));
    let app = http::router(shared, max_body);
    match tls_config {
        None => {
            ready(&format!("http://{addr}"));
            std::io::stdout().flush()?;
            axum::serve(listener, app)
                .with_graceful_shutdown(shutdown)
                .await?;
        }
        Some(config) => {
            let handle = axum_server::Handle::<SocketAddr>::new();
            let stopper = handle.clone();
            tokio::spawn(async move {
                shutdown.await;
                stopper.graceful_shutdown(Some(std::time::Duration::from_secs(10)));
            });
            let server = axum_server::tls_rustls::from_tcp_rustls(listener.into_std()?, config)?
                .handle(handle);
            ready(&format!("https://{addr}"));
            std::io::stdout().flush()?;
            server.serve(app.into_make_service()).await?;
        }
    }
    Ok(())
}

/// Serve `store` on a free loopback port from a thread of its own (for
/// tests, benchmarks and tools that run the server in their process), and
/// return its URL once it listens. It serves until the process ends.
pub fn spawn_local(store: impl store::Store + 'static, max_body: usize) -> Result<String> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let served = tokio::runtime::Runtime::new()
            .map_err(anyhow::Error::from)
            .and_then(|rt| {
                rt.block_on(serve(
                    store,
                    "127.0.0.1:0",
                    max_body,
                    None,
                    |url| {
                        let _ = tx.send(url.to_string());
                    },
                    std::future::pending(),
                ))
            });
        if let Err(e) = served {
            eprintln!("whaleid-server: {e:#}");
        }
    });
    rx.recv_timeout(std::time::Duration::from_secs(30))
        .context("the server did not start listening")
}
