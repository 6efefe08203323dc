//! The protocol's ids, answers and error codes (see the module above).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A participant's opaque id (UUID v4): used on the wire, shown to partners.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(transparent)]
pub struct ParticipantId(pub uuid::Uuid);

impl std::fmt::Display for ParticipantId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// A probe session between two participants: `probe_<uuid>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(transparent)]
pub struct ProbeId(pub String);

/// A game (UUID v4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(transparent)]
pub struct GameId(pub uuid::Uuid);

/// One survey answer: text or a single choice (string), several choices (list), or a
/// Likert rating (1..=points).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Answer {
    Rating(i64),
    Text(String),
    Choices(Vec<String>),
}

impl Answer {
    /// The answer as a number, when it is one: a rating, or text holding a number (what
    /// a bonus computed from a survey answer counts).
    pub fn number(&self) -> Option<f64> {
        match self {
            Answer::Rating(n) => Some(*n as f64),
            Answer::Text(t) => t.trim().parse().ok(),
            Answer::Choices(_) => None,
        }
    }
}

/// WebRTC signaling payload, relayed verbatim to the peer: an SDP offer/answer or an
/// ICE candidate (browser `RTCSessionDescriptionInit` / `RTCIceCandidateInit` shapes).
pub type Signal = serde_json::Value;

/// Machine-readable error codes of [`super::ServerMsg::Error`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// Not JSON, or not a known message shape.
    Malformed,
    /// Larger than [`super::MAX_MESSAGE_BYTES`].
    TooLarge,
    /// Too many messages too fast; this one was dropped.
    RateLimited,
    /// The first message must be `hello`, and only the first.
    HelloFirst,
    /// Another protocol version.
    UnsupportedProtocol,
    /// The experiment needs a recruitment id in the link, and there is none or it is
    /// malformed.
    MissingId,
    /// The message does not fit where the participant is (e.g. a stale scene id).
    InvalidState,
    /// Consent must be given to continue.
    MustAgree,
    /// Survey answers are invalid; `fields` says which and why.
    InvalidAnswers,
    /// A probe or game message for a session the participant is not part of.
    NotAPeer,
    /// The host is full or shutting down.
    Unavailable,
}

/// What a page reports of its browser and device in `hello` (for `screening`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Environment {
    /// Browser family: `chrome`, `edge`, `firefox`, `safari`, `opera` or `other`.
    #[schemars(length(max = 32))]
    pub browser: String,
    /// A phone or tablet.
    pub mobile: bool,
    /// The window's inner size in CSS pixels.
    pub width: u32,
    pub height: u32,
    /// Whether the page could open a WebRTC DataChannel (absent: not checked).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webrtc: Option<bool>,
}
