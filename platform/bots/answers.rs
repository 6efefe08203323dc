//! What a bot answers a consent, instructions or survey scene: it agrees, continues,
//! and gives a valid random answer to each question (optional ones half of the time),
//! from its seeded generator.

use rand::Rng;
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;

use crate::protocol::{Answer, ClientMsg, QuestionView, SceneView};

/// The bot's step on a consent, instructions or survey scene.
pub fn reply(rng: &mut StdRng, scene: SceneView, iteration: Option<u32>) -> ClientMsg {
    match scene {
        SceneView::Survey { id, questions, .. } => {
            let answers = questions.iter().filter_map(|q| random(rng, q)).collect();
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
    let (id, required) = match q {
        QuestionView::Text { id, required, .. }
        | QuestionView::SingleChoice { id, required, .. }
        | QuestionView::MultipleChoice { id, required, .. }
        | QuestionView::Likert { id, required, .. } => (id.clone(), *required),
    };
    if !required && rng.random_bool(0.5) {
        return None;
    }
    let answer = match q {
        QuestionView::Text { max_length, .. } => {
            let text = "an answer from a cohort bot";
            Answer::Text(text.chars().take((*max_length as usize).max(1)).collect())
        }
        QuestionView::SingleChoice { options, .. } => Answer::Text(options.choose(rng)?.clone()),
        QuestionView::MultipleChoice { options, min_selected, max_selected, .. } => {
            let most = max_selected.map_or(options.len(), |m| m as usize).min(options.len());
            let least = (*min_selected as usize).max(usize::from(required)).min(most);
            let k = rng.random_range(least..=most);
            Answer::Choices(options.choose_multiple(rng, k).cloned().collect())
        }
        QuestionView::Likert { points, .. } => Answer::Rating(rng.random_range(1..=i64::from(*points))),
    };
    Some((id, answer))
}
