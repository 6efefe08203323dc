//! Real WebRTC measurement with Rust peers (feature `webrtc`): bots probe each other
//! over a DataChannel on loopback, and a bot probes a browser page.

use std::time::Duration;

use cohort::client::webrtc::Prober;
use cohort::client::{Client, DEFAULT_WAIT};
use cohort::eventlog::Event;
use cohort::protocol::{GameId, SceneView, ServerMsg};

use crate::support::TestHost;

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
