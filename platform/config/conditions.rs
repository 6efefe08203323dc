//! Conditions (treatments): entry conditions, assigned when a participant starts (the
//! policy sees them as attributes), and group conditions, assigned to a group once the
//! policy has formed it. Each set is a list of names or factors whose combinations are
//! the conditions, balanced by completions (a dropout frees its slot), with optional
//! quotas.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::model::Outcome;
use super::types::Slug;

/// The experiment's conditions.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Conditions {
    /// Assigned to each participant when their session starts. Matchmaking policies see
    /// it as the attribute `condition` (and each factor as `condition.<factor>`); games
    /// find it in their config (`conditions.players`).
    #[serde(default)]
    pub entry: Option<ConditionSet>,
    /// Assigned to each group once the policy has formed it (in every multiplayer
    /// scene); games find it in their config (`conditions.group`).
    #[serde(default)]
    pub group: Option<ConditionSet>,
}

/// A set of conditions: `list` or `factors`, one of them.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConditionSet {
    /// The conditions by name.
    #[serde(default)]
    #[schemars(length(max = 64))]
    pub list: Vec<Slug>,
    /// Factors whose every combination is a condition, named by its levels joined with
    /// `-` in the order of the factors (`gain-score`).
    #[serde(default)]
    #[schemars(length(max = 6))]
    pub factors: Vec<Factor>,
    /// Most completions of a condition (by name): once its completions and those still
    /// taking part reach it, nobody else is assigned to it. A dropout frees its slot.
    #[serde(default)]
    pub quotas: BTreeMap<String, u32>,
    /// What participants get when every condition is full (entry: when they start;
    /// group: the members of a group formed then).
    #[serde(default = "default_on_full")]
    pub on_full: Outcome,
    /// Entry conditions only: who is grouped with whom. `within` (the default): groups
    /// of one condition only, as if each condition had a waitroom of its own; `across`:
    /// anyone with anyone (for designs where the group's composition is the
    /// treatment).
    #[serde(default, rename = "match", skip_serializing_if = "Option::is_none")]
    pub grouping: Option<Grouping>,
    /// Entry conditions only: every group holds this many participants of each
    /// condition (by name, or `factor=level`), e.g. `{told_ai: 1, not_told: 1}`; the
    /// counts add up to the group size, and a group waits for its missing member.
    /// Implies `match: across`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub compose: BTreeMap<String, u32>,
}

impl ConditionSet {
    /// How groups are formed: `compose` implies `across`.
    pub fn grouping(&self) -> Grouping {
        match self.grouping {
            Some(g) => g,
            None if !self.compose.is_empty() => Grouping::Across,
            None => Grouping::Within,
        }
    }
}

/// Who may be grouped together, by entry condition (`conditions.entry.match`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Grouping {
    /// Groups of one entry condition only: policies are offered, and participants
    /// shown, only those waiting in the arriving participant's condition.
    #[default]
    Within,
    /// Anyone with anyone: the condition is only an attribute the policy may read.
    Across,
}

/// One factor of a factorial design.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Factor {
    pub name: Slug,
    #[schemars(length(min = 1, max = 16))]
    pub levels: Vec<Slug>,
}

fn default_on_full() -> Outcome {
    Outcome {
        message: Some("Thank you for your interest: this study has all the participants it needs.".to_owned()),
        ..Outcome::default()
    }
}

/// One condition: its name and, for a factorial design, its level of each factor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    pub id: String,
    pub levels: Vec<(String, String)>,
}

impl Condition {
    /// As games and the event log see it: `{"id": …, "<factor>": <level>, …}`.
    pub fn to_json(&self) -> serde_json::Value {
        let mut object = serde_json::Map::new();
        object.insert("id".to_owned(), self.id.clone().into());
        for (factor, level) in &self.levels {
            object.insert(factor.clone(), level.clone().into());
        }
        serde_json::Value::Object(object)
    }
}

/// Most conditions a set may expand to.
pub const MAX_CONDITIONS: usize = 256;

impl ConditionSet {
    /// Every condition of the set, in declaration order (factors: the first factor
    /// varies slowest).
    pub fn conditions(&self) -> Vec<Condition> {
        if self.factors.is_empty() {
            return self.list.iter().map(|id| Condition { id: id.to_string(), levels: Vec::new() }).collect();
        }
        let mut all = vec![Vec::<(String, String)>::new()];
        for factor in &self.factors {
            let mut next = Vec::new();
            for partial in &all {
                for level in &factor.levels {
                    let mut c = partial.clone();
                    c.push((factor.name.to_string(), level.to_string()));
                    next.push(c);
                }
            }
            all = next;
            if all.len() > MAX_CONDITIONS {
                break; // reported by the semantic check
            }
        }
        all.into_iter()
            .map(|levels| Condition {
                id: levels.iter().map(|(_, l)| l.as_str()).collect::<Vec<_>>().join("-"),
                levels,
            })
            .collect()
    }
}
