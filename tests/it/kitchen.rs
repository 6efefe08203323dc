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
    let plan = Plan { id_prefix: "bot-".to_owned(), seed: 2, ..bot_plan(&host, "kitchen", "bot-") };
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

    // The payments: each finished cook's bonus from the pair's total (recruitment.bonus).
    let total = games[2].result.as_ref().unwrap()["total"].as_f64().unwrap();
    let out = crate::support::export_with_pilots(data.path(), "kitchen").await;
    let payments = std::fs::read_to_string(out.path().join("kitchen/payments.csv")).unwrap();
    let expected = format!("{:.2}", (total * 0.05).min(1.5));
    let bonus = payments.lines().next().unwrap().split(',').position(|c| c == "bonus").expect("a bonus column");
    let rows: Vec<&str> = payments.lines().skip(1).collect();
    assert_eq!(rows.len(), 2, "{payments}");
    assert!(
        rows.iter().all(|r| r.split(',').nth(bonus) == Some(expected.as_str())),
        "bonus {expected} each: {payments}"
    );
    let bulk = std::fs::read_to_string(out.path().join("kitchen/prolific_bonus.csv")).unwrap();
    let lines = if total > 0.0 { 2 } else { 0 };
    assert_eq!(bulk.lines().count(), lines, "one `id,amount` line per bonus: {bulk}");
}

