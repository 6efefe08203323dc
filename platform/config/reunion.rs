//! Group reunion: participants of an earlier experiment who come back (by their
//! recruitment id) wait for their earlier partners before anyone else.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::types::Slug;

/// Participants who played together in `from` are grouped together again here.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Reunion {
    /// The earlier experiment (its id), whose logs in the host's data directory are read
    /// when this experiment starts: groups formed there later are not known until the
    /// next start (or restart).
    pub from: Slug,
    /// Its multiplayer scene whose groups come back. Absent: any of its games (the
    /// participant's last one).
    #[serde(default)]
    pub scene: Option<Slug>,
    /// How long a returning participant waits for their earlier partners before they
    /// are matched like anyone else (seconds).
    #[serde(default = "default_timeout")]
    #[schemars(extend("exclusiveMinimum" = 0), range(max = 7200))]
    pub timeout_secs: f64,
}

fn default_timeout() -> f64 {
    120.0
}
