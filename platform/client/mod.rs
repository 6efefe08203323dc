//! The Rust participant client: connects to a host like a browser does, walks scenes
//! with scripted answers, and receives whatever the host sends. Integration tests use
//! it; later, bots and load tests.

pub mod http;
#[cfg(feature = "webrtc")]
pub mod webrtc;

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::protocol::{Answer, ClientMsg, ErrorCode, PROTOCOL_VERSION, ParticipantId, SceneView, ServerMsg};

/// How long helpers wait for an expected message by default.
pub const DEFAULT_WAIT: Duration = Duration::from_secs(10);

/// What went wrong on the client side.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot connect to {url}: {source}")]
    Connect { url: String, source: Box<tokio_tungstenite::tungstenite::Error> },
    #[error("the connection closed")]
    Closed,
    #[error("timed out after {0:?} waiting for {1}")]
    Timeout(Duration, String),
    #[error("the host refused: {code:?}: {message}")]
    Refused { code: ErrorCode, message: String, fields: BTreeMap<String, String> },
    #[error("this participant is already connected elsewhere: {0}")]
    Duplicate(String),
    #[error("unexpected message from the host: {0}")]
    Unexpected(String),
    #[error("websocket error: {0}")]
    Socket(#[from] Box<tokio_tungstenite::tungstenite::Error>),
}

/// Who the host says we are.
#[derive(Debug, Clone, PartialEq)]
pub struct Welcome {
    pub participant: ParticipantId,
    pub resume_token: String,
    pub experiment: String,
    pub title: String,
    pub resumed: bool,
}

/// Answers to give, by survey scene id then question id.
pub type Script = BTreeMap<String, BTreeMap<String, Answer>>;

/// A connected participant.
pub struct Client {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    pub welcome: Welcome,
    next_seq: u64,
    /// Messages received while waiting for something else, in order.
    pending: VecDeque<ServerMsg>,
}

impl Client {
    /// Connects to experiment `experiment` on the host at `addr` (`host:port`), says
    /// hello with `params` (the page's query parameters) and an optional resume token,
    /// and waits for `welcome`.
    pub async fn connect(
        addr: &str,
        experiment: &str,
        params: &[(&str, &str)],
        resume_token: Option<&str>,
    ) -> Result<Self, ClientError> {
        Self::connect_from(addr, experiment, params, resume_token, None).await
    }

    /// Like [`Client::connect`], from the local address `from` (e.g. one of
    /// 127.0.0.0/8, so that many clients on one machine look like many participants).
    pub async fn connect_from(
        addr: &str,
        experiment: &str,
        params: &[(&str, &str)],
        resume_token: Option<&str>,
        from: Option<std::net::IpAddr>,
    ) -> Result<Self, ClientError> {
        let url = format!("ws://{addr}/x/{experiment}/ws");
        let ws = open_socket(&url, addr, from).await?;
        let placeholder = Welcome {
            participant: ParticipantId(uuid::Uuid::nil()),
            resume_token: String::new(),
            experiment: experiment.to_owned(),
            title: String::new(),
            resumed: false,
        };
        let mut client = Self { ws, welcome: placeholder, next_seq: 1, pending: VecDeque::new() };
        let params = params.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        client
            .send(ClientMsg::Hello {
                protocol: PROTOCOL_VERSION,
                params,
                resume_token: resume_token.map(str::to_owned),
                takeover: false,
                environment: None,
                seq: None,
            })
            .await?;
        client.welcome = client
            .wait_for("welcome", DEFAULT_WAIT, |m| match m {
                ServerMsg::Welcome { participant, resume_token, experiment, title, resumed, .. } => Some(Welcome {
                    participant: *participant,
                    resume_token: resume_token.clone(),
                    experiment: experiment.clone(),
                    title: title.clone(),
                    resumed: *resumed,
                }),
                _ => None,
            })
            .await?;
        Ok(client)
    }

    /// Sends a message as is.
    pub async fn send(&mut self, msg: ClientMsg) -> Result<(), ClientError> {
        let text = serde_json::to_string(&msg).expect("client messages serialize");
        self.send_raw(text).await
    }

    /// Sends arbitrary text (tests of malformed input).
    pub async fn send_raw(&mut self, text: impl Into<String>) -> Result<(), ClientError> {
        self.ws.send(Message::text(text.into())).await.map_err(|e| ClientError::Socket(Box::new(e)))
    }

