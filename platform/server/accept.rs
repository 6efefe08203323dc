//! The host's own accept loop: every TCP connection gets `TCP_NODELAY` (without it a
//! host message that follows another within ~40 ms waits for the client's delayed
//! ACK), HTTP/1.1 with upgrades, a deadline for the request head, and the peer
//! address, which reaches admission as a plain value with the request's headers.
//!
//! The loop hands each request to a dispatch function: warp routes every plain HTTP request,
//! the WebSocket upgrade is handled by [`super::upgrade`] (warp 0.4 neither accepts a
//! hand-made listener nor lets the WebSocket buffers be sized).

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use warp::http::{Request, Response};

/// Time a client has to send a request head (slow clients cannot hold a task).
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Back-off after a failed `accept` (e.g. out of file descriptors), so the loop does
/// not spin while the condition lasts.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// Accepts connections on `listener` and serves each with `dispatch` until `shutdown`
/// is cancelled; then stops accepting and lets plain HTTP connections finish their
/// current request. Upgraded sockets are tracked by their own tasks.
pub async fn serve<D, Fut, B>(
    listener: TcpListener,
    dispatch: Arc<D>,
    shutdown: CancellationToken,
    tracker: TaskTracker,
) where
    D: Fn(Request<Incoming>, SocketAddr) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Response<B>> + Send + 'static,
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    loop {
        let accepted = tokio::select! {
            () = shutdown.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(pair) => pair,
            Err(e) => {
                tracing::warn!(error = %e, "cannot accept a connection");
                tokio::time::sleep(ACCEPT_BACKOFF).await;
                continue;
            }
        };
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!(error = %e, "cannot set TCP_NODELAY");
        }
        let dispatch = dispatch.clone();
        let stop = shutdown.clone();
        tracker.spawn(async move {
            let service = service_fn(move |req| {
                let reply = dispatch(req, peer);
                async move { Ok::<_, Infallible>(reply.await) }
            });
            let mut builder = http1::Builder::new();
            builder.timer(TokioTimer::new()).header_read_timeout(HEADER_READ_TIMEOUT);
            let conn = builder.serve_connection(TokioIo::new(stream), service).with_upgrades();
            tokio::pin!(conn);
            let result = tokio::select! {
                result = conn.as_mut() => result,
                () = stop.cancelled() => {
                    conn.as_mut().graceful_shutdown();
                    conn.await
                }
            };
            if let Err(e) = result {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
        });
    }
}
