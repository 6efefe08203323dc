//! Screening: browser, device and WebRTC rules at entry, from what the page reports;
//! the round trip on its first measurement; the monitor while waiting.

use super::{Harness, PAIR, secs};
use crate::eventlog::Event;
use crate::experiment::state::Place;
use crate::protocol::{Environment, OutcomeReason, ServerMsg};

fn env(browser: &str, mobile: bool, width: u32, webrtc: Option<bool>) -> Option<Environment> {
    Some(Environment { browser: browser.to_owned(), mobile, width, height: 800, webrtc })
}

const SCREENED: &str = r#"
screening:
  device: {desktop_only: true, browsers: [chrome, firefox], min_width: 1000, on_fail: {message: No., completion_code: DEV1}}
  webrtc: {}
  server_rtt: {max_ms: 300}
  monitor: {max_server_rtt_ms: 500, for_secs: 15}
scenes:"#;

fn harness() -> Harness {
    Harness::new(&PAIR.replace("    max_p2p_rtt_ms: 80\n", "").replace("scenes:", SCREENED))
}

fn excluded(h: &mut Harness, environment: Option<Environment>) -> Option<OutcomeReason> {
    h.environment = environment;
    let p = h.arrive();
    match h.place(p) {
        Place::Over(_, reason) => Some(reason),
        _ => None,
    }
}

#[test]
fn browser_device_and_webrtc_rules_apply_when_a_participant_starts() {
    let mut h = harness();
    assert_eq!(excluded(&mut h, env("chrome", true, 1200, Some(true))), Some(OutcomeReason::DeviceExcluded), "a phone");
    assert_eq!(excluded(&mut h, env("safari", false, 1200, Some(true))), Some(OutcomeReason::DeviceExcluded));
    assert_eq!(excluded(&mut h, env("chrome", false, 900, Some(true))), Some(OutcomeReason::DeviceExcluded));
    assert_eq!(excluded(&mut h, None), Some(OutcomeReason::DeviceExcluded), "nothing reported");
    assert_eq!(excluded(&mut h, env("firefox", false, 1200, Some(false))), Some(OutcomeReason::WebrtcUnavailable));
    assert_eq!(excluded(&mut h, env("firefox", false, 1200, None)), Some(OutcomeReason::WebrtcUnavailable));
    assert_eq!(excluded(&mut h, env("chrome", false, 1200, Some(true))), None, "a desktop Chrome that can");
    let codes: Vec<_> = h
        .out
        .iter()
        .filter_map(|e| match e {
            crate::experiment::state::Effect::Send { msg: ServerMsg::Outcome { completion_code, .. }, .. } => {
                Some(completion_code.clone())
            }
            _ => None,
        })
        .collect();
    assert_eq!(codes[..4], [Some("DEV1".to_owned()), Some("DEV1".into()), Some("DEV1".into()), Some("DEV1".into())]);
    let rules: Vec<String> = h
        .log
        .iter()
        .filter_map(|(_, e)| match e {
            Event::ScreenedOut { rule, .. } => Some(rule.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(rules, ["device", "device", "device", "device", "webrtc", "webrtc"]);
}

#[test]
fn the_first_round_trip_decides_entry_and_the_monitor_watches_the_waitroom() {
    let mut h = harness();
    h.environment = env("chrome", false, 1200, Some(true));
    let slow = h.arrive();
    h.server_rtt(slow, 450.0);
    assert_eq!(h.place(slow), Place::Over(0, OutcomeReason::ConnectionTooSlow));
    let ok = h.arrive();
    h.server_rtt(ok, 40.0);
    h.server_rtt(ok, 450.0); // later measurements are the monitor's, below its 500 ms
    assert_eq!(h.place(ok), Place::Waiting(0));
    h.server_rtt(ok, 700.0);
    h.wait(secs(10));
    h.server_rtt(ok, 90.0); // a dip: the clock starts again
    h.server_rtt(ok, 700.0);
    h.wait(secs(10));
    h.server_rtt(ok, 700.0);
    assert_eq!(h.place(ok), Place::Waiting(0), "10 s above the limit is not 15");
    h.wait(secs(6));
    h.server_rtt(ok, 700.0);
    assert_eq!(h.place(ok), Place::Over(0, OutcomeReason::ConnectionDegraded));
    assert!(!h.state.rooms[&0].entries.contains_key(&ok), "out of the waitroom");
}
