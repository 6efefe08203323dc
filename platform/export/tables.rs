//! Folding an experiment's events, run after run, into the exported tables. A
//! participant keeps their id across runs (a restarted host recognises them), so rows
//! join by `participant`. The columns are documented in `docs/data.md`.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::Value;

use super::Options;
use super::csv::Table;
use super::rows::{cached_probe_row, game_row, ids, iso, probe_row, redact};
use crate::config::model::Recruitment;
use crate::eventlog::{Event, Members, Record};
use crate::protocol::{Answer, GameId, ParticipantId};

/// Every exported table of one experiment.
pub struct Tables {
    pub participants: Table,
    pub answers: Table,
    /// One row per attempt at a comprehension or attention check.
    pub checks: Table,
    /// One row per line of a group's chat.
    pub chat: Table,
    pub matches: Table,
    pub probes: Table,
    pub games: Table,
    pub game_inputs: Table,
    pub events: Table,
    pub payments: Table,
    /// Game results (of the bonus's scene) that lacked the bonus's key or held no
    /// number there: those players' bonus counts nothing from them.
    pub bonus_missing: usize,
    /// Pilot and bot sessions left out (without `--include-pilot`).
    pub pilots_left_out: usize,
}

#[derive(Default)]
pub(super) struct Person {
    pub(super) recruitment_id: String,
    /// The panel's study and submission ids (`recruitment.study_param`,
    /// `session_param`), when the link carried them.
    pub(super) study_id: String,
    pub(super) session_id: String,
    pub(super) pilot: bool,
    pub(super) run: String,
    pub(super) started: u64,
    pub(super) ended: Option<u64>,
    pub(super) outcome: String,
    pub(super) completion_code: String,
    pub(super) waited_ms: u64,
    pub(super) joined: Option<u64>,
    pub(super) games: u32,
    pub(super) partners: BTreeSet<ParticipantId>,
    pub(super) answers: u32,
    /// The entry condition's name.
    pub(super) condition: String,
}

#[derive(Default)]
pub(super) struct GameRow {
    pub(super) run: String,
    pub(super) scene: String,
    pub(super) players: Vec<ParticipantId>,
    pub(super) created: u64,
    pub(super) started: Option<u64>,
    pub(super) ended: Option<u64>,
    pub(super) reason: String,
    pub(super) setup: Value,
    pub(super) relay_from: Option<u64>,
    pub(super) seat_changes: Vec<Value>,
    pub(super) results: BTreeMap<String, Value>,
    /// The group condition's name.
    pub(super) condition: String,
}

impl Tables {
    pub fn all(&self) -> [&Table; 10] {
        [
            &self.participants,
            &self.answers,
            &self.checks,
            &self.chat,
            &self.matches,
            &self.probes,
            &self.games,
            &self.game_inputs,
            &self.events,
            &self.payments,
        ]
    }

    /// (recruitment id, bonus) of every payment with a bonus above zero.
    pub fn bonuses(&self) -> impl Iterator<Item = (&str, f64)> {
        let bonus = self.payments.column("bonus").expect("payments has a bonus column");
        self.payments.rows().filter_map(move |r| {
            let amount: f64 = r[bonus].parse().ok()?;
            (amount > 0.0 && !r[0].is_empty()).then_some((r[0].as_str(), amount))
        })
    }

