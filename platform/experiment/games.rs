//! Games: created from a confirmed group, started together after the countdown,
//! relaying WebRTC signaling only within the group, ended when every copy is over
//! (or disagrees), at the duration limit, or when a partner leaves; then each player
//! moves on. Inputs, the relay and visibility are in [`super::game_inputs`].

use std::time::Duration;

use super::state::{ConnId, Place, State};
use super::timers::Timer;
use crate::eventlog::Event;
use crate::game::{EndReason, Game, Lockstep, Seat};
use crate::protocol::{ErrorCode, GameId, OutcomeReason, ParticipantId, ServerMsg, Signal};

impl State {
    /// Moves a confirmed group out of the waitroom into a new game.
    /// `rtt_ms`: the group's worst probed round trip, if it was probed; `filled`: bot
    /// seats added for missing players (bot fill), beyond the scene's `bot_seats`.
    pub(super) fn create_game(
        &mut self,
        scene: usize,
        players: Vec<ParticipantId>,
        now: Duration,
        rtt_ms: Option<f64>,
        filled: u32,
    ) -> Option<GameId> {
        let id = GameId(self.new_uuid());
        let Ok(condition) = self.assign_group() else {
            // Every group condition is full: the group does not play.
            for pid in &players {
                self.leave_room(*pid, scene, "condition_full", now);
                self.end_early(*pid, scene, OutcomeReason::GroupConditionFull, now);
            }
            return None;
        };
        let config = &self.multiplayer(scene).game;
        let bot_seats = config.bot_seats + filled;
        let (countdown, tick_rate) = (config.countdown_secs, config.tick_rate);
        let delay = config.input_delay_ticks.unwrap_or_else(|| crate::game::lockstep::input_delay(rtt_ms, tick_rate));
        let seed = self.new_seed();
        // A player not told about bots must not see a bot seat: the host plays them
        // (`host_bots`), as players the pages know by ids of their own, over the relay.
        let hidden = bot_seats > 0 && players.iter().any(|p| !self.told_about_bots(scene, *p));
        let hidden_bots: Vec<ParticipantId> =
            if hidden { (0..bot_seats).map(|_| ParticipantId(self.new_uuid())).collect() } else { Vec::new() };
        let mut lockstep = Lockstep::new(players.len() + hidden_bots.len(), seed, tick_rate, delay, hidden);
        for slot in players.len()..players.len() + hidden_bots.len() {
            lockstep.active[slot] = false; // the host's copy reports no hashes
        }
        let game_config = self.game_config(scene, condition, &players, hidden_bots.len());
        let room = &self.rooms[&scene];
        let seats: Vec<Seat> = players
            .iter()
            .map(|p| {
                room.entries.get(p).map_or(Seat { joined_at: now, deadline: now }, |e| Seat {
                    joined_at: e.candidate.joined_at,
                    deadline: e.deadline,
                })
            })
            .collect();
        for pid in &players {
            self.leave_room(*pid, scene, "matched", now);
            let p = self.participants.get_mut(pid).expect("player exists");
            p.place = Place::Playing(scene, id);
            p.last_game = Some(id);
            for other in players.iter().filter(|o| *o != pid) {
                if !p.partners.contains(other) {
                    p.partners.push(*other);
                }
            }
        }
        let starts_at = now + Duration::from_secs_f64(countdown);
        let mut game = Game::new(id, scene, players.clone(), seats, starts_at, lockstep);
        game.bot_seats = bot_seats;
        (game.condition, game.config) = (condition, game_config);
        game.host_seats = hidden_bots.iter().enumerate().map(|(i, id)| (players.len() + i, *id)).collect();
        self.rooms.get_mut(&scene).expect("room exists").games.insert(id, game);
        let scene_id = self.experiment.scenes[scene].id().to_string();
        self.log(Event::GameCreated { game: id, scene: scene_id, players: players.clone() });
        self.log_group_condition(id, condition);
        let seats = players.len() as u32 + bot_seats;
        for pid in &players {
            let told = self.told_about_bots(scene, *pid);
            let bots = if told { bot_seats } else { 0 };
            // The untold see the host's seats as players.
            let shown = if told { players.clone() } else { [players.clone(), hidden_bots.clone()].concat() };
            let msg = ServerMsg::MatchFound { game: id, players: shown, countdown_secs: countdown, seats, bots };
            self.send_to(*pid, msg);
        }
        self.create_chat(scene, id, &players);
        for pid in &players {
            self.open_chat(*pid);
        }
        if countdown <= 0.0 {
            self.start_game(scene, id, now);
        } else {
            self.timers.schedule(starts_at, Timer::Game(scene, id));
        }
        Some(id)
    }

