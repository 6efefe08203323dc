//! Conditions: balanced by completions (a dropout frees its slot), quotas with their
//! outcome, group conditions, what policies and games see, and counts that survive a
//! restart.

use std::collections::BTreeMap;

use rand::{Rng, SeedableRng};

use super::{Harness, PAIR, secs};
use crate::eventlog::Event;
use crate::experiment::state::Place;
use crate::protocol::{Answer, ClientMsg, OutcomeReason, ParticipantId, ServerMsg};

/// Instructions, then the end: advancing completes; going away for more than
/// `max_duration_secs` drops out.
const SOLO: &str = r#"
id: c
title: C
session: {reconnect_grace_secs: 1, max_duration_secs: 30}
conditions:
  entry:
    factors:
      - {name: framing, levels: [gain, loss]}
      - {name: feedback, levels: [none, score]}
scenes:
  - id: intro
    kind: instructions
    body: Hello.
  - id: end
    kind: end
"#;

fn condition_of(h: &Harness, pid: ParticipantId) -> Option<String> {
    h.log.iter().find_map(|(_, e)| match e {
        Event::ConditionAssigned { participant, condition } if *participant == pid => {
            condition["id"].as_str().map(str::to_owned)
        }
        _ => None,
    })
}

fn complete(h: &mut Harness, pid: ParticipantId) {
    h.send(pid, ClientMsg::Advance { scene: "intro".into(), agreed: false, iteration: None, seq: None });
    assert!(matches!(h.place(pid), Place::Finished(_)));
}

#[test]
fn completions_stay_balanced_when_a_third_drop_out_at_random() {
    // 90 participants arrive one after another; 30 % of them drop out (away past the
    // session's limit) at random while others keep arriving. Completions per condition
    // differ by at most one.
    let mut h = Harness::new(SOLO);
    let mut rng = rand::rngs::StdRng::seed_from_u64(15);
    let mut active: Vec<ParticipantId> = Vec::new();
    let mut completions: BTreeMap<String, u32> = BTreeMap::new();
    for _ in 0..90 {
        let p = h.arrive();
        active.push(p);
        // Someone in progress either completes, drops out, or stays a while.
        if active.len() > 3 {
            let who = active.remove(rng.random_range(0..active.len()));
            if rng.random_bool(0.3) {
                h.disconnect(who);
                h.wait(secs(31));
                assert!(matches!(h.place(who), Place::Over(_, OutcomeReason::Expired)));
            } else {
                complete(&mut h, who);
                *completions.entry(condition_of(&h, who).unwrap()).or_default() += 1;
            }
        }
    }
    for who in active {
        complete(&mut h, who);
        *completions.entry(condition_of(&h, who).unwrap()).or_default() += 1;
    }
    assert_eq!(completions.len(), 4, "every combination of the factors is used: {completions:?}");
    let (min, max) = (completions.values().min().unwrap(), completions.values().max().unwrap());
    assert!(max - min <= 1, "completions per condition: {completions:?}");
    assert!(completions.values().sum::<u32>() < 90, "some dropped out");
}

#[test]
fn a_full_condition_is_not_assigned_and_when_all_are_full_the_outcome_applies() {
    let yaml = SOLO.replace(
        "    factors:\n      - {name: framing, levels: [gain, loss]}\n      - {name: feedback, levels: [none, score]}",
        "    list: [a, b]\n    quotas: {a: 1, b: 1}\n    on_full: {message: Full., completion_code: FULL1}",
    );
    let mut h = Harness::new(&yaml);
    let (p, q) = (h.arrive(), h.arrive());
    let mut two = [condition_of(&h, p).unwrap(), condition_of(&h, q).unwrap()];
    two.sort();
    assert_eq!(two, ["a", "b"]);
    let r = h.arrive_as("late");
    assert_eq!(h.place(r), Place::Over(0, OutcomeReason::ConditionFull));
    assert!(h.sent(r).iter().any(|m| matches!(m, ServerMsg::Outcome { reason: OutcomeReason::ConditionFull, .. })));
    // p drops out: their slot is free again; q completes and keeps theirs.
    h.disconnect(p);
    h.wait(secs(31));
    complete(&mut h, q);
    let s = h.arrive();
    assert_eq!(condition_of(&h, s), condition_of(&h, p), "the freed slot");
    let t = h.arrive();
    assert_eq!(h.place(t), Place::Over(0, OutcomeReason::ConditionFull));
}

