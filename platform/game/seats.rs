//! Who plays each seat, tick by tick. A game starts with its players' seats and
//! `bot_seats` bot seats after them; when a player leaves for good, the scene's
//! `on_dropout` changes that seat at an agreed tick — the first tick whose input the
//! host does not hold from them — to a bot (the module's `bot`, computed by every copy)
//! or to an empty seat. Every copy, and the replay, follow the same changes.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// What plays a seat after a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SeatKind {
    /// The module's `bot`, computed by every copy from the state before each tick.
    Bot,
    /// Nobody: the seat's input is `null` (the module's `seat` export is told).
    Empty,
    /// A participant again (a newcomer who took the seat): their inputs.
    Player,
}

/// From tick `tick` on, seat `slot` is played by `to` (`player`: that participant).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SeatChange {
    pub slot: usize,
    pub tick: u64,
    pub to: SeatKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub player: Option<crate::protocol::ParticipantId>,
}

/// What plays `slot` at `tick`, given the changes so far (`None` or `Player`: a
/// participant, whose inputs count).
pub fn seat_at(changes: &[SeatChange], slot: usize, tick: u64) -> Option<SeatKind> {
    changes.iter().filter(|c| c.slot == slot && c.tick <= tick).max_by_key(|c| c.tick).map(|c| c.to)
}

/// Whether a participant's input counts for `slot` at `tick`.
pub fn played(changes: &[SeatChange], slot: usize, tick: u64) -> bool {
    matches!(seat_at(changes, slot, tick), None | Some(SeatKind::Player))
}

/// The changes that take effect at `tick`, in order.
pub fn changes_at(changes: &[SeatChange], tick: u64) -> impl Iterator<Item = &SeatChange> {
    changes.iter().filter(move |c| c.tick == tick)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seat_is_its_players_until_a_change() {
        let changes = [SeatChange { slot: 1, tick: 40, to: SeatKind::Bot, player: None }];
        assert_eq!(seat_at(&changes, 1, 39), None);
        assert_eq!(seat_at(&changes, 1, 40), Some(SeatKind::Bot));
        assert_eq!(seat_at(&changes, 0, 100), None);
        assert_eq!(changes_at(&changes, 40).count(), 1);
    }
}
