//! The event log on a real filesystem that fills up: a small tmpfs the test mounts
//! (root; required under `CI=true`). (A read-only remount is refused by Linux while the
//! host holds its log open for writing, so it cannot be staged on a live host; the
//! write error takes the same path.) Nothing acknowledged is lost and
//! nothing unlogged is shown: the write is retried until the disk is back, input is
//! refused meanwhile, `/healthz` says so, and everything goes on by itself afterwards.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use cohort::client::{Client, ClientError};
use cohort::eventlog::Event;
use cohort::protocol::{Answer, ClientMsg, ErrorCode, SceneView, ServerMsg};

use crate::support::TestHost;

const WAIT: Duration = Duration::from_secs(10);

/// A tmpfs of `size` mounted on a fresh directory; unmounted when dropped.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    fn mount(size: &str) -> Option<Self> {
        let dir = tempfile::tempdir().unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            assert!(std::env::var("CI").as_deref() != Ok("true"), "cannot mount a tmpfs under CI (needs root)");
            eprintln!("SKIPPED disk test: cannot mount a tmpfs (needs root)");
            return None;
        }
        Some(Self { dir })
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Fills the filesystem up; the file that did it.
    fn fill(&self) -> std::path::PathBuf {
        use std::io::Write;
        let path = self.path().join("filler");
        let mut f = std::fs::File::create(&path).unwrap();
        let chunk = vec![0u8; 4096];
        while f.write_all(&chunk).is_ok() {}
        let _ = f.sync_all();
        path
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(self.dir.path()).status();
    }
}

/// `GET /healthz`: status code and body.
async fn health(addr: &str) -> (u16, String) {
    let reply = crate::support::http(addr, "GET", "/healthz", &[], "").await;
    (reply.status, reply.body)
}

