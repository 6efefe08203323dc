//! The multiplayer scene: waitroom, matchmaking policy, peer-to-peer RTT probing, the
//! game, ICE servers, and what happens when a partner leaves.

use std::path::PathBuf;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::model::Outcome;
use super::types::{AttributeRef, ENV_PATTERN, Slug};

/// Participants wait to be grouped, then play a game together.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MultiplayerScene {
    /// Identifies the scene in the data and in `goto`.
    pub id: Slug,
    /// Shown only when this rule holds for the participant: their entry condition
    /// (`{condition: [told_ai]}`), an earlier answer or game result (`{value:
    /// "answer:pre.age", at_least: 18}`), combined with `all` / `any` / `not`; others
    /// skip it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub show_if: Option<crate::config::show_if::ShowIf>,
    /// Heading shown in the waitroom.
    #[serde(default)]
    #[schemars(length(max = 200))]
    pub title: Option<String>,
    /// How many participants play together (1: a game alone, e.g. with `game.bot_seats`).
    #[schemars(range(min = 1, max = 16))]
    pub group_size: u32,
    /// Who is grouped with whom. Absent: the built-in first-come-first-served policy.
    #[serde(default)]
    pub matchmaker: Matchmaker,
    /// Largest peer-to-peer round-trip time (milliseconds) allowed between any two
    /// members of a group, measured over WebRTC before the group is confirmed. Absent:
    /// no probing, groups are created at once.
    #[serde(default)]
    #[schemars(extend("exclusiveMinimum" = 0), range(max = 10000))]
    pub max_p2p_rtt_ms: Option<f64>,
    /// How the peer-to-peer RTT is probed (used only with `max_p2p_rtt_ms`).
    #[serde(default)]
    pub probe: Probe,
    /// Raise `max_p2p_rtt_ms` as participants wait, so that nobody waits forever for a
    /// close partner: each step applies once the group's longest-waiting member has
    /// waited `after_secs`. It sets the threshold probes are judged against (whatever
    /// the policy), and a pair whose probe failed becomes eligible again once its
    /// measured RTT passes the raised threshold for the longer-waiting of the two.
    #[serde(default)]
    #[schemars(length(max = 16))]
    pub relax: Vec<Relax>,
    /// The waiting room.
    #[serde(default)]
    pub waitroom: Waitroom,
    /// Groups of an earlier experiment are grouped together again.
    #[serde(default)]
    pub reunion: Option<super::reunion::Reunion>,
    /// The game played once a group is formed.
    pub game: Game,
    /// STUN/TURN servers for peer-to-peer connections (probes and game). Empty: direct
    /// connections only (fine on a LAN or loopback, not across most home routers).
    #[serde(default)]
    #[schemars(length(max = 10))]
    pub ice_servers: Vec<IceServer>,
    /// What remaining players see when a partner leaves the game; also what those
    /// waiting or playing see when a restart of the host ended their group (reason
    /// `host_restarted`).
    #[serde(default = "default_partner_leave")]
    pub on_partner_leave: Outcome,
    /// What a player gets who leaves a game whose partner was away or idle for
    /// `game.partner_idle_secs` (the page's "Leave and get paid" button; reason
    /// `left_idle_game`). The partner left behind is treated as if the leaver had
    /// dropped out (`on_dropout`).
    #[serde(default = "default_partner_idle")]
    pub on_partner_idle: Outcome,
    /// A chat among the members of each group (never anyone else), through the host:
    /// during the countdown, beside the game, and on scenes after it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chat: Option<Chat>,
    /// What a started game does when a player leaves for good (away past the grace
    /// period, or sent input the game refuses): `end` it for everyone (they get
    /// `on_partner_leave`), `continue` with the seat empty, or let the module's `bot`
    /// take the seat.
    #[serde(default)]
    pub on_dropout: Dropout,
    /// With `on_dropout: backfill`: how long a left seat is offered to newcomers from
    /// the waitroom (the module's `bot` plays it meanwhile, and after).
    #[serde(default = "default_backfill")]
    #[schemars(extend("exclusiveMinimum" = 0), range(max = 3600))]
    pub backfill_secs: f64,
}

