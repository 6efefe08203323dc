//! What a bot answers to each message from the host: its scenes (consent,
//! instructions and surveys through [`crate::bots::answers`]), the match, the
//! ready-check, scripted probes, and the end of its walk; and when it decides to
//! misbehave ([`crate::bots::churn`]).

use rand::Rng;
use tokio::time::Instant;

use super::{Bot, Counted, Next};
use crate::bots::churn;
use crate::bots::report::Ending;
use crate::protocol::{ClientMsg, SceneView, ServerMsg};

impl Bot {
    /// The bot's answer to one message.
    pub(super) fn react(&mut self, msg: ServerMsg) -> (Vec<ClientMsg>, Next) {
        let now = Instant::now();
        match msg {
            ServerMsg::Scene { scene, iteration, .. } => self.on_scene(scene, iteration),
            ServerMsg::MatchFound { game, players, .. } => {
                if self.join_to_match.is_none() {
                    self.join_to_match = self.joined.map(|j| now - j);
                    self.matched = Some((now, game, players.len()));
                }
                self.count(Counted::Playing);
                (Vec::new(), Next::Continue)
            }
            ServerMsg::StartGame { .. } => {
                if self.join_to_start.is_none() {
                    self.join_to_start = self.joined.map(|j| now - j);
                }
                if !self.decided.1 {
                    self.decided.1 = true;
                    self.act = churn::on_playing(&self.plan.churn, &mut self.rng).map(|(d, a)| (now + d, a));
                }
                self.count(Counted::Playing);
                (Vec::new(), Next::Continue)
            }
            ServerMsg::GameEnd { .. } => {
                self.count(Counted::Elsewhere);
                (Vec::new(), Next::Continue)
            }
            // A bot confirms at once; one that was too slow (`missed: waitroom`) says it
            // is back, as a page does on its next click.
            ServerMsg::ReadyCheck { check, ready: 0, .. } => {
                (vec![ClientMsg::Ready { check, seq: None }], Next::Continue)
            }
            ServerMsg::ReadyAbort { check, reason } if reason == "missed" => {
                (vec![ClientMsg::Ready { check, seq: None }], Next::Continue)
            }
            ServerMsg::ProbePrepare { probe, .. } => {
                if churn::ignores_probe(&self.plan.churn, &mut self.rng) {
                    return (Vec::new(), Next::Continue); // it times out
                }
                (vec![ClientMsg::ProbeReady { probe, seq: None }], Next::Continue)
            }
            ServerMsg::ProbeStart { probe } => {
                let failed = self.rng.random_bool(self.plan.probe_failure.clamp(0.0, 1.0));
                let rtt = (!failed).then(|| self.rng.random_range(self.plan.rtt_ms.0..=self.plan.rtt_ms.1));
                let error = failed.then(|| "scripted failure".to_owned());
                (vec![ClientMsg::ProbeResult { probe, rtt_ms: rtt, error, seq: None }], Next::Continue)
            }
            ServerMsg::Outcome { reason, .. } => (Vec::new(), Next::Stop(Ending::Outcome(reason))),
            ServerMsg::Error { code, seq, .. } => {
                // A probe or game message that crossed a decision (`not_a_peer`,
                // `invalid_state`) is what a page ignores too; an error answering the
                // bot's own step, or the hello, ends the walk.
                let own = seq.is_some() && seq == self.own_seq;
                let hello = seq.is_none() && self.joined.is_none() && self.own_seq.is_none();
                if !own && !hello {
                    return (Vec::new(), Next::Continue);
                }
                let code = serde_json::to_value(code).ok().and_then(|v| v.as_str().map(str::to_owned));
                (Vec::new(), Next::Stop(Ending::Error(format!("refused: {}", code.unwrap_or_default()))))
            }
            ServerMsg::DuplicateSession { .. } => (Vec::new(), Next::Stop(Ending::Error("duplicate session".into()))),
            ServerMsg::Shutdown { .. } => (Vec::new(), Next::Stop(Ending::Error("host shut down".into()))),
            _ => (Vec::new(), Next::Continue),
        }
    }

    fn on_scene(&mut self, scene: SceneView, iteration: u32) -> (Vec<ClientMsg>, Next) {
        let iteration = Some(iteration);
        let reply = match scene {
            SceneView::Multiplayer { .. } => {
                if self.joined.is_none() {
                    self.joined = Some(self.last_sent);
                }
                if !self.decided.0 {
                    self.decided.0 = true;
                    let now = Instant::now();
                    self.act = churn::on_waiting(&self.plan.churn, &mut self.rng).map(|(d, a)| (now + d, a));
                }
                self.count(Counted::Waiting);
                return (Vec::new(), Next::Continue);
            }
            SceneView::End { .. } => return (Vec::new(), Next::Stop(Ending::Completed)),
            scene => crate::bots::answers::reply(&mut self.rng, scene, iteration),
        };
        (vec![reply], Next::Continue)
    }
}
