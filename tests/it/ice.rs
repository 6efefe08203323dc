//! ICE configuration as participants receive it: TURN credentials minted per
//! participant from a shared secret that never reaches a client or the data.

use std::time::{SystemTime, UNIX_EPOCH};

use cohort::client::{Client, DEFAULT_WAIT};
use cohort::protocol::{IceServerView, ServerMsg};

use crate::support::{TestHost, root, text};

const SECRET: &str = "test-only-secret-7f3a";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn turn_credentials_are_minted_per_participant_and_the_secret_stays_on_the_host() {
    let data = tempfile::tempdir().unwrap();
    let host = TestHost::start(&["tests/fixtures/host/turn.yaml"], data.path(), |_| {}).await;
    let mut a = Client::connect(&host.addr, "turn", &[], None).await.unwrap();
    let mut b = Client::connect(&host.addr, "turn", &[], None).await.unwrap();
    let mut raw = Vec::new();
    for c in [&mut a, &mut b] {
        let servers = c
            .wait_for("probe_prepare", DEFAULT_WAIT, |m| match m {
                ServerMsg::ProbePrepare { ice_servers, .. } => Some(ice_servers.clone()),
                _ => None,
            })
            .await
            .unwrap();
        raw.push(serde_json::to_string(&servers).unwrap());
        assert_eq!(servers.len(), 3);
        assert_eq!(
            servers[0],
            IceServerView { urls: vec!["stun:stun.example.org:3478".into()], username: None, credential: None }
        );
        let turn = &servers[1];
        let username = turn.username.clone().unwrap();
        let (expiry, who) = username.split_once(':').unwrap();
        assert_eq!(who, c.welcome.participant.to_string(), "credentials are per participant");
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
        let expiry: u64 = expiry.parse().unwrap();
        assert!(expiry > now && expiry <= now + 3600, "short-lived: expires within the hour");
        let secret = cohort::probe::ice::load_secrets(
            &cohort::config::load(&root().join("tests/fixtures/host/turn.yaml")).unwrap().experiment,
            &root().join("tests/fixtures/host"),
        )
        .unwrap()
        .remove(&(0, 1))
        .unwrap();
        let (_, expected) = cohort::probe::ice::turn_rest_credentials(&secret, who, expiry);
        assert_eq!(turn.credential.as_deref(), Some(expected.as_str()));
        assert_eq!(servers[2].username.as_deref(), Some("static-user"));
    }
    assert!(raw.iter().all(|r| !r.contains(SECRET)), "the secret is never sent");
    host.stop().await;
    let logs = cohort::eventlog::previous_logs(data.path(), "turn");
    let log = std::fs::read_to_string(&logs[0]).unwrap();
    assert!(!log.contains(SECRET), "the secret is never logged");
}

#[test]
fn serve_refuses_to_start_without_the_turn_secret() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_cohort"))
        .args(["serve", "experiments/trio-latency.yaml", "--addr", "127.0.0.1:0", "--data"])
        .arg(tempfile::tempdir().unwrap().path())
        .current_dir(root())
        .env_remove("COHORT_TURN_SECRET")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("the TURN secret variable `COHORT_TURN_SECRET` is not set"),
        "{}",
        text(&out.stderr)
    );
}
