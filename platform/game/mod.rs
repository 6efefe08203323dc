//! Games: the lifecycle record the actor keeps (players in slots, a synchronized start
//! after a countdown, a duration limit, completion when every copy reports), its
//! lockstep inputs ([`lockstep`]), the game's folder ([`files`]), and the host's
//! JavaScript engine that runs a module outside a browser ([`engine`]) for
//! validation ([`check`]) and replay ([`replay`]).

pub mod check;
pub mod engine;
pub mod files;
pub mod lockstep;
pub mod replay;
pub mod seats;

pub use lockstep::{Lockstep, MAX_INPUT_BYTES};
pub use seats::{SeatChange, SeatKind};

/// Shortest time between two catch-ups of one player (pages ask at most once a second).
pub const CATCH_UP_EVERY: Duration = Duration::from_millis(250);

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use crate::protocol::{GameId, ParticipantId};

/// Why a game ended (the `reason` of `game_end`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EndReason {
    /// Every player reported `game_complete`.
    Completed,
    /// `game.max_duration_secs` passed.
    TimeLimit,
    /// A player left for good.
    PartnerLeft,
    /// The players' copies of the game disagree (their state hashes differ).
    Desync,
    /// The people running the study ended it (`/admin`).
    Ended,
    /// The host's copy of the game, which plays seats for players not told about bots,
    /// failed (the module threw, stalled or ran out of memory).
    HostError,
}

impl EndReason {
    pub fn as_str(self) -> &'static str {
        match self {
            EndReason::Completed => "completed",
            EndReason::TimeLimit => "time_limit",
            EndReason::PartnerLeft => "partner_left",
            EndReason::Desync => "desync",
            EndReason::Ended => "ended",
            EndReason::HostError => "host_error",
        }
    }
}

/// Where a player was in the waitroom before the match (to put them back if the game
/// never starts).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Seat {
    pub joined_at: Duration,
    pub deadline: Duration,
}

/// One game of one group.
#[derive(Debug, Clone)]
pub struct Game {
    pub id: GameId,
    /// Index of the multiplayer scene.
    pub scene: usize,
    /// The players; a player's slot is their index.
    pub players: Vec<ParticipantId>,
    pub seats: Vec<Seat>,
    pub starts_at: Duration,
    /// Set when the game starts.
    pub ends_at: Option<Duration>,
    pub started_at: Option<Duration>,
    pub completed: BTreeSet<ParticipantId>,
    pub results: BTreeMap<ParticipantId, serde_json::Value>,
    /// The tick and hash each copy reported when it was over.
    pub finals: BTreeMap<ParticipantId, (Option<u64>, Option<String>)>,
    /// When each player last got a catch-up (`game_relay`): at most one per
    /// [`CATCH_UP_EVERY`], since a catch-up can be the whole game so far.
    pub catch_ups: BTreeMap<ParticipantId, Duration>,
    pub lockstep: Lockstep,
    /// Seats after the players' played by the module's `bot`.
    pub bot_seats: u32,
    /// Seats that changed hands (a player left): every copy follows them.
    pub seat_changes: Vec<SeatChange>,
    /// Seats a player left that newcomers may take (`on_dropout: backfill`): slot, and
    /// until when it is offered.
    pub open_seats: Vec<(usize, Duration)>,
    /// The group's condition (index in the experiment's), if it has one.
    pub condition: Option<usize>,
    /// The config its copies are given: the scene's, with what applies to the group's
    /// conditions over it (`config_by_condition`) and the conditions (`conditions`).
    pub config: serde_json::Map<String, serde_json::Value>,
    /// Every seat the host plays (`host_bots`): the bot seats after the players', shown
    /// to the pages as players, and seats it took over from a player who left while a
    /// partner was not told about bots; each with the id its inputs are logged under
    /// (for the bot seats, also the id the pages know them by).
    pub host_seats: BTreeMap<usize, ParticipantId>,
    /// When each seat's player last sent an input other than `null` (or took the
    /// seat, or the game started): how long a partner has been idle.
    pub acted_at: BTreeMap<usize, Duration>,
    /// Since when each seat's page has been hidden, for those that are.
    pub hidden_since: BTreeMap<usize, Duration>,
}

impl Game {
    pub fn new(
        id: GameId,
        scene: usize,
        players: Vec<ParticipantId>,
        seats: Vec<Seat>,
        starts_at: Duration,
        lockstep: Lockstep,
    ) -> Self {
        Self {
            id,
            scene,
            players,
            seats,
            starts_at,
            ends_at: None,
            started_at: None,
            completed: BTreeSet::new(),
            results: BTreeMap::new(),
            finals: BTreeMap::new(),
            catch_ups: BTreeMap::new(),
            lockstep,
            bot_seats: 0,
            condition: None,
            config: serde_json::Map::new(),
            host_seats: BTreeMap::new(),
            seat_changes: Vec::new(),
            open_seats: Vec::new(),
            acted_at: BTreeMap::new(),
            hidden_since: BTreeMap::new(),
        }
    }