    pub fn build(runs: &[(String, Vec<Record>)], opts: &Options, recruitment: &Recruitment) -> Self {
        let mut people = people(runs, opts, recruitment);
        let pilots: BTreeSet<ParticipantId> = people.iter().filter(|(_, p)| p.pilot).map(|(id, _)| *id).collect();
        let skip = |p: &ParticipantId| !opts.include_pilot && pilots.contains(p);
        let mut t = super::rows::empty_tables();
        t.pilots_left_out = if opts.include_pilot { 0 } else { pilots.len() };
        let mut games: BTreeMap<GameId, GameRow> = BTreeMap::new();
        let mut inputs_rows = Vec::new();
        let mut answered: Vec<(ParticipantId, String, String, Option<f64>)> = Vec::new();
        let mut decided: Vec<(Vec<String>, Vec<ParticipantId>)> = Vec::new();
        let mut match_rows: HashMap<String, usize> = HashMap::new();
        // Who each game, group and probe concerns: an event is left out when every
        // participant it concerns is a pilot or a bot, whatever its shape.
        let mut members = Members::default();
        for (run, records) in runs {
            for r in records {
                let ts = r.ts_ms;
                let concerned = members.concerned(&r.event);
                if !concerned.is_empty() && concerned.iter().all(skip) {
                    continue;
                }
                let about = r.event.participants().first().copied().filter(|_| r.event.participants().len() == 1);
                let exported = redact(r, &people, &recruitment.session_param);
                let line = serde_json::to_value(&exported).unwrap_or_default();
                t.events.row(vec![
                    run.clone(),
                    r.seq.to_string(),
                    ts.to_string(),
                    line.get("event").and_then(Value::as_str).unwrap_or_default().to_owned(),
                    about.map(|p| p.to_string()).unwrap_or_default(),
                    line.to_string(),
                ]);
                match &r.event {
                    Event::WaitroomJoined { participant, .. } => {
                        if let Some(p) = people.get_mut(participant) {
                            p.joined = Some(ts);
                        }
                    }
                    Event::WaitroomLeft { participant, .. } => {
                        if let Some(p) = people.get_mut(participant)
                            && let Some(j) = p.joined.take()
                        {
                            p.waited_ms += ts.saturating_sub(j);
                        }
                    }
                    Event::Outcome { participant, reason, completion_code, .. } => {
                        if let Some(p) = people.get_mut(participant) {
                            let reason = serde_json::to_value(reason).ok();
                            p.outcome = reason.and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
                            p.completion_code = completion_code.clone().unwrap_or_default();
                            p.ended = Some(ts);
                        }
                    }
                    Event::Finished { participant, completion_code, .. } => {
                        if let Some(p) = people.get_mut(participant) {
                            (p.outcome, p.ended) = ("finished".into(), Some(ts));
                            p.completion_code = completion_code.clone().unwrap_or_default();
                        }
                    }
                    Event::SurveyAnswered { participant, scene, answers, iteration, attempt } => {
                        let rid = people.get(participant).map(|p| p.recruitment_id.clone()).unwrap_or_default();
                        if let Some(p) = people.get_mut(participant) {
                            p.answers += answers.len() as u32;
                        }
                        for (question, answer) in answers {
                            let number = answer.number();
                            answered.push((*participant, scene.clone(), question.clone(), number));
                            // A matrix: one row per item, its point the answer.
                            let cells: Vec<(String, String)> = match answer {
                                Answer::Ratings(points) => {
                                    points.iter().map(|(item, p)| (item.clone(), p.to_string())).collect()
                                }
                                other => vec![(String::new(), other.cell())],
                            };
                            for (item, cell) in cells {
                                t.answers.row(vec![
                                    participant.to_string(),
                                    rid.clone(),
                                    run.clone(),
                                    scene.clone(),
                                    question.clone(),
                                    item,
                                    cell,
                                    iso(ts),
                                    iteration.to_string(),
                                    attempt.to_string(),
                                ]);
                            }
                        }
                    }
                    Event::ChatSent { game, participant, slot, scene, text } => {
                        t.chat.row(vec![
                            game.0.to_string(),
                            run.clone(),
                            scene.clone(),
                            participant.to_string(),
                            slot.to_string(),
                            iso(ts),
                            text.clone(),
                        ]);
                    }
                    Event::CheckGraded { participant, scene, iteration, attempt, passed, wrong } => {
                        let rid = people.get(participant).map(|p| p.recruitment_id.clone()).unwrap_or_default();
                        t.checks.row(vec![
                            participant.to_string(),
                            rid,
                            run.clone(),
                            scene.clone(),
                            iteration.to_string(),
                            attempt.to_string(),
                            passed.to_string(),
                            wrong.join(" "),
                            iso(ts),
                        ]);
                    }
                    Event::MatchDecided { scene, policy, arriving, members, fallback } => {
                        let row = vec![
                            String::new(),
                            run.clone(),
                            scene.clone(),
                            iso(ts),
                            policy.clone(),
                            fallback.to_string(),
                            arriving.to_string(),
                            ids(members),
                            "false".into(),
                            String::new(),
                            String::new(),
                        ];
                        decided.push((row, members.clone()));
                    }
                    Event::MatchProposed { r#match, members, .. } => {
                        if let Some(i) = decided.iter().rposition(|(row, m)| m == members && row[0].is_empty()) {
                            decided[i].0[0] = r#match.to_string();
                            decided[i].0[8] = "true".into();
                            match_rows.insert(r#match.to_string(), i);
                        }
                    }
                    Event::MatchResolved { r#match, accepted } => {
                        if let Some(i) = match_rows.get(&r#match.to_string()) {
                            decided[*i].0[9] = accepted.to_string();
                        }
                    }
                    Event::ProbeFinished { .. } => t.probes.row(probe_row(run, &line, ts)),
                    Event::ConditionAssigned { participant, condition } => {
                        if let Some(p) = people.get_mut(participant) {
                            p.condition = condition["id"].as_str().unwrap_or_default().to_owned();
                        }
                    }
                    Event::GroupConditionAssigned { game, condition } => {
                        if let Some(g) = games.get_mut(game) {
                            g.condition = condition["id"].as_str().unwrap_or_default().to_owned();
                        }
                    }
                    Event::ProbeCached { .. } => t.probes.row(cached_probe_row(run, &line, ts)),
                    Event::GameCreated { game, scene, players } => {
                        for p in players {
                            if let Some(person) = people.get_mut(p) {
                                person.games += 1;
                                person.partners.extend(players.iter().filter(|o| *o != p));
                            }
                        }
                        if let Some(i) = decided.iter().rposition(|(row, m)| m == players && row[10].is_empty()) {
                            decided[i].0[10] = game.0.to_string();
                            if decided[i].0[9].is_empty() {
                                decided[i].0[9] = "true".into();
                            }
                        }
                        let row = GameRow {
                            run: run.clone(),
                            scene: scene.clone(),
                            players: players.clone(),
                            created: ts,
                            ..GameRow::default()
                        };
                        games.insert(*game, row);
                    }
                    Event::GameStarted { game, relay, .. } => {
                        if let Some(g) = games.get_mut(game) {
                            g.started = Some(ts);
                            g.setup = line.clone();
                            if *relay {
                                g.relay_from = Some(0); // on the relay from the start
                            }
                        }
                    }
                    Event::GameRelay { game, need, .. } => {
                        if let Some(g) = games.get_mut(game) {
                            g.relay_from.get_or_insert(*need);
                        }
                    }
                    Event::SeatChanged { game, .. } => {
                        if let Some(g) = games.get_mut(game) {
                            g.seat_changes.push(line.clone());
                        }
                    }
                    Event::GameCompleted { game, participant, result, .. } => {
                        if let Some(g) = games.get_mut(game) {
                            g.results.insert(participant.to_string(), result.clone().unwrap_or(Value::Null));
                        }
                    }
                    Event::GameEnded { game, reason } => {
                        if let Some(g) = games.get_mut(game) {
                            (g.ended, g.reason) = (Some(ts), reason.as_str().to_owned());
                        }
                    }
                    Event::GameInputs { game, participant, slot, from, inputs, relayed, .. } => {
                        for (i, input) in inputs.iter().enumerate() {
                            let tick = from + i as u64;
                            let row = vec![
                                game.0.to_string(),
                                participant.to_string(),
                                slot.to_string(),
                                tick.to_string(),
                                input.to_string(),
                                relayed.to_string(),
                            ];
                            inputs_rows.push(row);
                        }
                    }
                    _ => {}
                }
            }
        }
        for (row, _) in decided {
            t.matches.row(row);
        }
        for row in inputs_rows {
            t.game_inputs.row(row);
        }
        for (id, g) in &games {
            if !opts.include_pilot && g.players.iter().all(skip) {
                continue;
            }
            // The players' entry conditions, slot by slot (the `condition` column is
            // the group's).
            let entry: Vec<&str> =
                g.players.iter().map(|p| people.get(p).map_or("", |x| x.condition.as_str())).collect();
            t.games.row(game_row(id, g, entry.join(" ")));
        }
        let bonuses = super::pay::Bonuses::of(recruitment.bonus.as_ref(), &games, &answered);
        t.bonus_missing = bonuses.missing;
        for (id, p) in &people {
            if skip(id) {
                continue;
            }
            if let Some(row) = super::pay::payment_row(id, p, &recruitment.pay, &bonuses) {
                t.payments.row(row);
            }
            let partners: Vec<ParticipantId> = p.partners.iter().copied().collect();
            t.participants.row(vec![
                id.to_string(),
                p.recruitment_id.clone(),
                p.study_id.clone(),
                p.session_id.clone(),
                p.pilot.to_string(),
                p.run.clone(),
                iso(p.started),
                p.ended.map(iso).unwrap_or_default(),
                p.outcome.clone(),
                p.completion_code.clone(),
                p.spent_secs().map(secs).unwrap_or_default(),
                secs(p.wait_secs()),
                p.games.to_string(),
                ids(&partners),
                p.answers.to_string(),
                p.condition.clone(),
            ]);
        }
        t
    }
}

/// Seconds as exported (three decimals).
pub(super) fn secs(s: f64) -> String {
    format!("{s:.3}")
}

impl Person {
    /// Time spent: from the session's start to the end of their part (finished or an
    /// early outcome); none while in progress.
    pub(super) fn spent_secs(&self) -> Option<f64> {
        self.ended.map(|end| end.saturating_sub(self.started) as f64 / 1000.0)
    }

