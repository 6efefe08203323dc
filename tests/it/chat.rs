//! Group chat through the real host: a group's lines reach its members only, through
//! the countdown, the game and the survey after it, within the length and rate limits;
//! the export holds every line.

use std::time::Duration;

use cohort::client::{Client, ClientError};
use cohort::eventlog::Event;
use cohort::protocol::{ClientMsg, ErrorCode, ServerMsg};

use crate::support::{TestHost, export_with_pilots};

const WAIT: Duration = Duration::from_secs(10);

async fn say(c: &mut Client, text: &str) -> Result<(), ClientError> {
    let text = text.to_owned();
    c.request(|seq| ClientMsg::Chat { text, seq }).await
}

/// Every chat line `c` received so far (its own included).
async fn heard(c: &mut Client) -> Vec<String> {
    let mut lines = Vec::new();
    while let Ok(msg) = c.recv(Duration::from_millis(200)).await {
        match msg {
            ServerMsg::Chat { line, .. } => lines.push(line.text),
            ServerMsg::ChatOpen { lines: history, .. } => lines.extend(history.into_iter().map(|l| l.text)),
            _ => {}
        }
    }
    lines
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_groups_chat_reaches_its_members_only_within_its_limits() {
    let data = tempfile::tempdir().unwrap();
    let host = TestHost::start(&["tests/fixtures/host/chat.yaml"], data.path(), |_| {}).await;
    let connect = |rid: &'static str| {
        let addr = host.addr.clone();
        async move { Client::connect(&addr, "chat", &[("PROLIFIC_PID", rid)], None).await.unwrap() }
    };
    let mut alone = connect("waits").await;
    alone.wait_for("waiting_room", WAIT, |m| matches!(m, ServerMsg::WaitingRoom { .. }).then_some(())).await.unwrap();
    let refusal = say(&mut alone, "anyone?").await;
    assert!(matches!(refusal, Err(ClientError::Refused { code: ErrorCode::InvalidState, .. })), "{refusal:?}");
    let mut partner = connect("partner").await;
    for c in [&mut alone, &mut partner] {
        c.wait_for("chat_open", WAIT, |m| matches!(m, ServerMsg::ChatOpen { .. }).then_some(())).await.unwrap();
    }
    // The countdown: a pair of its own, then a second pair that must hear none of it.
    say(&mut alone, "hi from the first pair").await.unwrap();
    let too_long = say(&mut alone, &"x".repeat(81)).await;
    assert!(matches!(too_long, Err(ClientError::Refused { code: ErrorCode::Malformed, .. })), "{too_long:?}");
    let (mut third, mut fourth) = (connect("third").await, connect("fourth").await);
    for c in [&mut third, &mut fourth] {
        c.wait_for("chat_open", WAIT, |m| matches!(m, ServerMsg::ChatOpen { .. }).then_some(())).await.unwrap();
    }
    say(&mut third, "second pair here").await.unwrap();
    // Beside the game.
    partner.wait_for("start_game", WAIT, |m| matches!(m, ServerMsg::StartGame { .. }).then_some(())).await.unwrap();
    say(&mut partner, "moving right").await.unwrap();
    for _ in 0..4 {
        say(&mut partner, "spam").await.unwrap();
    }
    let over = say(&mut partner, "one too many").await;
    assert!(matches!(over, Err(ClientError::Refused { code: ErrorCode::RateLimited, .. })), "{over:?}");

    let first_pair = ["hi from the first pair", "moving right", "spam"];
    for c in [&mut alone, &mut partner] {
        let lines = heard(c).await;
        assert!(first_pair.iter().all(|l| lines.iter().any(|h| h == l)), "{lines:?}");
        assert!(!lines.iter().any(|l| l == "second pair here" || l == "one too many"), "{lines:?}");
    }
    for c in [&mut third, &mut fourth] {
        let lines = heard(c).await;
        assert!(lines.iter().any(|l| l == "second pair here"), "{lines:?}");
        assert!(!lines.iter().any(|l| first_pair.contains(&l.as_str())), "another group's lines: {lines:?}");
    }
    host.stop().await;

    let out = export_with_pilots(data.path(), "chat").await;
    let mut rdr = csv::Reader::from_path(out.path().join("chat/chat.csv")).unwrap();
    let rows: Vec<csv::StringRecord> = rdr.records().map(Result::unwrap).collect();
    let texts: Vec<&str> = rows.iter().map(|r| &r[6]).collect();
    assert_eq!(texts.len(), 7, "every delivered line, none refused: {texts:?}");
    let games: std::collections::BTreeSet<&str> = rows.iter().map(|r| &r[0]).collect();
    assert_eq!(games.len(), 2, "two groups");
    let scenes: Vec<&str> = rows.iter().map(|r| &r[2]).collect();
    assert!(scenes.iter().all(|s| *s == "play"), "{scenes:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_browsers_chat_beside_their_game_and_after_it_while_another_group_hears_nothing() {
    let data = tempfile::tempdir().unwrap();
    let host = TestHost::start(&["tests/fixtures/host/chat.yaml"], data.path(), |_| {}).await;
    let mut others = Vec::new();
    for rid in ["other-1", "other-2"] {
        others.push(Client::connect(&host.addr, "chat", &[("PROLIFIC_PID", rid)], None).await.unwrap());
    }
    for c in &mut others {
        c.wait_for("chat_open", WAIT, |m| matches!(m, ServerMsg::ChatOpen { .. }).then_some(())).await.unwrap();
    }
    let base = format!("http://{}", host.addr);
    let Some(out) = crate::browser::run_script("chat.mjs", &[&base]).await else { return };
    assert!(out.contains("PASS"), "{out}");
    for c in &mut others {
        let lines = heard(c).await;
        assert!(lines.is_empty(), "a member of another group heard: {lines:?}");
    }
    let said: Vec<String> = host
        .events("chat")
        .into_iter()
        .filter_map(|e| match e {
            Event::ChatSent { text, .. } => Some(text),
            _ => None,
        })
        .collect();
    assert!(said.contains(&"yes, the left side".to_owned()), "{said:?}");
    host.stop().await;
}