#[test]
fn policies_see_the_entry_condition_and_games_get_both_conditions() {
    // Across conditions: the pair holds one of each, and the game learns both.
    let yaml = PAIR.replace("    max_p2p_rtt_ms: 80\n", "").replace(
        "scenes:",
        "conditions:\n  entry: {list: [red, blue], match: across}\n  group: {factors: [{name: label, levels: [human, ai]}]}\nscenes:",
    );
    let mut h = Harness::new(&yaml);
    let a = h.arrive();
    let seen = h.state.rooms.values().find_map(|r| r.entries.get(&a)).unwrap().candidate.attributes.clone();
    assert_eq!(seen.get("condition"), condition_of(&h, a).as_ref());
    let b = h.arrive();
    let game = h.game_of(a).expect("a pair plays");
    let config = h
        .log
        .iter()
        .find_map(|(_, e)| match e {
            Event::GameStarted { game: g, config, .. } if *g == game => Some(config.clone()),
            _ => None,
        })
        .unwrap();
    let group = h.log.iter().find_map(|(_, e)| match e {
        Event::GroupConditionAssigned { game: g, condition } if *g == game => Some(condition.clone()),
        _ => None,
    });
    assert_eq!(Some(config["conditions"]["group"].clone()), group);
    assert!(["human", "ai"].contains(&config["conditions"]["group"]["label"].as_str().unwrap()));
    let players: Vec<Option<String>> = config["conditions"]["players"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().map(str::to_owned))
        .collect();
    let slots = h
        .log
        .iter()
        .find_map(|(_, e)| match e {
            Event::GameCreated { game: g, players, .. } if *g == game => Some(players.clone()),
            _ => None,
        })
        .unwrap();
    assert!(slots.contains(&a) && slots.contains(&b));
    let expected: Vec<Option<String>> = slots.iter().map(|p| condition_of(&h, *p)).collect();
    assert_eq!(players, expected, "each player's, in slot order");
}

#[test]
fn group_conditions_are_balanced_by_completed_games_and_counts_survive_a_restart() {
    let yaml = PAIR.replace("    max_p2p_rtt_ms: 80\n", "").replace(
        "scenes:",
        "conditions:\n  group: {list: [x, y], quotas: {x: 1, y: 1}, on_full: {message: Full.}}\nscenes:",
    );
    let mut h = Harness::new(&yaml);
    let (a, b) = (h.arrive(), h.arrive());
    let first = h.game_of(a).unwrap();
    for p in [a, b] {
        h.send(p, ClientMsg::GameComplete { game: first, result: None, tick: None, hash: None, seq: None });
    }
    assert!(matches!(h.place(a), Place::Finished(_)), "the game completed");
    let (c, d) = (h.arrive(), h.arrive());
    let second = h.game_of(c).unwrap();
    // The second group drops out: its condition is free again.
    h.disconnect(c);
    h.wait(secs(60));
    assert!(h.game_of(d).is_none());
    h.restart();
    let (e, f) = (h.arrive(), h.arrive());
    let third = h.game_of(e).expect("the freed condition is drawn again after the restart");
    let condition = |g| {
        h.log.iter().find_map(|(_, ev)| match ev {
            Event::GroupConditionAssigned { game, condition } if *game == g => Some(condition["id"].clone()),
            _ => None,
        })
    };
    assert_ne!(condition(first), condition(third));
    assert_eq!(condition(second), condition(third));
    let _ = f;
    let (g, _) = (h.arrive(), h.arrive());
    assert_eq!(h.place(g), Place::Over(0, OutcomeReason::GroupConditionFull), "both conditions are taken");
}

