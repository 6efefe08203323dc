//! Real WebRTC with Rust peers (feature `webrtc`): bots probe each other over a
//! DataChannel on loopback and play their game over it, and a bot probes a browser page.

use std::sync::Arc;
use std::time::Duration;

use cohort::bots::{self, Live, RunOptions};
use cohort::client::webrtc::Prober;
use cohort::client::{Client, DEFAULT_WAIT};
use cohort::eventlog::Event;
use cohort::protocol::{GameId, SceneView, ServerMsg};

use crate::support::{TestHost, bot_plan};

pub async fn bot(host: &TestHost, experiment: &str, who: &str) -> (Client, Prober) {
    let mut c = Client::connect(&host.addr, experiment, &[("PROLIFIC_PID", who)], None).await.unwrap();
    assert!(matches!(c.next_scene().await.unwrap().1, SceneView::Multiplayer { .. }));
    (c, Prober::default())
}

pub async fn until_started(c: &mut Client, prober: &mut Prober, wait: Duration) -> GameId {
    c.wait_probing(prober, "start_game", wait, |m| match m {
        ServerMsg::StartGame { game, .. } => Some(*game),
        _ => None,
    })
    .await
    .unwrap()
}

/// The reported and decided RTTs of the first probe of `experiment`.
pub fn first_probe(host: &TestHost, experiment: &str) -> ([Option<f64>; 2], Option<f64>, String) {
    host.events(experiment)
        .into_iter()
        .find_map(|e| match e {
            Event::ProbeFinished { reported_rtt_ms, rtt_ms, outcome, .. } => Some((reported_rtt_ms, rtt_ms, outcome)),
            _ => None,
        })
        .expect("a probe was recorded")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_bots_are_probed_over_a_real_datachannel_and_matched() {
    let data = tempfile::tempdir().unwrap();
    let host = TestHost::start(&["tests/fixtures/host/probed.yaml"], data.path(), |_| {}).await;
    let (mut a, mut pa) = bot(&host, "probed", "bot-a").await;
    let (mut b, mut pb) = bot(&host, "probed", "bot-b").await;
    let (ga, gb) =
        tokio::join!(until_started(&mut a, &mut pa, DEFAULT_WAIT), until_started(&mut b, &mut pb, DEFAULT_WAIT));
    assert_eq!(ga, gb, "the group was created");
    let (reported, rtt, outcome) = first_probe(&host, "probed");
    assert_eq!(outcome, "accepted");
    let ([Some(x), Some(y)], Some(rtt)) = (reported, rtt) else { panic!("both bots report an RTT: {reported:?}") };
    assert_eq!(rtt, x.max(y));
    assert!(rtt < 20.0, "loopback RTT {rtt} ms");
    eprintln!("bot-to-bot loopback probe: reports {x:.2} / {y:.2} ms");
    host.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_doctored_echo_does_not_fool_an_honest_peer() {
    // The doctored bot echoes every ping's timestamp 500 ms early: a peer that timed
    // its pings by the echoed value would measure ~500 ms (and the pair would be
    // rejected at 80 ms); timed by its own clock, it measures the loopback.
    let data = tempfile::tempdir().unwrap();
    let host = TestHost::start(&["tests/fixtures/host/probed.yaml"], data.path(), |_| {}).await;
    let (mut honest, mut ph) = bot(&host, "probed", "honest").await;
    let (mut doctored, _) = bot(&host, "probed", "doctored").await;
    let mut pd = Prober::default().with_echo_skew(-500.0);
    let (gh, gd) = tokio::join!(
        until_started(&mut honest, &mut ph, DEFAULT_WAIT),
        until_started(&mut doctored, &mut pd, DEFAULT_WAIT)
    );
    assert_eq!(gh, gd, "the pair was accepted");
    let (reported, rtt, outcome) = first_probe(&host, "probed");
    assert_eq!(outcome, "accepted", "{reported:?}");
    assert!(reported.iter().all(|r| r.is_some_and(|ms| ms < 50.0)), "both measured the loopback: {reported:?}");
    assert!(rtt.is_some_and(|ms| ms < 50.0));
    host.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bot_and_a_browser_page_probe_each_other() {
    let data = tempfile::tempdir().unwrap();
    let host = TestHost::start(&["tests/fixtures/host/probed-demo.yaml"], data.path(), |_| {}).await;
    let base = format!("http://{}", host.addr);
    let page = tokio::spawn(async move { crate::browser::run_script("probe_with_bot.mjs", &[&base]).await });
    // The page joins first (the script waits for the waitroom), then the bot.
    let deadline = tokio::time::Instant::now() + DEFAULT_WAIT;
    while !host.events("probed-demo").iter().any(|e| matches!(e, Event::WaitroomJoined { .. })) {
        if page.is_finished() {
            break; // skipped (no browser) or failed: the result below says which
        }
        assert!(tokio::time::Instant::now() < deadline, "the page never reached the waitroom");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    if page.is_finished() {
        let out = page.await.unwrap();
        assert!(out.is_none(), "the page script ended early: {out:?}");
        return;
    }
    // The bot is doctored (echoes timestamps 500 ms early): the page must time its
    // pings by its own clock, or it would report ~500 ms and the pair be rejected.
    let (mut bot, _) = bot(&host, "probed-demo", "bot-vs-browser").await;
    let mut prober = Prober::default().with_echo_skew(-500.0);
    until_started(&mut bot, &mut prober, Duration::from_secs(30)).await;
    let out = page.await.unwrap().expect("the page script ran");
    assert!(out.contains("PASS"), "{out}");
    let (reported, rtt, outcome) = first_probe(&host, "probed-demo");
    assert_eq!(outcome, "accepted", "{reported:?}");
    assert!(
        reported.iter().all(|r| r.is_some_and(|ms| ms < 50.0)),
        "both the bot and the browser measured the loopback: {reported:?}"
    );
    eprintln!("bot-to-browser loopback probe: reports {reported:?}, decided {rtt:?} ms");
    host.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bots_with_a_webrtc_peer_play_over_the_probes_channel_without_the_relay() {
    let data = tempfile::tempdir().unwrap();
    let host = TestHost::start(&["tests/fixtures/host/probed.yaml"], data.path(), |_| {}).await;
    let plan = bots::Plan { webrtc: true, ..bot_plan(&host, "probed") };
    let opts = RunOptions { count: 2, rate: None, spread: false, first_address: 0 };
    let summary = bots::run(plan, opts, Arc::new(Live::default())).await;
    assert_eq!((summary.errors.len(), summary.completed), (0, 2), "{}", summary.text());
    let events = host.events("probed");
    host.stop().await;
    let relayed = events.iter().filter(|e| matches!(e, Event::GameRelay { .. })).count();
    assert_eq!(relayed, 0, "nobody asked for the relay: the inputs crossed the channel");
    let batches = events.iter().filter(|e| matches!(e, Event::GameInputs { relayed: false, .. })).count();
    assert!(batches >= 4, "each bot still sent its inputs to the host ({batches} batches)");
    assert!(events.iter().any(|e| matches!(e, Event::GameEnded { reason, .. } if reason.as_str() == "completed")));
    let run = cohort::eventlog::previous_logs(data.path(), "probed")[0].parent().unwrap().to_path_buf();
    let games = cohort::game::replay::replay_run(&run, None).expect("replay");
    assert!(games.len() == 1 && games[0].matches() && games[0].compared >= 2, "{games:?}");
}

/// The games started, in the order of the log.
fn started_games(events: &[Event]) -> Vec<GameId> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::GameStarted { game, .. } => Some(*game),
            _ => None,
        })
        .collect()
}

/// Joined the waitroom of `experiment` so far.
fn joined(host: &TestHost, experiment: &str) -> usize {
    host.events(experiment).iter().filter(|e| matches!(e, Event::WaitroomJoined { .. })).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_page_plays_its_game_with_a_bot_over_the_probes_channel_and_reopens_it_after_a_cut() {
    let data = tempfile::tempdir().unwrap();
    let host = TestHost::start(&["tests/fixtures/host/probed-demo.yaml"], data.path(), |_| {}).await;
    let base = format!("http://{}", host.addr);
    // Twice: the page first (slot 0: it opens the channel again, the bot answers), then
    // the bot first (the bot opens it again, the page answers).
    for (round, page_first) in [(1, true), (2, false)] {
        let plan = bots::Plan { webrtc: true, id_prefix: format!("bot-{round}-"), ..bot_plan(&host, "probed-demo") };
        let opts = RunOptions { count: 1, rate: None, spread: false, first_address: 0 };
        let (script_base, id) = (base.clone(), format!("page-{round}"));
        let script = async move { crate::browser::run_script("play_with_bot.mjs", &[&script_base, &id]).await };
        let mut start_page = Some(script);
        let mut start_bots = Some(move || tokio::spawn(bots::run(plan, opts, Arc::new(Live::default()))));
        // Whoever goes first is in the waitroom before the other starts.
        let (mut page, mut bots) = (None, None);
        if page_first {
            page = start_page.take().map(tokio::spawn);
        } else {
            bots = start_bots.take().map(|start| start());
        }
        let deadline = tokio::time::Instant::now() + DEFAULT_WAIT;
        while joined(&host, "probed-demo") < 2 * round - 1 {
            if let Some(p) = page.take_if(|p| p.is_finished()) {
                let out = p.await.unwrap();
                assert!(out.is_none(), "the page script ended early: {out:?}");
                return; // skipped: no browser
            }
            assert!(tokio::time::Instant::now() < deadline, "nobody reached the waitroom");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let page = page.or_else(|| start_page.take().map(tokio::spawn)).expect("the page runs");
        let bots = bots.or_else(|| start_bots.take().map(|start| start())).expect("the bot runs");
        let out = page.await.unwrap().expect("the page script ran");
        assert!(out.contains("PASS"), "round {round}: {out}");
        let summary = bots.await.unwrap();
        assert_eq!((summary.errors.len(), summary.completed), (0, 1), "round {round}: {}", summary.text());
    }
    let events = host.events("probed-demo");
    host.stop().await;
    // In each game the relay was asked for only once the page cut the channel, after
    // playing over it.
    let games = started_games(&events);
    assert_eq!(games.len(), 2);
    for game in games {
        let of = |e: &Event| match e {
            Event::GameRelay { game: g, .. } | Event::GameInputs { game: g, .. } => *g == game,
            _ => false,
        };
        let mine: Vec<&Event> = events.iter().filter(|e| of(e)).collect();
        let first_relay =
            mine.iter().position(|e| matches!(e, Event::GameRelay { .. })).expect("relayed after the cut");
        assert!(first_relay >= 2, "both played over the channel first ({first_relay} batches before the relay)");
    }
    let completed =
        events.iter().filter(|e| matches!(e, Event::GameEnded { reason, .. } if reason.as_str() == "completed"));
    assert_eq!(completed.count(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bots_with_a_webrtc_peer_that_drop_mid_game_come_back_and_their_games_end() {
    let data = tempfile::tempdir().unwrap();
    let host = TestHost::start(&["tests/fixtures/host/p2p-churn.yaml"], data.path(), |_| {}).await;
    let churn = bots::churn::Churn { drop: 0.35, back_in_time: 1.0, grace_secs: 4.0, ..Default::default() };
    let plan = bots::Plan { webrtc: true, seed: 5, churn, ..bot_plan(&host, "p2p-churn") };
    let opts = RunOptions { count: 24, rate: Some(4.0), spread: false, first_address: 0 };
    let summary = bots::run(plan, opts, Arc::new(Live::default())).await;
    let events = host.events("p2p-churn");
    host.stop().await;
    assert!(summary.errors.is_empty(), "bots met errors: {:?}\n{}", summary.errors, summary.text());
    let started = started_games(&events);
    let ended: std::collections::BTreeMap<GameId, String> = events
        .iter()
        .filter_map(|e| match e {
            Event::GameEnded { game, reason, .. } => Some((*game, reason.as_str().to_owned())),
            _ => None,
        })
        .collect();
    assert!(started.len() >= 6, "{} games", started.len());
    assert!(started.iter().all(|g| ended.contains_key(g)), "every game ended: {ended:?}");
    // Some player came back mid-game (within the grace) and the game was completed.
    let resumed_in_game = events.iter().enumerate().any(|(i, e)| {
        let Event::Connected { participant, resumed: true } = e else { return false };
        let game = events[..i].iter().rev().find_map(|e| match e {
            Event::GameCreated { game, players, .. } if players.contains(participant) => Some(*game),
            _ => None,
        });
        game.is_some_and(|g| {
            !events[..i].iter().any(|e| matches!(e, Event::GameEnded { game, .. } if *game == g))
                && ended.get(&g).is_some_and(|r| r == "completed")
        })
    });
    assert!(resumed_in_game, "a bot that dropped mid-game came back and its game was completed");
    assert!(summary.completed >= 12, "{}", summary.text());
}
