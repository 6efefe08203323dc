//! The probe coordinator inside the actor: two-phase start, signaling relayed only
//! between the two peers of a probe, results, the server-enforced deadline, aborts on
//! departure, and the decision of each probe and of its pending match.

use std::time::Duration;

use super::state::{ConnId, State};
use super::timers::Timer;
use crate::eventlog::Event;
use crate::matchmaking::default_reject_for_rtt;
use crate::probe::{Phase, Probe, Refusal};
use crate::protocol::{ErrorCode, ParticipantId, ProbeId, ServerMsg, Signal};

/// How a probe ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ProbeOutcome {
    Accepted,
    /// RTT above the threshold, or no RTT (a peer reported failure).
    Rejected,
    /// Nobody reported by the deadline.
    TimedOut,
    /// A peer left, or the group was dropped for another pair.
    Aborted,
}

impl ProbeOutcome {
    fn as_str(self) -> &'static str {
        match self {
            ProbeOutcome::Accepted => "accepted",
            ProbeOutcome::Rejected => "rejected",
            ProbeOutcome::TimedOut => "timed_out",
            ProbeOutcome::Aborted => "aborted",
        }
    }
}

impl State {
    /// The probe `id` if `pid` may act on it; otherwise refuses (and records the
    /// refusal) and returns `None`.
    fn probe_for(
        &mut self,
        pid: ParticipantId,
        conn: ConnId,
        id: &ProbeId,
        what: &str,
        seq: Option<u64>,
    ) -> Option<&mut Probe> {
        let known = self.probes.get(id).is_some_and(|(_, p)| p.involves(pid));
        if !known {
            self.refuse_peer(pid, conn, what, "not a probe of yours", seq);
            return None;
        }
        self.probes.get_mut(id).map(|(_, p)| p)
    }

    /// Refuses a probe or game message that names someone else's session; recorded
    /// because it is either a stale client or an attempt to reach a stranger.
    pub(super) fn refuse_peer(&mut self, pid: ParticipantId, conn: ConnId, what: &str, why: &str, seq: Option<u64>) {
        let event = Event::Refused { participant: pid, message: what.to_owned(), reason: why.to_owned() };
        self.log_refusal(pid, event);
        self.refuse(conn, ErrorCode::NotAPeer, format!("`{what}` refused: {why}"), seq);
    }

    fn refuse_probe(&mut self, pid: ParticipantId, conn: ConnId, what: &str, refusal: Refusal, seq: Option<u64>) {
        match refusal {
            Refusal::NotAPeer => self.refuse_peer(pid, conn, what, "not a probe of yours", seq),
            Refusal::WrongPhase => {
                let event =
                    Event::Refused { participant: pid, message: what.to_owned(), reason: "wrong phase".to_owned() };
                self.log_refusal(pid, event);
                self.refuse(conn, ErrorCode::InvalidState, format!("`{what}` does not fit the probe's phase"), seq);
            }
            Refusal::BadRtt => {
                self.refuse(conn, ErrorCode::Malformed, "`rtt_ms` must be a number from 0 to 60000", seq)
            }
        }
    }

    pub(super) fn on_probe_ready(
        &mut self,
        pid: ParticipantId,
        conn: ConnId,
        id: &ProbeId,
        seq: Option<u64>,
        _now: Duration,
    ) {
        let Some(probe) = self.probe_for(pid, conn, id, "probe_ready", seq) else { return };
        match probe.ready(pid) {
            Ok(both) => {
                let peers = probe.peers;
                self.ack(conn, seq);
                if both {
                    for peer in peers {
                        self.send_to(peer, ServerMsg::ProbeStart { probe: id.clone() });
                    }
                }
            }
            Err(refusal) => self.refuse_probe(pid, conn, "probe_ready", refusal, seq),
        }
    }

