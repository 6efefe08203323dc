//! Semantic check of `relax`: steps that only ever raise the threshold, later and later,
//! in a scene that probes at all.

use super::Checker;
use crate::config::KeyPath;
use crate::config::multiplayer::MultiplayerScene;

impl Checker<'_> {
    pub(super) fn relax(&mut self, at: &KeyPath, m: &MultiplayerScene) {
        let Some(base) = m.max_p2p_rtt_ms else {
            if !m.relax.is_empty() {
                self.report(at.key("relax"), "`relax` raises `max_p2p_rtt_ms`, which this scene does not set");
            }
            return;
        };
        let (mut after, mut threshold) = (0.0, base);
        for (i, step) in m.relax.iter().enumerate() {
            let here = at.key("relax").index(i);
            if step.after_secs <= after {
                self.report(
                    here.key("after_secs"),
                    format!("steps must come later and later: {} s is not after {after} s", step.after_secs),
                );
            }
            if step.max_p2p_rtt_ms <= threshold {
                self.report(
                    here.key("max_p2p_rtt_ms"),
                    format!(
                        "each step must raise the threshold: {} ms is not above {threshold} ms",
                        step.max_p2p_rtt_ms
                    ),
                );
            }
            if step.after_secs >= m.waitroom.timeout_secs {
                self.report(
                    here.key("after_secs"),
                    format!(
                        "{} s is not before the waitroom timeout ({} s): the step would never apply",
                        step.after_secs, m.waitroom.timeout_secs
                    ),
                );
            }
            (after, threshold) = (step.after_secs.max(after), step.max_p2p_rtt_ms.max(threshold));
        }
    }
}
