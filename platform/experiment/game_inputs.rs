//! A game's inputs on the host: every player sends its own inputs (whichever path
//! carries the game), the host keeps and logs them, compares the copies' state hashes,
//! and forwards inputs to the group once it plays over the relay. Visibility changes
//! are logged and told to partners.

use std::time::Duration;

use super::host_bots::HostBots;
use super::state::{ConnId, Place, State};
use crate::eventlog::Event;
use crate::game::EndReason;
use crate::protocol::{ErrorCode, GameId, OutcomeReason, ParticipantId, ServerMsg};

/// Most inputs per forwarded message (a catch-up after a long stall is split).
const FORWARD_CHUNK: usize = 512;

impl State {
    #[allow(clippy::too_many_arguments)] // one message's fields
    pub(super) fn on_game_inputs(
        &mut self,
        pid: ParticipantId,
        conn: ConnId,
        id: GameId,
        from: u64,
        inputs: Vec<serde_json::Value>,
        hashes: Vec<(u64, String)>,
        seq: Option<u64>,
    ) {
        let now = self.now;
        let Some((scene, game)) = self.my_game(pid, conn, id, "game_inputs", seq, false) else { return };
        let slot = game.slot(pid).expect("a player of the game");
        let limit = game.input_limit(now);
        // Every input is logged, so a player over the game's input budget leaves the
        // game (records are never dropped); the others see a partner who left.
        let bytes = serde_json::to_string(&inputs).map_or(0, |s| s.len()) as u64 + 16 * hashes.len() as u64;
        let budget = self.multiplayer(scene).game.input_budget();
        if !self.game_input_fits(pid, bytes, budget) {
            self.refuse(conn, ErrorCode::InvalidState, "too much game input: you left the game", seq);
            return self.leave_game_for(pid, scene, id, OutcomeReason::InputLimit, now);
        }
        let game = self.rooms.get_mut(&scene).and_then(|r| r.games.get_mut(&id)).expect("checked above");
        let acted = inputs.iter().any(|i| !i.is_null());
        let accepted = game.lockstep.accept(slot, from, inputs, limit);
        if acted && accepted.is_ok() {
            game.acted_at.insert(slot, now);
        }
        let desync = accepted.as_ref().ok().map(|_| game.lockstep.report(slot, &hashes));
        let (relay, others) = (game.lockstep.relay, game.players.clone());
        let (first, fresh) = match accepted {
            Ok(fresh) => fresh,
            Err(e) => {
                let reason = e.to_string();
                self.log_refusal(pid, Event::Refused { participant: pid, message: "game_inputs".into(), reason });
                self.refuse(conn, ErrorCode::Malformed, format!("`game_inputs` refused: {e}; you left the game"), seq);
                return self.leave_game_for(pid, scene, id, OutcomeReason::InvalidInput, now);
            }
        };
        if !fresh.is_empty() || !hashes.is_empty() {
            let event = Event::GameInputs {
                game: id,
                participant: pid,
                slot,
                from: first,
                inputs: fresh.clone(),
                hashes,
                relayed: relay,
            };
            self.log(event);
        }
        if !fresh.is_empty() && self.plays_bots(scene, id) {
            let inputs = fresh.clone();
            self.host_bots(HostBots::Inputs { game: id, slot, from: first, inputs });
        }
        if relay && !fresh.is_empty() {
            for other in others.iter().filter(|o| **o != pid) {
                let msg = ServerMsg::GameInputs { game: id, slot, from: first, inputs: fresh.clone() };
                self.send_to(*other, msg);
            }
        }
        self.ack(conn, seq);
        match desync {
            Some(Ok(Some(d))) => {
                self.log(Event::GameDesync { game: id, tick: d.tick, hashes: d.hashes });
                self.end_game(scene, id, EndReason::Desync, now);
            }
            Some(Err(e)) => self.refuse(conn, ErrorCode::Malformed, format!("`hashes` refused: {e}"), None),
            _ => {}
        }
    }

    /// A page's peer-to-peer path failed or stalls: the group plays over the relay
    /// from now on, and the page gets every partner input the host holds from `need`.
    pub(super) fn on_game_relay(&mut self, pid: ParticipantId, conn: ConnId, id: GameId, need: u64, seq: Option<u64>) {
        let now = self.now;
        let Some((_, game)) = self.my_game(pid, conn, id, "game_relay", seq, false) else { return };
        let switched = !game.lockstep.relay;
        game.lockstep.relay = true;
        let slot = game.slot(pid).expect("a player of the game");
        let players = game.players.clone();
        let mut catch_up = Vec::new();
        let last = game.catch_ups.insert(pid, now);
        let too_soon = last.is_some_and(|t| now.saturating_sub(t) < crate::game::CATCH_UP_EVERY);
        for (other, _) in players.iter().enumerate().filter(|(s, _)| *s != slot && !too_soon) {
            let held = game.lockstep.since(other, need);
            for (i, chunk) in held.chunks(FORWARD_CHUNK).enumerate() {
                let from = need + (i * FORWARD_CHUNK) as u64;
                catch_up.push(ServerMsg::GameInputs { game: id, slot: other, from, inputs: chunk.to_vec() });
            }
        }
        if switched {
            self.log(Event::GameRelay { game: id, participant: pid, need });
            for p in &players {
                self.send_to(*p, ServerMsg::GameRelay { game: id });
            }
        }
        for msg in catch_up {
            self.send_to(pid, msg);
        }
        self.ack(conn, seq);
    }

