//! Asking the policy: on every arrival, after a failed or dropped proposal, and on the
//! room's tick. Every answer is validated; a fault is logged and the experiment's
//! fallback decides. A valid group becomes a game at once, or (with a threshold) a
//! pending match whose every pair is probed.

use std::time::Duration;

use super::rooms::{Pending, Room};
use super::state::State;
use super::timers::Timer;
use crate::config::model::Scene;
use crate::config::multiplayer::Fallback;
use crate::eventlog::Event;
use crate::matchmaking::{self, Fifo, PolicyError, WaitroomView};
use crate::probe::Probe;
use crate::protocol::{ParticipantId, ProbeId, ServerMsg};

impl State {
    /// Rooms whose tick or failure-memory timer fired. A policy whose answer depends on
    /// time is asked for everyone on every tick while someone waits; one that does not
    /// (FIFO) is asked again only when a forgotten failure may allow a new group, since
    /// every other change (arrival, return, dropped proposal) asks it at once.
    pub(super) fn matching_ticks(&mut self, due: Vec<(usize, bool)>, now: Duration) {
        for (scene, forget) in due {
            let tick = Duration::from_secs_f64(self.multiplayer(scene).matchmaker.tick_secs);
            let forgot = self.forget_failures(scene, now);
            let room = self.rooms.get_mut(&scene).expect("room exists");
            let timed = room.policy.depends_on_time();
            if !forget {
                room.tick_at = None;
                if !room.entries.is_empty() {
                    // The room keeps ticking while someone waits (restarted on arrival).
                    room.tick_at = Some(now + tick);
                    self.timers.schedule(now + tick, Timer::RoomTick(scene));
                }
            }
            if !forget {
                self.recover_policy(scene, now);
            }
            if forgot || (timed && !forget) {
                self.match_pass(scene, now);
            }
        }
    }

    /// Fires the room's `Forget` timer at `at` unless one fires earlier: one pending
    /// per room, re-armed for the next expiry when it fires.
    pub(super) fn schedule_forget(&mut self, scene: usize, at: Duration) {
        let room = self.rooms.get_mut(&scene).expect("room exists");
        if room.forget_at.is_none_or(|f| at < f) {
            room.forget_at = Some(at);
            self.timers.schedule(at, Timer::Forget(scene));
        }
    }

    /// Forgets the room's failed pairs whose memory ran out, and (with `relax`) those
    /// whose measured RTT passes the raised threshold; whether any pair was freed.
    fn forget_failures(&mut self, scene: usize, now: Duration) -> bool {
        // An `Arc` clone: the scene's config is read while its room is borrowed.
        let experiment = self.experiment.clone();
        let Scene::Multiplayer(m) = &experiment.scenes[scene] else {
            unreachable!("rooms exist only for multiplayer scenes")
        };
        let room = self.rooms.get_mut(&scene).expect("room exists");
        let mut forgot = room.forget_failures(now);
        if room.forget_at.is_some_and(|f| f <= now) {
            room.forget_at = None;
            if let Some(next) = room.next_expiry() {
                self.schedule_forget(scene, next);
            }
        }
        let room = self.rooms.get_mut(&scene).expect("room exists");
        if m.relax.is_empty() {
            return forgot;
        }
        let scene_id = m.id.to_string();
        for (a, b, rtt_ms, threshold_ms) in
            room.relax_failures(now, &self.known_rtts, |waited| m.threshold_after(waited))
        {
            forgot = true;
            self.log(Event::PairEligible { scene: scene_id.clone(), a, b, rtt_ms, threshold_ms });
        }
        forgot
    }

    /// Whether the room of `scene` ticks while someone waits: its policy depends on
    /// time, or `relax` may free failed pairs.
    pub(super) fn room_ticks(&self, scene: usize) -> bool {
        self.rooms[&scene].policy.depends_on_time() || !self.multiplayer(scene).relax.is_empty()
    }

    /// A policy that is down after a fault, and whose pause has passed, is re-created.
    fn recover_policy(&mut self, scene: usize, now: Duration) {
        let room = self.rooms.get_mut(&scene).expect("room exists");
        let Some(outcome) = room.policy.recover(now) else { return };
        let waiting = room.entries.keys().next().copied();
        let policy = room.policy.name().to_owned();
        self.flush_policy_log(scene, waiting.unwrap_or(ParticipantId(uuid::Uuid::nil())));
        match outcome {
            Ok(told) => {
                let scene = self.experiment.scenes[scene].id().to_string();
                self.log(Event::PolicyRestarted { scene, policy, told });
            }
            Err(e) => {
                let about = waiting.unwrap_or(ParticipantId(uuid::Uuid::nil()));
                self.policy_fault(scene, about, format!("restart: {e}"));
            }
        }
    }