    /// A seat other than `me`'s whose player (still in it) has been idle for `idle`:
    /// no input but `null` for that long, or (when the game pauses for hidden pages,
    /// `hidden_counts`) a page hidden that long.
    /// Seats the host plays count as the players the pages see them as.
    pub fn idle_partner(&self, me: usize, now: Duration, idle: Duration, hidden_counts: bool) -> Option<usize> {
        let partner = |s: &usize| *s != me && (self.lockstep.active[*s] || self.host_seats.contains_key(s));
        (0..self.lockstep.inputs.len()).filter(partner).find(|s| {
            let acted = self.acted_at.get(s).copied().or(self.started_at).unwrap_or(now);
            let hidden = self.hidden_since.get(s).filter(|_| hidden_counts);
            now.saturating_sub(acted) >= idle || hidden.is_some_and(|h| now.saturating_sub(*h) >= idle)
        })
    }

    /// `newcomer` takes the open seat `slot`: their inputs count from `tick` on (the
    /// bot's before). Returns the change.
    pub fn take_seat(&mut self, slot: usize, newcomer: ParticipantId, tick: u64) -> SeatChange {
        self.open_seats.retain(|(s, _)| *s != slot);
        let change = SeatChange { slot, tick, to: SeatKind::Player, player: Some(newcomer) };
        self.seat_changes.push(change);
        self.players[slot] = newcomer;
        self.hidden_since.remove(&slot);
        self.lockstep.inputs[slot].resize(tick as usize, serde_json::Value::Null);
        self.lockstep.active[slot] = true;
        change
    }

    /// The first tick a newcomer can be sure to play: past where the copies can be by
    /// the host's clock, with their input delay, and a second to spare.
    pub fn join_tick(&self, now: Duration) -> u64 {
        let rate = u64::from(self.lockstep.tick_rate);
        let elapsed = self.started_at.map_or(0.0, |s| now.saturating_sub(s).as_secs_f64()) * rate as f64;
        let held = self.lockstep.inputs.iter().map(Vec::len).max().unwrap_or(0) as u64;
        (elapsed as u64).max(held) + u64::from(self.lockstep.input_delay) + rate
    }

    /// Whether `who` still plays their seat (has not left it).
    pub fn playing(&self, who: ParticipantId) -> bool {
        self.slot(who).is_some_and(|s| seats::played(&self.seat_changes, s, u64::MAX))
    }

    /// `who` left: from the first tick whose input the host does not hold, their seat
    /// is played by `to`. Returns the change.
    pub fn vacate(&mut self, who: ParticipantId, to: SeatKind) -> Option<SeatChange> {
        let slot = self.slot(who).filter(|_| self.playing(who))?;
        let tick = self.lockstep.inputs[slot].len() as u64;
        let change = SeatChange { slot, tick, to, player: None };
        self.seat_changes.push(change);
        self.lockstep.active[slot] = false;
        self.completed.remove(&who);
        self.finals.remove(&who);
        Some(change)
    }

    /// Whether the host plays the bot seats (shown to the pages as players).
    pub fn bots_by_host(&self) -> bool {
        self.host_seats.range(self.players.len()..).next().is_some()
    }

    /// The players as the pages know them: the host's bot seats among them.
    pub fn shown_players(&self) -> Vec<ParticipantId> {
        self.players.iter().chain(self.host_seats.range(self.players.len()..).map(|(_, id)| id)).copied().collect()
    }

    /// Whether every seat still played by a player has completed.
    pub fn all_completed(&self) -> bool {
        self.players.iter().filter(|p| self.playing(**p)).all(|p| self.completed.contains(p))
    }

    pub fn started(&self) -> bool {
        self.ends_at.is_some()
    }

    pub fn slot(&self, who: ParticipantId) -> Option<usize> {
        self.players.iter().position(|p| *p == who)
    }

    /// Starts the game now; it ends at the latest after `limit`.
    pub fn start(&mut self, now: Duration, limit: Duration) {
        self.ends_at = Some(now + limit);
        self.started_at = Some(now);
    }

    /// Records `who`'s completion; true when every player has completed.
    pub fn complete(
        &mut self,
        who: ParticipantId,
        result: Option<serde_json::Value>,
        tick: Option<u64>,
        hash: Option<String>,
    ) -> bool {
        self.completed.insert(who);
        self.finals.insert(who, (tick, hash));
        if let Some(result) = result {
            self.results.insert(who, result);
        }
        self.all_completed()
    }

    /// Whether the copies that reported their end disagree on its tick or hash.
    pub fn finals_disagree(&self) -> bool {
        let mut finals = self.finals.values().filter(|(t, h)| t.is_some() && h.is_some());
        let first = finals.next();
        finals.any(|f| Some(f) != first)
    }

    /// The tick the game is at by the host's clock (inputs beyond it are refused,
    /// with room for the input delay and a hidden page's inputs committed ahead).
    pub fn input_limit(&self, now: Duration) -> u64 {
        let Some(started) = self.started_at else { return 0 };
        let rate = u64::from(self.lockstep.tick_rate);
        let elapsed = now.saturating_sub(started).as_secs_f64() * rate as f64;
        elapsed as u64 + u64::from(self.lockstep.input_delay) + 5 * rate
    }

    /// The next time something is due: the start, or the duration limit.
    pub fn deadline(&self) -> Duration {
        self.ends_at.unwrap_or(self.starts_at)
    }
}