#[test]
fn scene_texts_may_name_the_participants_condition() {
    let yaml = SOLO
        .replace("    body: Hello.", "    body: \"You read the {condition.framing} framing ({condition}).\"")
        .replace("    kind: end", "    kind: end\n    message: \"Done with {condition}.\"");
    let mut h = Harness::new(&yaml);
    let p = h.arrive();
    let condition = condition_of(&h, p).unwrap();
    let framing = condition.split('-').next().unwrap().to_owned();
    let shown = |h: &Harness| {
        h.sent(p)
            .into_iter()
            .filter_map(|m| match m {
                ServerMsg::Scene { scene, .. } => Some(serde_json::to_string(&scene).unwrap()),
                _ => None,
            })
            .next_back()
            .unwrap()
    };
    assert!(shown(&h).contains(&format!("You read the {framing} framing ({condition}).")), "{}", shown(&h));
    complete(&mut h, p);
    assert!(shown(&h).contains(&format!("Done with {condition}.")), "the end scene too: {}", shown(&h));
}

#[test]
fn an_end_page_shows_the_code_of_the_participants_last_group() {
    let yaml = PAIR.replace("    max_p2p_rtt_ms: 80\n", "").replace(
        "  - id: end\n    kind: end",
        "  - id: end\n    kind: end\n    message: \"Your group code: {group_code}\"\n    redirect_url: \"https://example.org/next?group={group_code}\"",
    );
    let mut h = Harness::new(&yaml);
    let (a, b) = (h.arrive(), h.arrive());
    let game = h.game_of(a).unwrap();
    for p in [a, b] {
        h.send(p, ClientMsg::GameComplete { game, result: None, tick: None, hash: None, seq: None });
    }
    let code = crate::config::reunion::group_code(&game);
    let end = h
        .sent(a)
        .into_iter()
        .filter_map(|m| match m {
            ServerMsg::Scene { scene, .. } => Some(serde_json::to_string(&scene).unwrap()),
            _ => None,
        })
        .next_back()
        .unwrap();
    assert!(end.contains(&format!("Your group code: {code}")), "{end}");
    assert!(end.contains(&format!("next?group={code}")), "{end}");
}

#[test]
fn by_default_groups_form_within_one_entry_condition_and_counts_show_only_it() {
    let yaml = PAIR
        .replace("    max_p2p_rtt_ms: 80\n", "")
        .replace("scenes:", "conditions:\n  entry: {list: [red, blue]}\nscenes:");
    let mut h = Harness::new(&yaml);
    let (a, b) = (h.arrive(), h.arrive());
    assert_ne!(condition_of(&h, a), condition_of(&h, b), "balanced: one of each");
    assert_eq!((h.game_of(a), h.game_of(b)), (None, None), "not grouped across conditions");
    let counts = |h: &Harness, p| {
        h.sent(p)
            .into_iter()
            .filter_map(|m| match m {
                ServerMsg::WaitingRoom { waiting, .. } => waiting,
                _ => None,
            })
            .next_back()
    };
    assert_eq!((counts(&h, a), counts(&h, b)), (Some(1), Some(1)), "each sees only their own condition waiting");
    let (c, d) = (h.arrive(), h.arrive());
    let game = h.game_of(a).expect("a plays with the next one of their condition");
    let partner = [b, c, d].into_iter().find(|p| h.game_of(*p) == Some(game)).unwrap();
    assert_eq!(condition_of(&h, partner), condition_of(&h, a));
    let other = [b, c, d].into_iter().find(|p| *p != partner && *p != b).unwrap();
    assert_eq!(h.game_of(b), h.game_of(other), "and the other two play together");
    assert_eq!(condition_of(&h, b), condition_of(&h, other));
}

#[test]
fn across_conditions_anyone_is_grouped_with_anyone() {
    let yaml = PAIR
        .replace("    max_p2p_rtt_ms: 80\n", "")
        .replace("scenes:", "conditions:\n  entry: {list: [red, blue], match: across}\nscenes:");
    let mut h = Harness::new(&yaml);
    let (a, b) = (h.arrive(), h.arrive());
    assert_ne!(condition_of(&h, a), condition_of(&h, b));
    assert!(h.game_of(a).is_some() && h.game_of(a) == h.game_of(b));
}

