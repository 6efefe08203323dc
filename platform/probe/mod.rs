//! The probe coordinator's per-probe state machine: one `probe_<uuid>` session between
//! two participants, independent of games.
//!
//! Phases: preparing (both told, waiting for both `probe_ready`) → connecting
//! (`probe_start` sent; WebRTC signaling relayed) → measuring (a result arrived) →
//! complete (an RTT decided) | failed (no RTT, timed out or aborted). Only the two
//! peers may act on a probe, each only as itself (the sender is the socket's owner).
//! The RTT is the larger of the two peers' reports, so one peer cannot talk a pair
//! into a match by reporting low; a peer reporting failure, or a peer silent at the
//! deadline, means no RTT.

pub mod ice;

use std::time::Duration;

use crate::protocol::{ParticipantId, ProbeId, ProbeRole};

/// Largest RTT a client may report, in ms (anything above is nonsense).
pub const MAX_REPORTED_RTT_MS: f64 = 60_000.0;

/// How far a probe got (recorded with its outcome).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Preparing,
    Connecting,
    Measuring,
    Complete,
    Failed,
}

/// What one peer reported.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Report {
    Rtt(f64),
    Failed(String),
}

/// Why a probe message was refused (nothing changed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The sender is not one of the probe's two peers.
    NotAPeer,
    /// The message does not fit the probe's phase (e.g. a second report).
    WrongPhase,
    /// The reported RTT is not a plausible number.
    BadRtt,
}

/// One probe between two participants.
#[derive(Debug, Clone)]
pub struct Probe {
    pub id: ProbeId,
    /// `[offerer, answerer]`: the smaller participant id makes the offer.
    pub peers: [ParticipantId; 2],
    pub started_at: Duration,
    pub deadline: Duration,
    pub phase: Phase,
    ready: [bool; 2],
    pub reports: [Option<Report>; 2],
}

impl Probe {
    pub fn new(id: ProbeId, a: ParticipantId, b: ParticipantId, now: Duration, timeout: Duration) -> Self {
        let peers = if a <= b { [a, b] } else { [b, a] };
        Self {
            id,
            peers,
            started_at: now,
            deadline: now + timeout,
            phase: Phase::Preparing,
            ready: [false; 2],
            reports: [None, None],
        }
    }

    fn index(&self, who: ParticipantId) -> Result<usize, Refusal> {
        self.peers.iter().position(|p| *p == who).ok_or(Refusal::NotAPeer)
    }

    pub fn role(&self, who: ParticipantId) -> ProbeRole {
        if who == self.peers[0] { ProbeRole::Offerer } else { ProbeRole::Answerer }
    }

    /// The other peer of `who`.
    pub fn other(&self, who: ParticipantId) -> Result<ParticipantId, Refusal> {
        Ok(self.peers[1 - self.index(who)?])
    }

    pub fn involves(&self, who: ParticipantId) -> bool {
        self.peers.contains(&who)
    }

    /// `probe_ready` from `who`; true when both are ready (send `probe_start`).
    pub fn ready(&mut self, who: ParticipantId) -> Result<bool, Refusal> {
        let i = self.index(who)?;
        if self.phase != Phase::Preparing || self.ready[i] {
            return Err(Refusal::WrongPhase);
        }
        self.ready[i] = true;
        if self.ready == [true, true] {
            self.phase = Phase::Connecting;
            return Ok(true);
        }
        Ok(false)
    }

    /// `probe_signal` from `who`: to whom it is relayed.
    pub fn signal(&self, who: ParticipantId) -> Result<ParticipantId, Refusal> {
        let other = self.other(who)?;
        match self.phase {
            Phase::Connecting | Phase::Measuring => Ok(other),
            _ => Err(Refusal::WrongPhase),
        }
    }

    /// `probe_result` from `who`. Returns the decided RTT (`Some(None)` = no RTT) once
    /// both peers reported or one reported failure; `None` while waiting for the other.
    pub fn report(
        &mut self,
        who: ParticipantId,
        rtt_ms: Option<f64>,
        error: Option<String>,
    ) -> Result<Option<Option<f64>>, Refusal> {
        let i = self.index(who)?;
        if !matches!(self.phase, Phase::Connecting | Phase::Measuring) || self.reports[i].is_some() {
            return Err(Refusal::WrongPhase);
        }
        let report = match rtt_ms {
            Some(rtt) if rtt.is_finite() && (0.0..=MAX_REPORTED_RTT_MS).contains(&rtt) => Report::Rtt(rtt),
            Some(_) => return Err(Refusal::BadRtt),
            None => Report::Failed(error.unwrap_or_else(|| "no RTT measured".to_owned())),
        };
        self.reports[i] = Some(report);
        self.phase = Phase::Measuring;
        let failed = self.reports.iter().any(|r| matches!(r, Some(Report::Failed(_))));
        if failed || self.reports.iter().all(Option::is_some) {
            return Ok(Some(self.decided_rtt()));
        }
        Ok(None)
    }