    /// Games whose timer fired: due to start, or started and past their duration limit.
    pub(super) fn game_deadlines(&mut self, due: Vec<(usize, GameId)>, now: Duration) {
        for (scene, id) in due {
            let Some(game) = self.rooms[&scene].games.get(&id) else { continue }; // over already
            if game.deadline() > now {
                continue;
            }
            if game.started() {
                self.end_game(scene, id, EndReason::TimeLimit, now);
            } else {
                self.start_game(scene, id, now);
            }
        }
    }

    fn start_game(&mut self, scene: usize, id: GameId, now: Duration) {
        let config = self.multiplayer(scene).game.clone();
        let Some(game) = self.rooms.get_mut(&scene).and_then(|r| r.games.get_mut(&id)) else { return };
        game.start(now, Duration::from_secs_f64(config.max_duration_secs));
        let (players, ends_at) = (game.players.clone(), game.deadline());
        let l = &game.lockstep;
        let event = Event::GameStarted {
            game: id,
            module: config.module.to_string_lossy().replace('\\', "/"),
            seed: l.seed,
            players: players.len(),
            tick_rate: l.tick_rate,
            input_delay: l.input_delay,
            bot_seats: game.bot_seats,
            config: serde_json::Value::Object(game.config.clone()),
            relay: l.relay,
            bots_by_host: game.bots_by_host(),
        };
        let host_bots = game.bots_by_host().then(|| {
            super::host_bots::HostBots::Start(super::host_bots::Copy {
                game: id,
                scene: self.experiment.scenes[scene].id().to_string(),
                config: serde_json::Value::Object(game.config.clone()),
                seed: l.seed,
                seats: l.inputs.len(),
                tick_rate: l.tick_rate,
                input_delay: l.input_delay,
                bots: (players.len()..l.inputs.len()).collect(),
                held: Vec::new(),
            })
        });
        self.timers.schedule(ends_at, Timer::Game(scene, id));
        self.log(event);
        if let Some(start) = host_bots {
            self.host_bots(start);
        }
        for pid in &players {
            let msg = self.start_msg(scene, id, *pid);
            self.send_to(*pid, msg);
            self.open_chat(*pid);
        }
    }

    /// `start_game` for one player (also re-sent when they reconnect, with every input
    /// held so far for the catch-up).
    pub(super) fn start_msg(&self, scene: usize, id: GameId, pid: ParticipantId) -> ServerMsg {
        let game = &self.rooms[&scene].games[&id];
        let config = &self.multiplayer(scene).game;
        let main = config.module.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let scene_id = self.experiment.scenes[scene].id();
        let l = &game.lockstep;
        ServerMsg::StartGame {
            game: id,
            players: game.shown_players(),
            slot: game.slot(pid).unwrap_or_default(),
            ice_servers: (self.ice)(scene, pid),
            module: format!("/x/{}/game/{scene_id}/{main}", self.experiment.id),
            config: serde_json::Value::Object(game.config.clone()),
            seed: l.seed,
            tick_rate: l.tick_rate,
            input_delay: l.input_delay,
            // The untold see the host's seats as players, never as bots.
            bot_seats: if game.bots_by_host() { 0 } else { game.bot_seats },
            on_hidden: config.on_hidden,
            max_duration_secs: config.max_duration_secs,
            partner_idle_secs: config.partner_idle_secs,
            relay: l.relay,
            inputs: l.inputs.clone(),
            // Seats the host took over are players to the pages.
            seat_changes: game
                .seat_changes
                .iter()
                .filter(|c| !game.host_seats.contains_key(&c.slot))
                .copied()
                .collect(),
        }
    }

    /// The game `id` if `pid` plays in it (and it has started, unless `early`);
    /// otherwise refuses.
    pub(super) fn my_game(
        &mut self,
        pid: ParticipantId,
        conn: ConnId,
        id: GameId,
        what: &str,
        seq: Option<u64>,
        early: bool,
    ) -> Option<(usize, &mut Game)> {
        let Place::Playing(scene, mine) = self.participants[&pid].place else {
            self.refuse(conn, ErrorCode::InvalidState, format!("`{what}`: you are not in a game"), seq);
            return None;
        };
        if mine != id {
            self.refuse_peer(pid, conn, what, "not your game", seq);
            return None;
        }
        let started = self.rooms[&scene].games.get(&id).is_some_and(Game::started);
        if !started && !early {
            self.refuse(conn, ErrorCode::InvalidState, format!("`{what}`: the game has not started"), seq);
            return None;
        }
        self.rooms.get_mut(&scene).and_then(|r| r.games.get_mut(&id)).map(|g| (scene, g))
    }