    /// Time waited: every stay in a waitroom, from joining it to leaving it.
    pub(super) fn wait_secs(&self) -> f64 {
        self.waited_ms as f64 / 1000.0
    }
}

/// First pass: every session, whether it is a pilot or bot session, and its
/// (pseudonymised) recruitment id.
fn people(
    runs: &[(String, Vec<Record>)],
    opts: &Options,
    recruitment: &Recruitment,
) -> BTreeMap<ParticipantId, Person> {
    let mut people: BTreeMap<ParticipantId, Person> = BTreeMap::new();
    for (run, records) in runs {
        for r in records {
            if let Event::SessionStarted { participant, recruitment_id, params, .. } = &r.event {
                let flag = |k: &str| params.get(k).is_some_and(|v| v == "1" || v.eq_ignore_ascii_case("true"));
                // Ids from the panel are pseudonymized alike (the same key, the same
                // pseudonyms): the panel's submission id leads to the person too.
                let pseudonymized = |id: String| match (&opts.pseudonym_key, id.is_empty()) {
                    (Some(key), false) => super::pseudonym(key, &id),
                    _ => id,
                };
                let param = |name: &str| params.get(name).cloned().unwrap_or_default();
                let person = Person {
                    recruitment_id: pseudonymized(recruitment_id.clone().unwrap_or_default()),
                    study_id: param(&recruitment.study_param),
                    session_id: pseudonymized(param(&recruitment.session_param)),
                    pilot: flag("cohort_bot") || flag("pilot"),
                    run: run.clone(),
                    started: r.ts_ms,
                    outcome: "in_progress".into(),
                    ..Person::default()
                };
                people.entry(*participant).or_insert(person);
            }
        }
    }
    people
}
