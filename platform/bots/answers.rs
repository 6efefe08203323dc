//! What a bot answers a consent, instructions or survey scene: it agrees, continues,
//! and gives a valid random answer to each question (optional ones half of the time),
//! from its seeded generator.

use rand::Rng;
use rand::rngs::StdRng;
use rand::seq::{IndexedRandom, SliceRandom};

use crate::protocol::{Answer, ClientMsg, QuestionKind, QuestionView, SceneView};

/// The bot's step on a consent, instructions or survey scene.
pub fn reply(rng: &mut StdRng, scene: SceneView, iteration: Option<u32>) -> ClientMsg {
    match scene {
        SceneView::Survey { id, questions, .. } => {
            // As a page does: a question whose rule does not hold over the answers
            // given above it is hidden, and not answered.
            let mut answers = std::collections::BTreeMap::new();
            for q in &questions {
                let shown = q.show_if.as_ref().is_none_or(|rule| rule.holds(&Page { scene: &id, answers: &answers }));
                if let Some((question, answer)) = shown.then(|| random(rng, q)).flatten() {
                    answers.insert(question, answer);
                }
            }
            ClientMsg::Submit { scene: id, answers, iteration, seq: None }
        }
        SceneView::Consent { id, .. } | SceneView::Instructions { id, .. } => {
            ClientMsg::Advance { scene: id, agreed: true, iteration, seq: None }
        }
        SceneView::Multiplayer { id, .. } | SceneView::End { id, .. } => {
            unreachable!("scene {id}: waiting and the end are the bot's own")
        }
    }
}

/// A valid random answer to `q`; optional questions are answered half of the time.
pub fn random(rng: &mut StdRng, q: &QuestionView) -> Option<(String, Answer)> {
    if !q.required && rng.random_bool(0.5) {
        return None;
    }
    let answer = match &q.kind {
        QuestionKind::Text { max_length, .. } => {
            let text = "an answer from a cohort bot";
            Answer::Text(text.chars().take((*max_length as usize).max(1)).collect())
        }
        QuestionKind::SingleChoice { options } | QuestionKind::Dropdown { options } => {
            Answer::Text(options.choose(rng)?.clone())
        }
        QuestionKind::MultipleChoice { options, min_selected, max_selected } => {
            let most = max_selected.map_or(options.len(), |m| m as usize).min(options.len());
            let least = (*min_selected as usize).max(usize::from(q.required)).min(most);
            let k = rng.random_range(least..=most);
            Answer::Choices(options.choose_multiple(rng, k).cloned().collect())
        }
        QuestionKind::Rank { options } => {
            let mut order = options.clone();
            order.shuffle(rng);
            Answer::Choices(order)
        }
        QuestionKind::Likert { points, .. } => Answer::Integer(rng.random_range(1..=i64::from(*points))),
        QuestionKind::Matrix { items, points, .. } => Answer::Ratings(
            items.iter().map(|item| (item.id.clone(), rng.random_range(1..=i64::from(*points)))).collect(),
        ),
        QuestionKind::Number { min, max, decimals, .. } => {
            let lo = min.unwrap_or(0.0);
            let hi = max.unwrap_or(lo + 100.0).max(lo);
            let scale = 10f64.powi(i32::from(*decimals));
            let x = ((lo + rng.random::<f64>() * (hi - lo)) * scale).floor() / scale;
            number(x.clamp(lo, hi), *decimals)
        }
        QuestionKind::Slider { min, max, step, .. } => {
            let positions = ((max - min) / step).floor().max(0.0) as u64;
            let x = min + rng.random_range(0..=positions) as f64 * step;
            number(x, if step.fract() == 0.0 && min.fract() == 0.0 { 0 } else { 6 })
        }
    };
    Some((q.id.clone(), answer))
}

/// `x` as an answer: whole when it has no decimals to give.
fn number(x: f64, decimals: u8) -> Answer {
    if decimals == 0 || x.fract() == 0.0 { Answer::Integer(x.round() as i64) } else { Answer::Decimal(x) }
}

/// The answers given on a survey page so far, as its questions' rules see them.
struct Page<'a> {
    scene: &'a str,
    answers: &'a std::collections::BTreeMap<String, Answer>,
}

impl crate::config::show_if::Facts for Page<'_> {
    fn in_condition(&self, _: &str) -> bool {
        false // decided by the host, never sent to pages
    }

    fn value(&self, of: &crate::config::show_if::ValueRef) -> Option<serde_json::Value> {
        match of.source() {
            source @ crate::config::show_if::Source::Answer { scene, .. } if scene == self.scene => {
                source.in_answers(self.answers)
            }
            _ => None,
        }
    }
}
