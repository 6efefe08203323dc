//! The waitroom: entering it, live status, the server-enforced timeout, leaving it
//! (explicitly, by timeout, or by staying away), and the outcomes that end a
//! participant's part early.

use std::time::Duration;

use super::rooms::Entry;
use super::state::{ConnId, Place, State};
use super::timers::Timer;
use super::view::fill_redirect;
use crate::config::model::Outcome;
use crate::config::types::AttributeSource;
use crate::eventlog::Event;
use crate::matchmaking::Candidate;
use crate::protocol::{Answer, ErrorCode, OutcomeReason, ParticipantId, ServerMsg};

impl State {
    /// Puts `pid` into the waitroom of the multiplayer scene at `scene`, then asks the
    /// policy for a group with them as the arriving participant.
    pub(super) fn join_room(&mut self, pid: ParticipantId, scene: usize, now: Duration) {
        self.join_room_at(pid, scene, now, None);
        self.try_match(scene, pid, now);
        self.status_on_entry(pid, scene, now);
    }

    /// A participant who (re)entered the room and is still in it (no group formed at
    /// once: that sends `match_found` instead) is told the room's status.
    pub(super) fn status_on_entry(&mut self, pid: ParticipantId, scene: usize, now: Duration) {
        if self.rooms[&scene].entries.contains_key(&pid) {
            self.send_status_to(pid, scene, now);
        }
    }

    /// Enters `pid` into the room; `seat` restores an earlier place (joined at,
    /// deadline) when a game never started.
    pub(super) fn join_room_at(
        &mut self,
        pid: ParticipantId,
        scene: usize,
        now: Duration,
        seat: Option<(Duration, Duration)>,
    ) {
        let timeout = Duration::from_secs_f64(self.multiplayer(scene).waitroom.timeout_secs);
        let (joined_at, deadline) = seat.unwrap_or((now, now + timeout));
        let candidate = Candidate { joined_at, ..self.candidate(pid, scene) };
        let connected = self.participants[&pid].conn.is_some();
        let partition = self.partition_of(pid);
        let tick = Duration::from_secs_f64(self.multiplayer(scene).matchmaker.tick_secs);
        let room = self.rooms.get_mut(&scene).expect("multiplayer scenes have rooms");
        room.insert(Entry {
            candidate: candidate.clone(),
            deadline,
            connected,
            pending: None,
            seen: None,
            why: Default::default(),
            absent: None,
            reunite: None,
            partition,
        });
        self.timers.schedule(deadline, Timer::Waitroom(scene, pid));
        self.schedule_bot_fill(scene, pid, joined_at);
        if seat.is_none() {
            self.hold_for_reunion(pid, scene, now);
        }
        let ticks = self.room_ticks(scene);
        let room = self.rooms.get_mut(&scene).expect("multiplayer scenes have rooms");
        if room.tick_at.is_none() && ticks {
            // The room ticks while someone waits; an empty room costs nothing.
            room.tick_at = Some(now + tick);
            self.timers.schedule(now + tick, Timer::RoomTick(scene));
        }
        let joined = room.policy.on_join(&candidate);
        self.participants.get_mut(&pid).expect("participant exists").place = Place::Waiting(scene);
        let scene_id = self.experiment.scenes[scene].id().to_string();
        self.log(Event::WaitroomJoined { participant: pid, scene: scene_id });
        self.flush_policy_log(scene, pid);
        if let Err(e) = joined
            && e != crate::matchmaking::PolicyError::Unavailable
        {
            self.policy_fault(scene, pid, format!("on_join: {e}"));
        }
        if self.multiplayer(scene).on_dropout == crate::config::multiplayer::Dropout::Backfill {
            self.try_backfill(scene, now);
        }
    }

    /// The part of a waitroom `pid` waits in: their entry condition when groups are
    /// formed within conditions (`conditions.entry.match: within`, the default).
    pub(super) fn partition_of(&self, pid: ParticipantId) -> Option<usize> {
        let entry = self.experiment.conditions.entry.as_ref()?;
        if entry.grouping() != crate::config::conditions::Grouping::Within {
            return None;
        }
        self.participants.get(&pid)?.condition
    }

