//! When a partner is missing: a started game whose player left for good goes on with
//! the seat empty or played by the module's bot (`on_dropout`), and a participant who
//! waited `waitroom.fill_with_bots_after_secs` plays with bot seats instead of waiting
//! longer. Both are logged with whether the participants were told.

use std::time::Duration;

use super::state::{ConnId, Place, State};
use super::timers::Timer;
use crate::config::multiplayer::Dropout;
use crate::eventlog::Event;
use crate::game::{EndReason, SeatKind};
use crate::protocol::{ErrorCode, GameId, OutcomeReason, ParticipantId, ServerMsg};

impl State {
    /// `pid` left the started game `id` for good: under `on_dropout: continue` or `bot`
    /// its seat changes hands at the first tick whose input the host lacks, and the
    /// others play on. False when the game must end instead (`end`, not started, or
    /// nobody left to play).
    pub(super) fn keep_playing_without(&mut self, pid: ParticipantId, scene: usize, id: GameId, now: Duration) -> bool {
        let policy = self.multiplayer(scene).on_dropout;
        let to = match policy {
            Dropout::End => return false,
            Dropout::Continue => SeatKind::Empty,
            Dropout::Bot | Dropout::Backfill => SeatKind::Bot,
        };
        let offer = Duration::from_secs_f64(self.multiplayer(scene).backfill_secs);
        let participants = &self.participants;
        let Some(game) = self.rooms.get_mut(&scene).and_then(|r| r.games.get_mut(&id)) else { return false };
        let others_here = game.players.iter().any(|p| {
            *p != pid && game.playing(*p) && participants.get(p).is_some_and(|x| x.place == Place::Playing(scene, id))
        });
        if !game.started() || !others_here {
            return false;
        }
        let Some(change) = game.vacate(pid, to) else { return false };
        if policy == Dropout::Backfill {
            game.open_seats.push((change.slot, now + offer));
        }
        let (others, all_done, host_plays) = (game.players.clone(), game.all_completed(), !game.host_seats.is_empty());
        let (slot, tick) = (change.slot, change.tick);
        let others: Vec<(ParticipantId, bool)> =
            others.into_iter().filter(|o| *o != pid).map(|o| (o, self.told_about_bots(scene, o))).collect();
        let told = others.iter().all(|(_, told)| *told);
        // A partner not told about bots must not learn that a computer took the seat:
        // the host plays it, and the pages go on receiving a player's inputs.
        let by_host = to == SeatKind::Bot && (!told || host_plays);
        self.log(Event::SeatChanged { game: id, slot, tick, to, participant: pid, told, by_host });
        if to == SeatKind::Empty && host_plays {
            // The host's copy steps the empty seat with no input, as every page does.
            self.host_bots(super::host_bots::HostBots::Vacate { game: id, slot });
        }
        if by_host {
            self.host_takes_seat(scene, id, slot, now);
        } else {
            for (other, told) in others {
                self.send_to(other, ServerMsg::SeatChange { game: id, slot, tick, to, player: None, told });
            }
        }
        if all_done {
            // The others had already finished: the leaver was the last one missing.
            self.end_game(scene, id, EndReason::Completed, now);
        } else if policy == Dropout::Backfill {
            self.try_backfill(scene, now);
        }
        true
    }

    /// The host plays `slot` of game `id` from now on (its player left, and a partner is
    /// not told about bots): over the relay, by its copy of the game (started now, from
    /// every input so far, if the game had none).
    fn host_takes_seat(&mut self, scene: usize, id: GameId, slot: usize, now: Duration) {
        let seat = ParticipantId(self.new_uuid());
        let experiment_scene = self.experiment.scenes[scene].id().to_string();
        let Some(game) = self.rooms.get_mut(&scene).and_then(|r| r.games.get_mut(&id)) else { return };
        game.open_seats.retain(|(s, _)| *s != slot); // nobody backfills a seat the host plays
        let fresh = game.host_seats.is_empty();
        game.host_seats.insert(slot, seat);
        let switched = !game.lockstep.relay;
        game.lockstep.relay = true;
        game.acted_at.insert(slot, now);
        let l = &game.lockstep;
        let command = if fresh {
            super::host_bots::HostBots::Start(super::host_bots::Copy {
                game: id,
                scene: experiment_scene,
                config: serde_json::Value::Object(game.config.clone()),
                seed: l.seed,
                seats: l.inputs.len(),
                tick_rate: l.tick_rate,
                input_delay: l.input_delay,
                bots: vec![slot],
                held: l.inputs.clone(),
            })
        } else {
            super::host_bots::HostBots::Take { game: id, slot }
        };
        let (need, players) = (l.inputs[slot].len() as u64, game.players.clone());
        self.host_bots(command);
        if switched {
            self.log(Event::GameRelay { game: id, participant: seat, need });
            let here: Vec<ParticipantId> = players
                .into_iter()
                .filter(|p| self.participants.get(p).is_some_and(|x| x.place == Place::Playing(scene, id)))
                .collect();
            for p in here {
                self.send_to(p, ServerMsg::GameRelay { game: id });
            }
        }
    }

