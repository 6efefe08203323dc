//! The WebSocket protocol between a participant's client and the host: every message,
//! both directions, as serde types tagged by `"type"`.
//!
//! This is the contract browser and Rust clients implement; `schemas/protocol.schema.json`
//! is generated from these types and `docs/protocol.md` explains the flows. Rules:
//! - one WebSocket per participant at `/x/<experiment>/ws`; JSON text frames only;
//! - the client speaks first with [`ClientMsg::Hello`]; the server answers
//!   [`ServerMsg::Welcome`] (or an error / `duplicate_session` and closes);
//! - any client message may carry a `seq`; the server echoes it in the matching `ack`
//!   (sent once the message's effects are durably logged) or `error`;
//! - ids on the wire are opaque: participants are UUIDs, never recruitment ids.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

mod schema;
mod types;
mod views;

pub use schema::{Protocol, protocol_schema};
pub use types::{Answer, Environment, ErrorCode, GameId, ParticipantId, ProbeId, Signal};
pub use views::{
    ChatLine, IceServerView, MatrixItemView, OutcomeReason, ProbeRole, QuestionKind, QuestionView, SceneView,
};

/// Version of this protocol; a client speaking another one is refused.
pub const PROTOCOL_VERSION: u32 = 2;
/// Largest WebSocket message the host accepts, in bytes.
pub const MAX_MESSAGE_BYTES: usize = 256 * 1024;
/// Largest game or probe message whose payload is relayed or logged (`game_inputs`,
/// `game_signal`, `game_complete`, `probe_signal`).
pub const MAX_RELAYED_BYTES: usize = 16 * 1024;

/// Messages from a participant's client to the host.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientMsg {
    /// First message on every connection.
    Hello {
        /// Must equal [`PROTOCOL_VERSION`].
        protocol: u32,
        /// The page's URL query parameters (carrying the recruitment id, e.g.
        /// `PROLIFIC_PID`); at most 32, short keys and values.
        #[serde(default)]
        params: BTreeMap<String, String>,
        /// The secret from an earlier `welcome`, to continue that session.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        resume_token: Option<String>,
        /// Take the session of this recruitment id over from another open tab (sent
        /// after the participant chose "continue here" on a `duplicate_session`).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        takeover: bool,
        /// The browser and device, for the experiment's `screening`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        environment: Option<Environment>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        seq: Option<u64>,
    },
    /// Leave the current consent/instructions scene. `agreed` must be true on consent.
    Advance {
        /// The scene being left (stale messages are refused).
        scene: String,
        #[serde(default)]
        agreed: bool,
        /// The scene's `iteration` from `scene` (a repeated scene): a stale one is refused.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        iteration: Option<u32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        seq: Option<u64>,
    },
    /// Submit the answers of the current survey scene (question id → answer).
    Submit {
        scene: String,
        answers: BTreeMap<String, Answer>,
        /// The scene's `iteration` from `scene` (a repeated scene): a stale one is refused.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        iteration: Option<u32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        seq: Option<u64>,
    },
    /// Leave the waiting room for good (the participant gives up waiting).
    LeaveWaitroom {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        seq: Option<u64>,
    },
    /// Leave a started game whose partner has been away or idle for
    /// `game.partner_idle_secs` (the participant's part ends with the scene's
    /// `on_partner_idle`); refused otherwise.
    LeaveGame {
        game: GameId,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        seq: Option<u64>,
    },
    /// Here for the group of `ready_check` (the tab is visible, and clicked if asked).
    Ready {
        check: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        seq: Option<u64>,
    },
    /// Ready for the probe announced by `probe_prepare`.
    ProbeReady {
        probe: ProbeId,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        seq: Option<u64>,
    },
    /// WebRTC signaling for the probe's other peer (the sender is the socket's owner).
    ProbeSignal {
        probe: ProbeId,
        signal: Signal,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        seq: Option<u64>,
    },
    /// The RTT this peer measured (median of its pings), or none if it failed.
    ProbeResult {
        probe: ProbeId,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        rtt_ms: Option<f64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        seq: Option<u64>,
    },
    /// This player's inputs for ticks `from`, `from + 1`, …, in order (each at most
    /// [`crate::game::MAX_INPUT_BYTES`] of JSON; `null` is no input), with the state
    /// hashes it computed at some ticks. Sent as inputs are committed, whichever path
    /// carries the game; the host logs them, and forwards them while the group plays
    /// over the relay. The slot is always the sender's own.
    GameInputs {
        game: GameId,
        from: u64,
        inputs: Vec<serde_json::Value>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        #[schemars(length(max = 64))]
        hashes: Vec<(u64, String)>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        seq: Option<u64>,
    },
    /// The peer-to-peer path failed or stalls: play over the host relay from now on.
    /// The host answers with every partner input it holds from tick `need`.
    GameRelay {
        game: GameId,
        need: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        seq: Option<u64>,
    },
    /// The page was hidden or shown again (tab switched, window minimised).
    Visibility {
        hidden: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        seq: Option<u64>,
    },
    /// WebRTC signaling for a peer of the same game.
    GameSignal {
        game: GameId,
        to: ParticipantId,
        signal: Signal,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        seq: Option<u64>,
    },
    /// A chat message to the participant's group (where the scene's `chat` allows it).
    Chat {
        text: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        seq: Option<u64>,
    },
    /// This player's copy of the game is over (the module's `done` gave `result`) after
    /// tick `tick`, with the state's `hash` then.
    GameComplete {
        game: GameId,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        result: Option<serde_json::Value>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tick: Option<u64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        hash: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        seq: Option<u64>,
    },
}