#[test]
fn a_composition_forms_only_groups_of_that_many_of_each_condition() {
    let yaml = PAIR.replace("    max_p2p_rtt_ms: 80\n", "").replace("group_size: 2", "group_size: 3").replace(
        "scenes:",
        "conditions:\n  entry: {list: [told_ai, not_told], compose: {told_ai: 2, not_told: 1}}\nscenes:",
    );
    let mut h = Harness::new(&yaml);
    let (a, b) = (h.arrive(), h.arrive());
    let c = h.arrive();
    let conditions: Vec<_> = [a, b, c].iter().map(|p| condition_of(&h, *p).unwrap()).collect();
    let told = conditions.iter().filter(|c| *c == "told_ai").count();
    let game = h.game_of(a);
    if told == 2 {
        assert!(game.is_some() && [b, c].iter().all(|p| h.game_of(*p) == game), "two told_ai and one not_told play");
    } else {
        assert!(game.is_none(), "{conditions:?} is not the composition: they wait");
    }
    // Whatever arrives next, every group formed holds two told_ai and one not_told.
    let mut all = vec![a, b, c];
    for _ in 0..9 {
        all.push(h.arrive());
    }
    let mut games = std::collections::HashMap::<crate::protocol::GameId, Vec<String>>::new();
    for p in &all {
        if let Some(g) = h.game_of(*p) {
            games.entry(g).or_default().push(condition_of(&h, *p).unwrap());
        }
    }
    assert!(!games.is_empty());
    for (_, mut members) in games {
        members.sort();
        assert_eq!(members, ["not_told", "told_ai", "told_ai"]);
    }
}

#[test]
fn a_question_shown_to_another_condition_takes_no_answer_and_is_not_required() {
    let yaml = r#"
id: c
title: C
conditions:
  entry: {list: [told, untold]}
scenes:
  - id: only-told
    kind: instructions
    show_if: {condition: [told]}
    body: You will play with an AI.
  - id: q
    kind: survey
    questions:
      - {id: age, kind: text, prompt: Age?}
      - {id: trust, kind: text, prompt: Trust?, required: true, show_if: {condition: [told]}}
  - id: end
    kind: end
"#;
    let mut h = Harness::new(yaml);
    let (a, b) = (h.arrive(), h.arrive());
    let (told, untold) = if condition_of(&h, a).as_deref() == Some("told") { (a, b) } else { (b, a) };
    assert_eq!(h.place(told), Place::Scene(0), "shown the scene of their condition");
    assert_eq!(h.place(untold), Place::Scene(1), "the other skips it");
    let submit = |h: &mut Harness, p, answers: &[(&str, &str)]| {
        let answers = answers.iter().map(|(q, a)| (q.to_string(), Answer::Text(a.to_string()))).collect();
        h.take();
        h.send(p, ClientMsg::Submit { scene: "q".into(), answers, iteration: None, seq: Some(1) });
        h.sent(p).into_iter().find_map(|m| match m {
            ServerMsg::Error { fields, .. } => Some(fields),
            _ => None,
        })
    };
    let refused = submit(&mut h, untold, &[("age", "30"), ("trust", "high")]).expect("refused");
    assert_eq!(refused.keys().collect::<Vec<_>>(), ["trust"], "no answer to a question not shown");
    assert!(submit(&mut h, untold, &[("age", "30")]).is_none(), "and it is not required");
    assert!(matches!(h.place(untold), Place::Finished(_)));
    h.send(told, ClientMsg::Advance { scene: "only-told".into(), agreed: false, iteration: None, seq: None });
    let missing = submit(&mut h, told, &[("age", "30")]).expect("refused");
    assert_eq!(missing.keys().collect::<Vec<_>>(), ["trust"], "shown and required");
}

