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
