//! Plain HTTP requests to a cohort host (its admin API, a game folder's files), with
//! ureq: no TLS (like the participant client's WebSockets, these reach loopback or the
//! host named), no proxy from the environment, one deadline for the whole exchange,
//! and statuses returned rather than turned into errors.

use std::time::Duration;

/// A client for requests to the host at `addr` (`host:port`).
pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(10)))
        .http_status_as_error(false)
        .proxy(None)
        .build()
        .into()
}

/// The URL of `path` on the host at `addr`.
pub fn url(addr: &str, path: &str) -> String {
    format!("http://{addr}{path}")
}
