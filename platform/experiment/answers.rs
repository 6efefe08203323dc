//! Server-side validation of survey answers: the browser validates too, but only this
//! check counts.

use std::collections::BTreeMap;

use crate::config::survey::Question;
use crate::protocol::Answer;

/// Checks `given` against `questions`; on failure, question id → reason for every bad
/// or missing answer (and every unknown question id).
pub fn validate(questions: &[Question], given: &BTreeMap<String, Answer>) -> Result<(), BTreeMap<String, String>> {
    let mut problems = BTreeMap::new();
    for id in given.keys() {
        if !questions.iter().any(|q| q.id().as_str() == id) {
            problems.insert(id.clone(), "there is no such question".to_owned());
        }
    }
    for q in questions {
        let id = q.id().as_str();
        let answer = given.get(id).filter(|a| !is_blank(a));
        let problem = match answer {
            None if q.required() => Some("this question needs an answer".to_owned()),
            None => None,
            Some(answer) => check(q, answer).err(),
        };
        if let Some(p) = problem {
            problems.insert(id.to_owned(), p);
        }
    }
    if problems.is_empty() { Ok(()) } else { Err(problems) }
}

/// An empty text or an empty selection counts as no answer.
fn is_blank(answer: &Answer) -> bool {
    match answer {
        Answer::Text(t) => t.trim().is_empty(),
        Answer::Choices(c) => c.is_empty(),
        Answer::Rating(_) => false,
    }
}

fn check(question: &Question, answer: &Answer) -> Result<(), String> {
    match (question, answer) {
        (Question::Text(q), Answer::Text(t)) => {
            let n = t.chars().count();
            if n > q.max_length as usize {
                return Err(format!("at most {} characters (this has {n})", q.max_length));
            }
            Ok(())
        }
        (Question::SingleChoice(q), Answer::Text(choice)) => {
            if q.options.contains(choice) {
                Ok(())
            } else {
                Err("not one of the options".to_owned())
            }
        }
        (Question::MultipleChoice(q), Answer::Choices(choices)) => {
            if let Some(bad) = choices.iter().find(|c| !q.options.contains(c)) {
                return Err(format!("`{bad}` is not one of the options"));
            }
            if choices.iter().enumerate().any(|(i, c)| choices[..i].contains(c)) {
                return Err("an option is chosen twice".to_owned());
            }
            let n = choices.len() as u32;
            if n < q.min_selected {
                return Err(format!("choose at least {}", q.min_selected));
            }
            match q.max_selected {
                Some(max) if n > max => Err(format!("choose at most {max}")),
                _ => Ok(()),
            }
        }
        (Question::Likert(q), Answer::Rating(r)) => {
            if (1..=i64::from(q.points)).contains(r) {
                Ok(())
            } else {
                Err(format!("a rating from 1 to {}", q.points))
            }
        }
        (Question::Text(_), _) | (Question::SingleChoice(_), _) => Err("expected text".to_owned()),
        (Question::MultipleChoice(_), _) => Err("expected a list of options".to_owned()),
        (Question::Likert(_), _) => Err("expected a whole-number rating".to_owned()),
    }
}