fn bot_plan(host: &crate::support::TestHost, experiment: &str, prefix: &str) -> cohort::bots::Plan {
    cohort::bots::Plan {
        id_prefix: prefix.to_owned(),
        params: Vec::new(),
        rtt_ms: (10.0, 10.0),
        message_timeout: std::time::Duration::from_secs(30),
        seed: 4,
        ..crate::support::bot_plan(host, experiment)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partner_who_leaves_mid_round_is_replaced_by_the_bot_cook_and_the_round_completes() {
    use cohort::bots::{self, Live, RunOptions};
    use cohort::client::Client;
    use cohort::eventlog::Event;
    use cohort::protocol::{ClientMsg, ServerMsg};
    let data = tempfile::tempdir().unwrap();
    let host = crate::support::TestHost::start(&["tests/fixtures/host/kitchen-bots.yaml"], data.path(), |_| {}).await;
    // A participant who cooks for a moment, then closes the tab for good.
    let mut leaver = Client::connect(&host.addr, "kitchen-bots", &[("PROLIFIC_PID", "leaver")], None).await.unwrap();
    let opts = RunOptions { count: 1, rate: None, spread: false, first_address: 0 };
    let stayer = tokio::spawn(bots::run(bot_plan(&host, "kitchen-bots", "stayer-"), opts, Arc::new(Live::default())));
    let wait = std::time::Duration::from_secs(10);
    let game = leaver
        .wait_for("start_game", wait, |m| match m {
            ServerMsg::StartGame { game, .. } => Some(*game),
            _ => None,
        })
        .await
        .unwrap();
    for from in 0..20 {
        let msg = ClientMsg::GameInputs { game, from, inputs: vec![json!("left")], hashes: Vec::new(), seq: None };
        leaver.send(msg).await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    leaver.close().await;
    let summary = stayer.await.unwrap();
    assert_eq!((summary.errors.len(), summary.completed), (0, 1), "{}", summary.text());
    let events = host.events("kitchen-bots");
    host.stop().await;
    let change = events.iter().find_map(|e| match e {
        Event::SeatChanged { game: g, tick, to, .. } if *g == game => Some((*tick, *to)),
        _ => None,
    });
    let (tick, to) = change.expect("the seat changed hands");
    assert_eq!((tick, to), (20, cohort::game::SeatKind::Bot), "at the first tick the host did not hold");
    assert!(
        events.iter().any(
            |e| matches!(e, Event::GameEnded { game: g, reason: cohort::game::EndReason::Completed } if *g == game)
        )
    );
    let run = cohort::eventlog::previous_logs(data.path(), "kitchen-bots")[0].parent().unwrap().to_path_buf();
    let replay = cohort::game::replay::replay_run(&run, Some(game)).expect("replay").remove(0);
    assert!(replay.matches() && replay.compared > 0, "{replay:?}");
    let result = replay.result.expect("the round completed");
    assert!(result["rounds"][0]["delivered"].as_u64().unwrap() >= 1, "the stayer and the bot cook served: {result}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lone_participant_cooks_with_the_bot_after_waiting() {
    use cohort::bots::{self, Live, RunOptions};
    use cohort::eventlog::Event;
    let data = tempfile::tempdir().unwrap();
    let host = crate::support::TestHost::start(&["tests/fixtures/host/kitchen-bots.yaml"], data.path(), |_| {}).await;
    let opts = RunOptions { count: 1, rate: None, spread: false, first_address: 0 };
    let summary = bots::run(bot_plan(&host, "kitchen-bots", "alone-"), opts, Arc::new(Live::default())).await;
    assert_eq!((summary.errors.len(), summary.completed), (0, 1), "{}", summary.text());
    let events = host.events("kitchen-bots");
    host.stop().await;
    let filled = events.iter().find_map(|e| match e {
        Event::BotsFilled { waited_ms, bot_seats, told, game, .. } => Some((*waited_ms, *bot_seats, *told, *game)),
        _ => None,
    });
    let (waited, seats, told, game) = filled.expect("bots filled the seat");
    assert!((2000..2600).contains(&waited), "after the configured 2 s ({waited} ms)");
    assert_eq!((seats, told), (1, true));
    let run = cohort::eventlog::previous_logs(data.path(), "kitchen-bots")[0].parent().unwrap().to_path_buf();
    let replay = cohort::game::replay::replay_run(&run, Some(game)).expect("replay").remove(0);
    assert!(replay.matches() && replay.result.is_some(), "{replay:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_newcomer_from_the_waitroom_takes_a_left_seat_and_plays_to_the_end() {
    use cohort::bots::{self, Live, RunOptions};
    use cohort::client::Client;
    use cohort::eventlog::Event;
    use cohort::game::SeatKind;
    use cohort::protocol::{ClientMsg, ServerMsg};
    let data = tempfile::tempdir().unwrap();
    let host =
        crate::support::TestHost::start(&["tests/fixtures/host/kitchen-backfill.yaml"], data.path(), |_| {}).await;
    let mut leaver =
        Client::connect(&host.addr, "kitchen-backfill", &[("PROLIFIC_PID", "leaver")], None).await.unwrap();
    let one = RunOptions { count: 1, rate: None, spread: false, first_address: 0 };
    let first =
        tokio::spawn(bots::run(bot_plan(&host, "kitchen-backfill", "first-"), one.clone(), Arc::new(Live::default())));
    let wait = std::time::Duration::from_secs(10);
    let game = leaver
        .wait_for("start_game", wait, |m| match m {
            ServerMsg::StartGame { game, .. } => Some(*game),
            _ => None,
        })
        .await
        .unwrap();
    for from in 0..10 {
        let msg = ClientMsg::GameInputs { game, from, inputs: vec![json!("right")], hashes: Vec::new(), seq: None };
        leaver.send(msg).await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    leaver.close().await;
    host.wait_for_event("kitchen-backfill", "the bot holding the seat", |e| {
        matches!(e, Event::SeatChanged { to: SeatKind::Bot, .. })
    })
    .await;
    let newcomer = bots::run(bot_plan(&host, "kitchen-backfill", "newcomer-"), one, Arc::new(Live::default())).await;
    let first = first.await.unwrap();
    for summary in [&first, &newcomer] {
        assert_eq!((summary.errors.len(), summary.completed), (0, 1), "{}", summary.text());
    }
    let events = host.events("kitchen-backfill");
    host.stop().await;
    let changes: Vec<SeatKind> = events
        .iter()
        .filter_map(|e| match e {
            Event::SeatChanged { game: g, to, .. } if *g == game => Some(*to),
            _ => None,
        })
        .collect();
    assert_eq!(changes, [SeatKind::Bot, SeatKind::Player], "the bot held the seat, then the newcomer took it");
    assert!(
        events.iter().any(
            |e| matches!(e, Event::GameEnded { game: g, reason: cohort::game::EndReason::Completed } if *g == game)
        )
    );
    let run = cohort::eventlog::previous_logs(data.path(), "kitchen-backfill")[0].parent().unwrap().to_path_buf();
    let replay = cohort::game::replay::replay_run(&run, Some(game)).expect("replay").remove(0);
    assert!(replay.matches() && replay.compared >= 4, "both copies' hashes agree with the replay: {replay:?}");
    assert!(replay.result.is_some());
}
