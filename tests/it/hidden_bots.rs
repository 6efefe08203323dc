//! Bot seats for participants who are not told about bots (`tell_about_bots: false`):
//! the host plays them in its own copy of the game, and the pages are told of players.
//! Through the real host: a raw client receives nothing that names a bot and gets the
//! seat's inputs from the host as a player's; bots play such games to completion, and
//! the replay of the run agrees with every hash the players reported.

use std::sync::Arc;
use std::time::Duration;

use cohort::bots::{self, Live, RunOptions};
use cohort::client::Client;
use cohort::eventlog::Event;
use cohort::protocol::{ClientMsg, ServerMsg};

use crate::support::TestHost;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_untold_participant_plays_with_a_seat_the_host_plays_and_is_told_of_a_player() {
    let data = tempfile::tempdir().unwrap();
    let host = TestHost::start(&["tests/fixtures/host/untold.yaml"], data.path(), |_| {}).await;
    let mut c = Client::connect(&host.addr, "untold", &[("PROLIFIC_PID", "u-1")], None).await.unwrap();
    let mut seen: Vec<ServerMsg> = Vec::new();
    let start = loop {
        let msg = c.recv(Duration::from_secs(10)).await.expect("start_game");
        seen.push(msg.clone());
        if let ServerMsg::StartGame { .. } = msg {
            break msg;
        }
    };
    let ServerMsg::StartGame { game, players, slot, bot_seats, input_delay, config, .. } = start else {
        unreachable!()
    };
    assert_eq!((players.len(), slot, bot_seats), (2, 0, 0), "a partner, told of as a player");
    let conditions = config["conditions"]["players"].as_array().expect("the players' conditions");
    assert_eq!(conditions.len(), 2, "the partner has a condition like any player: {config}");
    // The participant's own inputs (the page's first `input_delay` are empty).
    let ticks = 40u64;
    let inputs = vec![serde_json::Value::Null; (input_delay as u64 + ticks) as usize];
    c.send(ClientMsg::GameInputs { game, from: 0, inputs, hashes: Vec::new(), seq: None }).await.unwrap();
    // The partner's inputs come from the host, as a player's, for as far as the host
    // could step the game (`input_delay` ahead of the participant's last tick).
    let mut partner = 0u64;
    while partner < ticks {
        let msg = c.recv(Duration::from_secs(10)).await.expect("the partner's inputs");
        seen.push(msg.clone());
        if let ServerMsg::GameInputs { slot: 1, from, inputs, .. } = msg {
            assert_eq!(from, partner, "contiguous from tick 0");
            partner += inputs.len() as u64;
        }
    }
    for msg in &seen {
        let text = serde_json::to_string(msg).unwrap().to_lowercase();
        assert!(!text.contains("bot"), "a message names a bot: {text}");
    }
    c.close().await;
    host.wait_for_event(
        "untold",
        "the partner's inputs logged",
        |e| matches!(e, Event::GameInputs { slot: 1, participant, .. } if *participant == players[1]),
    )
    .await;
    let events = host.events("untold");
    assert!(events.iter().any(|e| matches!(e, Event::GameStarted { bots_by_host: true, bot_seats: 1, .. })));
    host.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bots_play_games_whose_bot_seat_the_host_plays_and_the_replay_agrees() {
    let data = tempfile::tempdir().unwrap();
    let host = TestHost::start(&["tests/fixtures/host/untold.yaml"], data.path(), |_| {}).await;
    let opts = RunOptions { count: 4, rate: None, spread: false, first_address: 0 };
    let summary = bots::run(crate::support::bot_plan(&host, "untold"), opts, Arc::new(Live::default())).await;
    assert!(summary.errors.is_empty(), "{}", summary.text());
    assert_eq!(summary.completed, 4, "{}", summary.text());
    let events = host.events("untold");
    host.stop().await;
    let completed = events
        .iter()
        .filter(|e| matches!(e, Event::GameEnded { reason, .. } if reason.as_str() == "completed"))
        .count();
    assert_eq!(completed, 4, "every game played to its end");
    let run = cohort::eventlog::previous_logs(data.path(), "untold")[0].parent().unwrap().to_path_buf();
    let replays = cohort::game::replay::replay_run(&run, None).expect("replay");
    assert_eq!(replays.len(), 4);
    for r in &replays {
        assert!(r.matches() && r.compared > 0, "the replay agrees with the players' hashes: {r:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_untold_page_in_chromium_plays_with_the_hosts_seat_to_the_end() {
    let data = tempfile::tempdir().unwrap();
    let host = TestHost::start(&["tests/fixtures/host/untold.yaml"], data.path(), |_| {}).await;
    let base = format!("http://{}", host.addr);
    let Some(out) = crate::browser::run_script("untold.mjs", &[&base]).await else { return };
    assert!(out.contains("PASS"), "{out}");
    let events = host.events("untold");
    host.stop().await;
    let game = events.iter().find_map(|e| match e {
        Event::GameStarted { game, bots_by_host: true, .. } => Some(*game),
        _ => None,
    });
    let game = game.expect("the host played the bot seat");
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::GameEnded { game: g, reason } if *g == game && reason.as_str() == "completed"))
    );
    let run = cohort::eventlog::previous_logs(data.path(), "untold")[0].parent().unwrap().to_path_buf();
    let replay = cohort::game::replay::replay_run(&run, Some(game)).expect("replay").remove(0);
    assert!(replay.matches() && replay.compared > 0, "{replay:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partner_who_leaves_is_replaced_by_the_host_without_telling_the_other() {
    let data = tempfile::tempdir().unwrap();
    let host = TestHost::start(&["tests/fixtures/host/untold-pairs.yaml"], data.path(), |_| {}).await;
    let mut a = Client::connect(&host.addr, "untold-pairs", &[("PROLIFIC_PID", "a-1")], None).await.unwrap();
    let mut b = Client::connect(&host.addr, "untold-pairs", &[("PROLIFIC_PID", "b-1")], None).await.unwrap();
    let started = |m: &ServerMsg| match m {
        ServerMsg::StartGame { game, slot, input_delay, .. } => Some((*game, *slot, *input_delay)),
        _ => None,
    };
    let (game, a_slot, delay) = a.wait_for("start_game", Duration::from_secs(10), |m| started(m)).await.unwrap();
    let (_, b_slot, _) = b.wait_for("start_game", Duration::from_secs(10), |m| started(m)).await.unwrap();
    let ticks = |n: u64| vec![serde_json::Value::Null; n as usize];
    // Both play 20 ticks; then the partner leaves for good.
    for c in [&mut a, &mut b] {
        c.send(ClientMsg::GameInputs {
            game,
            from: 0,
            inputs: ticks(u64::from(delay) + 20),
            hashes: Vec::new(),
            seq: None,
        })
        .await
        .unwrap();
    }
    b.close().await;
    // The other goes on: their inputs flow, and the partner's seat keeps sending a
    // player's inputs, from the host, past where the partner stopped.
    let held = u64::from(delay) + 20;
    a.send(ClientMsg::GameInputs { game, from: held, inputs: ticks(40), hashes: Vec::new(), seq: None }).await.unwrap();
    let mut seen = Vec::new();
    let mut partner_to = 0;
    while partner_to < held + 30 {
        let msg = a.recv(Duration::from_secs(10)).await.expect("the partner's seat goes on");
        if let ServerMsg::GameInputs { slot, from, inputs, .. } = &msg
            && *slot == b_slot
        {
            partner_to = from + inputs.len() as u64;
        }
        seen.push(msg);
    }
    for msg in &seen {
        let text = serde_json::to_string(msg).unwrap().to_lowercase();
        assert!(!text.contains("bot") && !text.contains("seat_change"), "the other is told: {text}");
    }
    let events = host.events("untold-pairs");
    host.stop().await;
    assert!(events.iter().any(|e| matches!(e, Event::SeatChanged { by_host: true, slot, .. } if *slot == b_slot)));
    let host_inputs =
        events.iter().any(|e| matches!(e, Event::GameInputs { slot, from, .. } if *slot == b_slot && *from >= held));
    assert!(host_inputs, "the host's inputs for the seat are logged");
    assert_ne!(a_slot, b_slot);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_a_partner_leaves_an_empty_seat_the_hosts_seat_plays_on() {
    let data = tempfile::tempdir().unwrap();
    let host = TestHost::start(&["tests/fixtures/host/untold-trio.yaml"], data.path(), |_| {}).await;
    let mut a = Client::connect(&host.addr, "untold-trio", &[("PROLIFIC_PID", "a-3")], None).await.unwrap();
    let mut b = Client::connect(&host.addr, "untold-trio", &[("PROLIFIC_PID", "b-3")], None).await.unwrap();
    let started = |m: &ServerMsg| match m {
        ServerMsg::StartGame { game, players, input_delay, .. } => Some((*game, players.len(), *input_delay)),
        _ => None,
    };
    let (game, seats, delay) = a.wait_for("start_game", Duration::from_secs(10), |m| started(m)).await.unwrap();
    b.wait_for("start_game", Duration::from_secs(10), |m| started(m)).await.unwrap();
    assert_eq!(seats, 3, "two people and the host's seat, all players to the pages");
    let ticks = |n: u64| vec![serde_json::Value::Null; n as usize];
    let held = u64::from(delay) + 10;
    for c in [&mut a, &mut b] {
        c.send(ClientMsg::GameInputs { game, from: 0, inputs: ticks(held), hashes: Vec::new(), seq: None })
            .await
            .unwrap();
    }
    b.close().await;
    // Once the partner's seat is empty, the host's copy steps it with no input: the
    // host's seat (slot 2) goes on with the one who stayed.
    a.wait_for("seat_change", Duration::from_secs(10), |m| matches!(m, ServerMsg::SeatChange { .. }).then_some(()))
        .await
        .unwrap();
    a.send(ClientMsg::GameInputs { game, from: held, inputs: ticks(30), hashes: Vec::new(), seq: None }).await.unwrap();
    let mut host_seat_to = 0;
    while host_seat_to < held + 30 {
        let msg = a.recv(Duration::from_secs(10)).await.expect("the host's seat plays on");
        if let ServerMsg::GameInputs { slot: 2, from, inputs, .. } = msg {
            host_seat_to = from + inputs.len() as u64;
        }
    }
    host.stop().await;
}
