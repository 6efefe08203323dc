//! Whom and what each event is about, read from its type: the participants it names
//! (under whatever field) and the game, match or probe it belongs to. Everything that
//! decides per participant — the export leaving pilot and bot sessions out,
//! `--pseudonymize`, `cohort forget` — asks this, never the JSON's key names, so a new
//! event kind must say whom it names (the match below does not compile until it does).

use super::Event;
use crate::protocol::{GameId, ParticipantId, ProbeId};

/// What an event belongs to besides its participants: a game, a proposed group (its
/// match or ready-check id), or a probe. Events of a scope concern its members.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    Game(GameId),
    Match(uuid::Uuid),
    Probe(ProbeId),
}

impl Event {
    /// Every participant the event names, in any field.
    pub fn participants(&self) -> Vec<ParticipantId> {
        use Event as E;
        match self {
            E::RunStarted { .. }
            | E::RunStopped
            | E::AdminAction { .. }
            | E::Redacted
            | E::ArrivalsClosed { .. }
            | E::ArrivalsOpened
            | E::PolicyRestarted { .. }
            | E::PolicyReloaded { .. }
            | E::PolicyReloadFailed { .. }
            | E::PolicyBudget { .. }
            | E::MatchResolved { .. }
            | E::GroupConditionAssigned { .. }
            | E::GameStarted { .. }
            | E::GameDesync { .. }
            | E::GameEnded { .. } => Vec::new(),
            E::LogSuppressed { participant, .. } => participant.iter().copied().collect(),
            E::SessionStarted { participant, .. }
            | E::TokenIssued { participant, .. }
            | E::SessionRestored { participant, .. }
            | E::Connected { participant, .. }
            | E::Disconnected { participant }
            | E::DuplicateRefused { participant, .. }
            | E::Outcome { participant, .. }
            | E::SceneEntered { participant, .. }
            | E::SceneLeft { participant, .. }
            | E::RouteAssigned { participant, .. }
            | E::ConsentGiven { participant, .. }
            | E::SurveyAnswered { participant, .. }
            | E::OrderDrawn { participant, .. }
            | E::CheckGraded { participant, .. }
            | E::ChatSent { participant, .. }
            | E::WaitroomJoined { participant, .. }
            | E::WaitroomLeft { participant, .. }
            | E::ConditionAssigned { participant, .. }
            | E::ScreenedOut { participant, .. }
            | E::ReunionWaiting { participant, .. }
            | E::ReunionTimeout { participant, .. }
            | E::ReadyConfirmed { participant, .. }
            | E::GameInputs { participant, .. }
            | E::GameRelay { participant, .. }
            | E::Visibility { participant, .. }
            | E::SeatChanged { participant, .. }
            | E::BotsFilled { participant, .. }
            | E::GameCompleted { participant, .. }
            | E::Refused { participant, .. }
            | E::Finished { participant, .. } => vec![*participant],
            E::PolicyFault { arriving, .. } | E::PolicyLog { arriving, .. } => vec![*arriving],
            E::MatchDecided { arriving, members, .. } => {
                let mut all = vec![*arriving];
                all.extend(members.iter().filter(|m| *m != arriving));
                all
            }
            E::MatchProposed { members, .. } | E::ReadyCheckStarted { members, .. } => members.clone(),
            E::ReadyCheckFinished { ready, missed, .. } => ready.iter().chain(missed).copied().collect(),
            E::ProbeStarted { offerer, answerer, .. }
            | E::ProbeFinished { offerer, answerer, .. }
            | E::ProbeCached { offerer, answerer, .. } => vec![*offerer, *answerer],
            E::PairEligible { a, b, .. } => vec![*a, *b],
            E::GameCreated { players, .. } => players.clone(),
        }
    }