    /// The RTT from the reports received so far: none if any peer failed or nobody
    /// reported, else the larger report (decisive once both reported).
    pub fn decided_rtt(&self) -> Option<f64> {
        let mut rtt: Option<f64> = None;
        for report in self.reports.iter().flatten() {
            match report {
                Report::Failed(_) => return None,
                Report::Rtt(r) => rtt = Some(rtt.map_or(*r, |m: f64| m.max(*r))),
            }
        }
        rtt
    }

    /// The reported RTTs, `[offerer, answerer]` (for the log).
    pub fn reported_rtts(&self) -> [Option<f64>; 2] {
        self.reports.clone().map(|r| match r {
            Some(Report::Rtt(rtt)) => Some(rtt),
            _ => None,
        })
    }

    /// Why each peer's measurement failed, if it did, `[offerer, answerer]` (for the
    /// log; cut to 200 characters).
    pub fn reported_errors(&self) -> [Option<String>; 2] {
        self.reports.clone().map(|r| match r {
            Some(Report::Failed(why)) => Some(why.chars().take(200).collect()),
            _ => None,
        })
    }

    /// Whether anybody reported (a deadline without reports is a timeout).
    pub fn any_report(&self) -> bool {
        self.reports.iter().any(Option::is_some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pid(n: u128) -> ParticipantId {
        ParticipantId(uuid::Uuid::from_u128(n))
    }

    fn started() -> Probe {
        let mut p = Probe::new(ProbeId("probe_t".into()), pid(2), pid(1), Duration::ZERO, Duration::from_secs(15));
        assert_eq!(p.ready(pid(1)), Ok(false));
        assert_eq!(p.ready(pid(1)), Err(Refusal::WrongPhase), "ready twice");
        assert_eq!(p.ready(pid(2)), Ok(true));
        p
    }

    #[test]
    fn the_smaller_id_offers() {
        let p = Probe::new(ProbeId("probe_t".into()), pid(2), pid(1), Duration::ZERO, Duration::from_secs(1));
        assert_eq!(p.role(pid(1)), ProbeRole::Offerer);
        assert_eq!(p.role(pid(2)), ProbeRole::Answerer);
    }

    #[test]
    fn only_peers_act_and_signals_go_to_the_other_peer() {
        let mut p = Probe::new(ProbeId("probe_t".into()), pid(1), pid(2), Duration::ZERO, Duration::from_secs(1));
        assert_eq!(p.signal(pid(1)), Err(Refusal::WrongPhase), "no signaling before probe_start");
        assert_eq!(p.ready(pid(3)), Err(Refusal::NotAPeer));
        let p = started();
        assert_eq!(p.signal(pid(1)), Ok(pid(2)));
        assert_eq!(p.signal(pid(2)), Ok(pid(1)));
        assert_eq!(p.signal(pid(3)), Err(Refusal::NotAPeer));
    }

    #[test]
    fn the_larger_report_decides() {
        let mut p = started();
        assert_eq!(p.report(pid(1), Some(12.0), None), Ok(None));
        assert_eq!(p.report(pid(1), Some(1.0), None), Err(Refusal::WrongPhase), "one report each");
        assert_eq!(p.report(pid(2), Some(30.0), None), Ok(Some(Some(30.0))));
        let mut p = started();
        assert_eq!(p.report(pid(2), Some(5.0), None), Ok(None));
        assert_eq!(p.report(pid(1), Some(40.0), None), Ok(Some(Some(40.0))));
    }

    #[test]
    fn a_failure_or_no_report_means_no_rtt() {
        let mut p = started();
        assert_eq!(p.report(pid(1), Some(3.0), None), Ok(None));
        assert_eq!(p.report(pid(2), None, Some("channel never opened".into())), Ok(Some(None)));
        let p = started();
        assert_eq!((p.decided_rtt(), p.any_report()), (None, false));
        let mut p = started();
        assert_eq!(p.report(pid(1), Some(-1.0), None), Err(Refusal::BadRtt));
        assert_eq!(p.report(pid(1), Some(f64::NAN), None), Err(Refusal::BadRtt));
        assert_eq!(p.report(pid(1), Some(7.0), None), Ok(None), "one report does not decide");
        assert!(p.any_report());
    }
}