    /// Asks the policy with each available participant as the arriving one, oldest
    /// first, within the pass's work budget: when it is spent, the pass stops and the
    /// next one starts with the first participant not asked.
    pub(super) fn match_pass(&mut self, scene: usize, now: Duration) {
        let budget = u64::from(self.multiplayer(scene).matchmaker.pass_budget_ms) * crate::plugin::WORK_PER_MS;
        let room = self.rooms.get_mut(&scene).expect("room exists");
        let mut order = room.available();
        if let Some(at) = room.resume_at.take().and_then(|p| order.iter().position(|q| *q == p)) {
            order.rotate_left(at);
        }
        let started = room.policy.work();
        for (asked, pid) in order.iter().enumerate() {
            let spent = self.rooms[&scene].policy.work() - started;
            if spent >= budget {
                self.pass_budget_spent(scene, &order[asked..], asked, spent);
                return;
            }
            self.try_match(scene, *pid, now);
        }
    }

    /// Notes where the next pass starts, and logs (at most once a minute) that the
    /// budget ran out.
    fn pass_budget_spent(&mut self, scene: usize, rest: &[ParticipantId], asked: usize, spent: u64) {
        let room = self.rooms.get_mut(&scene).expect("room exists");
        // Someone in `rest` may have been grouped meanwhile; the first still waiting
        // is next.
        room.resume_at = rest.iter().find(|p| room.entries.get(p).is_some_and(|e| e.available())).copied();
        let deferred: Vec<ParticipantId> =
            rest.iter().filter(|p| room.entries.get(p).is_some_and(|e| e.available())).copied().collect();
        for pid in &deferred {
            self.note_why(scene, *pid, "not asked this pass: the policy's work budget was spent", &[]);
        }
        let room = &self.rooms[&scene];
        let deferred = deferred.len();
        let event = Event::PolicyBudget {
            scene: self.experiment.scenes[scene].id().to_string(),
            policy: room.policy.name().to_owned(),
            asked,
            deferred,
            work_ms: spent as f64 / crate::plugin::WORK_PER_MS as f64,
        };
        let now = self.now;
        self.log_within(super::budget::Source::PolicyBudget(scene), (1, 0), (1, u64::MAX), event, now);
    }

    /// After participants came back to the pool (a dropped proposal, a game cancelled
    /// in its countdown): asks for a group for them. A policy that depends on time is
    /// asked for everyone, as on a tick; for one that does not, nobody else's answer
    /// can have changed except by a group with one of `returned`.
    pub(super) fn retry_after_return(&mut self, scene: usize, returned: &[ParticipantId], now: Duration) {
        if self.rooms[&scene].policy.depends_on_time() {
            return self.match_pass(scene, now);
        }
        let room = &self.rooms[&scene];
        let mut back: Vec<ParticipantId> = returned.iter().filter(|p| room.entries.contains_key(p)).copied().collect();
        back.sort_by_key(|p| room.entries[p].candidate.joined_at);
        for pid in back {
            self.try_match(scene, pid, now);
        }
    }

