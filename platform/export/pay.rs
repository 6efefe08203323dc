//! What each session is paid, as the export's `payments` table says: the base pay of
//! the outcome it reached (`recruitment.pay`) and the bonus (`recruitment.bonus`), for
//! every session that finished, was shown a completion code, or is paid anything.

use std::collections::{BTreeMap, HashMap};

use super::tables::{GameRow, Person, secs};
use crate::config::model::Bonus;
use crate::config::pay::Pay;
use crate::protocol::{GameId, ParticipantId};

/// Each participant's bonus number (`bonus.from`), and how many game results lacked it.
pub(super) struct Bonuses<'a> {
    rule: Option<&'a Bonus>,
    numbers: HashMap<ParticipantId, f64>,
    /// Results of the bonus's scene without a number under its key.
    pub(super) missing: usize,
}

impl<'a> Bonuses<'a> {
    /// From the games' results (summed over a participant's games in the scene) or the
    /// survey answers (a participant's last answer to the question).
    pub(super) fn of(
        rule: Option<&'a Bonus>,
        games: &BTreeMap<GameId, GameRow>,
        answered: &[(ParticipantId, String, String, Option<f64>)],
    ) -> Self {
        let mut out = Self { rule, numbers: HashMap::new(), missing: 0 };
        let Some(b) = rule else { return out };
        let (scene, key) = b.source();
        for g in games.values().filter(|g| g.scene == scene) {
            for (who, result) in &g.results {
                let Ok(who) = who.parse::<uuid::Uuid>() else { continue };
                match b.points_in(&g.scene, result) {
                    Some(v) => *out.numbers.entry(ParticipantId(who)).or_default() += v,
                    None => out.missing += 1,
                }
            }
        }
        for (who, s, q, answer) in answered {
            if s == scene
                && q == key
                && let Some(v) = answer
            {
                out.numbers.insert(*who, *v);
            }
        }
        out
    }

    /// `who`'s bonus: their number times `per_unit`, between 0 and `max`.
    pub(super) fn of_participant(&self, who: &ParticipantId) -> f64 {
        self.rule.map_or(0.0, |b| b.amount(self.numbers.get(who).copied().unwrap_or(0.0)))
    }
}

/// The `payments` row of one session, if it is paid or was shown a code: finished, an
/// early outcome with a completion code, or any outcome `recruitment.pay` pays.
pub(super) fn payment_row(id: &ParticipantId, p: &Person, pay: &Pay, bonuses: &Bonuses) -> Option<Vec<String>> {
    let base = pay.base(&p.outcome);
    let ended = p.outcome != "in_progress";
    if !ended || (p.outcome != "finished" && p.completion_code.is_empty() && base == 0.0) {
        return None;
    }
    let bonus = bonuses.of_participant(id);
    Some(vec![
        p.recruitment_id.clone(),
        id.to_string(),
        p.study_id.clone(),
        p.session_id.clone(),
        p.outcome.clone(),
        p.completion_code.clone(),
        format!("{base:.2}"),
        format!("{bonus:.2}"),
        format!("{:.2}", base + bonus),
        p.spent_secs().map(secs).unwrap_or_default(),
        secs(p.wait_secs()),
    ])
}
