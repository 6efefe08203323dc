//! Entry screening: who may take part, judged from what the page reports of its
//! browser and device (and whether it can open a WebRTC DataChannel) and from the
//! round trip the host measures; and monitoring of that round trip in the waitroom and
//! games. Each rule has its own outcome (message, completion code, redirect).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::model::Outcome;

/// The experiment's screening rules. Absent rules are not applied.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Screening {
    /// Browser and device rules, checked when a participant starts, from what their
    /// page reports (`hello.environment`; a client that reports nothing fails them).
    #[serde(default)]
    pub device: Option<DeviceRule>,
    /// The page must be able to open a WebRTC DataChannel (between two connections of
    /// its own), checked when a participant starts.
    #[serde(default)]
    pub webrtc: Option<Rule>,
    /// Largest round trip to the host (milliseconds), judged on the first measurement
    /// (within the first heartbeats of the session).
    #[serde(default)]
    pub server_rtt: Option<RttRule>,
    /// In the waitroom and in games: a round trip above `max_server_rtt_ms` for
    /// `for_secs` ends the participant's part.
    #[serde(default)]
    pub monitor: Option<Monitor>,
}

/// Browser and device rules.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeviceRule {
    /// No phones or tablets.
    #[serde(default)]
    pub desktop_only: bool,
    /// Browsers allowed (absent: any).
    #[serde(default)]
    pub browsers: Vec<Browser>,
    /// Smallest window (CSS pixels).
    #[serde(default)]
    #[schemars(range(min = 1, max = 10000))]
    pub min_width: Option<u32>,
    #[serde(default)]
    #[schemars(range(min = 1, max = 10000))]
    pub min_height: Option<u32>,
    /// What a participant who fails gets (reason `device_excluded`).
    #[serde(default)]
    pub on_fail: Option<Outcome>,
}

/// A browser family as the page reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Browser {
    Chrome,
    Edge,
    Firefox,
    Safari,
    Opera,
    Other,
}

/// A rule with only an outcome (reason `webrtc_unavailable`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    #[serde(default)]
    pub on_fail: Option<Outcome>,
}

/// The round trip at entry (reason `connection_too_slow`).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RttRule {
    #[schemars(extend("exclusiveMinimum" = 0), range(max = 60000))]
    pub max_ms: f64,
    #[serde(default)]
    pub on_fail: Option<Outcome>,
}

/// The round trip while waiting or playing (reason `connection_degraded`).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Monitor {
    #[schemars(extend("exclusiveMinimum" = 0), range(max = 60000))]
    pub max_server_rtt_ms: f64,
    #[serde(default = "default_for_secs")]
    #[schemars(extend("exclusiveMinimum" = 0), range(max = 3600))]
    pub for_secs: f64,
    #[serde(default)]
    pub on_fail: Option<Outcome>,
}

fn default_for_secs() -> f64 {
    15.0
}