    /// A fresh sequence number for a message that expects an `ack`.
    pub fn seq(&mut self) -> u64 {
        self.next_seq += 1;
        self.next_seq
    }

    /// The next message from the host (earlier buffered ones first).
    pub async fn recv(&mut self, timeout: Duration) -> Result<ServerMsg, ClientError> {
        if let Some(msg) = self.pending.pop_front() {
            return Ok(msg);
        }
        tokio::time::timeout(timeout, self.recv_socket())
            .await
            .map_err(|_| ClientError::Timeout(timeout, "any message".to_owned()))?
    }

    async fn recv_socket(&mut self) -> Result<ServerMsg, ClientError> {
        loop {
            match self.ws.next().await {
                None => return Err(ClientError::Closed),
                Some(Err(e)) => return Err(ClientError::Socket(Box::new(e))),
                Some(Ok(Message::Text(text))) => {
                    return serde_json::from_str(text.as_str())
                        .map_err(|e| ClientError::Unexpected(format!("{e}: {text}")));
                }
                Some(Ok(Message::Close(_))) => return Err(ClientError::Closed),
                Some(Ok(_)) => continue, // ping/pong are answered by tungstenite
            }
        }
    }

    /// Waits for the first message `pick` accepts; other messages stay buffered for
    /// later `recv`s, except that an `error`, `duplicate_session` or a close ends the
    /// wait with that error.
    pub async fn wait_for<T>(
        &mut self,
        what: &str,
        timeout: Duration,
        mut pick: impl FnMut(&ServerMsg) -> Option<T>,
    ) -> Result<T, ClientError> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut skipped = VecDeque::new();
        let result = loop {
            let msg = match self.pending.pop_front() {
                Some(msg) => msg,
                None => match tokio::time::timeout_at(deadline, self.recv_socket()).await {
                    Ok(Ok(msg)) => msg,
                    Ok(Err(e)) => break Err(e),
                    Err(_) => break Err(ClientError::Timeout(timeout, what.to_owned())),
                },
            };
            if let Some(found) = pick(&msg) {
                break Ok(found);
            }
            match keep_waiting(msg) {
                Ok(other) => skipped.push_back(other),
                Err(e) => break Err(e),
            }
        };
        skipped.extend(self.pending.drain(..));
        self.pending = skipped;
        result
    }

    /// Waits for the next `scene`.
    pub async fn next_scene(&mut self) -> Result<(usize, SceneView), ClientError> {
        self.wait_for("scene", DEFAULT_WAIT, |m| match m {
            ServerMsg::Scene { index, scene, .. } => Some((*index, scene.clone())),
            _ => None,
        })
        .await
    }

    /// Sends `msg` with a fresh `seq` and waits for its `ack` (or its `error`).
    pub async fn request(&mut self, msg: impl FnOnce(Option<u64>) -> ClientMsg) -> Result<(), ClientError> {
        let seq = self.seq();
        self.send(msg(Some(seq))).await?;
        self.wait_for("ack", DEFAULT_WAIT, |m| matches!(m, ServerMsg::Ack { seq: s } if *s == seq).then_some(())).await
    }

    /// Leaves a consent (agreeing) or instructions scene.
    pub async fn advance(&mut self, scene: &str) -> Result<(), ClientError> {
        let scene = scene.to_owned();
        self.request(|seq| ClientMsg::Advance { scene, agreed: true, iteration: None, seq }).await
    }

    /// Submits survey answers.
    pub async fn submit(&mut self, scene: &str, answers: BTreeMap<String, Answer>) -> Result<(), ClientError> {
        let scene = scene.to_owned();
        self.request(|seq| ClientMsg::Submit { scene, answers, iteration: None, seq }).await
    }

    /// Walks scenes from the next `scene` message on: agrees to consent, continues
    /// instructions, answers surveys from `script` (missing answers are left out), and
    /// stops at the first multiplayer or end scene, which it returns.
    pub async fn walk(&mut self, script: &Script) -> Result<SceneView, ClientError> {
        loop {
            let (_, scene) = self.next_scene().await?;
            match &scene {
                SceneView::Consent { id, .. } | SceneView::Instructions { id, .. } => {
                    let id = id.clone();
                    self.advance(&id).await?;
                }
                SceneView::Survey { id, .. } => {
                    let answers = script.get(id).cloned().unwrap_or_default();
                    let id = id.clone();
                    self.submit(&id, answers).await?;
                }
                SceneView::Multiplayer { .. } | SceneView::End { .. } => return Ok(scene),
            }
        }
    }

    /// Like [`Client::wait_for`], while taking part in probes with a real WebRTC peer:
    /// probe messages go to `prober`, and what it produces goes to the host.
    #[cfg(feature = "webrtc")]
    pub async fn wait_probing<T>(
        &mut self,
        prober: &mut webrtc::Prober,
        what: &str,
        timeout: Duration,
        mut pick: impl FnMut(&ServerMsg) -> Option<T>,
    ) -> Result<T, ClientError> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut kept = VecDeque::new();
        let found = loop {
            let msg = if let Some(msg) = self.pending.pop_front() {
                msg
            } else {
                tokio::select! {
                    msg = tokio::time::timeout_at(deadline, self.recv_socket()) => match msg {
                        Ok(Ok(msg)) => msg,
                        Ok(Err(e)) => break Err(e),
                        Err(_) => break Err(ClientError::Timeout(timeout, what.to_owned())),
                    },
                    out = prober.drive() => {
                        for m in out {
                            self.send(m).await?;
                        }
                        continue;
                    }
                }
            };
            let handled = prober.handle(&msg).await;
            if let Some(out) = &handled {
                for m in out {
                    self.send(m.clone()).await?;
                }
            }
            if let Some(found) = pick(&msg) {
                break Ok(found);
            }
            if handled.is_some() {
                continue; // a probe message, consumed by the prober
            }
            match keep_waiting(msg) {
                Ok(other) => kept.push_back(other),
                Err(e) => break Err(e),
            }
        };
        kept.extend(self.pending.drain(..));
        self.pending = kept;
        found
    }

    /// Closes the connection cleanly.
    pub async fn close(mut self) {
        self.hang_up().await;
    }

    /// Closes the connection cleanly, keeping the client (e.g. to replace it with a
    /// new connection that resumes the session).
    pub async fn hang_up(&mut self) {
        let _ = self.ws.close(None).await;
    }
}

