//! Random input sequences for the state machine — arrivals, drops, returns, takeovers,
//! restarts from the log, probes answered or not, inputs, relays, completions, time —
//! with the state's invariants checked after every step: each participant in
//! exactly one place, no probe or pending match outliving its participants, no group
//! with a pair whose probe failed, and in the end nothing left behind. The property
//! tests draw sequences with proptest; the fuzz target `state` decodes them from bytes.

use std::collections::BTreeMap;
use std::time::Duration;

use super::Harness;
pub use super::variants::{Flaky, Variant};
use crate::eventlog::Event;
use crate::experiment::rooms::pair;
use crate::experiment::state::Place;
use crate::protocol::{ClientMsg, ParticipantId};

/// An invariant that does not hold: the sequence fails with the message.
macro_rules! ensure {
    ($cond:expr, $($msg:tt)+) => {
        if !$cond {
            return Err(format!($($msg)+));
        }
    };
    ($cond:expr) => {
        if !$cond {
            return Err(format!("{} does not hold", stringify!($cond)));
        }
    };
}

/// Two values that should be equal are not: the sequence fails with the message.
macro_rules! ensure_eq {
    ($a:expr, $b:expr, $($msg:tt)+) => {
        if $a != $b {
            return Err(format!($($msg)+));
        }
    };
}

#[derive(Debug, Clone)]
pub enum Op {
    Arrive,
    Disconnect(usize),
    Reconnect(usize),
    Leave(usize),
    Ready(usize),
    Report(usize, Option<u16>),
    Complete(usize),
    Wait(u16),
    /// A connected tab's own token opens a new socket (a reload racing the old one).
    TakeOver(usize),
    /// The host restarts from its log.
    Restart,
    /// The study link is opened again (recruitment id, no token).
    ResumeById(usize),
    /// A player sends its next inputs (some may be refused as too far ahead).
    Inputs(usize, u8),
    /// A player's channel failed: the group plays over the relay.
    Relay(usize),
    /// A player's tab is hidden or shown.
    Visibility(usize, bool),
    /// A participant confirms the last ready-check they were sent.
    Confirm(usize),
}

pub fn apply(h: &mut Harness, people: &mut Vec<ParticipantId>, op: Op) {
    let pick = |i: usize, people: &[ParticipantId]| (!people.is_empty()).then(|| people[i % people.len()]);
    match op {
        Op::Arrive => {
            let rid = format!("r{}", people.len());
            people.push(h.arrive_as(&rid));
        }
        Op::ResumeById(i) => {
            if let Some(at) = (!people.is_empty()).then(|| i % people.len()) {
                h.resume_by_id(people[at], &format!("r{at}"));
            }
        }
        Op::Wait(s) => h.wait(Duration::from_secs(u64::from(s))),
        Op::Disconnect(i) => {
            if let Some(p) = pick(i, people).filter(|p| h.conn_of.contains_key(p)) {
                h.disconnect(p);
            }
        }
        Op::TakeOver(i) => {
            if let Some(p) = pick(i, people).filter(|p| h.conn_of.contains_key(p)) {
                h.reconnect(p); // the same participant, on the new socket
            }
        }
        Op::Restart => h.restart(),
        Op::Reconnect(i) => {
            if let Some(p) = pick(i, people).filter(|p| !h.conn_of.contains_key(p)) {
                h.reconnect(p);
            }
        }
        Op::Leave(i) => {
            if let Some(p) = pick(i, people).filter(|p| h.conn_of.contains_key(p)) {
                h.send(p, ClientMsg::LeaveWaitroom { seq: None });
            }
        }
        Op::Ready(i) => {
            if let Some(p) = pick(i, people).filter(|p| h.conn_of.contains_key(p)) {
                for probe in h.probes_of(p) {
                    h.send(p, ClientMsg::ProbeReady { probe, seq: None });
                }
            }
        }
        Op::Report(i, rtt) => {
            if let Some(p) = pick(i, people).filter(|p| h.conn_of.contains_key(p)) {
                if let Some(probe) = h.probes_of(p).first().cloned() {
                    h.report(p, &probe, rtt.map(f64::from));
                }
            }
        }
        Op::Inputs(i, n) => {
            if let Some(p) = pick(i, people).filter(|p| h.conn_of.contains_key(p))
                && let Some(game) = h.game_of(p)
            {
                let held = h.state.rooms.values().find_map(|r| r.games.get(&game)).and_then(|g| {
                    let slot = g.slot(p)?;
                    Some(g.lockstep.inputs[slot].len() as u64)
                });
                let from = held.unwrap_or(0);
                let inputs = vec![serde_json::Value::Null; usize::from(n).min(64)];
                h.send(p, ClientMsg::GameInputs { game, from, inputs, hashes: Vec::new(), seq: None });
            }
        }
        Op::Relay(i) => {
            if let Some(p) = pick(i, people).filter(|p| h.conn_of.contains_key(p))
                && let Some(game) = h.game_of(p)
            {
                h.send(p, ClientMsg::GameRelay { game, need: 0, seq: None });
            }
        }
        Op::Visibility(i, hidden) => {
            if let Some(p) = pick(i, people).filter(|p| h.conn_of.contains_key(p)) {
                h.send(p, ClientMsg::Visibility { hidden, seq: None });
            }
        }
        Op::Confirm(i) => {
            if let Some(p) = pick(i, people).filter(|p| h.conn_of.contains_key(p)) {
                let check = h.out.iter().rev().find_map(|e| match e {
                    crate::experiment::state::Effect::Send {
                        conn,
                        msg: crate::protocol::ServerMsg::ReadyCheck { check, .. },
                    } if Some(conn) == h.conn_of.get(&p) => Some(check.clone()),
                    _ => None,
                });
                if let Some(check) = check {
                    h.send(p, ClientMsg::Ready { check, seq: None });
                }
            }
        }
        Op::Complete(i) => {
            if let Some(p) = pick(i, people).filter(|p| h.conn_of.contains_key(p)) {
                if let Some(game) = h.game_of(p) {
                    h.send(p, ClientMsg::GameComplete { game, result: None, tick: None, hash: None, seq: None });
                }
            }
        }
    }
}

