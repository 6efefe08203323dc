//! Surveys as the host runs them: the order each participant sees randomized options
//! and items in (drawn and logged on entry), display logic (`show_if`) decided from
//! what the host knows with the rest left to the page, submissions checked against the
//! same rules, and comprehension checks graded attempt by attempt.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::Value;

use super::answers;
use super::state::{ConnId, State};
use crate::config::Scene;
use crate::config::show_if::{Facts, Residual, Source, ValueRef, shown_for};
use crate::config::survey::{Question, SurveyScene};
use crate::eventlog::Event;
use crate::protocol::{Answer, ErrorCode, OutcomeReason, ParticipantId, QuestionKind, SceneView, ServerMsg};

/// What a rule about one participant is decided over: their entry condition, their
/// earlier answers and results, and (while a submission is checked) the answers given
/// on the page to questions it showed.
struct Known<'a> {
    state: &'a State,
    pid: ParticipantId,
    page: Option<(&'a str, &'a BTreeMap<String, Answer>)>,
}

impl Facts for Known<'_> {
    fn in_condition(&self, key: &str) -> bool {
        self.state.condition_of(self.pid).is_some_and(|c| crate::config::by_condition::applies(key, c))
    }

    fn value(&self, of: &ValueRef) -> Option<Value> {
        let p = self.state.participants.get(&self.pid)?;
        match of.source() {
            source @ Source::Answer { scene, .. } => match self.page {
                Some((page, given)) if page == scene => source.in_answers(given),
                _ => source.in_answers(p.answers.get(scene)?),
            },
            Source::Result { scene, key } => {
                let result = p.results.get(scene)?;
                // A game that failed (`{error}`) has no result to compare.
                if result.get("error").is_some() {
                    return None;
                }
                result.get(key).cloned()
            }
        }
    }
}