    /// Asks the policy for a group for `arriving` and acts on a valid answer.
    pub(super) fn try_match(&mut self, scene: usize, arriving: ParticipantId, now: Duration) {
        if self.draining {
            return; // the host is stopping: games in progress finish, no new ones
        }
        if self.rooms[&scene].entries.get(&arriving).and_then(|e| e.reunite).is_some_and(|(_, until)| until > now) {
            return self.try_reunion(scene, arriving, now);
        }
        let fallback = self.multiplayer(scene).matchmaker.fallback;
        let composition = self.composition.clone();
        let room = self.rooms.get_mut(&scene).expect("multiplayer scenes have rooms");
        // Whoever is due to time out is not matched (or the retry after a failed
        // proposal could postpone their timeout again and again).
        if !room.entries.get(&arriving).is_some_and(|e| e.available() && e.deadline > now) {
            return;
        }
        let Room { policy, order, entries, group_size, .. } = room;
        let (order, entries) = (&*order, &*entries);
        let view = WaitroomView::lazy(now, move || waiting(order, entries, arriving, now));
        let me = &entries[&arriving].candidate;
        let answer = policy.find_match(me, &view, *group_size);
        let lines = policy.take_log();
        let name = policy.name().to_owned();
        // The policy being down after a fault is no new fault: the fallback decides.
        let down = answer == Err(PolicyError::Unavailable);
        let checked = match answer {
            Ok(Some(group)) => match matchmaking::validate(&group, me, &view, *group_size) {
                Ok(()) if !composed_as(&group, me, &view, composition.as_deref()) => {
                    policy.reset();
                    Err("the group does not hold the composition of `conditions.entry.compose`".to_owned())
                }
                Ok(()) => Ok(Some(group)),
                Err(e) => {
                    policy.reset(); // a refused answer: a stateful policy starts afresh
                    Err(e.to_string())
                }
            },
            Ok(None) => Ok(None),
            Err(e) => Err(e.to_string()),
        };
        let decided = match &checked {
            Err(_) if fallback == Fallback::Fifo => match composition.as_deref() {
                Some(slots) => Fifo::composed(me, &view, slots),
                None => Fifo::group(me, &view, *group_size),
            },
            Err(_) => None,
            Ok(group) => group.clone(),
        };
        let avoids = me.avoid.len();
        drop(view); // it borrows the room
        let by_fallback = checked.is_err();
        if decided.is_none() {
            let mut reason: std::borrow::Cow<'static, str> = match (&checked, down) {
                (Ok(_), _) => "the policy found no group".into(),
                (Err(_), true) => "the policy is restarting after a fault; the fallback found no group".into(),
                (Err(fault), false) => format!("policy fault ({fault}); the fallback found no group").into(),
            };
            if avoids > 0 {
                reason = format!("{reason} (avoiding {avoids} after failed probes)").into();
            }
            self.note_why(scene, arriving, reason, &lines);
        }
        self.log_decision_lines(scene, name.clone(), arriving, lines);
        if let Err(fault) = checked
            && !down
        {
            self.policy_fault(scene, arriving, fault);
        }
        if let Some(group) = decided {
            let scene_id = self.experiment.scenes[scene].id().to_string();
            let policy = if by_fallback { "fifo".to_owned() } else { name };
            let event = Event::MatchDecided {
                scene: scene_id,
                policy,
                arriving,
                members: group.clone(),
                fallback: by_fallback,
            };
            self.log(event);
            self.propose(scene, group, now);
        }
    }

    /// Records the lines the policy logged during its last call, with the participant
    /// the call was about.
    pub(super) fn flush_policy_log(&mut self, scene: usize, about: ParticipantId) {
        let room = self.rooms.get_mut(&scene).expect("room exists");
        let lines = room.policy.take_log();
        if lines.is_empty() {
            return;
        }
        let policy = room.policy.name().to_owned();
        self.log_policy_lines(scene, policy, about, lines, 0);
    }

    /// Logs and counts a policy fault.
    pub(super) fn policy_fault(&mut self, scene: usize, arriving: ParticipantId, fault: String) {
        let m = self.multiplayer(scene);
        let fallback = match m.matchmaker.fallback {
            Fallback::Fifo => "fifo",
            Fallback::Wait => "wait",
        };
        let room = self.rooms.get_mut(&scene).expect("room exists");
        room.faults += 1;
        let policy = room.policy.name().to_owned();
        tracing::warn!(%policy, %fault, fallback, "matchmaking policy fault");
        let scene = self.experiment.scenes[scene].id().to_string();
        self.log(Event::PolicyFault { scene, policy, arriving, fault, fallback: fallback.to_owned() });
    }

    /// A valid group: a game now, or probes for every pair first — except pairs whose
    /// RTT was measured within `probe.cache_secs` and passes the threshold of the moment.
    pub(super) fn propose(&mut self, scene: usize, group: Vec<ParticipantId>, now: Duration) {
        let m = self.multiplayer(scene);
        if m.max_p2p_rtt_ms.is_none() || group.len() < 2 {
            // Nobody to probe: the game now, or the ready-check first.
            if m.waitroom.ready_check.is_some() {
                return self.start_ready_check(scene, group, 0, now);
            }
            self.create_game(scene, group, now, None, 0);
            return;
        }
        let timeout = Duration::from_secs_f64(m.probe.timeout_secs);
        let (pings, ping_timeout_ms) = (m.probe.pings, m.probe.ping_timeout_ms);
        let threshold = self.group_threshold(scene, &group, now);
        let match_id = self.new_uuid();
        let (mut probes, mut cached) = (Vec::new(), Vec::new());
        for (i, a) in group.iter().enumerate() {
            for b in &group[i + 1..] {
                let known = self.known_rtts.get(*a, *b, now, self.rooms[&scene].cache_for).cloned();
                match known {
                    Some(known) if !self.rejects_rtt(scene, [*a, *b], Some(known.rtt_ms), threshold, now) => {
                        cached.push((*a, *b, known));
                    }
                    _ => {
                        let id = ProbeId(format!("probe_{}", self.new_uuid()));
                        probes.push(Probe::new(id, *a, *b, now, timeout));
                    }
                }
            }
        }
        let room = self.rooms.get_mut(&scene).expect("room exists");
        for pid in &group {
            if let Some(entry) = room.entries.get_mut(pid) {
                entry.pending = Some(match_id);
            }
        }
        let open_probes: Vec<ProbeId> = probes.iter().map(|p| p.id.clone()).collect();
        let rtts = cached.iter().map(|(a, b, known)| (None, *a, *b, known.rtt_ms)).collect();
        room.pending.insert(
            match_id,
            Pending {
                id: match_id,
                members: group.clone(),
                open_probes: open_probes.clone(),
                rtts,
                ready: None,
                filled: 0,
            },
        );
        let scene_id = self.experiment.scenes[scene].id().to_string();
        self.log(Event::MatchProposed { r#match: match_id, scene: scene_id, members: group, probes: open_probes });
        for (offerer, answerer, known) in cached {
            let age_ms = now.saturating_sub(known.at).as_millis() as u64;
            let rtt_ms = known.rtt_ms;
            let probe = known.probe;
            self.log(Event::ProbeCached {
                r#match: match_id,
                probe,
                offerer,
                answerer,
                rtt_ms,
                age_ms,
                threshold_ms: threshold,
            });
        }
        if probes.is_empty() {
            return self.resolve_pending(scene, match_id, true, now); // every pair known
        }
        for probe in probes {
            let [offerer, answerer] = probe.peers;
            self.log(Event::ProbeStarted { probe: probe.id.clone(), r#match: match_id, offerer, answerer });
            for (me, peer) in [(offerer, answerer), (answerer, offerer)] {
                let prepare = ServerMsg::ProbePrepare {
                    probe: probe.id.clone(),
                    peer,
                    role: probe.role(me),
                    ice_servers: (self.ice)(scene, me),
                    pings,
                    ping_timeout_ms,
                };
                self.send_to(me, prepare);
            }
            self.timers.schedule(probe.deadline, Timer::Probe(probe.id.clone()));
            self.probes.insert(probe.id.clone(), (scene, probe));
        }
    }
}

/// Whether `group` holds `composition` (when there is one), read from the members'
/// entry conditions as the policy sees them.
fn composed_as(
    group: &[ParticipantId],
    arriving: &crate::matchmaking::Candidate,
    view: &WaitroomView<'_>,
    composition: Option<&[(String, usize)]>,
) -> bool {
    let Some(slots) = composition else { return true };
    let members: Vec<&crate::matchmaking::Candidate> = group
        .iter()
        .filter_map(|id| if *id == arriving.id { Some(arriving) } else { view.iter().find(|c| c.id == *id) })
        .collect();
    crate::matchmaking::follows(&members, slots)
}

/// The available participants other than `arriving` (of its condition, when groups
/// are formed within conditions), those it must avoid and those due to time out,
/// oldest first: what the policy is offered. Lazy, so that a policy
/// that looks at the oldest few (FIFO) pays for a few.
fn waiting<'a>(
    order: &'a [ParticipantId],
    entries: &'a std::collections::HashMap<ParticipantId, super::rooms::Entry>,
    arriving: ParticipantId,
    now: Duration,
) -> impl Iterator<Item = &'a crate::matchmaking::Candidate> + 'a {
    let avoid: &[ParticipantId] = entries.get(&arriving).map_or(&[], |e| &e.candidate.avoid);
    let partition = entries.get(&arriving).and_then(|e| e.partition);
    order
        .iter()
        .filter(move |id| **id != arriving && !avoid.contains(id))
        .filter_map(move |id| entries.get(id))
        // Those held for their earlier partners are offered to nobody else, and with
        // groups within conditions, only those of the arriving one's condition.
        .filter(move |e| e.available() && e.deadline > now && e.reunite.is_none() && e.partition == partition)
        .map(|e| &e.candidate)
}