/// Every participant is in exactly one place, and the rooms agree with it.
pub fn one_place_each(h: &Harness, people: &[ParticipantId]) -> Result<(), String> {
    for p in people {
        let in_rooms: usize = h.state.rooms.values().map(|r| usize::from(r.entries.contains_key(p))).sum();
        // A player who left a game that went on without them (`on_dropout`) keeps a
        // slot in it, but no longer plays it.
        let in_games: usize =
            h.state.rooms.values().flat_map(|r| r.games.values()).map(|g| usize::from(g.playing(*p))).sum();
        let expected = match h.place(*p) {
            Place::Waiting(s) => {
                ensure!(h.state.rooms[&s].entries.contains_key(p), "{p} waiting but not in the room");
                (1, 0)
            }
            Place::Playing(s, g) => {
                ensure!(h.state.rooms[&s].games.get(&g).is_some_and(|g| g.playing(*p)));
                (0, 1)
            }
            _ => (0, 0),
        };
        ensure_eq!(
            (in_rooms, in_games),
            expected,
            "{} is in {} rooms and {} games as {:?}",
            p,
            in_rooms,
            in_games,
            h.place(*p)
        );
    }
    Ok(())
}

/// No probe or pending match outlives (or forgets) its participants.
pub fn probes_belong_to_waiting_peers(h: &Harness) -> Result<(), String> {
    for (scene, probe) in h.state.probes.values() {
        let room = &h.state.rooms[scene];
        let pending = room.pending.values().find(|m| m.open_probes.contains(&probe.id));
        ensure!(pending.is_some(), "probe {:?} has no pending match", probe.id);
        for peer in probe.peers {
            let entry = room.entries.get(&peer);
            ensure!(
                entry.is_some_and(|e| e.connected && e.pending == pending.map(|m| m.id)),
                "probe peer {} gone",
                peer
            );
        }
    }
    for room in h.state.rooms.values() {
        for m in room.pending.values() {
            for member in &m.members {
                ensure!(
                    room.entries.get(member).is_some_and(|e| e.pending == Some(m.id)),
                    "pending member {} gone",
                    member
                );
            }
        }
    }
    Ok(())
}

/// No group contains a pair whose probe failed within the memory period.
pub fn no_group_with_a_failed_pair(h: &Harness, memory: Duration) -> Result<(), String> {
    let mut failed: BTreeMap<(ParticipantId, ParticipantId), Duration> = BTreeMap::new();
    for (at, event) in &h.log {
        match event {
            Event::ProbeFinished { offerer, answerer, outcome, .. }
                if outcome == "rejected" || outcome == "timed_out" =>
            {
                failed.insert(pair(*offerer, *answerer), *at + memory);
            }
            Event::GameCreated { players, .. } => {
                for (i, a) in players.iter().enumerate() {
                    for b in &players[i + 1..] {
                        let until = failed.get(&pair(*a, *b)).copied().unwrap_or_default();
                        ensure!(until <= *at, "{} and {} grouped after a failed probe", a, b);
                    }
                }
            }
            _ => {}
        }
    }
    Ok(())
}

