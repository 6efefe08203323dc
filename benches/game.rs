//! What it costs the host to run a game module itself (`cohort validate`, replay, bots,
//! and — not done today — an authoritative live copy): one tick of the demo game
//! (`step` + `done`) in the host's QuickJS engine, a state hash, and a whole 60-second
//! game replayed; one input's trip through the host relay (which waits for the input's
//! event to be durable); and, with the `webrtc` feature, one input over the probe's
//! DataChannel between two Rust peers, the path a probed group plays on.
//! `cargo bench --features webrtc --bench game` prints a markdown section;
//! `benches/run.sh` puts it in docs/benchmarks.md.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use cohort::client::Client;
use cohort::game::engine::Engine;
use cohort::protocol::{ClientMsg, ServerMsg};
use serde_json::{Value, json};

fn engine() -> Engine {
    let source = std::fs::read_to_string("experiments/games/demo.js").expect("the demo game");
    let sources: BTreeMap<String, String> = [("demo.js".to_owned(), source)].into();
    let engine = Engine::load(Arc::new(sources), "demo.js").expect("loads");
    engine.init(&json!({}), 7, 2, 20).expect("init");
    engine
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// A host serving `tests/fixtures/host/<experiment>.yaml` on loopback: its address, its
/// data directory (kept while the host runs), the token that stops it and its task.
async fn serve(
    experiment: &str,
) -> (
    String,
    tempfile::TempDir,
    tokio_util::sync::CancellationToken,
    tokio::task::JoinHandle<Result<(), cohort::server::ServeError>>,
) {
    let data = tempfile::tempdir().expect("tempdir");
    let (loaded, reports) = cohort::config::load_all(&[format!("tests/fixtures/host/{experiment}.yaml").into()]);
    assert!(reports.is_empty(), "{reports:?}");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr").to_string();
    let shutdown = tokio_util::sync::CancellationToken::new();
    let opts = cohort::server::ServeOptions::new(data.path().to_path_buf());
    let host = tokio::spawn(cohort::server::run(listener, loaded, opts, shutdown.clone()));
    (addr, data, shutdown, host)
}

/// One input's trip through the host relay: from one player's `game_inputs` to the
/// partner's forwarded `game_inputs`, in one process (one clock), one input per tick at 20 ticks/s.
fn relay_hops(n: usize) -> Vec<Duration> {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    rt.block_on(async move {
        let (addr, _data, shutdown, host) = serve("pair").await;
        let mut a = Client::connect(&addr, "pair", &[("PROLIFIC_PID", "a")], None).await.expect("a");
        let mut b = Client::connect(&addr, "pair", &[("PROLIFIC_PID", "b")], None).await.expect("b");
        let wait = Duration::from_secs(10);
        let start = |m: &ServerMsg| match m {
            ServerMsg::StartGame { game, .. } => Some(*game),
            _ => None,
        };
        let game = a.wait_for("start_game", wait, start).await.expect("a starts");
        b.wait_for("start_game", wait, start).await.expect("b starts");
        b.request(|seq| ClientMsg::GameRelay { game, need: 0, seq }).await.expect("relay");
        let mut hops = Vec::with_capacity(n);
        for tick in 0..n as u64 {
            let sent = Instant::now();
            let msg =
                ClientMsg::GameInputs { game, from: tick, inputs: vec![json!("up")], hashes: Vec::new(), seq: None };
            a.send(msg).await.expect("send");
            let got = |m: &ServerMsg| matches!(m, ServerMsg::GameInputs { from, .. } if *from == tick).then_some(());
            b.wait_for("game_inputs", wait, got).await.expect("forwarded");
            hops.push(sent.elapsed());
            tokio::time::sleep(Duration::from_millis(50)).await; // the game's 20 ticks/s
        }
        shutdown.cancel();
        let _ = host.await;
        hops
    })
}

/// One input's trip over the probe's DataChannel kept for the game: two Rust WebRTC
/// peers on loopback, probed and grouped by the host, then one input per tick at 20
/// ticks/s from one to the other (same process, one clock; the host is not on the path).
#[cfg(feature = "webrtc")]
fn channel_hops(n: usize) -> Vec<Duration> {
    use cohort::client::webrtc::Prober;
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    rt.block_on(async move {
        let (addr, _data, shutdown, host) = serve("probed").await;
        let mut a = Client::connect(&addr, "probed", &[("PROLIFIC_PID", "a")], None).await.expect("a");
        let mut b = Client::connect(&addr, "probed", &[("PROLIFIC_PID", "b")], None).await.expect("b");
        a.next_scene().await.expect("a waits");
        b.next_scene().await.expect("b waits");
        let (mut pa, mut pb) = (Prober::default(), Prober::default());
        let wait = Duration::from_secs(20);
        let start = |m: &ServerMsg| matches!(m, ServerMsg::StartGame { .. }).then(|| m.clone());
        let (sa, sb) = tokio::join!(
            a.wait_probing(&mut pa, "start_game", wait, start),
            b.wait_probing(&mut pb, "start_game", wait, start)
        );
        let (sa, sb) = (sa.expect("a starts"), sb.expect("b starts"));
        for m in pa.follow_game(&sa).await {
            a.send(m).await.expect("send");
        }
        for m in pb.follow_game(&sb).await {
            b.send(m).await.expect("send");
        }
        let mut own = Vec::new();
        let mut hops = Vec::with_capacity(n);
        for tick in 0..n {
            own.push(json!("up"));
            let sent = Instant::now();
            pa.game().expect("a plays").send_inputs(&own);
            let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
            'arrived: loop {
                tokio::select! {
                    _ = pa.drive() => {}
                    _ = pb.drive() => {}
                    () = tokio::time::sleep_until(deadline) => panic!("input {tick} never came over the channel"),
                }
                let (inputs, closed) = pb.take_game_news();
                assert!(!closed, "the channel closed");
                if inputs.iter().any(|(_, from, v)| (*from as usize) + v.len() > tick) {
                    break 'arrived;
                }
            }
            hops.push(sent.elapsed());
            // The game's 20 ticks/s, both peers kept alive meanwhile.
            let _ = tokio::time::timeout(Duration::from_millis(50), async {
                loop {
                    tokio::select! {
                        _ = pa.drive() => {}
                        _ = pb.drive() => {}
                    }
                    let _ = pb.take_game_news();
                }
            })
            .await;
        }
        shutdown.cancel();
        let _ = host.await;
        hops
    })
}