    /// Offers the open seats of this scene's games (oldest game first) to whoever waits
    /// longest; each newcomer plays from an agreed tick, catching up from the inputs.
    pub(super) fn try_backfill(&mut self, scene: usize, now: Duration) {
        while !self.draining {
            let room = &self.rooms[&scene];
            let mut seats: Vec<(Duration, GameId, usize)> = room
                .games
                .values()
                .flat_map(|g| {
                    g.open_seats.iter().filter(|(_, until)| *until > now).map(|(slot, _)| (g.starts_at, g.id, *slot))
                })
                .collect();
            seats.sort();
            // With groups within conditions, a newcomer of the group's condition.
            let found = seats.into_iter().find_map(|(_, id, slot)| {
                let partition = room.games[&id].players.iter().find_map(|p| self.partition_of(*p));
                room.order
                    .iter()
                    .copied()
                    .find(|p| {
                        let e = &room.entries[p];
                        e.available() && e.deadline > now && (partition.is_none() || e.partition == partition)
                    })
                    .map(|newcomer| (id, slot, newcomer))
            });
            let Some((id, slot, newcomer)) = found else { return };
            self.backfill(scene, id, slot, newcomer, now);
        }
    }

    fn backfill(&mut self, scene: usize, id: GameId, slot: usize, newcomer: ParticipantId, now: Duration) {
        let told = self.told_about_bots(scene, newcomer);
        self.leave_room(newcomer, scene, "matched", now);
        let game = self.rooms.get_mut(&scene).and_then(|r| r.games.get_mut(&id)).expect("an open seat's game");
        let tick = game.join_tick(now);
        game.take_seat(slot, newcomer, tick);
        game.acted_at.insert(slot, now); // a newcomer is not idle yet
        // There is no channel to a newcomer: the group plays over the relay from their
        // first tick, so their inputs reach the others whatever those others ask.
        let switched = !game.lockstep.relay;
        game.lockstep.relay = true;
        let players = game.players.clone();
        let (seats, bots) = (players.len() as u32 + game.bot_seats, if told { game.bot_seats } else { 0 });
        let p = self.participants.get_mut(&newcomer).expect("a waiting participant");
        p.place = Place::Playing(scene, id);
        for other in players.iter().filter(|o| **o != newcomer) {
            if !p.partners.contains(other) {
                p.partners.push(*other);
            }
        }
        let to = SeatKind::Player;
        self.log(Event::SeatChanged { game: id, slot, tick, to, participant: newcomer, told, by_host: false });
        if switched {
            self.log(Event::GameRelay { game: id, participant: newcomer, need: tick });
        }
        for other in players.iter().filter(|o| **o != newcomer) {
            let told = self.told_about_bots(scene, *other);
            self.send_to(*other, ServerMsg::SeatChange { game: id, slot, tick, to, player: Some(newcomer), told });
            if switched {
                self.send_to(*other, ServerMsg::GameRelay { game: id });
            }
        }
        let found = ServerMsg::MatchFound { game: id, players, countdown_secs: 0.0, seats, bots };
        self.send_to(newcomer, found);
        let start = self.start_msg(scene, id, newcomer);
        self.send_to(newcomer, start);
        // The newcomer takes the leaver's place in the group's chat too.
        if let Some(member) = self.chats.get_mut(&id).and_then(|c| c.members.get_mut(slot)) {
            *member = newcomer;
        }
        self.open_chat(newcomer);
    }

