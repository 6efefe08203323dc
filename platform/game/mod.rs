//! A game's lifecycle as a pure record: players in slots, a synchronized start after a
//! countdown, a duration limit, and completion when every player reports.

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
}

impl EndReason {
    pub fn as_str(self) -> &'static str {
        match self {
            EndReason::Completed => "completed",
            EndReason::TimeLimit => "time_limit",
            EndReason::PartnerLeft => "partner_left",
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
    pub completed: BTreeSet<ParticipantId>,
    pub results: BTreeMap<ParticipantId, serde_json::Value>,
}

impl Game {
    pub fn new(id: GameId, scene: usize, players: Vec<ParticipantId>, seats: Vec<Seat>, starts_at: Duration) -> Self {
        Self {
            id,
            scene,
            players,
            seats,
            starts_at,
            ends_at: None,
            completed: BTreeSet::new(),
            results: BTreeMap::new(),
        }
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
    }

    /// Records `who`'s completion; true when every player has completed.
    pub fn complete(&mut self, who: ParticipantId, result: Option<serde_json::Value>) -> bool {
        self.completed.insert(who);
        if let Some(result) = result {
            self.results.insert(who, result);
        }
        self.players.iter().all(|p| self.completed.contains(p))
    }

    /// The next time something is due: the start, or the duration limit.
    pub fn deadline(&self) -> Duration {
        self.ends_at.unwrap_or(self.starts_at)
    }
}
