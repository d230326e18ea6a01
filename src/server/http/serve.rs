//! The accept loop, with the timeouts `axum::serve` has no knobs for: a
//! client must send its request headers within `header_read` (slow-loris
//! clients and idle keep-alive connections are dropped), and on shutdown
//! in-flight requests get `drain` to finish before the server stops anyway.

use std::{future::Future, time::Duration};

use axum::{body::Body, extract::ConnectInfo, Router};
use hyper::body::Incoming;
use hyper_util::{
    rt::{TokioExecutor, TokioIo, TokioTimer},
    server::conn::auto::Builder,
    service::TowerToHyperService,
};
use tokio::{net::TcpListener, sync::watch};
use tower::ServiceExt;

use crate::server::config::Timeouts;

/// Serves `app` on `listener` until `shutdown` completes, then drains.
pub async fn serve(
    app: Router,
    listener: TcpListener,
    timeouts: Timeouts,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // Dropped when shutdown begins: each connection then finishes its
    // request in flight and closes.
    let (stop_tx, stop_rx) = watch::channel(());
    // Each connection task holds a receiver; all dropped = all done.
    let (done_tx, done_rx) = watch::channel(());
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Out of file descriptors and the like: back off, go on.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // Without TCP_NODELAY, keep-alive clients can stall ~40 ms per small response.
        if let Err(e) = stream.set_nodelay(true) {
            tracing::warn!(error = %e, "could not set TCP_NODELAY");
        }
        let service = app
            .clone()
            .map_request(move |mut request: axum::http::Request<Incoming>| {
                request.extensions_mut().insert(ConnectInfo(remote));
                request.map(Body::new)
            });
        let mut stop = stop_rx.clone();
        let done = done_rx.clone();
        tokio::spawn(async move {
            let mut builder = Builder::new(TokioExecutor::new());
            builder
                .http1()
                .timer(TokioTimer::new())
                .header_read_timeout(timeouts.header_read);
            builder
                .http2()
                .timer(TokioTimer::new())
                .keep_alive_interval(timeouts.idle)
                .keep_alive_timeout(timeouts.header_read);
            let connection = builder.serve_connection_with_upgrades(
                TokioIo::new(stream),
                TowerToHyperService::new(service),
            );
            let mut connection = std::pin::pin!(connection);
            let mut stopping = false;
            loop {
                tokio::select! {
                    result = connection.as_mut() => {
                        if let Err(e) = result {
                            tracing::debug!(client = %remote, error = %e, "connection ended with an error");
                        }
                        break;
                    }
                    _ = stop.changed(), if !stopping => {
                        stopping = true;
                        connection.as_mut().graceful_shutdown();
                    }
                }
            }
            drop(done);
        });
    }
    drop(listener);
    drop(stop_tx);
    drop(done_rx);
    let open = done_tx.receiver_count();
    if open > 0 {
        tracing::info!(connections = open, "draining connections");
    }
    if tokio::time::timeout(timeouts.drain, done_tx.closed())
        .await
        .is_err()
    {
        tracing::warn!(
            connections = done_tx.receiver_count(),
            drain_seconds = timeouts.drain.as_secs_f64(),
            "drain deadline passed; stopping with requests still in flight"
        );
    }
    Ok(())
}