fn default_backfill() -> f64 {
    30.0
}

/// What happens to a started game when a player leaves it for good.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Dropout {
    /// The game ends for everyone (`partner_left`).
    #[default]
    End,
    /// The others play on; the game is told the seat is empty.
    Continue,
    /// The module's `bot` plays the seat from then on.
    Bot,
    /// The module's `bot` plays the seat until a newcomer from the waitroom takes it
    /// (within `backfill_secs`); the newcomer catches up and plays from an agreed tick.
    Backfill,
}

fn default_partner_idle() -> Outcome {
    Outcome {
        message: Some("You left the game because your partner was away. Thank you for taking part.".to_owned()),
        ..Outcome::default()
    }
}

fn default_partner_leave() -> Outcome {
    Outcome { message: Some("Your partner left the game. Thank you for taking part.".to_owned()), ..Outcome::default() }
}

/// The matchmaking policy.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Matchmaker {
    /// A WebAssembly component implementing `plugins/matchmaker.wit`, relative to this
    /// YAML file. Absent: the built-in FIFO policy.
    #[serde(default)]
    pub plugin: Option<PathBuf>,
    /// Free-form settings passed to the plugin's `configure` export (as JSON text).
    #[serde(default)]
    pub config: serde_json::Map<String, serde_json::Value>,
    /// What to do when the plugin fails (trap, deadline, invalid answer).
    #[serde(default)]
    pub fallback: Fallback,
    /// Deadline of one plugin call, in milliseconds.
    #[serde(default = "default_call_timeout_ms")]
    #[schemars(range(min = 1, max = 10000))]
    pub call_timeout_ms: u32,
    /// Work a plugin may do in one matching pass (asking it about everyone waiting), in
    /// milliseconds: counted in executed WebAssembly instructions (5,000,000 to the
    /// millisecond, about a millisecond on a 2-core machine) plus a fixed cost per call
    /// and per host call, so that `cohort simulate` and the host make the same decisions. When it is spent, the pass stops and the next one
    /// starts with whoever was not asked; the experiment's other messages keep flowing.
    #[serde(default = "default_pass_budget_ms")]
    #[schemars(range(min = 1, max = 10000))]
    pub pass_budget_ms: u32,
    /// Memory cap of the plugin instance (all its memories and tables together), in MiB.
    #[serde(default = "default_memory_mb")]
    #[schemars(range(min = 1, max = 4096))]
    pub memory_limit_mb: u32,
    /// Besides on every arrival and departure, the policy is asked this often (seconds),
    /// so that policies depending on waiting time (relaxing a constraint) can act.
    #[serde(default = "default_tick_secs")]
    #[schemars(extend("exclusiveMinimum" = 0), range(max = 60))]
    pub tick_secs: f64,
    /// What the policy sees of each participant besides id, waiting time, server RTT and
    /// previous partners: `param:<name>` (a URL parameter of the study link) or
    /// `answer:<scene>.<question>` (an answer given in an earlier survey). The
    /// recruitment id is never shared with policies.
    #[serde(default)]
    #[schemars(length(max = 32))]
    pub attributes: Vec<AttributeRef>,
}

fn default_tick_secs() -> f64 {
    1.0
}

fn default_call_timeout_ms() -> u32 {
    100
}

fn default_pass_budget_ms() -> u32 {
    50
}

fn default_memory_mb() -> u32 {
    64
}

/// Behaviour when a plugin call fails.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Fallback {
    /// Decide with the built-in FIFO policy instead.
    #[default]
    Fifo,
    /// Make no match this time; try again on the next arrival or tick.
    Wait,
}

