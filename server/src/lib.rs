//! The WhaleID catalogue server as a library: the HTTP API ([`http`]) over a
//! [`store::Store`]. The `whaleid-server` binary runs it; tests and
//! benchmarks can start it in their own process.

use std::io::Write;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result};

pub mod http;
pub mod pg;
pub mod store;

/// Serve `store` on `listen` until `shutdown` completes. `ready` hears the
/// address actually bound (port 0 picks a free one) before the first request.
pub async fn serve(
    store: impl store::Store + 'static,
    listen: &str,
    max_body: usize,
    ready: impl FnOnce(SocketAddr),
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<()> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("listening on {listen}"))?;
    ready(listener.local_addr()?);
    std::io::stdout().flush()?;
    let shared: http::Shared = Arc::new(Mutex::new(store));
    axum::serve(listener, http::router(shared, max_body))
        .with_graceful_shutdown(shutdown)
        .await?;
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
                    |addr| {
                        let _ = tx.send(addr);
                    },
                    std::future::pending(),
                ))
            });
        if let Err(e) = served {
            eprintln!("whaleid-server: {e:#}");
        }
    });
    let addr: SocketAddr = rx
        .recv_timeout(std::time::Duration::from_secs(30))
        .context("the server did not start listening")?;
    Ok(format!("http://{addr}"))
}