    /// The record the policy sees of `pid` (joined now).
    fn candidate(&self, pid: ParticipantId, scene: usize) -> Candidate {
        let p = &self.participants[&pid];
        let attributes = self
            .multiplayer(scene)
            .matchmaker
            .attributes
            .iter()
            .filter_map(|a| {
                let value = match a.source() {
                    AttributeSource::Param(name) => p.params.get(name).cloned(),
                    AttributeSource::Answer { scene, question } => {
                        p.answers.get(scene).and_then(|answers| answers.get(question)).map(Answer::attribute)
                    }
                };
                value.map(|v| (a.name().to_owned(), v))
            })
            .chain(self.condition_attributes(p.condition))
            .collect();
        Candidate {
            id: pid,
            joined_at: Duration::ZERO,
            server_rtt_ms: p.server_rtt_ms,
            attributes,
            previous_partners: p.partners.clone(),
            avoid: self.rooms[&scene].avoid_list(pid),
        }
    }

    /// Sends (or schedules) the coalesced status of every room whose count changed: at
    /// most one `waiting_room` per participant per matchmaker tick, however many
    /// arrivals and departures the tick saw.
    pub(super) fn schedule_status(&mut self, now: Duration) {
        let due: Vec<(usize, Option<Duration>)> = self
            .rooms
            .values()
            .filter(|r| r.dirty && r.status_at.is_none())
            .map(|r| (r.scene, r.last_status))
            .collect();
        for (scene, last) in due {
            let tick = Duration::from_secs_f64(self.multiplayer(scene).matchmaker.tick_secs);
            match last.map(|last| last + tick).filter(|at| *at > now) {
                Some(at) => {
                    self.rooms.get_mut(&scene).expect("room exists").status_at = Some(at);
                    self.timers.schedule(at, Timer::Status(scene));
                }
                None => self.flush_status(scene, now),
            }
        }
    }

    /// Sends `waiting_room` to each waiting participant whose view changed since they
    /// were last told. The countdown alone is no change: clients count it down.
    pub(super) fn flush_status(&mut self, scene: usize, now: Duration) {
        let show = self.multiplayer(scene).waitroom.show_count;
        let room = self.rooms.get_mut(&scene).expect("room exists");
        room.status_at = None;
        room.dirty = false;
        room.last_status = Some(now);
        if !show {
            return; // nobody sees the count
        }
        let stale: Vec<ParticipantId> = room
            .order
            .iter()
            .filter(|pid| room.entries.get(pid).is_some_and(|e| e.seen != Some(room.waiting_with(**pid))))
            .copied()
            .collect();
        for pid in stale {
            self.send_status_to(pid, scene, now);
        }
    }

    /// One participant's `waiting_room` status, sent now.
    pub(super) fn send_status_to(&mut self, pid: ParticipantId, scene: usize, now: Duration) {
        let show = self.multiplayer(scene).waitroom.show_count;
        let leave_at = self.paid_leave_at(scene, pid);
        let room = self.rooms.get_mut(&scene).expect("room exists");
        let waiting = room.waiting_with(pid);
        let group_size = room.group_size as u32;
        let Some(entry) = room.entries.get_mut(&pid) else { return };
        entry.seen = Some(waiting);
        let msg = ServerMsg::WaitingRoom {
            waiting: show.then_some(waiting),
            needed: show.then_some(group_size),
            remaining_secs: entry.deadline.saturating_sub(now).as_secs_f64(),
            leave_in_secs: leave_at.map(|at| at.saturating_sub(now).as_secs_f64()),
        };
        self.send_to(pid, msg);
    }

    /// Participants whose waitroom timer fired: those still waiting, past their
    /// deadline and not being probed time out. (A probed participant's timer is set
    /// again when their pending match is dropped.)
    pub(super) fn waitroom_deadlines(&mut self, due: Vec<(usize, ParticipantId)>, now: Duration) {
        for (scene, pid) in due {
            let timed_out =
                self.rooms[&scene].entries.get(&pid).is_some_and(|e| e.pending.is_none() && e.deadline <= now);
            if timed_out {
                self.leave_room(pid, scene, "timeout", now);
                self.end_early(pid, scene, OutcomeReason::WaitroomTimeout, now);
            }
        }
    }

    pub(super) fn on_leave_waitroom(&mut self, pid: ParticipantId, conn: ConnId, seq: Option<u64>, now: Duration) {
        let Place::Waiting(scene) = self.participants[&pid].place else {
            return self.refuse(conn, ErrorCode::InvalidState, "you are not in a waitroom", seq);
        };
        if let Some(at) = self.paid_leave_at(scene, pid).filter(|at| *at > now) {
            let wait = at.saturating_sub(now).as_secs_f64().ceil();
            let message = format!("leaving with pay is possible after {wait:.0} more seconds of waiting");
            return self.refuse(conn, ErrorCode::InvalidState, message, seq);
        }
        self.leave_room(pid, scene, "left", now);
        self.ack(conn, seq);
        self.end_early(pid, scene, OutcomeReason::LeftWaitroom, now);
    }

