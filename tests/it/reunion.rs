//! Group reunion through the real host: the pairs of a first experiment, coming back to
//! a second one in another order, play together again; someone whose partner does not
//! come back is matched with a newcomer after the reunion timeout. Both parts may run
//! in one host at once: groups formed in part one after part two started are known.

use std::collections::{BTreeSet, HashMap};

use cohort::client::{Client, DEFAULT_WAIT};
use cohort::eventlog::Event;
use cohort::protocol::{GameId, SceneView, ServerMsg};

use crate::support::TestHost;

async fn join(host: &TestHost, experiment: &str, who: &str) -> Client {
    join_with(host, experiment, &[("PROLIFIC_PID", who)]).await
}

async fn join_with(host: &TestHost, experiment: &str, params: &[(&str, &str)]) -> Client {
    let mut c = Client::connect(&host.addr, experiment, params, None).await.unwrap();
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
    for who in ["r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7"] {
        clients.push(join(&first, "reunion-first", who).await);
        if clients.len() % 2 == 0 {
            matched(clients.last_mut().unwrap()).await;
        }
    }
    let expected =
        [set(&["r0", "r1"]), set(&["r2", "r3"]), set(&["r4", "r5"]), set(&["r6", "r7"])].into_iter().collect();
    assert_eq!(groups(&first, "reunion-first"), expected);
    // The code part one shows the last pair (`{group_code}`), which they bring to part
    // two in the link, under other recruitment ids.
    let last = first.events("reunion-first").iter().rev().find_map(|e| match e {
        Event::GameCreated { game, .. } => Some(*game),
        _ => None,
    });
    let code = cohort::config::reunion::group_code(&last.unwrap());
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
    // By code: two new ids with the code play together, though someone else came
    // between them.
    let mut c1 = join_with(&second, "reunion-second", &[("PROLIFIC_PID", "c1"), ("group", &code)]).await;
    let mut other = join(&second, "reunion-second", "other").await;
    let mut c2 = join_with(&second, "reunion-second", &[("PROLIFIC_PID", "c2"), ("group", &code.to_lowercase())]).await;
    let gc = matched(&mut c1).await;
    assert_eq!(matched(&mut c2).await, gc);
    drop(other.send(cohort::protocol::ClientMsg::LeaveWaitroom { seq: None }).await);
    let expected =
        [set(&["r0", "r1"]), set(&["r2", "r3"]), set(&["r4", "newcomer"]), set(&["c1", "c2"])].into_iter().collect();
    assert_eq!(groups(&second, "reunion-second"), expected);
    let events = second.events("reunion-second");
    let waiting = events.iter().filter(|e| matches!(e, Event::ReunionWaiting { .. })).count();
    let timeouts = events.iter().filter(|e| matches!(e, Event::ReunionTimeout { .. })).count();
    assert_eq!((waiting, timeouts), (7, 1), "r0–r4 and c1, c2 held; r4 released");
    second.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pairs_formed_while_part_two_runs_in_the_same_host_play_together_again() {
    let data = tempfile::tempdir().unwrap();
    let files = ["tests/fixtures/host/reunion-first.yaml", "tests/fixtures/host/reunion-second.yaml"];
    let host = TestHost::start(&files, data.path(), |_| {}).await;
    // Part two is open before anyone plays part one; someone is already waiting there.
    let mut early = join(&host, "reunion-second", "early").await;
    let mut firsts = Vec::new();
    for who in ["s0", "s1", "s2", "s3"] {
        firsts.push(join(&host, "reunion-first", who).await);
        if firsts.len() % 2 == 0 {
            matched(firsts.last_mut().unwrap()).await;
        }
    }
    let last = host.events("reunion-first").iter().rev().find_map(|e| match e {
        Event::GameCreated { game, .. } => Some(*game),
        _ => None,
    });
    let code = cohort::config::reunion::group_code(&last.unwrap());
    // Back in another order: first come first served would pair `early` with s2, then
    // s0 with s3.
    let mut s2 = join(&host, "reunion-second", "s2").await;
    let mut s0 = join(&host, "reunion-second", "s0").await;
    let mut s1 = join(&host, "reunion-second", "s1").await;
    let g01 = matched(&mut s0).await;
    assert_eq!(matched(&mut s1).await, g01);
    // The last pair's code, under a new recruitment id, brings s2's partner.
    let mut c3 = join_with(&host, "reunion-second", &[("PROLIFIC_PID", "c3"), ("group", &code)]).await;
    let g23 = matched(&mut s2).await;
    assert_eq!(matched(&mut c3).await, g23);
    drop(early.send(cohort::protocol::ClientMsg::LeaveWaitroom { seq: None }).await);
    let expected = [set(&["s0", "s1"]), set(&["s2", "c3"])].into_iter().collect();
    assert_eq!(groups(&host, "reunion-second"), expected);
    host.stop().await;
}