impl ClientMsg {
    /// The client's sequence number, echoed in `ack` / `error`.
    pub fn seq(&self) -> Option<u64> {
        match self {
            ClientMsg::Hello { seq, .. }
            | ClientMsg::Advance { seq, .. }
            | ClientMsg::Submit { seq, .. }
            | ClientMsg::LeaveWaitroom { seq }
            | ClientMsg::LeaveGame { seq, .. }
            | ClientMsg::Ready { seq, .. }
            | ClientMsg::ProbeReady { seq, .. }
            | ClientMsg::ProbeSignal { seq, .. }
            | ClientMsg::ProbeResult { seq, .. }
            | ClientMsg::GameInputs { seq, .. }
            | ClientMsg::GameRelay { seq, .. }
            | ClientMsg::Visibility { seq, .. }
            | ClientMsg::Chat { seq, .. }
            | ClientMsg::GameSignal { seq, .. }
            | ClientMsg::GameComplete { seq, .. } => *seq,
        }
    }

    /// The `type` tag, for logs and errors.
    pub fn kind(&self) -> &'static str {
        match self {
            ClientMsg::Hello { .. } => "hello",
            ClientMsg::Advance { .. } => "advance",
            ClientMsg::Submit { .. } => "submit",
            ClientMsg::LeaveWaitroom { .. } => "leave_waitroom",
            ClientMsg::LeaveGame { .. } => "leave_game",
            ClientMsg::Ready { .. } => "ready",
            ClientMsg::ProbeReady { .. } => "probe_ready",
            ClientMsg::ProbeSignal { .. } => "probe_signal",
            ClientMsg::ProbeResult { .. } => "probe_result",
            ClientMsg::GameInputs { .. } => "game_inputs",
            ClientMsg::GameRelay { .. } => "game_relay",
            ClientMsg::Visibility { .. } => "visibility",
            ClientMsg::Chat { .. } => "chat",
            ClientMsg::GameSignal { .. } => "game_signal",
            ClientMsg::GameComplete { .. } => "game_complete",
        }
    }
}

