//! What participants are told of their pay: `{pay}` (the base pay of the outcome they
//! reached, `recruitment.pay`) and `{bonus}` (`recruitment.bonus` of what they did so
//! far) in end pages and outcome messages, computed as the export computes them.

use super::state::State;
use crate::protocol::ParticipantId;

impl State {
    /// A player's copy of a game in `scene` ended with `result`: what it holds under
    /// the bonus's key counts towards their bonus (as the export sums it).
    pub(super) fn count_bonus(&mut self, pid: ParticipantId, scene: usize, result: Option<&serde_json::Value>) {
        let Some(bonus) = &self.experiment.recruitment.bonus else { return };
        let points = result.and_then(|r| bonus.points_in(self.experiment.scenes[scene].id().as_str(), r));
        if let (Some(points), Some(p)) = (points, self.participants.get_mut(&pid)) {
            p.bonus_points += points;
        }
    }

    /// `text` with `{pay}` (the base pay of `outcome`: `finished` or an outcome
    /// reason's name) and `{bonus}` filled in for `pid`, two decimals each.
    pub(super) fn fill_pay(&self, text: &str, pid: ParticipantId, outcome: &str) -> String {
        if !text.contains("{pay}") && !text.contains("{bonus}") {
            return text.to_owned();
        }
        let recruitment = &self.experiment.recruitment;
        let bonus = recruitment.bonus.as_ref().map_or(0.0, |b| b.amount(self.bonus_points(pid)));
        text.replace("{pay}", &format!("{:.2}", recruitment.pay.base(outcome)))
            .replace("{bonus}", &format!("{bonus:.2}"))
    }

    /// The number the bonus is computed from: the games' sum, or the survey answer.
    fn bonus_points(&self, pid: ParticipantId) -> f64 {
        let Some(p) = self.participants.get(&pid) else { return 0.0 };
        let Some(bonus) = &self.experiment.recruitment.bonus else { return 0.0 };
        let (scene, key) = bonus.source();
        match p.answers.get(scene).and_then(|a| a.get(key)) {
            Some(answer) => answer.number().unwrap_or(0.0),
            None => p.bonus_points,
        }
    }
}