    pub(super) fn on_game_signal(
        &mut self,
        pid: ParticipantId,
        conn: ConnId,
        id: GameId,
        to: ParticipantId,
        signal: Signal,
        seq: Option<u64>,
    ) {
        // From `match_found` on: a group without a probe channel opens one meanwhile.
        let Some((_, game)) = self.my_game(pid, conn, id, "game_signal", seq, true) else { return };
        if game.host_seats.values().any(|id| *id == to) {
            // A seat the host plays has no page to signal: its inputs come through the
            // host (the group plays over the relay).
            return self.ack(conn, seq);
        }
        if to == pid || !game.players.contains(&to) {
            return self.refuse_peer(pid, conn, "game_signal", "the recipient is not in your game", seq);
        }
        self.send_to(to, ServerMsg::GameSignal { game: id, from: pid, signal });
        self.ack(conn, seq);
    }

    #[allow(clippy::too_many_arguments)] // one message's fields
    pub(super) fn on_game_complete(
        &mut self,
        pid: ParticipantId,
        conn: ConnId,
        id: GameId,
        result: Option<serde_json::Value>,
        tick: Option<u64>,
        hash: Option<String>,
        seq: Option<u64>,
        now: Duration,
    ) {
        if hash.as_ref().is_some_and(|h| h.is_empty() || h.len() > 64) {
            return self.refuse(conn, ErrorCode::Malformed, "`hash` must be 1 to 64 characters", seq);
        }
        let Some((scene, game)) = self.my_game(pid, conn, id, "game_complete", seq, false) else { return };
        let all_done = game.complete(pid, result.clone(), tick, hash.clone());
        let disagree = all_done && game.finals_disagree();
        let finals: Vec<Option<String>> =
            game.players.iter().map(|p| game.finals.get(p).and_then(|(_, h)| h.clone())).collect();
        self.count_bonus(pid, scene, result.as_ref());
        self.remember_result(pid, scene, result.as_ref());
        self.log(Event::GameCompleted { game: id, participant: pid, result, tick, hash });
        self.ack(conn, seq);
        if disagree {
            self.log(Event::GameDesync { game: id, tick: tick.unwrap_or_default(), hashes: finals });
            self.end_game(scene, id, EndReason::Desync, now);
        } else if all_done {
            self.end_game(scene, id, EndReason::Completed, now);
        }
    }

    /// Ends a game for everyone in it: `game_end`, then the next scene.
    pub(super) fn end_game(&mut self, scene: usize, id: GameId, reason: EndReason, now: Duration) {
        let Some(game) = self.rooms.get_mut(&scene).and_then(|r| r.games.remove(&id)) else { return };
        self.stop_host_bots(&game);
        self.log(Event::GameEnded { game: id, reason });
        self.settle_group(game.condition, reason == EndReason::Completed);
        self.forget_players(scene, &game.players);
        for pid in game.players {
            if self.participants.get(&pid).is_none_or(|p| p.place != Place::Playing(scene, id)) {
                continue;
            }
            self.send_to(pid, ServerMsg::GameEnd { game: id, reason: reason.as_str().to_owned() });
            self.leave_scene(pid, scene, now);
        }
    }

    /// A player left for good. Before the start, the others go back to the waitroom
    /// where they were; after it, the scene's `on_dropout` decides: the seat goes to a
    /// bot or stays empty while the others play on, or the game ends for them with the
    /// partner-left outcome.
    pub(super) fn player_left_game(&mut self, pid: ParticipantId, scene: usize, id: GameId, now: Duration) {
        if self.keep_playing_without(pid, scene, id, now) {
            return;
        }
        let Some(game) = self.rooms.get_mut(&scene).and_then(|r| r.games.remove(&id)) else { return };
        self.stop_host_bots(&game);
        self.log(Event::GameEnded { game: id, reason: EndReason::PartnerLeft });
        self.settle_group(game.condition, false);
        if game.started() {
            self.forget_players(scene, &game.players);
        } else {
            self.forget_players(scene, &[pid]); // the others wait again
        }
        let started = game.started();
        let mut returned = Vec::new();
        for (other, seat) in game.players.iter().zip(&game.seats).filter(|(p, _)| **p != pid) {
            if self.participants.get(other).is_none_or(|p| p.place != Place::Playing(scene, id)) {
                continue;
            }
            self.send_to(*other, ServerMsg::GameEnd { game: id, reason: EndReason::PartnerLeft.as_str().to_owned() });
            if started {
                self.end_early(*other, scene, OutcomeReason::PartnerLeft, now);
            } else {
                self.show_scene(*other, scene);
                self.join_room_at(*other, scene, now, Some((seat.joined_at, seat.deadline)));
                returned.push(*other);
            }
        }
        if !started {
            self.retry_after_return(scene, &returned, now);
            for other in returned {
                self.status_on_entry(other, scene, now);
            }
        }
    }
}

impl State {
    /// Players whose game is over leave the room's scene: their pairs' failures and
    /// measured RTTs go with them.
    fn forget_players(&mut self, scene: usize, players: &[ParticipantId]) {
        if let Some(room) = self.rooms.get_mut(&scene) {
            for p in players {
                room.forget_pairs_of(*p);
            }
        }
    }
}
