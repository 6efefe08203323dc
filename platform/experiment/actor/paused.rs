//! The actor during an event-log outage: the experiment's clock stands still, and
//! participant messages are refused at once (nothing they would change could be
//! recorded) with an error the client retries.

use std::sync::Arc;

use tokio::time::Instant;

use super::Shell;
use crate::experiment::outbox::Outgoing;
use crate::experiment::state::ConnId;
use crate::protocol::ServerMsg;

impl Shell {
    /// Experiment time: stands still during a log outage.
    pub(super) fn now(&self) -> std::time::Duration {
        self.paused_since.unwrap_or_else(Instant::now).saturating_duration_since(self.epoch)
    }

    /// Starts or ends the pause of the clock as the log fails or recovers.
    pub(super) fn follow_log_health(&mut self) {
        match (self.health.failing(), self.paused_since) {
            (true, None) => self.paused_since = Some(Instant::now()),
            (false, Some(since)) => {
                self.epoch += since.elapsed();
                self.paused_since = None;
            }
            _ => {}
        }
    }

    /// A message while the event log cannot be written: refused at once (nothing it
    /// would change could be recorded), with an error the client retries; a `hello`
    /// also closes the socket, so that the page reconnects later.
    pub(super) fn refuse_paused(&self, conn: ConnId, msg: &crate::protocol::ClientMsg) {
        let Some(out) = self.conns.get(&conn) else { return };
        let message = self.state.experiment.text("host.cannot_save");
        let error = ServerMsg::error(crate::protocol::ErrorCode::Unavailable, message, msg.seq());
        let text: Arc<str> = serde_json::to_string(&error).expect("server messages serialize").into();
        // Straight to the socket: it depends on no event (it may overtake messages
        // the outbox withholds until the log is written).
        let _ = out.tx.try_send(Outgoing::Text(text));
        if matches!(msg, crate::protocol::ClientMsg::Hello { .. }) {
            let _ = out.tx.try_send(Outgoing::Close);
        }
    }
}
