//! What each participant is paid: a base pay per outcome (`recruitment.pay`), keyed by
//! the outcome names the export uses, so that partial pay (for those who waited, whose
//! partner left, who were screened out) is stated once in the YAML and computed by
//! `cohort export`, never by hand.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Base pay per outcome, in the study's currency (e.g. pounds on Prolific). An
/// outcome that is not listed is paid nothing. The keys are the export's `outcome`
/// values: `finished` for those who reached an end scene, and each reason a part can
/// end early.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Pay {
    /// Reached an `end` scene.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 10000))]
    pub finished: Option<f64>,
    /// No group was formed within the waitroom timeout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 10000))]
    pub waitroom_timeout: Option<f64>,
    /// Left the waiting room (the page's "Leave" button, `on_leave`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 10000))]
    pub left_waitroom: Option<f64>,
    /// A partner left the game.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 10000))]
    pub partner_left: Option<f64>,
    /// Left a game whose partner was away or idle (`game.partner_idle_secs`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 10000))]
    pub left_idle_game: Option<f64>,
    /// Away longer than the reconnect grace period.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 10000))]
    pub expired: Option<f64>,
    /// Waiting or playing when the host restarted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 10000))]
    pub host_restarted: Option<f64>,
    /// Sent more game input than allowed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 10000))]
    pub input_limit: Option<f64>,
    /// Sent game input the protocol does not allow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 10000))]
    pub invalid_input: Option<f64>,
    /// Ended by the people running the study (`/admin`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 10000))]
    pub ended_by_researcher: Option<f64>,
    /// Did not confirm a ready-check in time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 10000))]
    pub ready_missed: Option<f64>,
    /// Screened out: browser or device.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 10000))]
    pub device_excluded: Option<f64>,
    /// Screened out: no WebRTC DataChannel.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 10000))]
    pub webrtc_unavailable: Option<f64>,
    /// Screened out: round trip to the host too slow at entry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 10000))]
    pub connection_too_slow: Option<f64>,
    /// Screened out: round trip too slow while waiting or playing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 10000))]
    pub connection_degraded: Option<f64>,
    /// Every entry condition was at its quota.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 10000))]
    pub condition_full: Option<f64>,
    /// Every group condition was at its quota.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 10000))]
    pub group_condition_full: Option<f64>,
    /// Failed a comprehension or attention check (a survey's `on_fail`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 10000))]
    pub failed_check: Option<f64>,
}

impl Pay {
    /// The base pay of `outcome` (an export outcome name), 0 when not listed.
    pub fn base(&self, outcome: &str) -> f64 {
        let listed = serde_json::to_value(self).ok();
        listed.and_then(|v| v.get(outcome).and_then(serde_json::Value::as_f64)).unwrap_or(0.0)
    }

    /// Whether any outcome is paid.
    pub fn is_set(&self) -> bool {
        *self != Pay::default()
    }

    /// Whether no outcome is paid (the key is left out when written).
    pub fn is_unset(&self) -> bool {
        !self.is_set()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_outcome_reason_and_finishing_can_be_paid() {
        let reasons = schemars::schema_for!(crate::protocol::OutcomeReason);
        let names: Vec<String> = serde_json::to_value(&reasons).unwrap()["oneOf"]
            .as_array()
            .map(|alts| alts.iter().filter_map(|a| a["const"].as_str().map(str::to_owned)).collect())
            .or_else(|| {
                serde_json::to_value(&reasons).unwrap()["enum"]
                    .as_array()
                    .map(|v| v.iter().filter_map(|a| a.as_str().map(str::to_owned)).collect())
            })
            .unwrap_or_default();
        assert!(names.len() >= 16, "{names:?}");
        let keys = serde_json::to_value(schemars::schema_for!(Pay)).unwrap()["properties"].clone();
        for name in names.iter().map(String::as_str).chain(["finished"]) {
            assert!(keys.get(name).is_some(), "`recruitment.pay` has no key for the outcome `{name}`");
        }
        let pay: Pay = serde_json::from_value(serde_json::json!({"finished": 4.5, "left_waitroom": 1.0})).unwrap();
        assert_eq!((pay.base("finished"), pay.base("left_waitroom"), pay.base("expired")), (4.5, 1.0, 0.0));
        assert!(pay.is_set() && !Pay::default().is_set());
    }
}
