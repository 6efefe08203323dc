//! Matchmaking, probing and games through the real host, with Rust clients over
//! WebSockets (the probe results here are reported by the clients directly; real
//! WebRTC measurement is tested in `probe_webrtc` and the browser tests).

use std::collections::BTreeMap;
use std::time::Duration;

use cohort::client::{Client, DEFAULT_WAIT};
use cohort::eventlog::Event;
use cohort::protocol::{Answer, ClientMsg, GameId, OutcomeReason, ParticipantId, ProbeId, SceneView, ServerMsg};

use crate::support::TestHost;

async fn join(host: &TestHost, experiment: &str, who: &str) -> Client {
    let mut c = Client::connect(&host.addr, experiment, &[("PROLIFIC_PID", who)], None).await.unwrap();
    assert!(matches!(c.next_scene().await.unwrap().1, SceneView::Multiplayer { .. }));
    c
}

async fn started(c: &mut Client) -> (GameId, Vec<ParticipantId>, usize) {
    c.wait_for("start_game", DEFAULT_WAIT, |m| match m {
        ServerMsg::StartGame { game, players, slot, .. } => Some((*game, players.clone(), *slot)),
        _ => None,
    })
    .await
    .unwrap()
}

async fn prepared(c: &mut Client) -> (ProbeId, ParticipantId) {
    c.wait_for("probe_prepare", DEFAULT_WAIT, |m| match m {
        ServerMsg::ProbePrepare { probe, peer, .. } => Some((probe.clone(), *peer)),
        _ => None,
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_players_are_matched_first_come_first_served_and_play() {
    let data = tempfile::tempdir().unwrap();
    let host = TestHost::start(&["tests/fixtures/host/pair.yaml"], data.path(), |_| {}).await;
    let mut a = join(&host, "pair", "a").await;
    let status = a
        .wait_for("waiting_room", DEFAULT_WAIT, |m| matches!(m, ServerMsg::WaitingRoom { .. }).then(|| m.clone()))
        .await;
    assert!(matches!(status, Ok(ServerMsg::WaitingRoom { waiting: Some(1), needed: Some(2), .. })), "{status:?}");
    let mut b = join(&host, "pair", "b").await;
    let countdown = a
        .wait_for("match_found", DEFAULT_WAIT, |m| match m {
            ServerMsg::MatchFound { countdown_secs, .. } => Some(*countdown_secs),
            _ => None,
        })
        .await
        .unwrap();
    assert_eq!(countdown, 0.2);
    let (game, players, slot_a) = started(&mut a).await;
    let (game_b, players_b, slot_b) = started(&mut b).await;
    assert_eq!((game, &players), (game_b, &players_b));
    assert_eq!(players[slot_a], a.welcome.participant);
    assert_eq!(players[slot_b], b.welcome.participant);

    // The relay path (b asked for it): a's inputs reach b, marked with a's slot.
    b.request(|seq| ClientMsg::GameRelay { game, need: 0, seq }).await.unwrap();
    let inputs = vec![serde_json::json!(null), serde_json::json!("up")];
    a.send(ClientMsg::GameInputs { game, from: 0, inputs: inputs.clone(), hashes: Vec::new(), seq: None })
        .await
        .unwrap();
    let relayed = b
        .wait_for("game_inputs", DEFAULT_WAIT, |m| match m {
            ServerMsg::GameInputs { slot, from, inputs, .. } => Some((*slot, *from, inputs.clone())),
            _ => None,
        })
        .await
        .unwrap();
    assert_eq!(relayed, (slot_a, 0, inputs));
    // Game signaling goes only to the named partner.
    b.send(ClientMsg::GameSignal {
        game,
        to: a.welcome.participant,
        signal: serde_json::json!({"sdp": "offer"}),
        seq: None,
    })
    .await
    .unwrap();
    let from = a
        .wait_for("game_signal", DEFAULT_WAIT, |m| match m {
            ServerMsg::GameSignal { from, .. } => Some(*from),
            _ => None,
        })
        .await
        .unwrap();
    assert_eq!(from, b.welcome.participant);

    for c in [&mut a, &mut b] {
        let result = Some(serde_json::json!({"score": 1}));
        c.request(|seq| ClientMsg::GameComplete {
            game,
            result: result.clone(),
            tick: Some(9),
            hash: Some("h".into()),
            seq,
        })
        .await
        .unwrap();
    }
    for c in [&mut a, &mut b] {
        let end = c
            .wait_for("game_end", DEFAULT_WAIT, |m| {
                matches!(m, ServerMsg::GameEnd { reason, .. } if reason == "completed").then_some(())
            })
            .await;
        assert!(end.is_ok(), "{end:?}");
        let (_, scene) = c.next_scene().await.unwrap();
        assert!(matches!(scene, SceneView::Survey { .. }), "each player continues with the next scene");
        let answers: BTreeMap<String, Answer> = [("fun".to_owned(), Answer::Integer(4))].into();
        c.submit("after", answers).await.unwrap();
        assert!(matches!(c.next_scene().await.unwrap().1, SceneView::End { .. }));
    }
    let events = host.events("pair");
    assert!(events.iter().any(|e| matches!(e, Event::GameCreated { players: p, .. } if p.len() == 2)));
    assert!(events.iter().any(|e| matches!(e, Event::GameInputs { relayed: true, .. })));
    host.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_players_are_grouped_in_arrival_order() {
    let data = tempfile::tempdir().unwrap();
    let host = TestHost::start(&["tests/fixtures/host/trio.yaml"], data.path(), |_| {}).await;
    let mut clients = Vec::new();
    for who in ["t1", "t2", "t3", "t4"] {
        clients.push(join(&host, "trio", who).await);
    }
    let mut games = Vec::new();
    for c in clients.iter_mut().take(3) {
        games.push(started(c).await);
    }
    assert!(games.iter().all(|g| g.0 == games[0].0 && g.1.len() == 3), "the first three play together");
    let ids: Vec<ParticipantId> = clients.iter().map(|c| c.welcome.participant).collect();
    assert_eq!(games[0].1, ids[..3], "slots in arrival order");
    let fourth = clients[3]
        .wait_for("waiting_room", DEFAULT_WAIT, |m| match m {
            ServerMsg::WaitingRoom { waiting, .. } if *waiting == Some(1) => Some(()),
            _ => None,
        })
        .await;
    assert!(fourth.is_ok(), "the fourth keeps waiting, alone: {fourth:?}");
    host.stop().await;
}

/// Both clients take part in the probe protocol and report `rtt_a` / `rtt_b`.
async fn probe_pair(a: &mut Client, b: &mut Client, rtt_a: Option<f64>, rtt_b: Option<f64>) -> ProbeId {
    let (probe, peer) = prepared(a).await;
    assert_eq!(peer, b.welcome.participant);
    let (probe_b, _) = prepared(b).await;
    assert_eq!(probe, probe_b);
    for c in [&mut *a, &mut *b] {
        let id = probe.clone();
        c.request(|seq| ClientMsg::ProbeReady { probe: id, seq }).await.unwrap();
    }
    for (c, rtt) in [(&mut *a, rtt_a), (&mut *b, rtt_b)] {
        c.wait_for("probe_start", DEFAULT_WAIT, |m| matches!(m, ServerMsg::ProbeStart { .. }).then_some(()))
            .await
            .unwrap();
        let id = probe.clone();
        let error = rtt.is_none().then(|| "the data channel never opened".to_owned());
        c.request(|seq| ClientMsg::ProbeResult { probe: id, rtt_ms: rtt, error, seq }).await.unwrap();
    }
    probe
}

fn probe_outcome(host: &TestHost, probe: &ProbeId) -> Option<(Option<f64>, String)> {
    host.events("probed").into_iter().find_map(|e| match e {
        Event::ProbeFinished { probe: p, rtt_ms, outcome, .. } if &p == probe => Some((rtt_ms, outcome)),
        _ => None,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probe_results_at_the_threshold_boundary() {
    let data = tempfile::tempdir().unwrap();
    let host = TestHost::start(&["tests/fixtures/host/probed.yaml"], data.path(), |_| {}).await;
    for (n, (rtt_a, rtt_b, accepted)) in
        [(Some(12.0), Some(80.0), true), (Some(80.5), Some(3.0), false), (Some(5.0), None, false)]
            .into_iter()
            .enumerate()
    {
        let mut a = join(&host, "probed", &format!("a{n}")).await;
        let mut b = join(&host, "probed", &format!("b{n}")).await;
        let probe = probe_pair(&mut a, &mut b, rtt_a, rtt_b).await;
        let expected_rtt = match (rtt_a, rtt_b) {
            (Some(x), Some(y)) => Some(x.max(y)),
            _ => None,
        };
        if accepted {
            started(&mut a).await;
            started(&mut b).await;
        } else {
            for c in [&mut a, &mut b] {
                let abort = c
                    .wait_for("probe_abort", DEFAULT_WAIT, |m| matches!(m, ServerMsg::ProbeAbort { .. }).then_some(()))
                    .await;
                assert!(abort.is_ok(), "{abort:?}");
            }
        }
        let outcome = probe_outcome(&host, &probe).expect("the probe is recorded");
        assert_eq!(outcome, (expected_rtt, if accepted { "accepted" } else { "rejected" }.to_owned()), "case {n}");
        let ids = [a.welcome.participant, b.welcome.participant];
        for c in [a, b] {
            c.close().await;
        }
        // A rejected pair waits on through its grace period: the next pair must not be
        // offered to them, so wait until they are gone from the waitroom.
        if !accepted {
            for id in ids {
                host.wait_for_event(
                    "probed",
                    "waitroom_left",
                    |e| matches!(e, Event::WaitroomLeft { participant, .. } if *participant == id),
                )
                .await;
            }
        }
    }
    host.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partner_disconnecting_mid_game_ends_it_for_the_other() {
    let data = tempfile::tempdir().unwrap();
    let host = TestHost::start(&["tests/fixtures/host/pair.yaml"], data.path(), |_| {}).await;
    let mut a = join(&host, "pair", "stay").await;
    let mut b = join(&host, "pair", "go").await;
    started(&mut a).await;
    started(&mut b).await;
    b.close().await;
    let end = a
        .wait_for("game_end", DEFAULT_WAIT, |m| {
            matches!(m, ServerMsg::GameEnd { reason, .. } if reason == "partner_left").then_some(())
        })
        .await;
    assert!(end.is_ok(), "{end:?}");
    let outcome = a
        .wait_for("outcome", DEFAULT_WAIT, |m| matches!(m, ServerMsg::Outcome { .. }).then(|| m.clone()))
        .await
        .unwrap();
    assert_eq!(
        outcome,
        ServerMsg::Outcome {
            reason: OutcomeReason::PartnerLeft,
            message: Some("Your partner left.".into()),
            completion_code: Some("LEFT-1".into()),
            redirect_url: None
        }
    );
    host.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_participant_disconnecting_mid_probe_frees_the_partner_at_once() {
    let data = tempfile::tempdir().unwrap();
    let host = TestHost::start(&["tests/fixtures/host/probed.yaml"], data.path(), |_| {}).await;
    let mut a = join(&host, "probed", "keeper").await;
    let mut b = join(&host, "probed", "leaver").await;
    let (probe, _) = prepared(&mut a).await;
    prepared(&mut b).await;
    b.close().await;
    let reason = a
        .wait_for("probe_abort", DEFAULT_WAIT, |m| match m {
            ServerMsg::ProbeAbort { probe: p, reason } if *p == probe => Some(reason.clone()),
            _ => None,
        })
        .await
        .unwrap();
    assert_eq!(reason, "group_dropped");
    // A newcomer is proposed with `a` straight away (no timeout to wait out).
    let mut c = join(&host, "probed", "newcomer").await;
    let (_, peer) = prepared(&mut c).await;
    assert_eq!(peer, a.welcome.participant);
    let aborted =
        host.events("probed").iter().any(|e| matches!(e, Event::ProbeFinished { outcome, .. } if outcome == "aborted"));
    assert!(aborted);
    host.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probe_messages_for_someone_elses_probe_are_refused() {
    let data = tempfile::tempdir().unwrap();
    let host = TestHost::start(&["tests/fixtures/host/probed.yaml"], data.path(), |_| {}).await;
    let mut a = join(&host, "probed", "pa").await;
    let mut b = join(&host, "probed", "pb").await;
    let mut outsider = join(&host, "probed", "outsider").await;
    let (probe, _) = prepared(&mut a).await;
    prepared(&mut b).await;
    use cohort::client::ClientError;
    use cohort::protocol::ErrorCode;
    let attempts: Vec<Box<dyn Fn(Option<u64>) -> ClientMsg>> = vec![
        Box::new({
            let p = probe.clone();
            move |seq| ClientMsg::ProbeSignal { probe: p.clone(), signal: serde_json::json!({"sdp": "evil"}), seq }
        }),
        Box::new({
            let p = probe.clone();
            move |seq| ClientMsg::ProbeResult { probe: p.clone(), rtt_ms: Some(1.0), error: None, seq }
        }),
        Box::new({
            let p = probe.clone();
            move |seq| ClientMsg::ProbeReady { probe: p.clone(), seq }
        }),
        Box::new(|seq| ClientMsg::ProbeReady { probe: ProbeId("probe_unknown".into()), seq }),
    ];
    for attempt in &attempts {
        match outsider.request(attempt).await {
            Err(ClientError::Refused { code: ErrorCode::NotAPeer, .. }) => {}
            other => panic!("expected not_a_peer, got {other:?}"),
        }
    }
    // A result after the deadline (5 s) is refused too; nothing reached a or b.
    let refused = host.events("probed").iter().filter(|e| matches!(e, Event::Refused { .. })).count();
    assert_eq!(refused, 4);
    a.send(ClientMsg::ProbeReady { probe: probe.clone(), seq: None }).await.unwrap();
    b.send(ClientMsg::ProbeReady { probe: probe.clone(), seq: None }).await.unwrap();
    let first = a.wait_for("probe_start", DEFAULT_WAIT, |m| match m {
        ServerMsg::ProbeStart { .. } => Some(None),
        ServerMsg::ProbeSignal { signal, .. } => Some(Some(signal.clone())),
        _ => None,
    });
    assert_eq!(first.await.unwrap(), None, "the forged signal never reached a");
    let timed_out = a.wait_for("probe_abort", Duration::from_secs(10), |m| match m {
        ServerMsg::ProbeAbort { reason, .. } => Some(reason.clone()),
        _ => None,
    });
    assert_eq!(timed_out.await.unwrap(), "timed_out", "the server enforces the probe timeout");
    let late =
        a.request(|seq| ClientMsg::ProbeResult { probe: probe.clone(), rtt_ms: Some(2.0), error: None, seq }).await;
    assert!(matches!(late, Err(ClientError::Refused { code: ErrorCode::NotAPeer, .. })), "{late:?}");
    host.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn someone_who_left_sees_their_outcome_again_after_a_restart() {
    let data = tempfile::tempdir().unwrap();
    let host = TestHost::start(&["tests/fixtures/host/pair.yaml"], data.path(), |_| {}).await;
    let mut a = join(&host, "pair", "quitter").await;
    a.request(|seq| ClientMsg::LeaveWaitroom { seq }).await.unwrap();
    let outcome = a
        .wait_for("outcome", DEFAULT_WAIT, |m| matches!(m, ServerMsg::Outcome { .. }).then(|| m.clone()))
        .await
        .unwrap();
    a.close().await;
    host.stop().await;
    let host = TestHost::start(&["tests/fixtures/host/pair.yaml"], data.path(), |_| {}).await;
    let mut back = Client::connect(&host.addr, "pair", &[("PROLIFIC_PID", "quitter")], None).await.unwrap();
    assert!(back.welcome.resumed, "recognised from the earlier run");
    let again = back.recv(DEFAULT_WAIT).await.unwrap();
    assert_eq!(again, outcome, "the same outcome, not a new run");
    assert!(matches!(outcome, ServerMsg::Outcome { reason: OutcomeReason::LeftWaitroom, .. }));
    host.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backfilled_newcomer_is_heard_through_the_relay_from_their_first_tick() {
    // A client written from protocol.md alone: nobody sends `game_relay`, yet the
    // newcomer's inputs reach the player who stayed ("their inputs come through the
    // relay", `seat_change`).
    let data = tempfile::tempdir().unwrap();
    let host = TestHost::start(&["tests/fixtures/host/backfill.yaml"], data.path(), |_| {}).await;
    let mut a = join(&host, "backfill", "stays").await;
    let mut b = join(&host, "backfill", "leaves").await;
    let (game, _, _) = started(&mut a).await;
    started(&mut b).await;
    b.hang_up().await;
    let left = a
        .wait_for("seat_change to bot", DEFAULT_WAIT, |m| match m {
            ServerMsg::SeatChange { slot, .. } => Some(*slot),
            _ => None,
        })
        .await
        .unwrap();
    let mut c = join(&host, "backfill", "newcomer").await;
    let start = c
        .wait_for("start_game", DEFAULT_WAIT, |m| match m {
            ServerMsg::StartGame { game, slot, relay, inputs, .. } => {
                Some((*game, *slot, *relay, inputs[*slot].len() as u64))
            }
            _ => None,
        })
        .await
        .unwrap();
    let (c_game, c_slot, relay, tick) = start;
    assert_eq!((c_game, c_slot), (game, left), "the newcomer takes the left seat");
    assert!(relay, "the newcomer starts on the relay");
    let moves = vec![serde_json::json!("up"), serde_json::json!(null), serde_json::json!("left")];
    c.send(ClientMsg::GameInputs { game, from: tick, inputs: moves.clone(), hashes: Vec::new(), seq: None })
        .await
        .unwrap();
    let heard = a
        .wait_for("the newcomer's inputs", DEFAULT_WAIT, |m| match m {
            ServerMsg::GameInputs { slot, from, inputs, .. } if *slot == left => Some((*from, inputs.clone())),
            _ => None,
        })
        .await
        .unwrap();
    assert_eq!(heard, (tick, moves), "forwarded from the newcomer's first tick");
    host.stop().await;
}