    /// The game, group or probe the event belongs to, if any.
    pub fn scope(&self) -> Option<Scope> {
        use Event as E;
        match self {
            E::MatchProposed { r#match, .. } | E::MatchResolved { r#match, .. } => Some(Scope::Match(*r#match)),
            E::ReadyCheckStarted { check, .. }
            | E::ReadyConfirmed { check, .. }
            | E::ReadyCheckFinished { check, .. } => Some(Scope::Match(*check)),
            E::ProbeStarted { probe, .. } | E::ProbeFinished { probe, .. } => Some(Scope::Probe(probe.clone())),
            E::ProbeCached { r#match, .. } => Some(Scope::Match(*r#match)),
            E::GroupConditionAssigned { game, .. }
            | E::GameCreated { game, .. }
            | E::GameStarted { game, .. }
            | E::GameInputs { game, .. }
            | E::GameRelay { game, .. }
            | E::SeatChanged { game, .. }
            | E::BotsFilled { game, .. }
            | E::GameDesync { game, .. }
            | E::GameCompleted { game, .. }
            | E::GameEnded { game, .. } => Some(Scope::Game(*game)),
            E::Visibility { game, .. } => game.map(Scope::Game),
            _ => None,
        }
    }

    /// The recruitment ids the event carries (where they stay on the server: the data
    /// only), for pseudonymizing: its own field and link parameters holding it.
    pub fn recruitment_ids_mut(&mut self) -> Vec<&mut String> {
        match self {
            Event::SessionStarted { recruitment_id: Some(rid), params, .. } => {
                let original = rid.clone();
                let mut out: Vec<&mut String> = params.values_mut().filter(|v| **v == original).collect();
                out.push(rid);
                out
            }
            Event::Finished { recruitment_id: Some(rid), .. } => vec![rid],
            _ => Vec::new(),
        }
    }
}

/// Who belongs to each scope, learned as the log is read in order (a scope's members
/// are named when it begins: a game's players, a match's members, a probe's peers).
#[derive(Debug, Default)]
pub struct Members {
    of: std::collections::HashMap<Scope, Vec<ParticipantId>>,
}

impl Members {
    /// Reads one event (in log order); returns every participant it concerns: those
    /// it names and the members of its scope.
    pub fn concerned(&mut self, event: &Event) -> Vec<ParticipantId> {
        let mut named = event.participants();
        if let Some(scope) = event.scope() {
            let members = self.of.entry(scope).or_default();
            for p in &named {
                if !members.contains(p) {
                    members.push(*p);
                }
            }
            for p in members.iter() {
                if !named.contains(p) {
                    named.push(*p);
                }
            }
        }
        named
    }
}

/// One event of every kind, naming `a` and `b` wherever an event names participants
/// (for tests that must hold for every kind: the export, `--pseudonymize`, `forget`).
#[cfg(any(test, feature = "testkit"))]
pub fn one_of_each(a: ParticipantId, b: ParticipantId, rid: &str) -> Vec<Event> {
    use crate::game::{EndReason, SeatKind};
    use crate::probe::Phase;
    use crate::protocol::{Answer, OutcomeReason};
    use serde_json::json;
    use std::collections::BTreeMap;
    let game = GameId(uuid::Uuid::from_u128(7));
    let m = uuid::Uuid::from_u128(8);
    let probe = ProbeId("probe_9".into());
    let s = |x: &str| x.to_owned();
    let params: BTreeMap<String, String> =
        [(s("PROLIFIC_PID"), s(rid)), (s("SESSION_ID"), s("sess-1")), (s("pilot"), s("1"))].into();
    vec![
        Event::RunStarted { experiment: s("x"), run: s("r"), host_version: s("0"), files: BTreeMap::new() },
        Event::RunStopped,
        Event::AdminAction { action: json!({"action": "notice"}) },
        Event::Redacted,
        Event::ArrivalsClosed { reason: s("disk_space"), message: s("m") },
        Event::ArrivalsOpened,
        Event::LogSuppressed { participant: Some(a), scene: None, what: s("refused"), count: 3 },
        Event::SessionStarted { participant: a, recruitment_id: Some(s(rid)), params, token_sha256: None },
        Event::TokenIssued { participant: a, token_sha256: s("t") },
        Event::SessionRestored { participant: a, scene: s("play") },
        Event::Connected { participant: a, resumed: false },
        Event::Disconnected { participant: a },
        Event::DuplicateRefused { participant: a, took_over: false },
        Event::Outcome {
            participant: a,
            scene: s("play"),
            reason: OutcomeReason::LeftWaitroom,
            completion_code: Some(s("C")),
        },
        Event::SceneEntered { participant: a, scene: s("play"), index: 0, iteration: 1 },
        Event::SceneLeft { participant: a, scene: s("play"), index: 0, iteration: 1 },
        Event::RouteAssigned { participant: a, route: vec![s("play")] },
        Event::ConsentGiven { participant: a, scene: s("consent") },
        Event::SurveyAnswered {
            participant: a,
            scene: s("q"),
            answers: [(s("age"), Answer::Integer(3))].into(),
            iteration: 1,
            attempt: 1,
        },
        Event::OrderDrawn {
            participant: a,
            scene: s("q"),
            iteration: 1,
            orders: [(s("fruit"), vec![s("pear"), s("apple")])].into(),
        },
        Event::ChatSent { game, participant: b, slot: 1, scene: s("play"), text: s("hi") },
        Event::CheckGraded {
            participant: a,
            scene: s("q"),
            iteration: 1,
            attempt: 2,
            passed: false,
            wrong: vec![s("rule")],
        },
        Event::WaitroomJoined { participant: a, scene: s("play") },
        Event::WaitroomLeft { participant: a, scene: s("play"), reason: s("left") },
        Event::PolicyFault { scene: s("play"), policy: s("p"), arriving: a, fault: s("f"), fallback: s("fifo") },
        Event::PolicyRestarted { scene: s("play"), policy: s("p"), told: 1 },
        Event::PolicyReloaded { scene: s("play"), policy: s("p"), old_sha256: s("o"), new_sha256: s("n"), told: 1 },
        Event::PolicyReloadFailed { scene: s("play"), policy: s("p"), error: s("e") },
        Event::PolicyBudget { scene: s("play"), policy: s("p"), asked: 1, deferred: 1, work_ms: 1.0 },
        Event::PolicyLog { scene: s("play"), policy: s("p"), arriving: a, lines: vec![s("l")], repeats: 0 },
        Event::MatchDecided { scene: s("play"), policy: s("fifo"), arriving: a, members: vec![a, b], fallback: false },
        Event::MatchProposed { r#match: m, scene: s("play"), members: vec![a, b], probes: vec![probe.clone()] },
        Event::ProbeStarted { probe: probe.clone(), r#match: m, offerer: a, answerer: b },
        Event::ProbeFinished {
            probe: probe.clone(),
            offerer: a,
            answerer: b,
            duration_ms: 5,
            reached: Phase::Measuring,
            state: Phase::Complete,
            reported_rtt_ms: [Some(1.0), Some(2.0)],
            reported_errors: [None, None],
            rtt_ms: Some(2.0),
            threshold_ms: None,
            outcome: s("accepted"),
        },
        Event::ProbeCached {
            r#match: m,
            probe: probe.clone(),
            offerer: a,
            answerer: b,
            rtt_ms: 2.0,
            age_ms: 1,
            threshold_ms: None,
        },
        Event::PairEligible { scene: s("play"), a, b, rtt_ms: 2.0, threshold_ms: 9.0 },
        Event::ReadyCheckStarted { check: m, scene: s("play"), members: vec![a, b] },
        Event::ReadyConfirmed { check: m, participant: a, after_ms: 3 },
        Event::ReadyCheckFinished { check: m, ready: vec![a], missed: vec![b] },
        Event::MatchResolved { r#match: m, accepted: true },
        Event::ConditionAssigned { participant: a, condition: json!({"id": "c"}) },
        Event::ScreenedOut { participant: a, rule: s("device"), seen: s("phone") },
        Event::ReunionWaiting { participant: a, scene: s("play"), earlier_game: game },
        Event::ReunionTimeout { participant: a, earlier_game: game },
        Event::GameCreated { game, scene: s("play"), players: vec![a, b] },
        Event::GroupConditionAssigned { game, condition: json!({"id": "g"}) },
        Event::GameStarted {
            game,
            module: s("g.js"),
            seed: 1,
            players: 2,
            tick_rate: 20,
            input_delay: 1,
            bot_seats: 0,
            config: json!({}),
            relay: false,
            bots_by_host: false,
        },
        Event::GameInputs {
            game,
            participant: a,
            slot: 0,
            from: 0,
            inputs: vec![json!("up")],
            hashes: vec![],
            relayed: false,
        },
        Event::GameRelay { game, participant: a, need: 0 },
        Event::Visibility { participant: a, hidden: true, game: Some(game) },
        Event::SeatChanged { game, slot: 1, tick: 5, to: SeatKind::Bot, participant: b, told: true, by_host: false },
        Event::BotsFilled { participant: a, scene: s("play"), game, waited_ms: 1, bot_seats: 1, told: true },
        Event::GameDesync { game, tick: 1, hashes: vec![Some(s("h")), None] },
        Event::GameCompleted { game, participant: a, result: Some(json!({"score": 1})), tick: Some(1), hash: None },
        Event::GameEnded { game, reason: EndReason::Completed },
        Event::Refused { participant: a, message: s("game_inputs"), reason: s("r") },
        Event::Finished {
            participant: a,
            recruitment_id: Some(s(rid)),
            scene: s("end"),
            completion_code: Some(s("C")),
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A distinct number per kind: adding a kind fails to compile here until it is
    /// numbered (and `KINDS` counts it), and the test below until a sample is added.
    fn kind(e: &Event) -> usize {
        use Event as E;
        match e {
            E::RunStarted { .. } => 0,
            E::RunStopped => 1,
            E::AdminAction { .. } => 2,
            E::Redacted => 3,
            E::ArrivalsClosed { .. } => 4,
            E::ArrivalsOpened => 5,
            E::LogSuppressed { .. } => 6,
            E::SessionStarted { .. } => 7,
            E::TokenIssued { .. } => 8,
            E::SessionRestored { .. } => 9,
            E::Connected { .. } => 10,
            E::Disconnected { .. } => 11,
            E::DuplicateRefused { .. } => 12,
            E::Outcome { .. } => 13,
            E::SceneEntered { .. } => 14,
            E::SceneLeft { .. } => 15,
            E::RouteAssigned { .. } => 16,
            E::ConsentGiven { .. } => 17,
            E::SurveyAnswered { .. } => 18,
            E::WaitroomJoined { .. } => 19,
            E::WaitroomLeft { .. } => 20,
            E::PolicyFault { .. } => 21,
            E::PolicyRestarted { .. } => 22,
            E::PolicyReloaded { .. } => 23,
            E::PolicyReloadFailed { .. } => 24,
            E::PolicyBudget { .. } => 25,
            E::PolicyLog { .. } => 26,
            E::MatchDecided { .. } => 27,
            E::MatchProposed { .. } => 28,
            E::MatchResolved { .. } => 29,
            E::ProbeStarted { .. } => 30,
            E::ProbeFinished { .. } => 31,
            E::ConditionAssigned { .. } => 32,
            E::GroupConditionAssigned { .. } => 33,
            E::ScreenedOut { .. } => 34,
            E::ReunionWaiting { .. } => 35,
            E::ReunionTimeout { .. } => 36,
            E::ReadyCheckStarted { .. } => 37,
            E::ReadyConfirmed { .. } => 38,
            E::ReadyCheckFinished { .. } => 39,
            E::ProbeCached { .. } => 40,
            E::PairEligible { .. } => 41,
            E::GameCreated { .. } => 42,
            E::GameStarted { .. } => 43,
            E::GameInputs { .. } => 44,
            E::GameRelay { .. } => 45,
            E::Visibility { .. } => 46,
            E::SeatChanged { .. } => 47,
            E::BotsFilled { .. } => 48,
            E::GameDesync { .. } => 49,
            E::GameCompleted { .. } => 50,
            E::GameEnded { .. } => 51,
            E::Refused { .. } => 52,
            E::Finished { .. } => 53,
            E::OrderDrawn { .. } => 54,
            E::CheckGraded { .. } => 55,
            E::ChatSent { .. } => 56,
        }
    }
    const KINDS: usize = 57;

    fn pid(n: u128) -> ParticipantId {
        ParticipantId(uuid::Uuid::from_u128(n))
    }

    #[test]
    fn the_samples_hold_every_kind_and_each_names_whom_it_is_about() {
        let (a, b) = (pid(1), pid(2));
        let samples = one_of_each(a, b, "RID");
        let kinds: std::collections::BTreeSet<usize> = samples.iter().map(kind).collect();
        assert_eq!(kinds.len(), KINDS, "one sample of every event kind");
        let mut members = Members::default();
        for e in &samples {
            let line = serde_json::to_string(e).unwrap();
            // Whoever the JSON mentions, the type names (or its scope's members do).
            let concerned = members.concerned(e);
            for p in [a, b] {
                if line.contains(&p.to_string()) {
                    assert!(concerned.contains(&p), "{line} names {p} but the type does not say so");
                }
            }
            let read: Event = serde_json::from_str(&line).unwrap();
            assert_eq!(&read, e, "reads back");
        }
        let mut ended =
            Event::GameEnded { game: GameId(uuid::Uuid::from_u128(7)), reason: crate::game::EndReason::Completed };
        assert_eq!(members.concerned(&ended), vec![a, b], "a game's end concerns its players");
        assert!(ended.recruitment_ids_mut().is_empty());
    }
}
