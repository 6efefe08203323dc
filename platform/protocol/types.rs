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

/// One survey answer: a whole number (likert, number, slider), a decimal (number,
/// slider), text or a single choice (string), several choices or an order of options
/// (list), or a matrix's points by item (object).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Answer {
    Integer(i64),
    Decimal(f64),
    Text(String),
    Choices(Vec<String>),
    Ratings(std::collections::BTreeMap<String, i64>),
}

impl Answer {
    /// The answer as a number, when it is one: a whole number or a decimal, or text
    /// holding a number (what a bonus or a comparison counts).
    pub fn number(&self) -> Option<f64> {
        match self {
            Answer::Integer(n) => Some(*n as f64),
            Answer::Decimal(x) => Some(*x),
            Answer::Text(t) => t.trim().parse().ok(),
            Answer::Choices(_) | Answer::Ratings(_) => None,
        }
    }

    /// An empty text, selection or matrix counts as no answer.
    pub fn is_blank(&self) -> bool {
        match self {
            Answer::Text(t) => t.trim().is_empty(),
            Answer::Choices(c) => c.is_empty(),
            Answer::Ratings(r) => r.is_empty(),
            Answer::Integer(_) | Answer::Decimal(_) => false,
        }
    }

    /// The answer in one cell of a table: a number or text as it is, a list or a
    /// matrix as JSON.
    pub fn cell(&self) -> String {
        match self {
            Answer::Integer(n) => n.to_string(),
            Answer::Decimal(x) => x.to_string(),
            Answer::Text(t) => t.clone(),
            Answer::Choices(c) => serde_json::to_string(c).unwrap_or_default(),
            Answer::Ratings(r) => serde_json::to_string(r).unwrap_or_default(),
        }
    }

    /// The answer as a policy's attribute value: a list's choices joined by commas, a
    /// matrix as JSON, anything else as in [`Answer::cell`].
    pub fn attribute(&self) -> String {
        match self {
            Answer::Choices(c) => c.join(","),
            other => other.cell(),
        }
    }

    /// Whether `self` is the same answer as `expected`: numbers by value (3 = 3.0),
    /// text without surrounding spaces and case, lists in order; a matrix when every
    /// item `expected` names has its point.
    pub fn matches(&self, expected: &Answer) -> bool {
        match (self, expected) {
            (Answer::Text(a), Answer::Text(b)) => a.trim().to_lowercase() == b.trim().to_lowercase(),
            (Answer::Choices(a), Answer::Choices(b)) => a == b,
            (Answer::Ratings(a), Answer::Ratings(b)) => b.iter().all(|(item, point)| a.get(item) == Some(point)),
            (a, b) => match (a.number(), b.number()) {
                (Some(x), Some(y)) => (x - y).abs() <= 1e-9 * x.abs().max(y.abs()).max(1.0),
                _ => false,
            },
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
