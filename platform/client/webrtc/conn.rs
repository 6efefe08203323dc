//! One WebRTC peer connection with one DataChannel, over UDP sockets on the local
//! addresses (host candidates): the transport under a probe and under a game link.
//! Signaling payloads are the browser's (`{sdp: {type, sdp}}`, `{candidate: {...}}`).

use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use serde_json::{Value, json};
use str0m::change::{SdpAnswer, SdpOffer, SdpPendingOffer};
use str0m::channel::ChannelId;
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, IceConnectionState, Input, Output, Rtc};
use tokio::net::UdpSocket;

pub(super) struct Conn {
    rtc: Rtc,
    pub(super) sockets: Vec<UdpSocket>,
    pending_offer: Option<SdpPendingOffer>,
    /// The DataChannel, once open.
    pub(super) channel: Option<ChannelId>,
    /// A remote description came (an offer answered, or our offer's answer).
    pub(super) described: bool,
    /// The channel or the connection closed, or the connection failed.
    pub(super) closed: bool,
    /// Since when ICE has lost the peer (it may come back).
    disconnected_since: Option<Instant>,
    next_timeout: Instant,
}

impl Conn {
    /// A connection offering host candidates on `addrs` (those that can be bound).
    pub(super) async fn bind(addrs: &[IpAddr], now: Instant) -> std::io::Result<Self> {
        let mut rtc = Rtc::builder().build(now);
        let mut sockets = Vec::new();
        let mut last_error = None;
        for ip in addrs {
            // An address can vanish between listing and binding (an interface going
            // down): use the others.
            let socket = match UdpSocket::bind(SocketAddr::new(*ip, 0)).await {
                Ok(socket) => socket,
                Err(e) => {
                    last_error = Some(e);
                    continue;
                }
            };
            if let Ok(candidate) = Candidate::host(socket.local_addr()?, "udp") {
                rtc.add_local_candidate(candidate);
            }
            sockets.push(socket);
        }
        if sockets.is_empty() {
            return Err(last_error.unwrap_or_else(|| std::io::Error::other("no local address to connect from")));
        }
        Ok(Self {
            rtc,
            sockets,
            pending_offer: None,
            channel: None,
            described: false,
            closed: false,
            disconnected_since: None,
            next_timeout: now,
        })
    }

    /// Adds the DataChannel `label` and returns the offer to signal.
    pub(super) fn offer(&mut self, label: &str) -> Option<Value> {
        let mut api = self.rtc.sdp_api();
        api.add_channel(label.to_owned());
        let (offer, pending) = api.apply()?;
        self.pending_offer = Some(pending);
        Some(json!({"sdp": {"type": "offer", "sdp": offer.to_sdp_string()}}))
    }

    /// Signaling from the peer: an offer (its answer is returned), an answer, or an ICE
    /// candidate (browsers' mDNS `.local` candidates cannot be resolved here and are
    /// skipped; the peer then reaches our host candidates and is learned as
    /// peer-reflexive). An error says why the signal could not be used.
    pub(super) fn on_signal(&mut self, signal: &Value) -> Result<Option<Value>, &'static str> {
        if let Some(sdp) = signal.get("sdp") {
            let kind = sdp.get("type").and_then(|t| t.as_str()).unwrap_or_default();
            let text = sdp.get("sdp").and_then(|t| t.as_str()).unwrap_or_default();
            match kind {
                "offer" => {
                    let offer = SdpOffer::from_sdp_string(text).map_err(|_| "unreadable offer")?;
                    let answer = self.rtc.sdp_api().accept_offer(offer).map_err(|_| "offer refused")?;
                    self.described = true;
                    return Ok(Some(json!({"sdp": {"type": "answer", "sdp": answer.to_sdp_string()}})));
                }
                "answer" => {
                    let (Ok(answer), Some(pending)) = (SdpAnswer::from_sdp_string(text), self.pending_offer.take())
                    else {
                        return Err("unexpected answer");
                    };
                    self.rtc.sdp_api().accept_answer(pending, answer).map_err(|_| "answer refused")?;
                    self.described = true;
                }
                _ => {}
            }
        } else if let Some(line) = signal.get("candidate").and_then(|c| c.get("candidate")).and_then(|c| c.as_str())
            && let Ok(candidate) = Candidate::from_sdp_string(line.trim_start_matches("a="))
        {
            self.rtc.add_remote_candidate(candidate);
        }
        Ok(None)
    }

    /// A datagram that arrived on socket number `socket`.
    pub(super) fn receive(&mut self, socket: usize, data: &[u8], from: SocketAddr, now: Instant) {
        let Ok(destination) = self.sockets[socket].local_addr() else { return };
        let Ok(contents) = data.try_into() else { return };
        let input = Input::Receive(now, Receive { proto: Protocol::Udp, source: from, destination, contents });
        if self.rtc.accepts(&input) {
            let _ = self.rtc.handle_input(input);
        }
    }

    /// When str0m next needs time to pass.
    pub(super) fn deadline(&self) -> Instant {
        self.next_timeout
    }

    /// Lets time pass.
    pub(super) fn tick(&mut self, now: Instant) {
        let _ = self.rtc.handle_input(Input::Timeout(now));
    }

    /// Writes a text message on the open channel; false if there is none, or its
    /// send buffer is full (nothing was written).
    pub(super) fn write(&mut self, text: &str) -> bool {
        match self.channel.and_then(|id| self.rtc.channel(id)) {
            Some(mut channel) => matches!(channel.write(false, text.as_bytes()), Ok(true)),
            None => false,
        }
    }

    /// Whether the channel is open.
    pub(super) fn open(&self) -> bool {
        self.channel.is_some() && !self.closed
    }

    /// Whether the peer is gone: the connection closed, or ICE lost it more than
    /// `grace` ago (a brief loss recovers).
    pub(super) fn gone(&self, now: Instant, grace: std::time::Duration) -> bool {
        self.closed || self.disconnected_since.is_some_and(|t| now.saturating_duration_since(t) > grace)
    }

    /// Sends what str0m has to send and collects what arrived on the channel, until
    /// its next timeout; false if the connection failed (then `closed`). `now` dates a
    /// loss of the peer.
    pub(super) fn drain(&mut self, now: Instant, data: &mut Vec<Vec<u8>>) -> bool {
        loop {
            match self.rtc.poll_output() {
                Ok(Output::Timeout(t)) => {
                    self.next_timeout = t;
                    return true;
                }
                Ok(Output::Transmit(t)) => {
                    if let Some(socket) = self.sockets.iter().find(|s| s.local_addr().ok() == Some(t.source)) {
                        let _ = socket.try_send_to(&t.contents, t.destination);
                    }
                }
                Ok(Output::Event(Event::ChannelOpen(id, _))) => self.channel = Some(id),
                Ok(Output::Event(Event::ChannelData(d))) => data.push(d.data),
                Ok(Output::Event(Event::ChannelClose(_) | Event::Closed)) => self.closed = true,
                Ok(Output::Event(Event::IceConnectionStateChange(state))) => {
                    if state == IceConnectionState::Disconnected {
                        self.disconnected_since.get_or_insert(now);
                    } else {
                        self.disconnected_since = None;
                    }
                }
                Ok(Output::Event(_)) => {}
                Err(_) => {
                    self.closed = true;
                    return false;
                }
            }
        }
    }
}