    /// `leave_game`: a player leaves a started game whose partner has been away or
    /// idle for `game.partner_idle_secs`; their part ends with `on_partner_idle`, and
    /// the game goes on without them as the scene's `on_dropout` says.
    pub(super) fn on_leave_game(&mut self, pid: ParticipantId, conn: ConnId, id: GameId, seq: Option<u64>) {
        let now = self.now;
        let Some((scene, game)) = self.my_game(pid, conn, id, "leave_game", seq, false) else { return };
        let slot = game.slot(pid).unwrap_or_default();
        let config = &self.multiplayer(scene).game;
        let Some(idle) = config.partner_idle_secs.map(Duration::from_secs_f64) else {
            let message = "this game cannot be left: it has no `partner_idle_secs`";
            return self.refuse(conn, ErrorCode::InvalidState, message, seq);
        };
        let hidden_counts = config.on_hidden == crate::config::multiplayer::OnHidden::Pause;
        let game = &self.rooms[&scene].games[&id];
        if game.idle_partner(slot, now, idle, hidden_counts).is_none() {
            let message = format!("no partner has been away or idle for {} s", idle.as_secs_f64());
            return self.refuse(conn, ErrorCode::InvalidState, message, seq);
        }
        self.ack(conn, seq);
        self.leave_game_for(pid, scene, id, OutcomeReason::LeftIdleGame, now);
    }

    /// Whether `pid` is told which seats are computers (`waitroom.tell_about_bots`,
    /// which may differ by entry condition).
    pub(super) fn told_about_bots(&self, scene: usize, pid: ParticipantId) -> bool {
        self.multiplayer(scene).waitroom.tell_about_bots.tells(self.condition_of(pid))
    }

    /// Schedules the bot fill of a participant who just entered the waitroom.
    pub(super) fn schedule_bot_fill(&mut self, scene: usize, pid: ParticipantId, joined_at: Duration) {
        let waitroom = &self.multiplayer(scene).waitroom;
        if !crate::config::show_if::shown(&waitroom.fill_with_bots_if, self.condition_of(pid)) {
            return; // their condition waits for people only
        }
        if let Some(after) = waitroom.fill_with_bots_after_secs {
            self.timers.schedule(joined_at + Duration::from_secs_f64(after), Timer::BotFill(scene, pid));
        }
    }

    /// A participant's bot-fill time came: if still waiting (not being probed, nor
    /// held after missing a ready-check), they play now, every other seat a bot — after
    /// confirming with the waitroom's ready-check, when it has one (who waited a minute
    /// may well have turned to another tab).
    pub(super) fn bot_fill(&mut self, scene: usize, pid: ParticipantId, now: Duration) {
        if self.draining {
            return;
        }
        let Some(after) = self.multiplayer(scene).waitroom.fill_with_bots_after_secs else { return };
        let Some(entry) = self.rooms[&scene].entries.get(&pid) else { return };
        let joined_at = entry.candidate.joined_at;
        let due = joined_at + Duration::from_secs_f64(after);
        if due > now {
            return; // rejoined later: a later timer stands
        }
        if entry.pending.is_some() || !entry.connected || entry.absent.is_some() {
            // Being probed or ready-checked (if the group falls through, they are
            // back), away within the grace period, or not yet back from a missed
            // ready-check: look again in a second.
            self.timers.schedule(now + Duration::from_secs(1), Timer::BotFill(scene, pid));
            return;
        }
        let filled = self.multiplayer(scene).group_size - 1;
        if let Some(check) = &self.multiplayer(scene).waitroom.ready_check {
            // Looked at again after the check: if it was missed, they get another once
            // back (if it passed, they play and this finds no one).
            let after = now + Duration::from_secs_f64(check.timeout_secs) + Duration::from_secs(1);
            self.timers.schedule(after, Timer::BotFill(scene, pid));
            return self.start_ready_check(scene, vec![pid], filled, now);
        }
        self.play_with_bots(scene, pid, filled, now);
    }

    /// A game of one waiting participant with `filled` seats played by bots.
    pub(super) fn play_with_bots(&mut self, scene: usize, pid: ParticipantId, filled: u32, now: Duration) {
        let Some(entry) = self.rooms[&scene].entries.get(&pid) else { return };
        let joined_at = entry.candidate.joined_at;
        let told = self.told_about_bots(scene, pid);
        let Some(game) = self.create_game(scene, vec![pid], now, None, filled) else { return };
        let bot_seats = filled + self.multiplayer(scene).game.bot_seats;
        let scene_id = self.experiment.scenes[scene].id().to_string();
        let waited_ms = now.saturating_sub(joined_at).as_millis() as u64;
        self.log(Event::BotsFilled { participant: pid, scene: scene_id, game, waited_ms, bot_seats, told });
    }
}
