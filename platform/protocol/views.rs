//! What the host shows: scenes and questions as rendered for the client, ICE servers
//! as the browser expects them, probe roles and early outcomes.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A rendered scene, as the client shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SceneView {
    Consent {
        id: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        title: Option<String>,
        /// The body as HTML (markdown is rendered by the host).
        html: String,
        agree_label: String,
        button: String,
    },
    Instructions {
        id: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        title: Option<String>,
        html: String,
        button: String,
    },
    Survey {
        id: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        title: Option<String>,
        questions: Vec<QuestionView>,
        button: String,
        /// A check shown again after a wrong attempt: what to read above the questions.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        try_again: Option<String>,
    },
    /// The waiting room of a multiplayer scene; `waiting_room` updates follow.
    Multiplayer {
        id: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        title: Option<String>,
        group_size: u32,
        show_count: bool,
        /// Longest wait, enforced by the host.
        timeout_secs: f64,
    },
    End {
        id: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        title: Option<String>,
        message: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        completion_code: Option<String>,
        /// Where to send the participant (placeholders already filled in).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        redirect_url: Option<String>,
    },
}

/// One survey question as shown: what every kind has, and its kind's own keys.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct QuestionView {
    pub id: String,
    pub prompt: String,
    /// Whether it must be answered (when shown).
    pub required: bool,
    /// Shown only while this rule holds over the answers given on this page (the host
    /// decided every other part of the question's `show_if`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub show_if: Option<crate::config::show_if::ShowIf>,
    /// After a wrong attempt at a check: this question was answered wrongly, and what
    /// to read under it (`feedback`, or the page's own words when empty).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wrong: Option<String>,
    #[serde(flatten)]
    pub kind: QuestionKind,
}

/// A question's kind and the keys that go with it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum QuestionKind {
    Text {
        multiline: bool,
        max_length: u32,
    },
    SingleChoice {
        options: Vec<String>,
    },
    MultipleChoice {
        options: Vec<String>,
        min_selected: u32,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_selected: Option<u32>,
    },
    Likert {
        points: u8,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        low_label: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        high_label: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        labels: Option<Vec<String>>,
    },
    Number {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min: Option<f64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max: Option<f64>,
        /// Most digits after the decimal point (0: whole numbers).
        decimals: u8,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        unit: Option<String>,
    },
    /// No handle is shown until the participant moves it, unless `start` is given.
    Slider {
        min: f64,
        max: f64,
        step: f64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        start: Option<f64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        low_label: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        high_label: Option<String>,
    },
    Dropdown {
        /// In this participant's order.
        options: Vec<String>,
    },
    /// Items rated on one scale: the answer is an object, item id → point.
    Matrix {
        /// In this participant's order.
        items: Vec<MatrixItemView>,
        points: u8,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        labels: Option<Vec<String>>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        low_label: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        high_label: Option<String>,
    },
    /// Every option put in order: the answer is the list, most preferred first.
    Rank {
        /// The order the participant starts from.
        options: Vec<String>,
    },
}

/// One item of a matrix question as shown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct MatrixItemView {
    pub id: String,
    pub text: String,
}

/// Which side of a probe makes the WebRTC offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProbeRole {
    Offerer,
    Answerer,
}

/// An ICE server as the browser's `RTCIceServer` expects it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct IceServerView {
    pub urls: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
}

/// Why a participant's part ended early (see [`ServerMsg::Outcome`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeReason {
    /// No group was formed within the waitroom timeout.
    WaitroomTimeout,
    /// A partner left the game.
    PartnerLeft,
    /// The participant left the waiting room.
    LeftWaitroom,
    /// The participant left a game whose partner was away or idle
    /// (`game.partner_idle_secs`, `leave_game`).
    LeftIdleGame,
    /// The participant was away longer than the reconnect grace period.
    Expired,
    /// The host restarted while the participant was waiting or playing (their group
    /// did not survive it).
    HostRestarted,
    /// The participant's browser sent more game input than the game allows
    /// (`game.max_input_bytes_per_min`); they left the game.
    InputLimit,
    /// The participant's browser sent game input the protocol does not allow (too
    /// large, out of order, far ahead, rewriting a sent tick); they left the game.
    InvalidInput,
    /// The people running the study ended the session.
    EndedByResearcher,
    /// The participant's group was ready to start, but they did not confirm in time
    /// (`waitroom.ready_check`).
    ReadyMissed,
    /// The browser or device failed `screening.device`.
    DeviceExcluded,
    /// The page could not open a WebRTC DataChannel (`screening.webrtc`).
    WebrtcUnavailable,
    /// The round trip to the host was above `screening.server_rtt` at entry.
    ConnectionTooSlow,
    /// The round trip stayed above `screening.monitor` while waiting or playing.
    ConnectionDegraded,
    /// Every entry condition had reached its quota when the participant started.
    ConditionFull,
    /// Every group condition had reached its quota when the participant's group formed.
    GroupConditionFull,
    /// Answered a comprehension or attention check wrongly on every attempt
    /// (the survey's `on_fail`).
    FailedCheck,
}

/// One line of a group's chat, as a member's page shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ChatLine {
    /// The sender's seat in the group's game (0-based), for "Player 2".
    pub slot: usize,
    /// Whether the participant receiving it sent it.
    pub mine: bool,
    pub text: String,
}