/// Messages from the host to a participant's client.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMsg {
    /// The answer to `hello`: who the participant is, and the secret to resume with.
    Welcome {
        protocol: u32,
        participant: ParticipantId,
        /// Secret: keep it (e.g. in `sessionStorage`) and send it in `hello` to resume.
        resume_token: String,
        experiment: String,
        title: String,
        /// True when an existing session was continued.
        resumed: bool,
    },
    /// Page texts in other words for this participant's entry condition
    /// (`texts_by_condition`): key → text, over those of `texts.js`. Sent once the
    /// condition is known (after `welcome`, before the first `scene`), and again
    /// after each `welcome` of a resumed session.
    Texts { texts: BTreeMap<String, String> },
    /// Show this scene (sent on entry and again on resume).
    Scene {
        /// Position in the participant's route (0-based) and its length: the scenes in
        /// order, blocks randomized and repeated (without `blocks`, the experiment's).
        index: usize,
        total: usize,
        scene: SceneView,
        /// How many times the participant has entered this scene, from 1 (a block's
        /// `repeat`); echo it in `advance` / `submit`.
        iteration: u32,
    },
    /// The message with this `seq` was processed and its effects are durable.
    Ack { seq: u64 },
    /// The message (with this `seq`, if it had one) was refused; nothing changed.
    Error {
        code: ErrorCode,
        message: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        seq: Option<u64>,
        /// Per-field problems (e.g. question id → reason).
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        fields: BTreeMap<String, String>,
    },
    /// This participant is connected elsewhere: sent to a second tab (opened with the
    /// recruitment id only), or to the old connection when the tab's own resume token
    /// takes the session over (e.g. after a network change). This connection closes.
    DuplicateSession { message: String },
    /// The participant's part ended early: show this and stop.
    Outcome {
        reason: OutcomeReason,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        completion_code: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        redirect_url: Option<String>,
    },
    /// Waiting-room status. Counts are absent when the experiment hides them.
    WaitingRoom {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        waiting: Option<u32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        needed: Option<u32>,
        /// Seconds until the waitroom timeout applies.
        remaining_secs: f64,
        /// Seconds until the participant may leave with pay (`leave_waitroom`; 0: now).
        /// Absent when leaving is not paid (`waitroom.on_leave` gives no completion
        /// code or redirect).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        leave_in_secs: Option<f64>,
    },
    /// A group was formed: confirm within `timeout_secs` with `ready` once the tab is
    /// visible (after a click on the page's button when `click`). `ready` of `players`
    /// members have confirmed so far (sent again as that changes).
    ReadyCheck { check: String, timeout_secs: f64, click: bool, ready: u32, players: u32 },
    /// The ready-check is over without a game (someone did not confirm or left): wait
    /// on. `reason`: `missed` or `group_dropped`.
    ReadyAbort { check: String, reason: String },
    /// A group was found: the game starts after `countdown_secs`.
    MatchFound {
        game: GameId,
        players: Vec<ParticipantId>,
        countdown_secs: f64,
        /// Seats in the game, bot seats included.
        seats: u32,
        /// Seats played by a computer, when the experiment tells participants so (else 0).
        #[serde(default, skip_serializing_if = "is_zero")]
        bots: u32,
    },
    /// The game starts now (sent again on resume, with the inputs so far).
    StartGame {
        game: GameId,
        players: Vec<ParticipantId>,
        /// This participant's slot in `players`.
        slot: usize,
        ice_servers: Vec<IceServerView>,
        /// URL of the game's ES module (same origin).
        module: String,
        /// The experiment's `game.config`, passed to the module's `init`.
        config: serde_json::Value,
        /// Seed of this game, passed to `init`.
        seed: u32,
        /// Ticks per second.
        tick_rate: u32,
        /// An input committed at tick t applies at tick t + `input_delay`.
        input_delay: u32,
        /// Seats after `players`' played by the module's `bot`, computed by every copy
        /// (absent when 0: none, or the host plays them for a participant not told about
        /// bots, and lists them in `players`).
        #[serde(default, skip_serializing_if = "is_zero")]
        bot_seats: u32,
        /// `continue` or `pause` while a player's tab is hidden.
        on_hidden: crate::config::multiplayer::OnHidden,
        max_duration_secs: f64,
        /// `game.partner_idle_secs`: a partner hidden (with `on_hidden: pause`) or
        /// without input this long may be left with `leave_game`. Absent: never.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        partner_idle_secs: Option<f64>,
        /// True when the group plays over the host relay (no peer-to-peer path).
        relay: bool,
        /// Every input the host holds, per slot from tick 0 (empty at the start): a page
        /// that reloaded replays them to catch up.
        inputs: Vec<Vec<serde_json::Value>>,
        /// Seats that changed hands so far (a player left): follow them when catching up.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        seat_changes: Vec<crate::game::SeatChange>,
    },
    /// A player left for good: from tick `tick`, seat `slot` is played by `to` on
    /// every copy. `told` says whether to tell the participant (the experiment's
    /// `tell_about_bots`).
    SeatChange {
        game: GameId,
        slot: usize,
        tick: u64,
        to: crate::game::SeatKind,
        /// With `to: player`: the newcomer who plays the seat from `tick`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        player: Option<ParticipantId>,
        told: bool,
    },
    /// A partner's inputs for ticks `from`, `from + 1`, … (relay path, or catch-up).
    GameInputs { game: GameId, slot: usize, from: u64, inputs: Vec<serde_json::Value> },
    /// The group plays over the host relay from now on.
    GameRelay { game: GameId },
    /// A partner's page was hidden or shown again.
    PartnerVisibility { game: GameId, slot: usize, hidden: bool },
    /// WebRTC signaling from a peer of the same game.
    GameSignal { game: GameId, from: ParticipantId, signal: Signal },
    /// The game is over (`completed`, `time_limit`, `partner_left` or `desync`); the next scene
    /// follows.
    GameEnd { game: GameId, reason: String },
    /// Prepare a probe with `peer`: set up a peer connection, then answer `probe_ready`.
    ProbePrepare {
        probe: ProbeId,
        peer: ParticipantId,
        role: ProbeRole,
        ice_servers: Vec<IceServerView>,
        pings: u32,
        ping_timeout_ms: u32,
    },
    /// Both peers are ready: the offerer sends its offer now.
    ProbeStart { probe: ProbeId },
    /// WebRTC signaling from the probe's other peer.
    ProbeSignal { probe: ProbeId, signal: Signal },
    /// The probe is cancelled (peer gone, timeout); close its connection.
    ProbeAbort { probe: ProbeId, reason: String },
    /// A message from the people running the study (e.g. to everyone waiting).
    Notice { message: String },
    /// The participant may chat with their group here: show the chat with its latest
    /// `lines` (sent on entering each place where the group chats, and on a reconnect).
    ChatOpen { game: GameId, max_chars: u32, lines: Vec<ChatLine> },
    /// A new line of the group's chat (the participant's own included).
    Chat { game: GameId, line: ChatLine },
    /// The host is shutting down; reconnect later with the resume token.
    Shutdown { message: String },
}

impl ServerMsg {
    /// An `error` without field details.
    pub fn error(code: ErrorCode, message: impl Into<String>, seq: Option<u64>) -> Self {
        ServerMsg::Error { code, message: message.into(), seq, fields: BTreeMap::new() }
    }
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}
