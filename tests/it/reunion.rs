//! Group reunion through the real host: the pairs of a first experiment, coming back to
//! a second one in another order, play together again; someone whose partner does not
//! come back is matched with a newcomer after the reunion timeout.

use std::collections::{BTreeSet, HashMap};

use cohort::client::{Client, DEFAULT_WAIT};
use cohort::eventlog::Event;
use cohort::protocol::{GameId, SceneView, ServerMsg};

use crate::support::TestHost;

async fn join(host: &TestHost, experiment: &str, who: &str) -> Client {
    let mut c = Client::connect(&host.addr, experiment, &[("PROLIFIC_PID", who)], None).await.unwrap();
    assert!(matches!(c.next_scene().await.unwrap().1, SceneView::Multiplayer { .. }));
    c
}

async fn matched(c: &mut Client) -> GameId {
    c.wait_for("match_found", DEFAULT_WAIT, |m| match m {
        ServerMsg::MatchFound { game, .. } => Some(*game),
        _ => None,
    })
    .await
    .unwrap()
}

/// The groups of `experiment`'s games, by recruitment id.
fn groups(host: &TestHost, experiment: &str) -> BTreeSet<BTreeSet<String>> {
    let events = host.events(experiment);
    let rid: HashMap<_, _> = events
        .iter()
        .filter_map(|e| match e {
            Event::SessionStarted { participant, recruitment_id: Some(r), .. } => Some((*participant, r.clone())),
            _ => None,
        })
        .collect();
    events
        .iter()
        .filter_map(|e| match e {
            Event::GameCreated { players, .. } => Some(players.iter().map(|p| rid[p].clone()).collect()),
            _ => None,
        })
        .collect()
}

fn set(ids: &[&str]) -> BTreeSet<String> {
    ids.iter().map(|s| (*s).to_owned()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn earlier_pairs_play_together_again_and_a_lone_returner_is_matched_after_the_timeout() {
    let data = tempfile::tempdir().unwrap();
    let first = TestHost::start(&["tests/fixtures/host/reunion-first.yaml"], data.path(), |_| {}).await;
    let mut clients = Vec::new();
    for who in ["r0", "r1", "r2", "r3", "r4", "r5"] {
        clients.push(join(&first, "reunion-first", who).await);
        if clients.len() % 2 == 0 {
            matched(clients.last_mut().unwrap()).await;
        }
    }
    let expected = [set(&["r0", "r1"]), set(&["r2", "r3"]), set(&["r4", "r5"])].into_iter().collect();
    assert_eq!(groups(&first, "reunion-first"), expected);
    drop(clients);
    first.stop().await;

    // Part two reads part one's groups at start. They come back in another order:
    // first come first served would pair r0 with r2.
    let second = TestHost::start(&["tests/fixtures/host/reunion-second.yaml"], data.path(), |_| {}).await;
    let mut r0 = join(&second, "reunion-second", "r0").await;
    let mut r2 = join(&second, "reunion-second", "r2").await;
    let mut r1 = join(&second, "reunion-second", "r1").await;
    let g01 = matched(&mut r0).await;
    assert_eq!(matched(&mut r1).await, g01);
    let mut r3 = join(&second, "reunion-second", "r3").await;
    let g23 = matched(&mut r2).await;
    assert_eq!(matched(&mut r3).await, g23);
    // r4's partner does not come back; a newcomer waits with r4 until the timeout.
    let mut r4 = join(&second, "reunion-second", "r4").await;
    let mut n = join(&second, "reunion-second", "newcomer").await;
    let started = std::time::Instant::now();
    let g4 = matched(&mut r4).await;
    assert!(started.elapsed() >= std::time::Duration::from_millis(1500), "not before the reunion timeout");
    assert_eq!(matched(&mut n).await, g4);
    let expected = [set(&["r0", "r1"]), set(&["r2", "r3"]), set(&["r4", "newcomer"])].into_iter().collect();
    assert_eq!(groups(&second, "reunion-second"), expected);
    let events = second.events("reunion-second");
    let waiting = events.iter().filter(|e| matches!(e, Event::ReunionWaiting { .. })).count();
    let timeouts = events.iter().filter(|e| matches!(e, Event::ReunionTimeout { .. })).count();
    assert_eq!((waiting, timeouts), (5, 1), "r0–r4 held; r4 released");
    second.stop().await;
}
