//! The ready-check (`waitroom.ready_check`): a group whose pairs are accepted (or that
//! needs no probing) is held as a pending match until every member confirms with
//! `ready` — their tab visible, and a click when asked — so that a ghost never starts a
//! game. Whoever misses the deadline is taken out (their outcome, or back to the
//! waitroom but not offered until they confirm after all); the others wait again with
//! their places kept.

use std::collections::BTreeSet;
use std::time::Duration;

use super::rooms::Pending;
use super::state::{ConnId, State};
use super::timers::Timer;
use crate::config::ready::Missed;
use crate::eventlog::Event;
use crate::protocol::{ErrorCode, OutcomeReason, ParticipantId, ServerMsg};

impl State {
    /// A group that needs no probing: pending only for its ready-check.
    /// `filled`: the seats bots take (a bot fill, one member).
    pub(super) fn start_ready_check(&mut self, scene: usize, group: Vec<ParticipantId>, filled: u32, now: Duration) {
        let id = self.new_uuid();
        let room = self.rooms.get_mut(&scene).expect("room exists");
        for pid in &group {
            if let Some(entry) = room.entries.get_mut(pid) {
                entry.pending = Some(id);
            }
        }
        let pending = Pending { id, members: group, open_probes: Vec::new(), rtts: Vec::new(), ready: None, filled };
        room.pending.insert(id, pending);
        self.ready_check_first(scene, id, now);
    }

    /// Whether the accepted pending match `id` must wait for its ready-check (started
    /// here if it has not begun); false once everyone confirmed, or without a check.
    pub(super) fn ready_check_first(&mut self, scene: usize, id: uuid::Uuid, now: Duration) -> bool {
        let Some(check) = self.multiplayer(scene).waitroom.ready_check.clone() else { return false };
        let room = self.rooms.get_mut(&scene).expect("room exists");
        let Some(pending) = room.pending.get_mut(&id) else { return false };
        if let Some((ready, _)) = &pending.ready {
            return ready.len() < pending.members.len();
        }
        let deadline = now + Duration::from_secs_f64(check.timeout_secs);
        pending.ready = Some((BTreeSet::new(), deadline));
        let (members, filled) = (pending.members.clone(), pending.filled);
        let scene_id = self.experiment.scenes[scene].id().to_string();
        self.log(Event::ReadyCheckStarted { check: id, scene: scene_id, members: members.clone() });
        for pid in &members {
            let (ready, players) = self.ready_count(scene, *pid, 0, members.len() as u32, filled);
            let msg = ServerMsg::ReadyCheck {
                check: id.to_string(),
                timeout_secs: check.timeout_secs,
                click: check.click,
                ready,
                players,
            };
            self.send_to(*pid, msg);
        }
        self.timers.schedule(deadline, Timer::Ready(scene, id));
        true
    }

    /// The (ready, players) a member's page is shown: for a participant not told about
    /// bots, the computer partners of a bot fill count as players who confirmed at once.
    fn ready_count(&self, scene: usize, pid: ParticipantId, ready: u32, members: u32, filled: u32) -> (u32, u32) {
        if filled > 0 && !self.told_about_bots(scene, pid) {
            (ready + filled, members + filled)
        } else {
            (ready, members)
        }
    }