    /// When `pid` may leave the room of `scene` with pay (`waitroom.leave_after_secs`
    /// after they joined it), if leaving is paid there.
    pub(super) fn paid_leave_at(&self, scene: usize, pid: ParticipantId) -> Option<Duration> {
        let waitroom = &self.multiplayer(scene).waitroom;
        let joined = self.rooms.get(&scene)?.entries.get(&pid)?.candidate.joined_at;
        waitroom.paid_leave().then(|| joined + Duration::from_secs_f64(waitroom.leave_after_secs))
    }

    /// Removes `pid` from the room everywhere: a pending match they were in is dropped
    /// (its probes aborted, not held against anyone) and the others return to the pool.
    pub(super) fn leave_room(&mut self, pid: ParticipantId, scene: usize, reason: &str, now: Duration) {
        let room = self.rooms.get_mut(&scene).expect("multiplayer scenes have rooms");
        // Out of the pool first, so that the retry after dropping their pending match
        // cannot propose them again.
        let Some(mut entry) = room.remove(pid) else { return };
        if reason != "matched" {
            room.forget_pairs_of(pid); // gone for good (a matched player may come back)
        }
        let record = std::mem::take(&mut entry.why);
        let left = room.policy.on_leave(pid);
        let scene_id = self.experiment.scenes[scene].id().to_string();
        self.log(Event::WaitroomLeft { participant: pid, scene: scene_id, reason: reason.to_owned() });
        self.flush_policy_log(scene, pid);
        self.flush_repeats(scene, pid, record);
        if let Err(e) = left
            && e != crate::matchmaking::PolicyError::Unavailable
        {
            self.policy_fault(scene, pid, format!("on_leave: {e}"));
        }
        if let Some(pending) = entry.pending {
            self.resolve_pending(scene, pending, false, now);
        }
    }

    /// A waiting participant's socket went away: out of new proposals, and a pending
    /// match they are in is dropped at once (probes aborted, held against no one).
    pub(super) fn waiting_disconnected(&mut self, pid: ParticipantId, scene: usize, now: Duration) {
        let Some(entry) = self.rooms.get_mut(&scene).and_then(|r| r.entries.get_mut(&pid)) else { return };
        entry.connected = false;
        if let Some(pending) = entry.pending {
            self.resolve_pending(scene, pending, false, now);
        }
    }

    /// A waiting participant is back: offered again, and asked for at once.
    pub(super) fn waiting_reconnected(&mut self, pid: ParticipantId, scene: usize, now: Duration) {
        let mut absent = None;
        if let Some(entry) = self.rooms.get_mut(&scene).and_then(|r| r.entries.get_mut(&pid)) {
            entry.connected = true;
            absent = entry.absent.clone();
        }
        self.send_status_to(pid, scene, now);
        if let Some(check) = absent {
            // They missed a ready-check: a reloaded page learns it again, to confirm.
            self.send_to(pid, ServerMsg::ReadyAbort { check, reason: "missed".to_owned() });
        }
        self.try_match(scene, pid, now);
    }

    /// Applies the experiment's outcome for `reason`: go to a scene, or show a final
    /// message (with code and redirect) and end the participant's part.
    pub(super) fn end_early(&mut self, pid: ParticipantId, scene: usize, reason: OutcomeReason, now: Duration) {
        let goto = self.outcome_config(scene, reason).and_then(|o| o.goto.clone());
        let scene_id = self.experiment.scenes[scene].id().to_string();
        if let Some(target) = goto.and_then(|g| self.experiment.scenes.iter().position(|s| *s.id() == g)) {
            let iteration = self.iteration(pid);
            self.log(Event::SceneLeft { participant: pid, scene: scene_id, index: scene, iteration });
            return self.enter_scene(pid, target, now);
        }
        self.participants.get_mut(&pid).expect("participant exists").place = Place::Over(scene, reason);
        self.settle_entry(pid, false);
        self.touched.push(pid);
        let msg = self.outcome_msg(pid, scene, reason);
        let completion_code = match &msg {
            ServerMsg::Outcome { completion_code, .. } => completion_code.clone(),
            _ => None,
        };
        self.log(Event::Outcome { participant: pid, scene: scene_id, reason, completion_code });
        self.send_to(pid, msg);
    }