impl Op {
    /// Reads a sequence from bytes, two per step (what, and whom or how much), so that
    /// a fuzzer's mutations are small changes of the sequence.
    pub fn decode(data: &[u8]) -> Vec<Op> {
        data.chunks_exact(2)
            .map(|c| {
                let (what, arg) = (c[0], c[1]);
                let who = usize::from(arg);
                match what % 17 {
                    0..=2 => Op::Arrive,
                    3 => Op::Disconnect(who),
                    4 => Op::Reconnect(who),
                    5 => Op::Leave(who),
                    6 => Op::Ready(who),
                    7 => Op::Report(who, (arg % 5 != 0).then_some(u16::from(arg) * 2)),
                    8 => Op::Complete(who),
                    9 => Op::Wait(u16::from(arg % 40)),
                    10 => Op::TakeOver(who),
                    11 => Op::Restart,
                    12 => Op::ResumeById(who),
                    13 => Op::Inputs(who, 1 + arg % 80),
                    14 => Op::Relay(who),
                    15 => Op::Visibility(who, arg & 1 == 1),
                    _ => Op::Confirm(who),
                }
            })
            .collect()
    }
}

/// Plays `ops` into the variant's experiment, checking the invariants after each step
/// and, once time has run out for everyone, that nothing is left.
/// With `conditions.entry.match: within`, every group — as formed, and with whoever
/// took a left seat — holds one entry condition only.
pub fn groups_keep_their_condition(h: &Harness) -> Result<(), String> {
    let within = h
        .state
        .experiment
        .conditions
        .entry
        .as_ref()
        .is_some_and(|e| e.grouping() == crate::config::conditions::Grouping::Within);
    if !within {
        return Ok(());
    }
    let mut condition = std::collections::HashMap::new();
    let mut games = std::collections::HashMap::new();
    for (_, e) in &h.log {
        match e {
            Event::ConditionAssigned { participant, condition: c } => {
                condition.insert(*participant, c["id"].as_str().unwrap_or_default().to_owned());
            }
            Event::GameCreated { game, players, .. } => {
                let of: std::collections::BTreeSet<_> = players.iter().map(|p| condition.get(p)).collect();
                ensure!(of.len() == 1, "game {game:?} mixes conditions: {of:?}");
                games.insert(*game, condition.get(&players[0]).cloned());
            }
            Event::SeatChanged { game, to: crate::game::SeatKind::Player, participant, .. } => {
                ensure!(
                    games.get(game) == Some(&condition.get(participant).cloned()),
                    "a newcomer of another condition took a seat in {game:?}"
                );
            }
            _ => {}
        }
    }
    Ok(())
}

pub fn run(variant: Variant, ops: Vec<Op>) -> Result<(), String> {
    run_on(variant.harness(), ops)
}

pub fn run_on(mut h: Harness, ops: Vec<Op>) -> Result<(), String> {
    let mut people = Vec::new();
    for op in ops {
        apply(&mut h, &mut people, op);
        one_place_each(&h, &people)?;
        probes_belong_to_waiting_peers(&h)?;
        // Deadlines held are bounded by what is alive, not by history.
        let alive = people.len() + h.state.probes.len() + h.state.rooms.len();
        ensure!(h.state.timer_count() <= 8 * alive + 32, "{} timers for {alive}", h.state.timer_count());
    }
    no_group_with_a_failed_pair(&h, Duration::from_secs(600))?;
    groups_keep_their_condition(&h)?;
    // Whatever happened, everyone eventually leaves the waitroom (and games end).
    h.wait(Duration::from_secs(1000));
    for p in &people {
        ensure!(!matches!(h.place(*p), Place::Waiting(_) | Place::Playing(..)), "{} still {:?}", p, h.place(*p));
    }
    one_place_each(&h, &people)?;
    // Nothing outlives its participants: no probe, pending match, game or entry is
    // left, and the timers held are few.
    ensure!(h.state.probes.is_empty(), "probes left: {}", h.state.probes.len());
    for room in h.state.rooms.values() {
        ensure!(room.pending.is_empty() && room.games.is_empty() && room.entries.is_empty());
    }
    ensure!(h.state.timer_count() <= 4 * h.state.rooms.len() + 8, "{} timers left", h.state.timer_count());
    Ok(())
}
