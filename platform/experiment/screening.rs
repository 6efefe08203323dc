//! Screening inside the actor (`screening`): browser, device and WebRTC rules judged
//! when a participant starts, from what their page reports; the round trip judged on
//! its first measurement; and, while waiting or playing, a round trip above the
//! monitor's limit for long enough ends the participant's part. Each exclusion is
//! logged (`screened_out`) with the rule and what was seen.

use std::time::Duration;

use super::state::{Place, State};
use crate::config::screening::Browser;
use crate::eventlog::Event;
use crate::protocol::{Environment, OutcomeReason, ParticipantId};

/// Where the screening of a participant's round trip stands.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct RttWatch {
    /// The entry rule has judged a measurement.
    pub judged: bool,
    /// Since when the round trip has been above the monitor's limit.
    pub slow_since: Option<Duration>,
}

impl State {
    /// Judges a new participant's page; false when they were screened out (their
    /// outcome applied).
    pub(super) fn screen_entry(&mut self, pid: ParticipantId, env: Option<&Environment>, now: Duration) -> bool {
        let s = &self.experiment.screening;
        let failed = match (&s.device, &s.webrtc) {
            (Some(rule), _) if !device_passes(rule, env) => {
                Some(("device", OutcomeReason::DeviceExcluded, describe(env)))
            }
            (_, Some(_)) if env.and_then(|e| e.webrtc) != Some(true) => {
                Some(("webrtc", OutcomeReason::WebrtcUnavailable, describe(env)))
            }
            _ => None,
        };
        let Some((rule, reason, seen)) = failed else { return true };
        self.log(Event::ScreenedOut { participant: pid, rule: rule.to_owned(), seen });
        self.end_early(pid, 0, reason, now);
        false
    }

    /// A round-trip measurement: the entry rule on the first, the monitor while
    /// waiting or playing.
    pub(super) fn screen_rtt(&mut self, pid: ParticipantId, rtt_ms: f64, now: Duration) {
        // An `Arc` clone: the rules are read while the participant is borrowed.
        let experiment = self.experiment.clone();
        let s = &experiment.screening;
        let Some(p) = self.participants.get_mut(&pid) else { return };
        let place = p.place;
        if !place.active() {
            return;
        }
        if let Some(rule) = &s.server_rtt
            && !p.screened.judged
        {
            p.screened.judged = true;
            if rtt_ms > rule.max_ms {
                return self.screen_out(pid, place, "server_rtt", rtt_ms, OutcomeReason::ConnectionTooSlow, now);
            }
        }
        let Some(monitor) = &s.monitor else { return };
        if !matches!(place, Place::Waiting(_) | Place::Playing(..)) || rtt_ms <= monitor.max_server_rtt_ms {
            p.screened.slow_since = None;
            return;
        }
        let since = *p.screened.slow_since.get_or_insert(now);
        if now.saturating_sub(since) >= Duration::from_secs_f64(monitor.for_secs) {
            self.screen_out(pid, place, "monitor", rtt_ms, OutcomeReason::ConnectionDegraded, now);
        }
    }

    /// The outcome a screening rule configured, if it has one (otherwise the
    /// catalog's message for the reason).
    pub(super) fn screening_outcome(&self, reason: OutcomeReason) -> Option<&crate::config::model::Outcome> {
        let s = &self.experiment.screening;
        match reason {
            OutcomeReason::DeviceExcluded => s.device.as_ref()?.on_fail.as_ref(),
            OutcomeReason::WebrtcUnavailable => s.webrtc.as_ref()?.on_fail.as_ref(),
            OutcomeReason::ConnectionTooSlow => s.server_rtt.as_ref()?.on_fail.as_ref(),
            OutcomeReason::ConnectionDegraded => s.monitor.as_ref()?.on_fail.as_ref(),
            _ => None,
        }
    }

    fn screen_out(
        &mut self,
        pid: ParticipantId,
        place: Place,
        rule: &str,
        rtt_ms: f64,
        reason: OutcomeReason,
        now: Duration,
    ) {
        let seen = format!("server round trip {rtt_ms:.0} ms");
        self.log(Event::ScreenedOut { participant: pid, rule: rule.to_owned(), seen });
        match place {
            Place::Waiting(scene) => self.leave_room(pid, scene, "screened_out", now),
            Place::Playing(scene, game) => self.player_left_game(pid, scene, game, now),
            _ => {}
        }
        self.end_early(pid, place.scene(), reason, now);
    }
}

fn device_passes(rule: &crate::config::screening::DeviceRule, env: Option<&Environment>) -> bool {
    let Some(env) = env else { return false }; // nothing reported: cannot be judged
    let browser = match env.browser.as_str() {
        "chrome" => Browser::Chrome,
        "edge" => Browser::Edge,
        "firefox" => Browser::Firefox,
        "safari" => Browser::Safari,
        "opera" => Browser::Opera,
        _ => Browser::Other,
    };
    !(rule.desktop_only && env.mobile)
        && (rule.browsers.is_empty() || rule.browsers.contains(&browser))
        && rule.min_width.is_none_or(|w| env.width >= w)
        && rule.min_height.is_none_or(|h| env.height >= h)
}

fn describe(env: Option<&Environment>) -> String {
    match env {
        None => "no environment reported".to_owned(),
        Some(e) => format!(
            "{}{}, {}×{}, webrtc {}",
            e.browser.chars().take(32).collect::<String>(),
            if e.mobile { " (mobile)" } else { "" },
            e.width,
            e.height,
            e.webrtc.map_or("not checked", |w| if w { "yes" } else { "no" })
        ),
    }
}
