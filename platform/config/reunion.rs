//! Group reunion: participants of an earlier experiment who come back (by their group
//! code or recruitment id) wait for their earlier partners before anyone else.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::types::Slug;

/// Participants who played together in `from` are grouped together again here.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Reunion {
    /// The earlier experiment (its id), whose logs in the host's data directory are read
    /// when this experiment starts and followed while it runs (it may run on in the
    /// same host): a group formed there is known by the time its members come back.
    pub from: Slug,
    /// Its multiplayer scene whose groups come back. Absent: any of its games (the
    /// participant's last one).
    #[serde(default)]
    pub scene: Option<Slug>,
    /// The URL parameter carrying a group code (the earlier experiment shows it with
    /// `{group_code}` in an end message or redirect URL): participants with the same
    /// code are one group, whatever their recruitment ids. Without it, returning
    /// participants are recognised by their recruitment id.
    #[serde(default = "default_code_param")]
    #[schemars(length(min = 1, max = 64))]
    pub code_param: String,
    /// How long a returning participant waits for their earlier partners before they
    /// are matched like anyone else (seconds).
    #[serde(default = "default_timeout")]
    #[schemars(extend("exclusiveMinimum" = 0), range(max = 7200))]
    pub timeout_secs: f64,
}

fn default_timeout() -> f64 {
    120.0
}

fn default_code_param() -> String {
    "group".to_owned()
}

/// The code of a group, as participants see it (`{group_code}`): its game's id, short.
pub fn group_code(game: &crate::protocol::GameId) -> String {
    game.0.simple().to_string()[..8].to_uppercase()
}
