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
        let answer = given.get(id).filter(|a| !a.is_blank());
        let problem = match answer {
            None if q.required() => Some("this question needs an answer".to_owned()),
            None => None,
            Some(answer) => q.check(answer).err(),
        };
        if let Some(p) = problem {
            problems.insert(id.to_owned(), p);
        }
    }
    if problems.is_empty() { Ok(()) } else { Err(problems) }
}