fn main() {
    let moves = ["up", "down", "left", "right"];
    let load_started = Instant::now();
    let e = engine();
    let load = load_started.elapsed();
    let mut steps = Vec::new();
    let mut hashes = Vec::new();
    for tick in 0..20_000usize {
        if tick % 1000 == 0 {
            e.init(&json!({}), tick as u32, 2, 20).expect("init");
        }
        let inputs = [Value::from(moves[tick % 4]), Value::from(moves[(tick / 3) % 4])];
        let t = Instant::now();
        e.step(&inputs).expect("step");
        e.done().expect("done");
        steps.push(t.elapsed());
        if tick % 20 == 19 {
            let t = Instant::now();
            e.hash().expect("hash");
            hashes.push(t.elapsed());
        }
    }
    steps.sort();
    hashes.sort();
    // A whole game: 60 s at 20 ticks/s, with a hash every 20 ticks, from a fresh engine.
    let mut games = Vec::new();
    for round in 0..20u32 {
        let t = Instant::now();
        let e = engine();
        e.init(&json!({}), round, 2, 20).expect("init");
        for tick in 0..1200usize {
            e.step(&[Value::from(moves[tick % 4]), Value::Null]).expect("step");
            e.done().expect("done");
            if tick % 20 == 19 {
                e.hash().expect("hash");
            }
        }
        games.push(t.elapsed());
    }
    games.sort();
    let us = |d: Duration| format!("{:.1}", d.as_secs_f64() * 1e6);
    let ms = |d: Duration| format!("{:.1}", d.as_secs_f64() * 1e3);
    println!("## Games in the host's engine\n");
    println!(
        "`cargo bench --features webrtc --bench game`, release build: the demo game (`experiments/games/demo.js`, two players) in\n\
         QuickJS (rquickjs), as `cohort validate`, `cohort replay` and `cohort bots` run it.\n"
    );
    println!("| measure | p50 | p99 | max |\n|---|---:|---:|---:|");
    println!(
        "| one tick (`step` + `done`), µs | {} | {} | {} |",
        us(percentile(&steps, 0.5)),
        us(percentile(&steps, 0.99)),
        us(steps[steps.len() - 1])
    );
    println!(
        "| state hash (default FNV-1a over the JSON), µs | {} | {} | {} |",
        us(percentile(&hashes, 0.5)),
        us(percentile(&hashes, 0.99)),
        us(hashes[hashes.len() - 1])
    );
    println!(
        "| a 60 s game replayed (1,200 ticks, 60 hashes, fresh engine), ms | {} | {} | {} |",
        ms(percentile(&games, 0.5)),
        ms(percentile(&games, 0.99)),
        ms(games[games.len() - 1])
    );
    let mut hops = relay_hops(200);
    hops.sort();
    println!(
        "| one input through the host relay (player → host → partner, loopback, event durable first), ms | {} | {} | {} |",
        ms(percentile(&hops, 0.5)),
        ms(percentile(&hops, 0.99)),
        ms(hops[hops.len() - 1])
    );
    #[cfg(feature = "webrtc")]
    {
        let mut hops = channel_hops(200);
        hops.sort();
        println!(
            "| one input over the probe's DataChannel (player → partner, two Rust WebRTC peers on loopback), ms | {} | {} | {} |",
            ms(percentile(&hops, 0.5)),
            ms(percentile(&hops, 0.99)),
            ms(hops[hops.len() - 1])
        );
    }
    println!("\nLoading the module into a fresh engine: {} ms.", ms(load));
    let per_tick = percentile(&steps, 0.5).as_secs_f64();
    println!(
        "\nAn authoritative live copy on the host would cost one tick per game per tick: at 20 ticks/s, \
         {:.3} % of one core per game for this game (≈ {} concurrent games per core), on the actor's path \
         or a thread beside it. The host does not step live games: the pages' state hashes, compared per \
         tick, detect a divergence at no cost, and `cohort replay` recomputes any game from the log.",
        per_tick * 20.0 * 100.0,
        (1.0 / (per_tick * 20.0)) as u64
    );
}