#[test]
fn who_is_told_about_computer_players_differs_by_condition() {
    let yaml = PAIR.replace("    max_p2p_rtt_ms: 80\n", "").replace("group_size: 2\n", "group_size: 2\n    on_dropout: bot\n").replace(
        "waitroom: {timeout_secs: 60}",
        "waitroom: {timeout_secs: 60, fill_with_bots_after_secs: 20, tell_about_bots: {told_ai: true, not_told: false}}",
    ).replace("scenes:", "conditions:\n  entry: {list: [told_ai, not_told]}\nscenes:");
    let mut h = Harness::new(&yaml);
    let (a, b) = (h.arrive(), h.arrive());
    h.wait(secs(20));
    for p in [a, b] {
        let bots = h.sent(p).into_iter().find_map(|m| match m {
            ServerMsg::MatchFound { bots, seats, .. } => Some((bots, seats)),
            _ => None,
        });
        let expected = if condition_of(&h, p).as_deref() == Some("told_ai") { 1 } else { 0 };
        assert_eq!(bots, Some((expected, 2)), "{:?}", condition_of(&h, p));
    }
    let told: Vec<(String, bool)> = h
        .log
        .iter()
        .filter_map(|(_, e)| match e {
            Event::BotsFilled { participant, told, .. } => Some((condition_of(&h, *participant).unwrap(), *told)),
            _ => None,
        })
        .collect();
    assert_eq!(told.len(), 2);
    assert!(told.iter().all(|(c, t)| *t == (c == "told_ai")), "{told:?}");
}

#[test]
fn a_finished_participant_sees_their_own_conditions_end_page_again_after_eviction_and_restart() {
    let yaml = r#"
id: c
title: C
conditions:
  entry: {list: [told, untold]}
scenes:
  - id: intro
    kind: instructions
    body: Hello.
  - id: end
    kind: end
    message: Thanks.
    by_condition:
      untold: {message: "Thanks. A debrief: your partner was a computer."}
"#;
    let mut h = Harness::new(yaml);
    let (a, b) = (h.arrive(), h.arrive());
    let untold = if condition_of(&h, a).as_deref() == Some("untold") { a } else { b };
    h.send(untold, ClientMsg::Advance { scene: "intro".into(), agreed: false, iteration: None, seq: None });
    let end_message = |h: &Harness| {
        h.sent(untold).into_iter().rev().find_map(|m| match m {
            ServerMsg::Scene { scene: crate::protocol::SceneView::End { message, .. }, .. } => Some(message),
            _ => None,
        })
    };
    let debrief = "Thanks. A debrief: your partner was a computer.";
    assert_eq!(end_message(&h).as_deref(), Some(debrief));
    h.disconnect(untold); // finished and gone: evicted to the compact record
    h.wait(secs(120));
    h.take();
    h.reconnect(untold);
    assert_eq!(end_message(&h).as_deref(), Some(debrief), "after eviction");
    h.disconnect(untold);
    h.restart();
    h.take();
    h.reconnect(untold);
    assert_eq!(end_message(&h).as_deref(), Some(debrief), "after a restart");
}

#[test]
fn bot_fill_may_be_only_for_some_conditions() {
    let yaml = PAIR
        .replace("    max_p2p_rtt_ms: 80\n", "")
        .replace(
            "waitroom: {timeout_secs: 60}",
            "waitroom: {timeout_secs: 60, fill_with_bots_after_secs: 20, fill_with_bots_if: {condition: [ai]}}",
        )
        .replace("scenes:", "conditions:\n  entry: {list: [ai, control]}\nscenes:");
    let mut h = Harness::new(&yaml);
    let (a, b) = (h.arrive(), h.arrive());
    h.wait(secs(21));
    let (ai, control) = if condition_of(&h, a).as_deref() == Some("ai") { (a, b) } else { (b, a) };
    assert!(h.game_of(ai).is_some(), "the ai condition plays with bots after 20 s");
    assert_eq!(h.place(control), Place::Waiting(0), "the control condition waits for people");
    h.wait(secs(40));
    assert_eq!(h.place(control), Place::Over(0, OutcomeReason::WaitroomTimeout));
}

#[test]
fn an_outcome_message_may_differ_by_condition() {
    let yaml = PAIR.replace("    max_p2p_rtt_ms: 80\n", "").replace(
        "waitroom: {timeout_secs: 60}",
        "waitroom: {timeout_secs: 60, on_leave: {message: \"Thanks.\", by_condition: {ai: {message: \"Thanks; your AI partner will wait.\"}}}}",
    ).replace("scenes:", "conditions:\n  entry: {list: [ai, control]}\nscenes:");
    let mut h = Harness::new(&yaml);
    let (a, b) = (h.arrive(), h.arrive());
    for p in [a, b] {
        h.send(p, ClientMsg::LeaveWaitroom { seq: None });
        let told = h.sent(p).into_iter().find_map(|m| match m {
            ServerMsg::Outcome { message, .. } => message,
            _ => None,
        });
        let expected =
            if condition_of(&h, p).as_deref() == Some("ai") { "Thanks; your AI partner will wait." } else { "Thanks." };
        assert_eq!(told.as_deref(), Some(expected));
    }
}