/// Peer-to-peer RTT probing.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Probe {
    /// A probe without both peers' reports by then fails (no RTT, so the pair is
    /// rejected, or timed out when neither reported).
    #[serde(default = "default_probe_timeout")]
    #[schemars(extend("exclusiveMinimum" = 0), range(max = 120))]
    pub timeout_secs: f64,
    /// Ping-pong exchanges per probe; the RTT is their median.
    #[serde(default = "default_pings")]
    #[schemars(range(min = 1, max = 50))]
    pub pings: u32,
    /// How long one ping may wait for its pong, in milliseconds.
    #[serde(default = "default_ping_timeout_ms")]
    #[schemars(range(min = 1, max = 30000))]
    pub ping_timeout_ms: u32,
    /// A pair whose probe was rejected or timed out is not proposed again for this long
    /// (seconds). Aborted probes (a peer left) are not held against the pair.
    #[serde(default = "default_failed_pair_memory")]
    #[schemars(range(min = 0, max = 86400))]
    pub failed_pair_memory_secs: f64,
    /// A pair's measured RTT is reused for this long (seconds) when the pair is
    /// proposed again in this scene, whichever scene measured it: the pair is not probed anew (logged as `probe_cached`) and its
    /// game opens a channel of its own (`game_signal`). A cached RTT that fails the
    /// threshold of the moment is measured again. 0: always probe.
    #[serde(default = "default_cache_secs")]
    #[schemars(range(min = 0, max = 86400))]
    pub cache_secs: f64,
}

fn default_cache_secs() -> f64 {
    300.0
}

/// One step of `relax`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Relax {
    /// How long the longest-waiting member of a group has waited (seconds).
    #[schemars(extend("exclusiveMinimum" = 0), range(max = 86400))]
    pub after_secs: f64,
    /// The threshold from then on (milliseconds).
    #[schemars(extend("exclusiveMinimum" = 0), range(max = 10000))]
    pub max_p2p_rtt_ms: f64,
}

impl MultiplayerScene {
    /// The RTT threshold for a group whose longest-waiting member has waited `waited`:
    /// `max_p2p_rtt_ms`, raised by the last `relax` step reached.
    pub fn threshold_after(&self, waited: std::time::Duration) -> Option<f64> {
        let base = self.max_p2p_rtt_ms?;
        let waited = waited.as_secs_f64();
        Some(self.relax.iter().filter(|r| waited >= r.after_secs).map(|r| r.max_p2p_rtt_ms).fold(base, f64::max))
    }
}

fn default_failed_pair_memory() -> f64 {
    600.0
}

defaults_from_empty!(Matchmaker, Probe, Waitroom);

fn default_probe_timeout() -> f64 {
    15.0
}

fn default_pings() -> u32 {
    5
}

fn default_ping_timeout_ms() -> u32 {
    2000
}

/// The waiting room.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Waitroom {
    /// Longest wait, enforced by the server, before `on_timeout` applies.
    #[serde(default = "default_wait_timeout")]
    #[schemars(extend("exclusiveMinimum" = 0), range(max = 7200))]
    pub timeout_secs: f64,
    /// What happens to a participant who waited `timeout_secs` without a group.
    #[serde(default = "default_wait_outcome")]
    pub on_timeout: Outcome,
    /// Show how many are waiting and how many are needed.
    #[serde(default = "yes")]
    pub show_count: bool,
    /// What happens to a participant who chooses to leave the waiting room.
    #[serde(default = "default_leave_outcome")]
    pub on_leave: Outcome,
    /// When `on_leave` pays (gives a completion code or a redirect), the page offers a
    /// "Leave and get paid" button once the participant has waited this long
    /// (seconds), and the host accepts `leave_waitroom` from then on. Without pay in
    /// `on_leave`, leaving is possible at any time (with its message).
    #[serde(default = "default_leave_after")]
    #[schemars(range(min = 0, max = 7200))]
    pub leave_after_secs: f64,
    /// A participant still waiting after this long plays with bot seats (the module's
    /// `bot`) instead. Absent: never.
    #[serde(default)]
    #[schemars(extend("exclusiveMinimum" = 0), range(max = 7200))]
    pub fill_with_bots_after_secs: Option<f64>,
    /// With entry conditions: only participants of these conditions are given bots
    /// after waiting (`{condition: [told_ai]}`); the others wait for people until
    /// their timeout. Absent: everyone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fill_with_bots_if: Option<crate::config::show_if::ShowIf>,
    /// Whether participants are told that a seat is played by a computer (bot fill,
    /// or a bot taking a partner's seat): `true` (the default) or `false` for
    /// everyone, or by entry condition (`{told_ai: true, not_told: false}`, names or
    /// `factor=level`; every condition must be named: nobody is deceived by default).
    /// Recorded with each game either way.
    #[serde(default)]
    pub tell_about_bots: TellBots,
    /// Members of a formed group confirm they are there before the game is created.
    /// Absent: no check.
    #[serde(default)]
    pub ready_check: Option<super::ready::ReadyCheck>,
}