    pub(super) fn on_probe_signal(
        &mut self,
        pid: ParticipantId,
        conn: ConnId,
        id: &ProbeId,
        signal: Signal,
        seq: Option<u64>,
    ) {
        let Some(probe) = self.probe_for(pid, conn, id, "probe_signal", seq) else { return };
        match probe.signal(pid) {
            Ok(to) => {
                self.send_to(to, ServerMsg::ProbeSignal { probe: id.clone(), signal });
                self.ack(conn, seq);
            }
            Err(refusal) => self.refuse_probe(pid, conn, "probe_signal", refusal, seq),
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn on_probe_result(
        &mut self,
        pid: ParticipantId,
        conn: ConnId,
        id: &ProbeId,
        rtt_ms: Option<f64>,
        error: Option<String>,
        seq: Option<u64>,
        now: Duration,
    ) {
        let Some(probe) = self.probe_for(pid, conn, id, "probe_result", seq) else { return };
        match probe.report(pid, rtt_ms, error) {
            Ok(decided) => {
                self.ack(conn, seq);
                if let Some(rtt) = decided {
                    self.decide_probe(id, rtt, false, now);
                }
            }
            Err(refusal) => self.refuse_probe(pid, conn, "probe_result", refusal, seq),
        }
    }

    /// Probes whose deadline passed. A probe is decided with an RTT only once both peers
    /// reported (so one peer cannot talk a pair into a match); at the deadline there is
    /// no RTT: rejected if one peer reported, timed out if neither did.
    pub(super) fn probe_deadlines(&mut self, due: Vec<ProbeId>, now: Duration) {
        for id in due {
            let Some((_, probe)) = self.probes.get(&id) else { continue }; // decided before
            if probe.deadline <= now {
                let timed_out = !probe.any_report();
                self.decide_probe(&id, None, timed_out, now);
            }
        }
    }

    /// Decides a probe with the policy's RTT rule and moves its pending match on.
    fn decide_probe(&mut self, id: &ProbeId, rtt: Option<f64>, timed_out: bool, now: Duration) {
        let Some((scene, match_id, accepted)) = self.judge_probe(id, rtt, timed_out, now) else { return };
        if !accepted {
            // The group's other probes that are past their deadline too are judged
            // now (every silent pair of a trio is remembered), not dropped with it.
            let overdue: Vec<(ProbeId, bool)> = self.rooms[&scene].pending[&match_id]
                .open_probes
                .iter()
                .filter_map(|p| self.probes.get(p).map(|(_, probe)| (p, probe)))
                .filter(|(_, probe)| probe.deadline <= now)
                .map(|(p, probe)| (p.clone(), !probe.any_report()))
                .collect();
            for (other, silent) in overdue {
                self.judge_probe(&other, None, silent, now);
            }
            return self.resolve_pending(scene, match_id, false, now);
        }
        let room = self.rooms.get_mut(&scene).expect("room exists");
        let pending = room.pending.get_mut(&match_id).expect("pending exists");
        if pending.open_probes.is_empty() {
            self.resolve_pending(scene, match_id, true, now);
        }
    }

    /// Judges one probe: logs it, takes it out of its pending match, and on failure
    /// tells both peers and remembers the pair. Returns the scene, the pending match
    /// and whether the pair was accepted (`None` if the probe or its match is gone).
    fn judge_probe(
        &mut self,
        id: &ProbeId,
        rtt: Option<f64>,
        timed_out: bool,
        now: Duration,
    ) -> Option<(usize, uuid::Uuid, bool)> {
        let (scene, probe) = self.probes.remove(id)?;
        let match_id = self.pending_of(scene, &probe);
        let threshold = match match_id {
            Some(m) => self.group_threshold(scene, &self.rooms[&scene].pending[&m].members, now),
            None => self.multiplayer(scene).max_p2p_rtt_ms,
        };
        let outcome = if timed_out {
            ProbeOutcome::TimedOut
        } else if self.rejects_rtt(scene, probe.peers, rtt, threshold, now) {
            ProbeOutcome::Rejected
        } else {
            ProbeOutcome::Accepted
        };
        self.record_probe(&probe, rtt, threshold, outcome, now);
        if let Some(rtt) = rtt.filter(|_| !timed_out) {
            if let Some(at) = self.known_rtts.remember(probe.peers[0], probe.peers[1], rtt, probe.id.clone(), now) {
                self.timers.schedule(at, Timer::ForgetRtts);
            }
        }
        let match_id = match_id?;
        let accepted = outcome == ProbeOutcome::Accepted;
        if !accepted {
            for peer in probe.peers {
                let reason = outcome.as_str().to_owned();
                self.send_to(peer, ServerMsg::ProbeAbort { probe: probe.id.clone(), reason });
            }
            let memory = Duration::from_secs_f64(self.multiplayer(scene).probe.failed_pair_memory_secs);
            let shown = rtt.map_or("no RTT measured".to_owned(), |r| format!("{r:.0} ms"));
            for (me, other) in [(probe.peers[0], probe.peers[1]), (probe.peers[1], probe.peers[0])] {
                let reason = format!(
                    "the probe with {other} was {} ({shown}); not grouped together for {} s",
                    outcome.as_str(),
                    memory.as_secs()
                );
                self.note_why(scene, me, reason, &[]);
            }
            if !memory.is_zero() {
                let room = self.rooms.get_mut(&scene).expect("room exists");
                room.remember_failure(probe.peers[0], probe.peers[1], now + memory);
                self.schedule_forget(scene, now + memory);
            }
        }
        let room = self.rooms.get_mut(&scene).expect("room exists");
        let pending = room.pending.get_mut(&match_id).expect("pending exists");
        pending.open_probes.retain(|p| p != id);
        if accepted {
            pending.rtts.push((Some(probe.id.clone()), probe.peers[0], probe.peers[1], rtt.unwrap_or_default()));
        }
        Some((scene, match_id, accepted))
    }

    /// The RTT threshold for a group of `members`: `max_p2p_rtt_ms`, raised by `relax`
    /// as the longest-waiting of them has waited.
    pub(super) fn group_threshold(&self, scene: usize, members: &[ParticipantId], now: Duration) -> Option<f64> {
        let m = self.multiplayer(scene);
        if m.relax.is_empty() {
            return m.max_p2p_rtt_ms;
        }
        m.threshold_after(self.rooms[&scene].longest_wait(members, now))
    }

    /// The policy's verdict on a pair's RTT; a policy fault falls back to the default rule.
    pub(super) fn rejects_rtt(
        &mut self,
        scene: usize,
        peers: [ParticipantId; 2],
        rtt: Option<f64>,
        threshold: Option<f64>,
        now: Duration,
    ) -> bool {
        let room = self.rooms.get_mut(&scene).expect("room exists");
        let (a, b) = (room.entries.get(&peers[0]), room.entries.get(&peers[1]));
        let verdict = match (a, b) {
            (Some(a), Some(b)) => room.policy.should_reject_for_rtt((&a.candidate, &b.candidate), rtt, threshold, now),
            _ => Ok(default_reject_for_rtt(rtt, threshold)),
        };
        self.flush_policy_log(scene, peers[0]);
        verdict.unwrap_or_else(|e| {
            if e != crate::matchmaking::PolicyError::Unavailable {
                self.policy_fault(scene, peers[0], format!("should_reject_for_rtt: {e}"));
            }
            default_reject_for_rtt(rtt, threshold)
        })
    }

    fn pending_of(&self, scene: usize, probe: &Probe) -> Option<uuid::Uuid> {
        self.rooms[&scene].pending.values().find(|p| p.open_probes.contains(&probe.id)).map(|p| p.id)
    }

    /// Logs a finished probe: how far it got, its final state (complete with an RTT, or
    /// failed), both reports, the decided RTT, the threshold and the outcome.
    fn record_probe(
        &mut self,
        probe: &Probe,
        rtt: Option<f64>,
        threshold: Option<f64>,
        outcome: ProbeOutcome,
        now: Duration,
    ) {
        let complete = rtt.is_some() && matches!(outcome, ProbeOutcome::Accepted | ProbeOutcome::Rejected);
        self.log(Event::ProbeFinished {
            probe: probe.id.clone(),
            offerer: probe.peers[0],
            answerer: probe.peers[1],
            duration_ms: now.saturating_sub(probe.started_at).as_millis() as u64,
            reached: probe.phase,
            state: if complete { Phase::Complete } else { Phase::Failed },
            reported_rtt_ms: probe.reported_rtts(),
            reported_errors: probe.reported_errors(),
            rtt_ms: rtt,
            threshold_ms: threshold,
            outcome: outcome.as_str().to_owned(),
        });
    }

    /// Ends a pending match: on acceptance the group plays; otherwise its members are
    /// back in the pool (still-running probes aborted) and matching is retried.
    pub(super) fn resolve_pending(&mut self, scene: usize, match_id: uuid::Uuid, accepted: bool, now: Duration) {
        if accepted && self.ready_check_first(scene, match_id, now) {
            return;
        }
        let room = self.rooms.get_mut(&scene).expect("room exists");
        let Some(pending) = room.pending.remove(&match_id) else { return };
        if !accepted && pending.ready.is_some() {
            self.abort_ready_check(scene, &pending);
        }
        let room = self.rooms.get_mut(&scene).expect("room exists");
        for pid in &pending.members {
            if let Some(entry) = room.entries.get_mut(pid) {
                entry.pending = None;
                // Their waitroom timeout was deferred while they were probed: if it
                // passed meanwhile, it fires now (otherwise the timer set on entry
                // still stands).
                if entry.deadline <= now {
                    self.timers.schedule(now, Timer::Waitroom(scene, *pid));
                }
            }
        }
        self.log(Event::MatchResolved { r#match: match_id, accepted });
        let threshold = self.multiplayer(scene).max_p2p_rtt_ms;
        for id in &pending.open_probes {
            if let Some((_, probe)) = self.probes.remove(id) {
                for peer in probe.peers {
                    self.send_to(peer, ServerMsg::ProbeAbort { probe: id.clone(), reason: "group_dropped".to_owned() });
                }
                self.record_probe(&probe, None, threshold, ProbeOutcome::Aborted, now);
            }
        }
        // Everyone must still be waiting here (one may have left while their own
        // probes were already decided).
        let all_here = pending.members.iter().all(|m| self.rooms[&scene].entries.contains_key(m));
        if accepted && all_here {
            if pending.filled > 0 {
                self.play_with_bots(scene, pending.members[0], pending.filled, now);
            } else {
                let rtt = pending.rtts.iter().map(|(_, _, _, r)| *r).reduce(f64::max);
                self.create_game(scene, pending.members, now, rtt, 0);
            }
        } else {
            // The pages keep an accepted pair's channel for the game: close it.
            for (probe, a, b, _) in &pending.rtts {
                let Some(probe) = probe else { continue }; // cached: no channel kept
                for peer in [a, b] {
                    self.send_to(*peer, ServerMsg::ProbeAbort { probe: probe.clone(), reason: "group_dropped".into() });
                }
            }
            self.retry_after_return(scene, &pending.members, now);
        }
    }
}
