//! Scene wrappers: blocks of consecutive scenes shown in a random order per
//! participant, or repeated, or both. Each participant's route — the scenes in the order
//! they will see them — is drawn when their session starts and logged.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::model::Experiment;
use super::types::Slug;

/// Consecutive scenes treated together.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Block {
    /// Names the block in the data.
    pub id: Slug,
    /// The block's scenes: consecutive in `scenes`, in that order.
    #[schemars(length(min = 1, max = 50))]
    pub scenes: Vec<Slug>,
    /// Each participant sees the block's scenes in an order of their own (drawn anew
    /// for each repetition).
    #[serde(default)]
    pub randomize: bool,
    /// How many times the block is shown. A repeated scene keeps its id; the `scene`
    /// message, `advance`, `submit`, the log and the export carry its `iteration`.
    #[serde(default = "one")]
    #[schemars(range(min = 1, max = 50))]
    pub repeat: u32,
}

fn one() -> u32 {
    1
}

/// Most scenes a route may hold.
pub const MAX_ROUTE: usize = 1000;

/// A participant's route: scene indices in the order they are shown, with `shuffle`
/// ordering each randomized block's repetition. Without blocks: every scene once.
pub fn route(experiment: &Experiment, mut shuffle: impl FnMut(&mut [usize])) -> Vec<usize> {
    let position = |id: &Slug| experiment.scenes.iter().position(|s| s.id() == id);
    let mut route = Vec::new();
    let mut i = 0;
    while i < experiment.scenes.len() {
        let block = experiment.blocks.iter().find(|b| b.scenes.first().and_then(position) == Some(i));
        match block {
            Some(b) => {
                let scenes: Vec<usize> = b.scenes.iter().filter_map(position).collect();
                for _ in 0..b.repeat {
                    let mut once = scenes.clone();
                    if b.randomize {
                        shuffle(&mut once);
                    }
                    route.extend(once);
                }
                i += scenes.len().max(1);
            }
            None => {
                route.push(i);
                i += 1;
            }
        }
        if route.len() > MAX_ROUTE {
            break; // refused by the semantic check
        }
    }
    route
}