/// Who is told about computer players (`waitroom.tell_about_bots`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum TellBots {
    /// Everyone alike.
    Everyone(bool),
    /// By entry condition (a name or `factor=level`).
    ByCondition(std::collections::BTreeMap<String, bool>),
}

impl Default for TellBots {
    fn default() -> Self {
        TellBots::Everyone(true)
    }
}

impl TellBots {
    /// Whether a participant of `condition` is told; by condition, the condition's own
    /// name decides over its `factor=level` keys (unnamed: told).
    pub fn tells(&self, condition: Option<&crate::config::conditions::Condition>) -> bool {
        match self {
            TellBots::Everyone(told) => *told,
            TellBots::ByCondition(map) => {
                let Some(c) = condition else { return true };
                map.get(&c.id)
                    .copied()
                    .or_else(|| {
                        map.iter().find(|(k, _)| crate::config::by_condition::applies(k, c)).map(|(_, told)| *told)
                    })
                    .unwrap_or(true)
            }
        }
    }

    /// Whether anyone may be left untold.
    pub fn deceives(&self) -> bool {
        match self {
            TellBots::Everyone(told) => !told,
            TellBots::ByCondition(map) => map.values().any(|told| !told),
        }
    }
}

fn default_leave_after() -> f64 {
    60.0
}

fn default_leave_outcome() -> Outcome {
    Outcome { message: Some("You left the waiting room. You can close this tab now.".to_owned()), ..Outcome::default() }
}

fn yes() -> bool {
    true
}

fn default_wait_timeout() -> f64 {
    300.0
}

fn default_wait_outcome() -> Outcome {
    Outcome {
        message: Some("Sorry, we could not find a partner for you in time. Thank you for waiting.".to_owned()),
        ..Outcome::default()
    }
}

/// The game a group plays: a deterministic ES module stepped in lockstep by every
/// player's page (`docs/games.md`).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Game {
    /// The game's ES module, relative to this file, in a folder of its own (e.g.
    /// `games/demo.js`): the host serves that folder to participants.
    pub module: PathBuf,
    /// Free-form settings passed to the module's `init` as they are (rounds, layouts…).
    #[serde(default)]
    pub config: serde_json::Map<String, serde_json::Value>,
    /// Settings for the games of some conditions, by condition name or `factor=level`,
    /// each key's given over `config` key by key: a group condition's, or an entry
    /// condition's when groups form within one entry condition (every copy of a game
    /// runs with one config, so groups that mix entry conditions cannot have theirs).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub config_by_condition: std::collections::BTreeMap<String, serde_json::Map<String, serde_json::Value>>,
    /// Game ticks per second: every page steps the game this often.
    #[serde(default = "default_tick_rate")]
    #[schemars(range(min = 1, max = 30))]
    pub tick_rate: u32,
    /// Ticks between an input and the tick it applies to. Absent: derived from the
    /// group's probed round trip (or 100 ms when it was not probed).
    #[serde(default)]
    #[schemars(range(min = 1, max = 30))]
    pub input_delay_ticks: Option<u32>,
    /// Seats after the participants' played by the module's `bot` (every copy of the
    /// game computes them): a practice round with a bot partner, or a human–AI team.
    #[serde(default)]
    #[schemars(range(max = 15))]
    pub bot_seats: u32,
    /// What the group does while a player's tab is hidden: `continue` (that player's
    /// inputs are empty) or `pause` (everyone waits for them).
    #[serde(default)]
    pub on_hidden: OnHidden,
    /// The game ends after this long, however far it got.
    #[serde(default = "default_game_duration")]
    #[schemars(extend("exclusiveMinimum" = 0), range(max = 14400))]
    pub max_duration_secs: f64,
    /// Seconds between `match_found` and the synchronized start of the game.
    #[serde(default = "default_countdown")]
    #[schemars(range(min = 0, max = 60))]
    pub countdown_secs: f64,
    /// Game input one player may send per minute, in bytes of `game_inputs` payload
    /// (every input is logged). A player over it leaves the game (outcome
    /// `input_limit`); the others see a partner who left. Absent: twice what a page
    /// sending the largest input on every tick would send.
    #[serde(default)]
    #[schemars(range(min = 1024, max = 1073741824))]
    pub max_input_bytes_per_min: Option<u64>,
    /// When a partner's page has been hidden (with `on_hidden: pause`) or has sent no
    /// input for this long (seconds), the others may leave the game with the scene's
    /// `on_partner_idle` outcome (the page offers a "Leave and get paid" button).
    /// Absent: never offered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 5, max = 3600))]
    pub partner_idle_secs: Option<f64>,
}

