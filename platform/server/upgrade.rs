//! The participant WebSocket endpoint, `GET /x/<id>/ws`: admission (per client
//! address, from plain values: the peer address and the request's headers), the
//! host-wide connection cap, the RFC 6455 handshake, and a WebSocket whose buffers are
//! sized for many connections carrying small messages.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_util::task::TaskTracker;
use warp::Reply;
use warp::http::{HeaderMap, HeaderValue, Method, Request, StatusCode, header};
use warp::reply::Response;

use super::admission::Admission;
use super::{Experiments, ServeOptions, socket};
use crate::protocol::MAX_MESSAGE_BYTES;

/// Hard cap on a WebSocket message: above it the WebSocket layer drops the connection.
/// Messages between [`MAX_MESSAGE_BYTES`] and this get an `error` and the socket stays.
pub const HARD_MESSAGE_CAP: usize = 4 * MAX_MESSAGE_BYTES;
/// Initial read buffer of a WebSocket. Participant messages are a few hundred bytes;
/// the buffer grows for a larger one. (tungstenite's default, 128 KiB, allocated
/// eagerly, was most of a connection's memory.)
const READ_BUFFER: usize = 4 * 1024;

/// Messages are written when this many bytes are buffered, or at the explicit flush
/// after each batch (the socket pump flushes whenever its queue is empty, so nothing
/// waits behind a later message).
const WRITE_BUFFER: usize = 8 * 1024;

/// How a participant WebSocket is configured: a small eager read buffer, writes
/// batched up to an explicit flush, and the hard size cap.
pub fn websocket_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(WRITE_BUFFER)
        .max_message_size(Some(HARD_MESSAGE_CAP))
        .max_frame_size(Some(HARD_MESSAGE_CAP))
}

/// The experiment id of a WebSocket path `/x/<id>/ws`.
pub fn experiment_of(path: &str) -> Option<&str> {
    let id = path.strip_prefix("/x/")?.strip_suffix("/ws")?;
    (!id.is_empty() && !id.contains('/')).then_some(id)
}

/// Everything the endpoint needs, shared by all connections.
pub struct Endpoint {
    pub experiments: Experiments,
    pub opts: Arc<ServeOptions>,
    pub admission: Admission,
    /// Participant sockets open now (all experiments).
    pub open: Arc<AtomicUsize>,
    pub tracker: TaskTracker,
}

impl Endpoint {
    /// Answers an upgrade request for experiment `id` from `peer`: 404, 400, 429, 503,
    /// or 101 with the socket's pump started once the upgrade completes.
    pub fn upgrade(&self, id: &str, mut req: Request<Incoming>, peer: SocketAddr) -> Response {
        let Some(handle) = self.experiments.get(id).cloned() else {
            return plain(StatusCode::NOT_FOUND, "not found");
        };
        let accept = match handshake_key(req.method(), req.headers()) {
            Ok(key) => derive_accept_key(key.as_bytes()),
            Err(why) => return plain(StatusCode::BAD_REQUEST, why),
        };
        if !self.admission.admit(peer, req.headers()) {
            let busy = "too many new connections from your address; please try again in a minute";
            return plain(StatusCode::TOO_MANY_REQUESTS, busy);
        }
        // Counted before the check, so that concurrent upgrades cannot overshoot the cap;
        // the slots are given back by their guards whatever way the socket ends.
        let slot = Slot::take(self.open.clone());
        if slot.held > self.opts.max_connections {
            return plain(StatusCode::SERVICE_UNAVAILABLE, "the study server is full");
        }
        let experiment_slot = Slot::take(handle.open.clone());
        if handle.max_connections.is_some_and(|max| experiment_slot.held > max) {
            return plain(StatusCode::SERVICE_UNAVAILABLE, "this study is full right now; please try again later");
        }
        let on_upgrade = hyper::upgrade::on(&mut req);
        let socket_opts = self.opts.socket;
        self.tracker.spawn(async move {
            let _slots = (slot, experiment_slot);
            match on_upgrade.await {
                Ok(upgraded) => {
                    let io = TokioIo::new(upgraded);
                    let ws = WebSocketStream::from_raw_socket(io, Role::Server, Some(websocket_config())).await;
                    socket::pump(ws, handle, socket_opts).await;
                }
                Err(e) => tracing::debug!(%peer, error = %e, "WebSocket upgrade failed"),
            }
        });
        let mut response = StatusCode::SWITCHING_PROTOCOLS.into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
        headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
        headers.insert(header::SEC_WEBSOCKET_ACCEPT, HeaderValue::from_str(&accept).expect("base64 is a header value"));
        response
    }
}

/// One counted connection slot, given back when dropped.
struct Slot {
    open: Arc<AtomicUsize>,
    /// Connections open, this one included, when it was taken.
    held: usize,
}

impl Slot {
    fn take(open: Arc<AtomicUsize>) -> Self {
        let held = open.fetch_add(1, Ordering::Relaxed) + 1;
        Self { open, held }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.open.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The `Sec-WebSocket-Key` of a valid RFC 6455 upgrade request, or what is wrong.
fn handshake_key<'h>(method: &Method, headers: &'h HeaderMap) -> Result<&'h str, &'static str> {
    let has_token = |name: header::HeaderName, token: &str| {
        headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|t| t.trim().eq_ignore_ascii_case(token))
    };
    if method != Method::GET {
        return Err("a WebSocket upgrade must be a GET");
    }
    if !has_token(header::CONNECTION, "upgrade") || !has_token(header::UPGRADE, "websocket") {
        return Err("expected a WebSocket upgrade (Connection: upgrade, Upgrade: websocket)");
    }
    if headers.get(header::SEC_WEBSOCKET_VERSION).and_then(|v| v.to_str().ok()) != Some("13") {
        return Err("unsupported WebSocket version (expected Sec-WebSocket-Version: 13)");
    }
    headers
        .get(header::SEC_WEBSOCKET_KEY)
        .and_then(|v| v.to_str().ok())
        .filter(|k| !k.is_empty())
        .ok_or("missing Sec-WebSocket-Key")
}

fn plain(status: StatusCode, body: &'static str) -> Response {
    warp::reply::with_status(body, status).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_websocket_path_of_one_experiment_matches() {
        assert_eq!(experiment_of("/x/demo/ws"), Some("demo"));
        for path in ["/x/demo", "/x//ws", "/x/a/b/ws", "/y/demo/ws", "/x/demo/ws/"] {
            assert_eq!(experiment_of(path), None, "{path}");
        }
    }

    #[test]
    fn a_handshake_needs_get_upgrade_version_13_and_a_key() {
        let mut h = HeaderMap::new();
        h.insert(header::CONNECTION, HeaderValue::from_static("keep-alive, Upgrade"));
        h.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
        h.insert(header::SEC_WEBSOCKET_VERSION, HeaderValue::from_static("13"));
        h.insert(header::SEC_WEBSOCKET_KEY, HeaderValue::from_static("dGhlIHNhbXBsZSBub25jZQ=="));
        assert_eq!(handshake_key(&Method::GET, &h), Ok("dGhlIHNhbXBsZSBub25jZQ=="));
        assert!(handshake_key(&Method::POST, &h).is_err());
        // RFC 6455 §1.3's example.
        assert_eq!(derive_accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
        h.insert(header::SEC_WEBSOCKET_VERSION, HeaderValue::from_static("8"));
        assert!(handshake_key(&Method::GET, &h).is_err());
    }
}