    /// `ready` from a participant: for the check of their group, or (after missing
    /// one with `missed: waitroom`) to be offered again.
    pub(super) fn on_ready(&mut self, pid: ParticipantId, conn: ConnId, check: &str, seq: Option<u64>, now: Duration) {
        let Some(scene) = self.participants[&pid].place.waiting_in() else {
            return self.refuse(conn, ErrorCode::InvalidState, "`ready` outside a waitroom", seq);
        };
        let (timeout, click) =
            self.multiplayer(scene).waitroom.ready_check.as_ref().map_or((0.0, false), |c| (c.timeout_secs, c.click));
        let room = self.rooms.get_mut(&scene).expect("room exists");
        let Some(entry) = room.entries.get_mut(&pid) else { return };
        if entry.absent.as_deref() == Some(check) {
            entry.absent = None; // back after missing a check
            self.ack(conn, seq);
            return self.try_match(scene, pid, now);
        }
        let pending = entry.pending.and_then(|m| room.pending.get_mut(&m));
        let Some(pending) = pending.filter(|p| p.id.to_string() == check && p.ready.is_some()) else {
            return self.refuse(conn, ErrorCode::InvalidState, "no such ready-check of yours (any more)", seq);
        };
        let (ready, started) = pending.ready.as_mut().expect("filtered");
        if !ready.insert(pid) {
            return self.ack(conn, seq); // a retry
        }
        let after_ms = now.saturating_sub(*started - Duration::from_secs_f64(timeout)).as_millis() as u64;
        let (id, members, count, filled) = (pending.id, pending.members.clone(), ready.len() as u32, pending.filled);
        self.log(Event::ReadyConfirmed { check: id, participant: pid, after_ms });
        self.ack(conn, seq);
        for member in &members {
            let (shown, players) = self.ready_count(scene, *member, count, members.len() as u32, filled);
            let msg =
                ServerMsg::ReadyCheck { check: check.to_owned(), timeout_secs: timeout, click, ready: shown, players };
            self.send_to(*member, msg);
        }
        if count as usize == members.len() {
            self.log(Event::ReadyCheckFinished { check: id, ready: members, missed: Vec::new() });
            self.resolve_pending(scene, id, true, now);
        }
    }

    /// Ready-checks whose deadline passed: whoever did not confirm is taken out.
    pub(super) fn ready_deadlines(&mut self, due: Vec<(usize, uuid::Uuid)>, now: Duration) {
        for (scene, id) in due {
            let Some(pending) = self.rooms.get(&scene).and_then(|r| r.pending.get(&id)) else { continue };
            let Some((ready, deadline)) = &pending.ready else { continue };
            if *deadline > now {
                continue;
            }
            let missed: Vec<ParticipantId> = pending.members.iter().filter(|p| !ready.contains(p)).copied().collect();
            let ready: Vec<ParticipantId> = ready.iter().copied().collect();
            self.log(Event::ReadyCheckFinished { check: id, ready, missed: missed.clone() });
            let mode = self.multiplayer(scene).waitroom.ready_check.as_ref().map_or(Missed::Outcome, |c| c.missed);
            let room = self.rooms.get_mut(&scene).expect("room exists");
            for pid in &missed {
                if let Some(entry) = room.entries.get_mut(pid) {
                    entry.absent = Some(id.to_string());
                }
            }
            // The group is dropped (everyone back in the pool, the absent not offered),
            // then those who missed it leave when that is their outcome.
            self.resolve_pending(scene, id, false, now);
            if mode == Missed::Outcome {
                for pid in missed {
                    if self.rooms[&scene].entries.contains_key(&pid) {
                        self.leave_room(pid, scene, "ready_missed", now);
                        self.end_early(pid, scene, OutcomeReason::ReadyMissed, now);
                    }
                }
            }
        }
    }

    /// Tells a dropped ready-check's members it is off: `missed` to those who did not
    /// confirm, `group_dropped` to the others.
    pub(super) fn abort_ready_check(&mut self, scene: usize, pending: &Pending) {
        let check = pending.id.to_string();
        let room = &self.rooms[&scene];
        let told: Vec<(ParticipantId, &str)> = pending
            .members
            .iter()
            .map(|p| {
                let missed = room.entries.get(p).is_some_and(|e| e.absent.as_deref() == Some(check.as_str()));
                (*p, if missed { "missed" } else { "group_dropped" })
            })
            .collect();
        for (pid, reason) in told {
            self.send_to(pid, ServerMsg::ReadyAbort { check: check.clone(), reason: reason.to_owned() });
        }
    }
}
