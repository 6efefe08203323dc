//! Semantic check of `screening`: each rule's outcome says what happens.

use serde_json::Value;

use super::Checker;
use crate::config::KeyPath;
use crate::config::screening::Screening;
use crate::config::types::Slug;

impl Checker<'_> {
    pub(super) fn screening(&mut self, document: &Value) {
        let Some(raw) = document.get("screening") else { return };
        let Ok(s) = serde_json::from_value::<Screening>(raw.clone()) else { return }; // schema errors
        let at = KeyPath::root().key("screening");
        let nowhere = Slug::try_from("screening".to_owned()).expect("a valid slug");
        let outcomes = [
            ("device", s.device.as_ref().and_then(|r| r.on_fail.as_ref())),
            ("webrtc", s.webrtc.as_ref().and_then(|r| r.on_fail.as_ref())),
            ("server_rtt", s.server_rtt.as_ref().and_then(|r| r.on_fail.as_ref())),
            ("monitor", s.monitor.as_ref().and_then(|r| r.on_fail.as_ref())),
        ];
        for (rule, outcome) in outcomes {
            if let Some(outcome) = outcome {
                self.outcome(&at.key(rule).key("on_fail"), outcome, &nowhere);
            }
        }
    }
}
