//! A restart loses no one, and `kill -9` loses nothing acknowledged: the real binary
//! is killed mid-run and started again on the same data directory.

use std::path::Path;
use std::process::Child;
use std::time::Duration;

use cohort::client::Client;
use cohort::eventlog::Event;
use cohort::protocol::{Answer, OutcomeReason, SceneView, ServerMsg};

const WAIT: Duration = Duration::from_secs(10);

/// `cohort serve` on an ephemeral port; its address.
fn serve(data: &Path) -> (Child, String) {
    let data = data.as_os_str();
    crate::support::serve_binary([
        "tests/fixtures/host/flow.yaml".as_ref(),
        "tests/fixtures/host/pair.yaml".as_ref(),
        "--data".as_ref(),
        data,
    ])
}

fn events(data: &Path, experiment: &str) -> Vec<Event> {
    cohort::eventlog::previous_logs(data, experiment)
        .iter()
        .flat_map(|log| cohort::eventlog::read(log).unwrap())
        .map(|r| r.event)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_kill_the_restarted_host_continues_everyone_where_they_were() {
    let data = tempfile::tempdir().unwrap();
    let (mut host, addr) = serve(data.path());
    // Mid-survey: consent and instructions acknowledged.
    let mut mid = Client::connect(&addr, "flow", &[("PROLIFIC_PID", "mid")], None).await.unwrap();
    mid.next_scene().await.unwrap();
    mid.advance("consent").await.unwrap();
    mid.next_scene().await.unwrap();
    mid.advance("intro").await.unwrap();
    assert!(matches!(mid.next_scene().await.unwrap(), (2, SceneView::Survey { .. })));
    let (mid_pid, mid_token) = (mid.welcome.participant, mid.welcome.resume_token.clone());
    // Finished.
    let mut done = Client::connect(&addr, "flow", &[("PROLIFIC_PID", "done")], None).await.unwrap();
    done.next_scene().await.unwrap();
    done.advance("consent").await.unwrap();
    done.next_scene().await.unwrap();
    done.advance("intro").await.unwrap();
    done.next_scene().await.unwrap();
    let answers: std::collections::BTreeMap<String, Answer> = [
        ("name".to_owned(), Answer::Text("Ada".into())),
        ("colour".to_owned(), Answer::Text("blue".into())),
        ("tools".to_owned(), Answer::Choices(vec!["pen".into()])),
        ("mood".to_owned(), Answer::Integer(3)),
    ]
    .into();
    done.submit("questions", answers.clone()).await.unwrap();
    assert!(matches!(done.next_scene().await.unwrap().1, SceneView::End { .. }));
    // Waiting for a partner.
    let mut waiting = Client::connect(&addr, "pair", &[("PROLIFIC_PID", "waiting")], None).await.unwrap();
    waiting.wait_for("waiting_room", WAIT, |m| matches!(m, ServerMsg::WaitingRoom { .. }).then_some(())).await.unwrap();
    let waiting_token = waiting.welcome.resume_token.clone();

    host.kill().unwrap(); // SIGKILL: no clean shutdown
    host.wait().unwrap();
    // Everything acknowledged is in the log.
    let before = events(data.path(), "flow");
    assert!(before.iter().any(|e| matches!(e, Event::ConsentGiven { participant, .. } if *participant == mid_pid)));
    assert!(before.iter().any(
        |e| matches!(e, Event::SceneLeft { participant, scene, .. } if *participant == mid_pid && scene == "intro")
    ));
    assert!(before.iter().any(|e| matches!(e, Event::SurveyAnswered { answers: a, .. } if *a == answers)));
    assert!(!before.iter().any(|e| matches!(e, Event::RunStopped)), "the run did not stop cleanly");

    let (mut host, addr) = serve(data.path());
    // The tab mid-survey continues there (its token is recognised).
    let mut back = Client::connect(&addr, "flow", &[("PROLIFIC_PID", "mid")], Some(&mid_token)).await.unwrap();
    assert!(back.welcome.resumed);
    assert_eq!(back.welcome.participant, mid_pid);
    // The tab keeps its token (whose hash the first run logged): a later restart
    // recognises it again.
    assert_eq!(back.welcome.resume_token, mid_token);
    assert!(matches!(back.next_scene().await.unwrap(), (2, SceneView::Survey { .. })), "continues mid-survey");
    back.submit("questions", answers.clone()).await.unwrap();
    assert!(matches!(back.next_scene().await.unwrap().1, SceneView::End { .. }));
    // The finished one is recognised by recruitment id and sees the end again.
    let mut again = Client::connect(&addr, "flow", &[("PROLIFIC_PID", "done")], None).await.unwrap();
    assert!(again.welcome.resumed);
    assert!(matches!(again.next_scene().await.unwrap().1, SceneView::End { .. }));
    // The one who was waiting: their group went with the old run.
    let mut lost = Client::connect(&addr, "pair", &[("PROLIFIC_PID", "waiting")], Some(&waiting_token)).await.unwrap();
    let outcome = lost.wait_for("outcome", WAIT, |m| match m {
        ServerMsg::Outcome { reason, completion_code, .. } => Some((*reason, completion_code.clone())),
        _ => None,
    });
    assert_eq!(outcome.await.unwrap(), (OutcomeReason::HostRestarted, Some("LEFT-1".to_owned())));
    // Someone new starts at the beginning.
    let mut new = Client::connect(&addr, "flow", &[("PROLIFIC_PID", "new")], None).await.unwrap();
    assert_eq!(new.next_scene().await.unwrap().0, 0);
    // The new run says what it restored, and what it served.
    let after = events(data.path(), "flow");
    assert!(after.iter().any(|e| matches!(e, Event::SessionRestored { participant, scene } if *participant == mid_pid && scene == "questions")));
    let runs: Vec<_> = after
        .iter()
        .filter_map(|e| match e {
            Event::RunStarted { files, .. } => Some(files.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(runs.len(), 2);
    assert!(runs[1].contains_key("flow.yaml"), "{:?}", runs[1]);
    host.kill().unwrap();
    host.wait().unwrap();
}
