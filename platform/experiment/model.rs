//! What the state machine is made of: its inputs and effects, where a participant can
//! be, and what it keeps of each session.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::eventlog::Event;
use crate::protocol::{Answer, ClientMsg, GameId, OutcomeReason, ParticipantId, ServerMsg};

/// One WebSocket connection (assigned by the shell, never sent on the wire).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId(pub u64);

/// What the shell feeds the state machine.
#[derive(Debug, Clone)]
pub enum Input {
    /// A parsed message from a connection.
    Message { conn: ConnId, msg: ClientMsg },
    /// The connection is gone (closed, dead, or refused).
    Closed { conn: ConnId },
    /// A new median server round-trip time of a connection.
    ServerRtt { conn: ConnId, rtt_ms: f64 },
    /// Time passed; due deadlines fire.
    Tick,
    /// New participants are admitted, or turned away with a message (disk nearly full;
    /// later: an administrator). Running sessions go on either way.
    Arrivals(Arrivals),
    /// The host is stopping: close arrivals and form no new group, so that games in
    /// progress can finish.
    Drain,
    /// An intervention by the people running the study.
    Admin(super::admin::AdminAction),
    /// Inputs the host's copy of a game chose for a seat it plays (`host_bots`).
    BotInputs { game: GameId, slot: usize, from: u64, inputs: Vec<serde_json::Value> },
    /// The host's copy of a game failed (the module threw, stalled or ran out of
    /// memory): the game ends.
    BotsFailed { game: GameId, error: String },
}

/// Whether new participants are admitted.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Arrivals {
    #[default]
    Open,
    Closed {
        /// Why, for the data (`disk_space`, ...).
        reason: String,
        /// What a newcomer is told.
        message: String,
    },
}

/// What the state machine asks the shell to do, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    Send {
        conn: ConnId,
        msg: ServerMsg,
    },
    /// Close the connection after what was sent before.
    Close {
        conn: ConnId,
    },
    /// Append to the event log; later sends wait until it is durable.
    Log(Event),
    /// Tell the host's copies of games that play seats themselves (`host_bots`).
    HostBots(super::host_bots::HostBots),
}

/// Where a participant is: exactly one place at a time. (Being probed is part of
/// waiting: the participant stays in the waitroom while a proposed group is probed.)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// In the solo scene (consent, instructions, survey) at this index.
    Scene(usize),
    /// In the waitroom of the multiplayer scene at this index.
    Waiting(usize),
    /// In a game of the multiplayer scene at this index.
    Playing(usize, GameId),
    /// Reached an `end` scene (at this index); shown again on return.
    Finished(usize),
    /// Ended early in the scene at this index (waitroom timeout, left, partner left,
    /// expired); the same outcome is shown again on return.
    Over(usize, OutcomeReason),
}

impl Place {
    /// The scene index the participant is in (or ended in).
    pub fn scene(self) -> usize {
        match self {
            Place::Scene(i) | Place::Waiting(i) | Place::Playing(i, _) | Place::Finished(i) | Place::Over(i, _) => i,
        }
    }

    /// Whether the session is still running (not finished or over).
    /// The multiplayer scene whose waitroom this is, if waiting.
    pub fn waiting_in(self) -> Option<usize> {
        match self {
            Place::Waiting(scene) => Some(scene),
            _ => None,
        }
    }

    pub fn active(self) -> bool {
        !matches!(self, Place::Finished(_) | Place::Over(..))
    }
}

/// One participant's session.
#[derive(Debug, Clone)]
pub struct Participant {
    pub id: ParticipantId,
    /// From the recruitment panel; server-side only.
    pub recruitment_id: Option<String>,
    /// Secret that resumes this session.
    pub token: String,
    pub place: Place,
    /// When the session reaches `session.max_duration_secs` (experiment time): away on
    /// a solo scene, it lasts until then.
    pub lasts_until: Duration,
    /// The connection currently bound, if any.
    pub conn: Option<ConnId>,
    /// When the participant last went away (grace period running), if away.
    pub away_since: Option<Duration>,
    /// Median server RTT of the current connection.
    pub server_rtt_ms: Option<f64>,
    /// Answers of earlier surveys: scene id → question id → answer.
    pub answers: BTreeMap<String, BTreeMap<String, Answer>>,
    /// The study link's query parameters.
    pub params: BTreeMap<String, String>,
    /// Everyone this participant has played with.
    pub partners: Vec<ParticipantId>,
    /// Their entry condition (index in the experiment's).
    pub condition: Option<usize>,
    /// The last game they were in (for `{group_code}`).
    pub last_game: Option<crate::protocol::GameId>,
    /// What their games in the bonus's scene added up to under its key
    /// (`recruitment.bonus.from`), for `{bonus}`.
    pub bonus_points: f64,
    /// Their condition's slot was counted as completed or freed (their part ended).
    pub condition_settled: bool,
    /// With `blocks`: the scenes (indices) in the order they see them; empty: in order.
    pub route: Vec<usize>,
    /// Their position on the route (without blocks: the scene's index), once entered.
    pub step: Option<usize>,
    /// Where `screening` of their round trip stands.
    pub screened: super::screening::RttWatch,
    /// Their last game's result in each multiplayer scene (scene id → the module's
    /// result), for `show_if` and texts that name `result:<scene>.<key>`.
    pub results: BTreeMap<String, serde_json::Value>,
    /// Where they stand in surveys: orders drawn, attempts at checks.
    pub survey: SurveyProgress,
}

/// A participant's orders of randomized options and their attempts at checks.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SurveyProgress {
    /// The current survey's orders: (scene index, iteration, question id → options or
    /// item ids in the order shown).
    pub orders: Option<(usize, u32, BTreeMap<String, Vec<String>>)>,
    /// Attempts at each check so far, by (scene id, iteration): the next one's number
    /// follows (a check taken again after `on_fail: goto` counts on).
    pub attempts: BTreeMap<(String, u32), u32>,
    /// Wrong attempts since the participant entered the current scene.
    pub tries_here: u32,
    /// The questions answered wrongly at the last attempt (shown with feedback).
    pub wrong: Vec<String>,
}

impl Participant {
    /// A session record with nothing yet: no connection, answers, partners, condition
    /// or route.
    pub fn new(
        id: ParticipantId,
        recruitment_id: Option<String>,
        token: String,
        place: Place,
        lasts_until: Duration,
    ) -> Self {
        Self {
            id,
            recruitment_id,
            token,
            place,
            lasts_until,
            conn: None,
            away_since: None,
            server_rtt_ms: None,
            answers: BTreeMap::new(),
            params: BTreeMap::new(),
            partners: Vec::new(),
            condition: None,
            condition_settled: false,
            last_game: None,
            bonus_points: 0.0,
            route: Vec::new(),
            step: None,
            screened: Default::default(),
            results: BTreeMap::new(),
            survey: SurveyProgress::default(),
        }
    }
}

/// What is kept of a session that ended while nobody is connected to it.
#[derive(Debug, Clone)]
pub struct Ended {
    pub recruitment_id: Option<String>,
    pub token: String,
    /// `Place::Finished` or `Place::Over`.
    pub place: Place,
    /// Kept for the end page shown again: its texts by condition, `{condition}`,
    /// `{group_code}` and `{bonus}`.
    pub condition: Option<usize>,
    pub last_game: Option<crate::protocol::GameId>,
    pub bonus_points: f64,
}