async fn wait_health(addr: &str, want: u16) -> String {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let (code, body) = health(addr).await;
        if code == want {
            return body;
        }
        assert!(tokio::time::Instant::now() < deadline, "/healthz stayed {code} {body}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn answers() -> std::collections::BTreeMap<String, Answer> {
    [
        ("name".to_owned(), Answer::Text("Ada".to_owned())),
        ("colour".to_owned(), Answer::Text("blue".to_owned())),
        ("tools".to_owned(), Answer::Choices(vec!["pen".to_owned()])),
        ("mood".to_owned(), Answer::Integer(4)),
    ]
    .into()
}

fn contiguous(disk: &Tmpfs) {
    let log = cohort::eventlog::previous_logs(disk.path(), "flow");
    let records = cohort::eventlog::read(&log[0]).unwrap();
    let seqs: Vec<u64> = records.iter().map(|r| r.seq).collect();
    assert_eq!(seqs, (1..=records.len() as u64).collect::<Vec<_>>(), "no record lost or written twice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_pauses_the_experiment_and_nothing_is_lost() {
    let Some(disk) = Tmpfs::mount("1m") else { return };
    // No guard: this is what happens when the disk fills up anyway.
    let host =
        TestHost::start(&["tests/fixtures/host/flow.yaml"], disk.path(), |o| o.disk_guard.min_free_bytes = 0).await;
    // Someone is on the survey when the disk fills up.
    let mut c = Client::connect(&host.addr, "flow", &[("PROLIFIC_PID", "writer")], None).await.unwrap();
    c.next_scene().await.unwrap();
    c.advance("consent").await.unwrap();
    c.next_scene().await.unwrap();
    c.advance("intro").await.unwrap();
    assert!(matches!(c.next_scene().await.unwrap().1, SceneView::Survey { .. }));
    let filler = disk.fill();
    // Participants keep arriving until their events no longer fit (the log's last
    // page may still hold a few).
    let mut stuck = None;
    for i in 0..200 {
        let addr = host.addr.clone();
        let arrival =
            tokio::spawn(
                async move { Client::connect(&addr, "flow", &[("PROLIFIC_PID", &format!("p{i}"))], None).await },
            );
        let deadline = tokio::time::Instant::now() + WAIT;
        while !arrival.is_finished() && health(&host.addr).await.0 == 200 {
            assert!(tokio::time::Instant::now() < deadline, "neither welcomed nor refused");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        if health(&host.addr).await.0 == 503 {
            stuck = Some(arrival);
            break;
        }
        arrival.await.unwrap().expect("welcomed while the log had room");
    }
    let stuck = stuck.expect("the disk filled up");
    let body = wait_health(&host.addr, 503).await;
    assert!(body.contains("flow") && body.contains("No space left"), "{body}");
    // Its welcome depends on events not written: it must not have been sent.
    assert!(!stuck.is_finished(), "welcomed before its session was recorded");

    // Input meanwhile is refused with an error to retry; a newcomer is turned away.
    let seq = c.seq();
    c.send(ClientMsg::Submit { scene: "questions".into(), answers: answers(), iteration: None, seq: Some(seq) })
        .await
        .unwrap();
    let refused = c
        .wait_for("unavailable", WAIT, |m| match m {
            ServerMsg::Error { code: ErrorCode::Unavailable, seq: Some(s), .. } if *s == seq => Some(()),
            _ => None,
        })
        .await;
    assert!(refused.is_ok(), "{refused:?}");
    match Client::connect(&host.addr, "flow", &[("PROLIFIC_PID", "newcomer")], None).await {
        Err(ClientError::Refused { code: ErrorCode::Unavailable, .. }) => {}
        other => panic!("a newcomer during the outage: {:?}", other.map(|c| c.welcome)),
    }
    let answered = |host: &TestHost| host.events("flow").iter().any(|e| matches!(e, Event::SurveyAnswered { .. }));
    assert!(!answered(&host), "nothing recorded of the refused answers");
    // The writer's laptop sleeps through the outage, which lasts longer than the
    // session may last away from a survey (1 s here): the clock stands still while
    // nothing can be recorded, so their session must survive it.
    let token = c.welcome.resume_token.clone();
    c.close().await;
    tokio::time::sleep(Duration::from_millis(1500)).await; // the outage's length
    // Space again: the withheld welcome goes out by itself, and the retry is taken.
    std::fs::remove_file(filler).unwrap();
    let welcomed = stuck.await.unwrap().expect("welcomed once the log could be written");
    assert!(!welcomed.welcome.resumed);
    assert_eq!(wait_health(&host.addr, 200).await, "ok");
    let mut c = Client::connect(&host.addr, "flow", &[("PROLIFIC_PID", "writer")], Some(&token)).await.unwrap();
    assert!(c.welcome.resumed);
    assert!(matches!(c.next_scene().await.unwrap().1, SceneView::Survey { .. }), "still on the survey");
    c.submit("questions", answers()).await.expect("the retried answers are taken");
    assert!(matches!(c.next_scene().await.unwrap().1, SceneView::End { .. }));
    assert!(answered(&host), "the answers are in the log");
    contiguous(&disk);
    host.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn arrivals_close_before_the_disk_is_full_and_reopen_when_space_is_back() {
    let Some(disk) = Tmpfs::mount("4m") else { return };
    let host = TestHost::start(&["tests/fixtures/host/flow.yaml"], disk.path(), |o| {
        o.disk_guard.min_free_bytes = 1 << 20;
        o.disk_guard.every = Duration::from_millis(50);
    })
    .await;
    let mut inside = Client::connect(&host.addr, "flow", &[("PROLIFIC_PID", "inside")], None).await.unwrap();
    inside.next_scene().await.unwrap();
    // Leave less than the 1 MiB margin (but room for the log).
    let filler = disk.path().join("filler");
    std::fs::write(&filler, vec![0u8; 3 << 20]).unwrap();
    host.wait_for_event(
        "flow",
        "arrivals to close",
        |e| matches!(e, Event::ArrivalsClosed { reason, .. } if reason == "disk_space"),
    )
    .await;
    match Client::connect(&host.addr, "flow", &[("PROLIFIC_PID", "newcomer")], None).await {
        Err(ClientError::Refused { code: ErrorCode::Unavailable, message, .. }) => {
            assert!(message.contains("not taking new participants"), "{message}")
        }
        other => panic!("a newcomer was let in: {:?}", other.map(|c| c.welcome)),
    }
    // Those inside go on, and what they do is recorded.
    inside.advance("consent").await.expect("a running session goes on");
    std::fs::remove_file(filler).unwrap();
    host.wait_for_event("flow", "arrivals to reopen", |e| matches!(e, Event::ArrivalsOpened)).await;
    let newcomer = Client::connect(&host.addr, "flow", &[("PROLIFIC_PID", "newcomer")], None).await;
    assert!(newcomer.is_ok(), "admitted again: {:?}", newcomer.err());
    host.stop().await;
}
