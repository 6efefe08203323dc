//! The log's vocabulary: every [`Event`] the host records, one variant per decision.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::game::EndReason;
use crate::probe::Phase;
use crate::protocol::{Answer, GameId, OutcomeReason, ParticipantId, ProbeId};

/// Everything the host records. Tagged by `"event"` in the JSON line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// The host started serving this experiment (first line of every run).
    RunStarted {
        experiment: String,
        run: String,
        host_version: String,
        /// SHA-256 (hex) of each file the run serves, by path relative to the
        /// experiment file (the experiment file itself, each policy); copies are kept
        /// in the run directory under `files/`.
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        files: BTreeMap<String, String>,
    },
    /// The host stopped serving it cleanly (last line of a clean run).
    RunStopped,
    /// An intervention from `/admin` (as given), logged before it takes effect.
    AdminAction {
        action: serde_json::Value,
    },
    /// An event about a participant whose data was deleted on request (`cohort
    /// forget`): only its place in the log is kept.
    Redacted,
    /// New participants are turned away from now on (`reason`: `disk_space`, ...),
    /// with `message`; running sessions go on.
    ArrivalsClosed {
        reason: String,
        message: String,
    },
    /// New participants are admitted again.
    ArrivalsOpened,
    /// `count` events of kind `what` (`refused`, `policy_log`) of one participant or
    /// one scene's policy were not logged one by one: over the log budget for the
    /// minute that just ended.
    LogSuppressed {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        participant: Option<ParticipantId>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        scene: Option<String>,
        what: String,
        count: u64,
    },
    /// A new participant. `recruitment_id` and `params` stay in the data only.
    SessionStarted {
        participant: ParticipantId,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        recruitment_id: Option<String>,
        params: BTreeMap<String, String>,
        /// SHA-256 (hex) of the session's resume token, so that a restarted host
        /// recognises the tab (the token itself is never logged).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        token_sha256: Option<String>,
    },
    /// A new resume token for a session of an earlier run that came back without its
    /// old one (by recruitment id): its SHA-256, so that a later restart knows it.
    TokenIssued {
        participant: ParticipantId,
        token_sha256: String,
    },
    /// An unfinished session of an earlier run, brought back at the start of this run
    /// where it was (`scene`).
    SessionRestored {
        participant: ParticipantId,
        scene: String,
    },
    /// A participant's socket attached (`resumed`: to an existing session).
    Connected {
        participant: ParticipantId,
        resumed: bool,
    },
    /// A participant's socket went away; the grace period starts.
    Disconnected {
        participant: ParticipantId,
    },
    /// A second connection for a connected participant was refused, or (`took_over`)
    /// a new connection took the session over from the old one.
    DuplicateRefused {
        participant: ParticipantId,
        /// By recruitment id after the participant chose "continue here" (`takeover`),
        /// rather than by the tab's own token.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        took_over: bool,
    },
    /// The participant's part ended early (waitroom timeout, left the waitroom, a
    /// partner left, away past the grace period).
    Outcome {
        participant: ParticipantId,
        scene: String,
        reason: OutcomeReason,
        /// The completion code the participant was shown (what they are paid for);
        /// absent when the outcome gave none (and in logs of versions before it was
        /// recorded).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        completion_code: Option<String>,
    },
    /// `index` is the scene's place in `scenes`; `iteration` counts the times this
    /// participant has entered it (a block's `repeat`), from 1 (absent when 1).
    SceneEntered {
        participant: ParticipantId,
        scene: String,
        index: usize,
        #[serde(default = "first", skip_serializing_if = "is_first")]
        iteration: u32,
    },
    SceneLeft {
        participant: ParticipantId,
        scene: String,
        index: usize,
        #[serde(default = "first", skip_serializing_if = "is_first")]
        iteration: u32,
    },
    /// The scenes a participant will see, in order (with `blocks`: drawn at start).
    RouteAssigned {
        participant: ParticipantId,
        route: Vec<String>,
    },
    ConsentGiven {
        participant: ParticipantId,
        scene: String,
    },
    SurveyAnswered {
        participant: ParticipantId,
        scene: String,
        answers: BTreeMap<String, Answer>,
        #[serde(default = "first", skip_serializing_if = "is_first")]
        iteration: u32,
        /// The attempt at a comprehension check, from 1 (every attempt is logged).
        #[serde(default = "first", skip_serializing_if = "is_first")]
        attempt: u32,
    },
    /// The order a participant sees a survey's randomized options and items in:
    /// question id → options (or matrix item ids) in the order shown.
    OrderDrawn {
        participant: ParticipantId,
        scene: String,
        #[serde(default = "first", skip_serializing_if = "is_first")]
        iteration: u32,
        orders: BTreeMap<String, Vec<String>>,
    },
    /// A member of a group's chat said `text` (delivered to the group after this line).
    ChatSent {
        game: GameId,
        participant: ParticipantId,
        slot: usize,
        scene: String,
        text: String,
    },
    /// A comprehension check's attempt was graded: `wrong` lists the questions
    /// answered wrongly (empty when passed).
    CheckGraded {
        participant: ParticipantId,
        scene: String,
        #[serde(default = "first", skip_serializing_if = "is_first")]
        iteration: u32,
        attempt: u32,
        passed: bool,
        wrong: Vec<String>,
    },
    /// Entered the waitroom of a multiplayer scene.
    WaitroomJoined {
        participant: ParticipantId,
        scene: String,
    },
    /// Left the waitroom: `matched`, `timeout`, `left` or `expired`.
    WaitroomLeft {
        participant: ParticipantId,
        scene: String,
        reason: String,
    },
    /// The policy's answer was refused or the policy failed; `fallback` applied.
    PolicyFault {
        scene: String,
        policy: String,
        arriving: ParticipantId,
        fault: String,
        fallback: String,
    },
    /// A policy that was down after a fault was re-created (configured and told the
    /// `told` participants waiting).
    PolicyRestarted {
        scene: String,
        policy: String,
        told: usize,
    },
    /// The scene's policy file was loaded again and swapped in (`reload_policy`); the
    /// new instance was told the `told` participants waiting.
    PolicyReloaded {
        scene: String,
        policy: String,
        old_sha256: String,
        new_sha256: String,
        told: usize,
    },
    /// Loading the policy file again failed; the old policy goes on.
    PolicyReloadFailed {
        scene: String,
        policy: String,
        error: String,
    },
    /// A matching pass spent its work budget (`matchmaker.pass_budget_ms`) after asking
    /// for `asked` participants; the `deferred` others are asked first next time. At
    /// most one a minute per scene (the others are counted in `log_suppressed`).
    PolicyBudget {
        scene: String,
        policy: String,
        asked: usize,
        deferred: usize,
        work_ms: f64,
    },
    /// Lines a policy logged while deciding.
    PolicyLog {
        scene: String,
        policy: String,
        arriving: ParticipantId,
        lines: Vec<String>,
        /// The same lines were said by this many more consecutive decisions about the
        /// same participant (counted, not written again).
        #[serde(default, skip_serializing_if = "is_zero_u64")]
        repeats: u64,
    },
    /// A group was proposed and its pairs are being probed.
    /// A group was decided for `arriving`: by the scene's `policy`, or by the FIFO
    /// fallback after the policy failed (`fallback`). Probing (if any) follows.
    MatchDecided {
        scene: String,
        policy: String,
        arriving: ParticipantId,
        members: Vec<ParticipantId>,
        fallback: bool,
    },
    MatchProposed {
        r#match: uuid::Uuid,
        scene: String,
        members: Vec<ParticipantId>,
        probes: Vec<ProbeId>,
    },
    /// A proposed group was confirmed (`accepted`) or dropped.
    MatchResolved {
        r#match: uuid::Uuid,
        accepted: bool,
    },
    ProbeStarted {
        probe: ProbeId,
        r#match: uuid::Uuid,
        offerer: ParticipantId,
        answerer: ParticipantId,
    },
    /// A probe ended: how far it got (`reached`), its final `state` (complete or
    /// failed), what each peer reported, the decided RTT, the threshold and the outcome
    /// (`accepted`, `rejected`, `timed_out`, `aborted`).
    ProbeFinished {
        probe: ProbeId,
        offerer: ParticipantId,
        answerer: ParticipantId,
        duration_ms: u64,
        reached: Phase,
        state: Phase,
        reported_rtt_ms: [Option<f64>; 2],
        /// Why a peer's measurement failed, as it reported.
        #[serde(default)]
        reported_errors: [Option<String>; 2],
        rtt_ms: Option<f64>,
        threshold_ms: Option<f64>,
        outcome: String,
    },
    /// A participant's entry condition (`{"id": …, "<factor>": <level>}`).
    ConditionAssigned {
        participant: ParticipantId,
        condition: serde_json::Value,
    },
    /// A group's condition, drawn when its game was created.
    GroupConditionAssigned {
        game: GameId,
        condition: serde_json::Value,
    },
    /// A participant was screened out (`screening`): the `rule` (`device`, `webrtc`,
    /// `server_rtt`, `monitor`) and what was seen.
    ScreenedOut {
        participant: ParticipantId,
        rule: String,
        seen: String,
    },
    /// A returning participant is held for their earlier partners (`reunion`), those of
    /// `earlier_game` in the earlier experiment.
    ReunionWaiting {
        participant: ParticipantId,
        scene: String,
        earlier_game: GameId,
    },
    /// Their earlier partners did not all come within `reunion.timeout_secs`: matched
    /// like anyone else from now on.
    ReunionTimeout {
        participant: ParticipantId,
        earlier_game: GameId,
    },
    /// A formed group's ready-check began (`waitroom.ready_check`); `check` is its
    /// pending match.
    ReadyCheckStarted {
        check: uuid::Uuid,
        scene: String,
        members: Vec<ParticipantId>,
    },
    /// A member confirmed, `after_ms` after the check began.
    ReadyConfirmed {
        check: uuid::Uuid,
        participant: ParticipantId,
        after_ms: u64,
    },
    /// The check ended: everyone confirmed (`missed` empty), or the deadline passed.
    ReadyCheckFinished {
        check: uuid::Uuid,
        ready: Vec<ParticipantId>,
        missed: Vec<ParticipantId>,
    },
    /// A pair of a proposed group was not probed again: its RTT measured by `probe`
    /// `age_ms` ago (within `probe.cache_secs`) passed the threshold of the moment.
    ProbeCached {
        r#match: uuid::Uuid,
        probe: ProbeId,
        offerer: ParticipantId,
        answerer: ParticipantId,
        rtt_ms: f64,
        age_ms: u64,
        threshold_ms: Option<f64>,
    },
    /// A pair whose probe failed may be grouped again before its memory ran out: its
    /// measured RTT passes the threshold `relax` has raised to.
    PairEligible {
        scene: String,
        a: ParticipantId,
        b: ParticipantId,
        rtt_ms: f64,
        threshold_ms: f64,
    },
    GameCreated {
        game: GameId,
        scene: String,
        players: Vec<ParticipantId>,
    },
    /// Everything a replay needs besides the inputs: the module (its path in the run's
    /// `files`), the seed, the timing and the config.
    GameStarted {
        game: GameId,
        #[serde(default)]
        module: String,
        #[serde(default)]
        seed: u32,
        #[serde(default)]
        players: usize,
        #[serde(default)]
        tick_rate: u32,
        #[serde(default)]
        input_delay: u32,
        /// Seats after the players' played by the module's `bot` (every copy computes
        /// their inputs; the log has none for them).
        #[serde(default, skip_serializing_if = "is_zero")]
        bot_seats: u32,
        #[serde(default)]
        config: serde_json::Value,
        /// True when the group starts on the host relay.
        #[serde(default)]
        relay: bool,
        /// True when the host plays the bot seats itself (some player is not told
        /// about bots): their inputs are in the log, as a player's, under the ids the
        /// pages knew them by.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        bots_by_host: bool,
    },
    /// One player's inputs for ticks `from`… (and the state hashes it reported).
    GameInputs {
        game: GameId,
        participant: ParticipantId,
        slot: usize,
        from: u64,
        inputs: Vec<serde_json::Value>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        hashes: Vec<(u64, String)>,
        /// Whether the host forwarded them to the group (relay path).
        relayed: bool,
    },
    /// The group plays over the host relay from here (asked by `participant`, whose
    /// copy needed tick `need`).
    GameRelay {
        game: GameId,
        participant: ParticipantId,
        need: u64,
    },
    /// A page was hidden or shown again.
    Visibility {
        participant: ParticipantId,
        hidden: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        game: Option<GameId>,
    },
    /// A player left a started game for good and `on_dropout` kept it going: from
    /// `tick` on, seat `slot` is played by `to` (`bot` or `empty`).
    SeatChanged {
        game: GameId,
        slot: usize,
        tick: u64,
        to: crate::game::SeatKind,
        participant: ParticipantId,
        /// Whether the remaining players were told (`tell_about_bots`).
        told: bool,
        /// True when the host plays the seat itself (a remaining player is not told
        /// about bots): its inputs go on in the log, as a player's, and the pages were
        /// not told of the change.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        by_host: bool,
    },
    /// A participant waited `waitroom.fill_with_bots_after_secs` and plays with bot
    /// seats instead (`game` was created for them).
    BotsFilled {
        participant: ParticipantId,
        scene: String,
        game: GameId,
        waited_ms: u64,
        bot_seats: u32,
        /// Whether the participant was told the partners are computers.
        told: bool,
    },
    /// Copies of a game disagree: the hashes reported for one tick, by slot.
    GameDesync {
        game: GameId,
        tick: u64,
        hashes: Vec<Option<String>>,
    },
    GameCompleted {
        game: GameId,
        participant: ParticipantId,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        result: Option<serde_json::Value>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tick: Option<u64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        hash: Option<String>,
    },
    GameEnded {
        game: GameId,
        reason: EndReason,
    },
    /// A probe or game message was refused (a stale client, or an attempt to act on
    /// someone else's session).
    Refused {
        participant: ParticipantId,
        message: String,
        reason: String,
    },
    /// The participant reached an `end` scene.
    Finished {
        participant: ParticipantId,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        recruitment_id: Option<String>,
        scene: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        completion_code: Option<String>,
    },
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

fn is_zero_u64(n: &u64) -> bool {
    *n == 0
}

fn first() -> u32 {
    1
}

fn is_first(n: &u32) -> bool {
    *n == 1
}
