//! The ready-check before a game: a formed group plays only once every member has shown
//! they are there (the tab visible, and optionally a click) within a set time.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::model::Outcome;

/// Every member of a formed group confirms they are there before the game is created;
/// whoever does not, within `timeout_secs`, is taken out and the others wait again
/// (keeping their places). A page in a background tab flashes its title and plays a
/// short sound when the check starts.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReadyCheck {
    /// How long members have to confirm (seconds).
    #[serde(default = "default_timeout")]
    #[schemars(range(min = 1, max = 300))]
    pub timeout_secs: f64,
    /// Confirming takes a click on the page's button (otherwise the tab being visible
    /// is enough).
    #[serde(default)]
    pub click: bool,
    /// What happens to a member who did not confirm: `outcome` (`on_missed`), or back
    /// to the `waitroom` (their place kept).
    #[serde(default)]
    pub missed: Missed,
    /// The outcome of a member who did not confirm (`missed: outcome`).
    #[serde(default = "default_on_missed")]
    pub on_missed: Outcome,
}

/// Where a member who missed the ready-check goes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Missed {
    /// Their part ends with `on_missed` (reason `ready_missed`).
    #[default]
    Outcome,
    /// They wait again, keeping their place (and their waitroom deadline).
    Waitroom,
}

fn default_timeout() -> f64 {
    20.0
}

fn default_on_missed() -> Outcome {
    Outcome {
        message: Some(
            "Your group was ready to start, but you did not confirm in time. Thank you for waiting.".to_owned(),
        ),
        ..Outcome::default()
    }
}
