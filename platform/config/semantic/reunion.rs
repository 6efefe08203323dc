//! Semantic check of `reunion`: an earlier experiment other than this one, and a wait
//! for earlier partners shorter than the waitroom's.

use super::Checker;
use crate::config::KeyPath;
use crate::config::multiplayer::MultiplayerScene;

impl Checker<'_> {
    pub(super) fn reunion(&mut self, at: &KeyPath, m: &MultiplayerScene, own_id: Option<&str>) {
        let Some(r) = &m.reunion else { return };
        if Some(r.from.as_str()) == own_id {
            self.report(
                at.key("reunion").key("from"),
                "an experiment cannot reunite its own groups: name the earlier one",
            );
        }
        if r.timeout_secs >= m.waitroom.timeout_secs {
            self.report(
                at.key("reunion").key("timeout_secs"),
                format!(
                    "{} s is not before the waitroom timeout ({} s): nobody would be matched after waiting for their partners",
                    r.timeout_secs, m.waitroom.timeout_secs
                ),
            );
        }
    }
}