/// Opens the WebSocket at `url` on the host at `addr`, from `from` if given, with
/// small buffers (a bot process may hold tens of thousands of these).
async fn open_socket(
    url: &str,
    addr: &str,
    from: Option<std::net::IpAddr>,
) -> Result<WebSocketStream<MaybeTlsStream<TcpStream>>, ClientError> {
    let fail = |source: tokio_tungstenite::tungstenite::Error| ClientError::Connect {
        url: url.to_owned(),
        source: Box::new(source),
    };
    let io_fail = |e: std::io::Error| fail(e.into());
    // Every address the name resolves to, in turn (of the source address's family).
    let targets = tokio::net::lookup_host(addr).await.map_err(io_fail)?;
    let mut last = std::io::Error::new(std::io::ErrorKind::NotFound, format!("`{addr}` resolves to no usable address"));
    let mut connected = None;
    for target in targets.filter(|t| from.is_none_or(|ip| ip.is_ipv4() == t.is_ipv4())) {
        let attempt = async {
            let socket =
                if target.is_ipv4() { tokio::net::TcpSocket::new_v4() } else { tokio::net::TcpSocket::new_v6() }?;
            if let Some(ip) = from {
                socket.bind(std::net::SocketAddr::new(ip, 0))?;
            }
            socket.connect(target).await
        };
        match attempt.await {
            Ok(stream) => {
                connected = Some(stream);
                break;
            }
            Err(e) => last = e,
        }
    }
    let stream = connected.ok_or_else(|| io_fail(last))?;
    stream.set_nodelay(true).map_err(io_fail)?;
    let config = crate::server::upgrade::websocket_config();
    let (ws, _) = tokio_tungstenite::client_async_with_config(url, MaybeTlsStream::Plain(stream), Some(config))
        .await
        .map_err(fail)?;
    Ok(ws)
}

/// A message that arrived while waiting for another: an `error` or
/// `duplicate_session` ends the wait; anything else is kept for later.
fn keep_waiting(msg: ServerMsg) -> Result<ServerMsg, ClientError> {
    match msg {
        ServerMsg::Error { code, message, fields, .. } => Err(ClientError::Refused { code, message, fields }),
        ServerMsg::DuplicateSession { message } => Err(ClientError::Duplicate(message)),
        other => Ok(other),
    }
}