    /// The page was hidden or shown: logged, and told to partners in a running game.
    pub(super) fn on_visibility(&mut self, pid: ParticipantId, conn: ConnId, hidden: bool, seq: Option<u64>) {
        let now = self.now;
        let game = match self.participants[&pid].place {
            Place::Playing(scene, id) => {
                self.rooms.get_mut(&scene).and_then(|r| r.games.get_mut(&id)).filter(|g| g.started()).map(|g| {
                    let slot = g.slot(pid).unwrap_or_default();
                    if hidden {
                        g.hidden_since.entry(slot).or_insert(now);
                    } else {
                        g.hidden_since.remove(&slot);
                    }
                    let partners: Vec<(GameId, usize, ParticipantId)> =
                        g.players.iter().filter(|p| **p != pid).map(|p| (id, slot, *p)).collect();
                    (id, partners)
                })
            }
            _ => None,
        };
        let partners = game.as_ref().map(|(_, p)| p.clone()).unwrap_or_default();
        // Within the participant's refusal budget: a page flipping its visibility
        // cannot grow the log without bound.
        self.log_refusal(pid, Event::Visibility { participant: pid, hidden, game: game.map(|(id, _)| id) });
        for (game, slot, partner) in partners {
            self.send_to(partner, ServerMsg::PartnerVisibility { game, slot, hidden });
        }
        self.ack(conn, seq);
    }

    /// Whether the host plays seats of game `id` itself (`host_bots`).
    fn plays_bots(&self, scene: usize, id: GameId) -> bool {
        self.rooms.get(&scene).and_then(|r| r.games.get(&id)).is_some_and(|g| !g.host_seats.is_empty())
    }

    /// The game's host copy is no longer needed.
    pub(super) fn stop_host_bots(&mut self, game: &crate::game::Game) {
        if !game.host_seats.is_empty() {
            self.host_bots(HostBots::Stop { game: game.id });
        }
    }

    /// The host's copy chose inputs for a seat it plays: kept, logged under the id the
    /// pages know the seat by, and sent to every player as a player's.
    pub(super) fn on_bot_inputs(
        &mut self,
        id: GameId,
        slot: usize,
        from: u64,
        inputs: Vec<serde_json::Value>,
        now: Duration,
    ) {
        let Some((scene, game)) = self.rooms.iter_mut().find_map(|(s, r)| r.games.get_mut(&id).map(|g| (*s, g))) else {
            return; // the game ended meanwhile
        };
        let Some(seat) = game.host_seats.get(&slot).copied() else { return };
        let (first, fresh) = match game.lockstep.accept(slot, from, inputs, u64::MAX - 1) {
            Ok(accepted) => accepted,
            Err(e) => {
                // The host's own copy: a bug, not a participant's doing.
                tracing::error!(game = %id.0, "the host's copy sent inputs it may not: {e}");
                return self.end_game(scene, id, EndReason::HostError, now);
            }
        };
        if fresh.iter().any(|i| !i.is_null()) {
            game.acted_at.insert(slot, now);
        }
        if fresh.is_empty() {
            return;
        }
        let players = game.players.clone();
        self.log(Event::GameInputs {
            game: id,
            participant: seat,
            slot,
            from: first,
            inputs: fresh.clone(),
            hashes: Vec::new(),
            relayed: true,
        });
        for p in players {
            self.send_to(p, ServerMsg::GameInputs { game: id, slot, from: first, inputs: fresh.clone() });
        }
    }

    /// The host's copy of a game failed: the game ends, with the reason in the host's
    /// log (never shown to participants).
    pub(super) fn on_bots_failed(&mut self, id: GameId, error: &str, now: Duration) {
        let Some(scene) = self.rooms.iter().find_map(|(s, r)| r.games.contains_key(&id).then_some(*s)) else {
            return;
        };
        tracing::warn!(game = %id.0, "the host's copy of the game failed: {error}");
        self.end_game(scene, id, EndReason::HostError, now);
    }

    /// `pid` leaves a running game with `reason`; the others see a partner who left.
    pub(super) fn leave_game_for(
        &mut self,
        pid: ParticipantId,
        scene: usize,
        id: GameId,
        reason: OutcomeReason,
        now: Duration,
    ) {
        self.player_left_game(pid, scene, id, now);
        self.end_early(pid, scene, reason, now);
    }
}