impl State {
    /// What rules and piped values about `pid` are decided over.
    pub(super) fn facts_of(&self, pid: ParticipantId) -> impl Facts + '_ {
        self.facts(pid, None)
    }

    fn facts<'a>(&'a self, pid: ParticipantId, page: Option<(&'a str, &'a BTreeMap<String, Answer>)>) -> Known<'a> {
        Known { state: self, pid, page }
    }

    /// Whether `pid` is shown the scene at `index` (its `show_if`, over their condition,
    /// answers and results).
    pub(super) fn scene_shown(&self, pid: ParticipantId, index: usize) -> bool {
        shown_for(self.experiment.scenes[index].show_if(), &self.facts(pid, None))
    }

    /// `pid` enters the scene at `index`: a survey with randomized options or items
    /// draws their order (logged); a check starts counting tries anew; a multiplayer
    /// scene forgets the result of an earlier game there (repeated scenes).
    pub(super) fn on_scene_entered(&mut self, pid: ParticipantId, index: usize) {
        let iteration = self.iteration(pid);
        let scene = self.experiment.scenes[index].id().to_string();
        let Some(p) = self.participants.get_mut(&pid) else { return };
        p.survey.tries_here = 0;
        p.survey.wrong.clear();
        p.survey.orders = None;
        if matches!(self.experiment.scenes[index], Scene::Multiplayer(_)) {
            p.results.remove(&scene);
        }
        let Scene::Survey(survey) = &self.experiment.scenes[index] else { return };
        let mut orders: BTreeMap<String, Vec<String>> =
            survey.questions.iter().filter_map(|q| Some((q.id().to_string(), q.shuffled()?))).collect();
        if orders.is_empty() {
            return;
        }
        for order in orders.values_mut() {
            // Fisher–Yates with the state's seeded randomness.
            for i in (1..order.len()).rev() {
                let j = self.new_seed() as usize % (i + 1);
                order.swap(i, j);
            }
        }
        self.log(Event::OrderDrawn { participant: pid, scene, iteration, orders: orders.clone() });
        let p = self.participants.get_mut(&pid).expect("participant exists");
        p.survey.orders = Some((index, iteration, orders));
    }

    /// The last game result of `pid` in the scene at `index` (none: it ended without).
    pub(super) fn remember_result(&mut self, pid: ParticipantId, index: usize, result: Option<&Value>) {
        let scene = self.experiment.scenes[index].id().to_string();
        let Some(p) = self.participants.get_mut(&pid) else { return };
        match result {
            Some(r) => p.results.insert(scene, r.clone()),
            None => p.results.remove(&scene),
        };
    }

    /// The survey at `index` as `pid` sees it: without the questions their rules hide
    /// (the part of a rule about this page's answers is left for the page), options and
    /// items in their drawn order, and after a wrong attempt at a check, what was wrong.
    pub(super) fn survey_view(&self, pid: ParticipantId, index: usize, view: SceneView) -> SceneView {
        let Scene::Survey(survey) = &self.experiment.scenes[index] else { return view };
        let SceneView::Survey { id, title, questions, button, .. } = view else { return view };
        let p = &self.participants[&pid];
        let facts = self.facts(pid, None);
        let here = survey.id.as_str();
        let open = |v: &ValueRef| matches!(v.source(), Source::Answer { scene, .. } if scene == here);
        let orders = p.survey.orders.as_ref().filter(|(i, it, _)| *i == index && *it == self.iteration(pid));
        let questions = questions
            .into_iter()
            .filter_map(|mut q| {
                let config = survey.questions.iter().find(|c| c.id().as_str() == q.id)?;
                if let Some(rule) = config.show_if() {
                    match rule.residual(&facts, &open) {
                        Residual::Known(false) => return None,
                        Residual::Known(true) => {}
                        Residual::Open(rest) => q.show_if = Some(*rest),
                    }
                }
                if let Some(order) = orders.and_then(|(_, _, o)| o.get(&q.id)) {
                    reorder(&mut q.kind, order);
                }
                if p.survey.wrong.contains(&q.id) {
                    q.wrong = Some(config.feedback().unwrap_or_default().to_owned());
                }
                Some(q)
            })
            .collect();
        let try_again = (p.survey.tries_here > 0).then(|| survey.try_again.clone());
        SceneView::Survey { id, title, questions, button, try_again }
    }

    pub(super) fn on_submit(
        &mut self,
        pid: ParticipantId,
        conn: ConnId,
        (scene_id, iteration): (&str, Option<u32>),
        given: BTreeMap<String, Answer>,
        seq: Option<u64>,
        now: Duration,
    ) {
        let Some(index) = self.current_scene(pid, conn, (scene_id, iteration), seq) else {
            return;
        };
        let Scene::Survey(survey) = &self.experiment.scenes[index] else {
            let kind = self.experiment.scenes[index].kind();
            return self.refuse(conn, ErrorCode::InvalidState, format!("a `{kind}` scene takes no answers"), seq);
        };
        let survey = survey.clone();
        let (shown, kept, mut problems) = self.shown_on_submit(pid, &survey, &given);
        if let Err(more) = answers::validate(&shown, &kept) {
            problems.extend(more);
        }
        if !problems.is_empty() {
            let message = format!("{} answer(s) need attention", problems.len());
            return self
                .send(conn, ServerMsg::Error { code: ErrorCode::InvalidAnswers, message, seq, fields: problems });
        }
        let iteration = self.iteration(pid);
        let attempt = if survey.is_check() {
            let p = self.participants.get_mut(&pid).expect("participant exists");
            let n = p.survey.attempts.entry((scene_id.to_owned(), iteration)).or_insert(0);
            *n += 1;
            *n
        } else {
            1
        };
        let answers = kept.clone();
        self.log(Event::SurveyAnswered { participant: pid, scene: scene_id.to_owned(), answers, iteration, attempt });
        let p = self.participants.get_mut(&pid).expect("participant exists");
        p.answers.insert(scene_id.to_owned(), kept.clone());
        self.ack(conn, seq);
        if !survey.is_check() {
            return self.leave_scene(pid, index, now);
        }
        let wrong: Vec<String> = shown
            .iter()
            .filter(|q| q.correct().is_some_and(|c| !kept.get(q.id().as_str()).is_some_and(|a| a.matches(c))))
            .map(|q| q.id().to_string())
            .collect();
        let passed = wrong.is_empty();
        let scene = scene_id.to_owned();
        self.log(Event::CheckGraded { participant: pid, scene, iteration, attempt, passed, wrong: wrong.clone() });
        let p = self.participants.get_mut(&pid).expect("participant exists");
        if passed {
            return self.leave_scene(pid, index, now);
        }
        p.survey.tries_here += 1;
        p.survey.wrong = wrong;
        if p.survey.tries_here < survey.tries() {
            self.touched.push(pid);
            return self.show_scene(pid, index);
        }
        let back = survey.on_fail.as_ref().and_then(|o| o.goto.as_ref());
        let target = back.and_then(|g| self.experiment.scenes.iter().position(|s| s.id() == g));
        // Every round but a passed one uses all its tries: the rounds failed so far.
        let rounds_failed = attempt / survey.tries();
        match (target, survey.rounds) {
            (Some(_), Some(rounds)) if rounds_failed > rounds => {
                self.end_early(pid, index, OutcomeReason::FailedCheck, now)
            }
            (Some(target), _) => {
                self.log(Event::SceneLeft { participant: pid, scene: scene_id.to_owned(), index, iteration });
                self.enter_scene(pid, target, now);
            }
            (None, _) if survey.on_fail.is_some() => self.end_early(pid, index, OutcomeReason::FailedCheck, now),
            // No `on_fail`: they go on, and the data says they failed.
            (None, _) => self.leave_scene(pid, index, now),
        }
    }

    /// The questions `pid` was shown on submitting `given` (each question's rule over
    /// the answers to the shown questions before it), the answers to those, and a
    /// problem for each answer to a question they were not shown.
    fn shown_on_submit(
        &self,
        pid: ParticipantId,
        survey: &SurveyScene,
        given: &BTreeMap<String, Answer>,
    ) -> (Vec<Question>, BTreeMap<String, Answer>, BTreeMap<String, String>) {
        let (mut shown, mut kept, mut problems) = (Vec::new(), BTreeMap::new(), BTreeMap::new());
        for q in &survey.questions {
            let id = q.id().as_str();
            if shown_for(q.show_if(), &self.facts(pid, Some((survey.id.as_str(), &kept)))) {
                shown.push(q.clone());
                if let Some(a) = given.get(id) {
                    kept.insert(id.to_owned(), a.clone());
                }
            } else if given.get(id).is_some_and(|a| !a.is_blank()) {
                problems.insert(id.to_owned(), "this question is not shown to you".to_owned());
            }
        }
        for id in given.keys().filter(|id| !survey.questions.iter().any(|q| q.id().as_str() == id.as_str())) {
            problems.insert(id.clone(), "there is no such question".to_owned());
        }
        (shown, kept, problems)
    }
}

/// Puts a question's options (or a matrix's items) in `order`.
fn reorder(kind: &mut QuestionKind, order: &[String]) {
    let position = |x: &str| order.iter().position(|o| o == x).unwrap_or(usize::MAX);
    match kind {
        QuestionKind::SingleChoice { options }
        | QuestionKind::MultipleChoice { options, .. }
        | QuestionKind::Dropdown { options }
        | QuestionKind::Rank { options } => options.sort_by_key(|o| position(o)),
        QuestionKind::Matrix { items, .. } => items.sort_by_key(|i| position(&i.id)),
        _ => {}
    }
}