impl Waitroom {
    /// Whether leaving is paid: `on_leave` gives a completion code or a redirect.
    pub fn paid_leave(&self) -> bool {
        self.on_leave.completion_code.is_some() || self.on_leave.redirect_url.is_some()
    }
}

impl Game {
    /// `max_input_bytes_per_min`, or its default for the tick rate: every tick's input
    /// at the largest size, with a hash every second, twice over (resends).
    pub fn input_budget(&self) -> u64 {
        let per_tick = crate::game::MAX_INPUT_BYTES as u64 + 16;
        self.max_input_bytes_per_min.unwrap_or(2 * 60 * (u64::from(self.tick_rate) * per_tick + 64))
    }
}

/// What a hidden tab (another window in front, a minimised browser) does to a game.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OnHidden {
    /// The game goes on; the hidden player's inputs are empty until they return.
    #[default]
    Continue,
    /// The game waits for everyone until the player returns (within the duration limit).
    Pause,
}

fn default_tick_rate() -> u32 {
    20
}

fn default_countdown() -> f64 {
    3.0
}

fn default_game_duration() -> f64 {
    600.0
}

/// A STUN or TURN server.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IceServer {
    /// `stun:`, `stuns:`, `turn:` or `turns:` URLs of one server.
    #[schemars(length(min = 1, max = 10), inner(length(min = 6, max = 500)))]
    pub urls: Vec<String>,
    /// TURN static credentials: the user name.
    #[serde(default)]
    #[schemars(length(min = 1, max = 500))]
    pub username: Option<String>,
    /// TURN static credentials: the password.
    #[serde(default)]
    #[schemars(length(min = 1, max = 500))]
    pub credential: Option<String>,
    /// TURN shared secret (coturn `use-auth-secret`): the name of the environment
    /// variable holding it. The host mints short-lived credentials per participant;
    /// the secret never reaches a client.
    #[serde(default)]
    #[schemars(regex(pattern = ENV_PATTERN))]
    pub secret_env: Option<String>,
    /// TURN shared secret read from this file instead (relative to this YAML file).
    #[serde(default)]
    pub secret_file: Option<PathBuf>,
}

/// Where a group may chat, and how much each member may write.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Chat {
    /// `countdown` (the seconds before the game), `game` (beside it), and the ids of
    /// scenes after this one (the group's members on that scene chat with each other).
    #[schemars(length(min = 1, max = 20), inner(length(min = 1, max = 64)))]
    pub during: Vec<String>,
    /// Longest message, in characters.
    #[serde(default = "default_chat_chars")]
    #[schemars(range(min = 1, max = 2000))]
    pub max_chars: u32,
    /// Most messages a participant may send per minute (more are refused).
    #[serde(default = "default_chat_rate")]
    #[schemars(range(min = 1, max = 120))]
    pub per_minute: u32,
}

fn default_chat_chars() -> u32 {
    300
}

fn default_chat_rate() -> u32 {
    10
}

impl Chat {
    /// Whether the group chats at `place`: `countdown`, `game` or a scene's id.
    pub fn during(&self, place: &str) -> bool {
        self.during.iter().any(|d| d == place)
    }
}
