//! The kitchen game (experiments/games/kitchen): deterministic in the host's engine,
//! and its bot cooks — two bots complete orders in every kitchen, alone or together.

use std::sync::Arc;

use cohort::game::engine::Engine;
use cohort::game::files::GameFolder;
use serde_json::{Value, json};

use crate::support::root;

fn kitchen() -> Engine {
    let folder = GameFolder::read(&root().join("experiments"), "games/kitchen/kitchen.js".as_ref(), &[]).unwrap();
    Engine::load(Arc::new(folder.sources()), &folder.main).expect("the kitchen loads")
}

/// Plays a whole game with every seat a bot; returns the result.
fn bots_play(config: Value, seats: usize, seed: u32) -> Value {
    let e = kitchen();
    e.init(&config, seed, seats, 10).unwrap();
    for _ in 0..20_000 {
        let inputs: Vec<Value> = (0..seats).map(|s| e.bot(s).unwrap()).collect();
        e.step(&inputs).unwrap();
        if let Some(result) = e.done().unwrap() {
            return result;
        }
    }
    panic!("the game never ended");
}

#[test]
fn two_bot_cooks_deliver_orders_in_every_kitchen() {
    for layout in ["cramped", "asymmetric", "ring"] {
        let config = json!({"layouts": [layout], "rounds": 1, "round_secs": 60});
        let result = bots_play(config, 2, 11);
        let round = &result["rounds"][0];
        eprintln!("{layout}: {round}");
        assert!(
            round["delivered"].as_u64().unwrap() >= 3,
            "{layout}: two bots serve at least 3 soups a minute: {round}"
        );
        assert_eq!(result["total"], round["score"]);
    }
}

#[test]
fn one_bot_cook_manages_alone_where_the_kitchen_allows() {
    for layout in ["cramped", "ring"] {
        let result = bots_play(json!({"layouts": [layout], "rounds": 1, "round_secs": 60}), 1, 5);
        assert!(result["rounds"][0]["delivered"].as_u64().unwrap() >= 1, "{layout}: {result}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bots_practise_with_a_bot_cook_then_cook_in_pairs_through_the_host_and_the_replay_agrees() {
    use cohort::bots::{self, Live, Plan, RunOptions};
    use cohort::eventlog::Event;
    let data = tempfile::tempdir().unwrap();
    let host = crate::support::TestHost::start(&["tests/fixtures/host/kitchen.yaml"], data.path(), |_| {}).await;
    let plan = Plan {
        addr: host.addr.clone(),
        experiment: "kitchen".to_owned(),
        id_param: "PROLIFIC_PID".to_owned(),
        id_prefix: "bot-".to_owned(),
        params: Vec::new(),
        rtt_ms: (10.0, 10.0),
        probe_failure: 0.0,
        webrtc: false,
        hold: false,
        message_timeout: std::time::Duration::from_secs(30),
        seed: 2,
        stop: tokio_util::sync::CancellationToken::new(),
    };
    let opts = RunOptions { count: 2, rate: None, spread: false, first_address: 0 };
    let summary = bots::run(plan, opts, Arc::new(Live::default())).await;
    assert_eq!((summary.errors.len(), summary.completed), (0, 2), "{}", summary.text());
    let events = host.events("kitchen");
    host.stop().await;
    let started: Vec<u32> = events
        .iter()
        .filter_map(|e| match e {
            Event::GameStarted { bot_seats, .. } => Some(*bot_seats),
            _ => None,
        })
        .collect();
    assert_eq!(started.iter().filter(|b| **b == 1).count(), 2, "each practised alone with a bot seat: {started:?}");
    assert_eq!(started.iter().filter(|b| **b == 0).count(), 1, "then the two played together");
    let run = cohort::eventlog::previous_logs(data.path(), "kitchen")[0].parent().unwrap().to_path_buf();
    let games = cohort::game::replay::replay_run(&run, None).expect("replay");
    assert_eq!(games.len(), 3);
    for g in &games {
        assert!(g.matches() && g.compared > 0, "{g:?}");
        let result = g.result.as_ref().expect("every game reached its end");
        assert!(result["rounds"].as_array().is_some_and(|r| !r.is_empty()), "{result}");
    }
    let practice: u64 = games.iter().take(2).map(|g| g.result.as_ref().unwrap()["total"].as_u64().unwrap()).sum();
    assert!(practice > 0, "with a bot cook, soups are served even in 12 s: {games:?}");
}