#[test]
fn the_scenes_after_a_game_speak_to_the_groups_condition_and_keep_doing_so_after_a_restart() {
    let yaml = PAIR.replace("    max_p2p_rtt_ms: 80\n", "").replace("scenes:", "conditions:\n  group: {list: [team, rivals]}\nscenes:").replace(
        "  - id: end\n    kind: end",
        "  - id: end\n    kind: end\n    message: Thanks.\n    by_condition:\n      team: {message: \"Thanks for playing as a team.\"}\n      rivals: {message: \"Thanks for playing against each other.\"}",
    );
    let mut h = Harness::new(&yaml);
    let (a, b) = (h.arrive(), h.arrive());
    let game = h.game_of(a).unwrap();
    let group = h
        .log
        .iter()
        .find_map(|(_, e)| match e {
            Event::GroupConditionAssigned { game: g, condition } if *g == game => {
                condition["id"].as_str().map(str::to_owned)
            }
            _ => None,
        })
        .unwrap();
    let (own, other) = if group == "team" {
        ("Thanks for playing as a team.", "Thanks for playing against each other.")
    } else {
        ("Thanks for playing against each other.", "Thanks for playing as a team.")
    };
    for p in [a, b] {
        h.send(p, ClientMsg::GameComplete { game, result: None, tick: None, hash: None, seq: None });
    }
    let end_message = |h: &Harness, p| {
        h.sent(p).into_iter().rev().find_map(|m| match m {
            ServerMsg::Scene { scene: crate::protocol::SceneView::End { message, .. }, .. } => Some(message),
            _ => None,
        })
    };
    for p in [a, b] {
        assert_eq!(end_message(&h, p).as_deref(), Some(own));
        let everything = serde_json::to_string(&h.sent(p)).unwrap();
        assert!(!everything.contains(other), "the other group condition's text reached a page");
    }
    h.disconnect(a);
    h.restart();
    h.take();
    h.reconnect(a);
    assert_eq!(end_message(&h, a).as_deref(), Some(own), "after a restart");
}

#[test]
fn a_game_runs_with_its_groups_config_entry_condition_then_group_condition_over_the_scenes() {
    let yaml = PAIR
        .replace("    max_p2p_rtt_ms: 80\n", "")
        .replace("scenes:", "conditions:\n  entry: {list: [told, untold]}\n  group: {list: [fast]}\nscenes:")
        .replace(
            "countdown_secs: 0, max_duration_secs: 100}",
            "countdown_secs: 0, max_duration_secs: 100, config: {speed: 1, colour: red}, config_by_condition: {told: {speed: 2}, fast: {colour: blue}}}",
        );
    let mut h = Harness::new(&yaml);
    let people: Vec<ParticipantId> = (0..4).map(|_| h.arrive()).collect();
    let mut seen = 0;
    for p in people {
        let told = condition_of(&h, p).as_deref() == Some("told");
        let config = h
            .sent(p)
            .into_iter()
            .find_map(|m| match m {
                ServerMsg::StartGame { config, .. } => Some(config),
                _ => None,
            })
            .expect("the group plays");
        assert_eq!(config["speed"], if told { 2 } else { 1 }, "{config}");
        assert_eq!(config["colour"], "blue", "the group condition's over the scene's: {config}");
        assert_eq!(config["conditions"]["group"]["id"], "fast");
        seen += 1;
    }
    assert_eq!(seen, 4);
    // The log keeps each game's config, for the replay.
    let logged: Vec<serde_json::Value> = h
        .log
        .iter()
        .filter_map(|(_, e)| match e {
            Event::GameStarted { config, .. } => Some(config["speed"].clone()),
            _ => None,
        })
        .collect();
    assert_eq!(logged.len(), 2);
    assert!(logged.contains(&serde_json::json!(1)) && logged.contains(&serde_json::json!(2)), "{logged:?}");
}