    fn outcome_config(&self, scene: usize, reason: OutcomeReason) -> Option<&Outcome> {
        let conditions = &self.experiment.conditions;
        let multiplayer = match &self.experiment.scenes[scene] {
            crate::config::Scene::Multiplayer(m) => Some(m),
            _ => None,
        };
        match reason {
            OutcomeReason::ConditionFull => conditions.entry.as_ref().map(|c| &c.on_full),
            OutcomeReason::GroupConditionFull => conditions.group.as_ref().map(|c| &c.on_full),
            OutcomeReason::FailedCheck => match &self.experiment.scenes[scene] {
                crate::config::Scene::Survey(s) => s.failed_outcome(),
                _ => None,
            },
            OutcomeReason::ReadyMissed => multiplayer?.waitroom.ready_check.as_ref().map(|c| &c.on_missed),
            OutcomeReason::DeviceExcluded
            | OutcomeReason::WebrtcUnavailable
            | OutcomeReason::ConnectionTooSlow
            | OutcomeReason::ConnectionDegraded => self.screening_outcome(reason),
            _ => {
                let m = multiplayer?;
                self.multiplayer_outcome(m, reason)
            }
        }
    }

    fn multiplayer_outcome<'a>(
        &self,
        m: &'a crate::config::multiplayer::MultiplayerScene,
        reason: OutcomeReason,
    ) -> Option<&'a Outcome> {
        match reason {
            OutcomeReason::WaitroomTimeout => Some(&m.waitroom.on_timeout),
            OutcomeReason::LeftWaitroom => Some(&m.waitroom.on_leave),
            OutcomeReason::LeftIdleGame => Some(&m.on_partner_idle),
            // A group lost to a restart ends as if the partners had left.
            OutcomeReason::PartnerLeft | OutcomeReason::HostRestarted => Some(&m.on_partner_leave),
            OutcomeReason::Expired
            | OutcomeReason::InputLimit
            | OutcomeReason::InvalidInput
            | OutcomeReason::EndedByResearcher
            | OutcomeReason::ConditionFull
            | OutcomeReason::GroupConditionFull
            | OutcomeReason::ReadyMissed
            | OutcomeReason::DeviceExcluded
            | OutcomeReason::WebrtcUnavailable
            | OutcomeReason::ConnectionTooSlow
            | OutcomeReason::ConnectionDegraded
            | OutcomeReason::FailedCheck => None,
        }
    }

    /// The `outcome` message for `pid` (sent when it happens and again on return).
    pub(super) fn outcome_msg(&self, pid: ParticipantId, scene: usize, reason: OutcomeReason) -> ServerMsg {
        let Some(outcome) = self.outcome_config(scene, reason) else {
            let message = self.experiment.text(match reason {
                OutcomeReason::InputLimit => "outcome.input_limit",
                OutcomeReason::InvalidInput => "outcome.invalid_input",
                OutcomeReason::EndedByResearcher => "outcome.ended_by_researcher",
                OutcomeReason::DeviceExcluded => "outcome.device_excluded",
                OutcomeReason::WebrtcUnavailable => "outcome.webrtc_unavailable",
                OutcomeReason::ConnectionTooSlow => "outcome.connection_too_slow",
                OutcomeReason::ConnectionDegraded => "outcome.connection_degraded",
                OutcomeReason::FailedCheck => "outcome.failed_check",
                _ => "outcome.expired",
            });
            return ServerMsg::Outcome {
                reason,
                message: Some(message),
                // Ended by the researchers: paid as for finishing the study.
                completion_code: (reason == OutcomeReason::EndedByResearcher)
                    .then(|| self.experiment.recruitment.completion_code.as_ref().map(|c| c.to_string()))
                    .flatten(),
                redirect_url: None,
            };
        };
        let code = outcome.completion_code.as_ref().map(|c| c.to_string());
        let recruitment = &self.experiment.recruitment;
        let rid = self.participants[&pid].recruitment_id.as_deref();
        let redirect = outcome
            .redirect_url
            .as_ref()
            .map(|u| fill_redirect(u.as_str(), code.as_deref(), &recruitment.id_param, rid))
            .map(|u| {
                let game = self.participants[&pid].last_game;
                u.replace("{group_code}", &game.map(|g| crate::config::reunion::group_code(&g)).unwrap_or_default())
            });
        let message = outcome.message_for(self.audience_of(pid)).map(|m| self.experiment.localized(m)).or_else(|| {
            (reason == OutcomeReason::HostRestarted).then(|| self.experiment.text("outcome.host_restarted"))
        });
        let name = serde_json::to_value(reason).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
        let message = message.map(|m| self.pipe_text(pid, &self.fill_pay(&m, pid, &name), false));
        ServerMsg::Outcome { reason, message, completion_code: code, redirect_url: redirect }
    }
}
