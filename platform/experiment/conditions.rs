//! Conditions inside the actor: each participant gets an entry condition when their
//! session starts, each group a group condition when it is formed — the one with the
//! fewest completions and takers so far (ties drawn from the seeded RNG), among those
//! below their quota. A dropout frees its slot: what counts is who completed (finished
//! the study; for a group, its game completed) and who may still do so.

use std::collections::BTreeMap;
use std::time::Duration;

use super::state::State;
use crate::config::conditions::{Condition, ConditionSet};
use crate::eventlog::Event;
use crate::protocol::{GameId, OutcomeReason, ParticipantId, SceneView};

/// The counts of one condition set.
#[derive(Debug, Clone)]
pub struct Balancer {
    pub conditions: Vec<Condition>,
    quotas: Vec<Option<u64>>,
    /// Completions so far.
    pub completed: Vec<u64>,
    /// Assigned and still able to complete.
    pub active: Vec<u64>,
}

impl Balancer {
    pub fn new(set: &ConditionSet) -> Self {
        let conditions = set.conditions();
        let quotas = conditions.iter().map(|c| set.quotas.get(&c.id).map(|q| u64::from(*q))).collect();
        let n = conditions.len();
        Self { conditions, quotas, completed: vec![0; n], active: vec![0; n] }
    }

    fn taken(&self, i: usize) -> u64 {
        self.completed[i] + self.active[i]
    }

    /// The conditions below their quota with the fewest taken, or none when all are full.
    pub fn candidates(&self) -> Vec<usize> {
        let open: Vec<usize> =
            (0..self.conditions.len()).filter(|i| self.quotas[*i].is_none_or(|q| self.taken(*i) < q)).collect();
        let least = open.iter().map(|i| self.taken(*i)).min();
        open.into_iter().filter(|i| Some(self.taken(*i)) == least).collect()
    }

    /// Counts a new taker of condition `i`.
    pub fn take(&mut self, i: usize) {
        self.active[i] += 1;
    }

    /// A taker of condition `i` completed, or dropped out (freeing the slot).
    pub fn settle(&mut self, i: usize, completed: bool) {
        self.active[i] = self.active[i].saturating_sub(1);
        if completed {
            self.completed[i] += 1;
        }
    }

    pub fn index_of(&self, id: &str) -> Option<usize> {
        self.conditions.iter().position(|c| c.id == id)
    }
}

impl State {
    /// Draws a condition of `which` (entry or group), counted as taken; `None` when
    /// every condition is full.
    fn draw(&mut self, group: bool) -> Option<usize> {
        let balancer = if group { self.group_conditions.as_ref()? } else { self.entry_conditions.as_ref()? };
        let candidates = balancer.candidates();
        if candidates.is_empty() {
            return None;
        }
        let pick = candidates[self.new_seed() as usize % candidates.len()];
        let balancer = if group { self.group_conditions.as_mut() } else { self.entry_conditions.as_mut() };
        balancer.expect("checked above").take(pick);
        Some(pick)
    }

    /// Gives a new participant their entry condition; false when every condition is
    /// full (they got the `on_full` outcome).
    pub(super) fn assign_entry(&mut self, pid: ParticipantId, now: Duration) -> bool {
        if self.entry_conditions.is_none() {
            return true;
        }
        match self.draw(false) {
            Some(i) => {
                let condition = self.entry_conditions.as_ref().expect("drawn from it").conditions[i].to_json();
                self.participants.get_mut(&pid).expect("participant exists").condition = Some(i);
                self.log(Event::ConditionAssigned { participant: pid, condition });
                true
            }
            None => {
                self.end_early(pid, 0, OutcomeReason::ConditionFull, now);
                false
            }
        }
    }

    /// A participant's part ended (`completed`: at an end scene): their entry
    /// condition's slot is counted as a completion, or freed.
    pub(super) fn settle_entry(&mut self, pid: ParticipantId, completed: bool) {
        let Some(p) = self.participants.get_mut(&pid).filter(|p| !p.condition_settled) else { return };
        p.condition_settled = true;
        let Some(i) = p.condition else { return };
        if let Some(b) = self.entry_conditions.as_mut() {
            b.settle(i, completed);
        }
    }

    /// Draws the condition of a group about to play; `Err` when every condition is full.
    pub(super) fn assign_group(&mut self) -> Result<Option<usize>, ()> {
        if self.group_conditions.is_none() {
            return Ok(None);
        }
        self.draw(true).map(Some).ok_or(())
    }

    /// Logs the condition drawn for `game` (after its `game_created`), and keeps it: the
    /// texts of the scenes after the game are its players' group condition's.
    pub(super) fn log_group_condition(&mut self, game: GameId, condition: Option<usize>) {
        let Some(i) = condition else { return };
        let Some(c) = self.group_conditions.as_ref().map(|b| b.conditions[i].to_json()) else { return };
        self.game_groups.insert(game, i);
        self.log(Event::GroupConditionAssigned { game, condition: c });
    }

    /// The condition of `pid`'s last group, if it had one.
    pub(super) fn group_condition_of(&self, pid: ParticipantId) -> Option<usize> {
        let game = self.participants.get(&pid)?.last_game?;
        self.game_groups.get(&game).copied()
    }

    /// Whose texts `pid` reads: their entry condition's, and their last group's.
    pub(super) fn audience_of(&self, pid: ParticipantId) -> crate::config::by_condition::Audience<'_> {
        let group = self.group_condition_of(pid).and_then(|i| self.group_conditions.as_ref().map(|b| &b.conditions[i]));
        crate::config::by_condition::Audience { entry: self.condition_of(pid), group }
    }

    /// A game ended: its group condition's slot counts as a completion, or is freed.
    pub(super) fn settle_group(&mut self, condition: Option<usize>, completed: bool) {
        if let (Some(i), Some(b)) = (condition, self.group_conditions.as_mut()) {
            b.settle(i, completed);
        }
    }

    /// The page texts `pid`'s entry condition puts in other words
    /// (`texts_by_condition`): its `factor=level` entries in the order of the factors,
    /// then its own name's, each over the one before.
    pub(super) fn condition_texts(&self, pid: ParticipantId) -> BTreeMap<String, String> {
        let by = &self.experiment.texts_by_condition;
        let Some(c) = self.condition_of(pid).filter(|_| !by.is_empty()) else { return BTreeMap::new() };
        let keys = c.levels.iter().map(|(f, l)| format!("{f}={l}")).chain(std::iter::once(c.id.clone()));
        keys.filter_map(|k| by.get(&k)).flat_map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone()))).collect()
    }

    /// Sends `pid` their condition's page texts (`texts`), if it has any.
    pub(super) fn send_condition_texts(&mut self, pid: ParticipantId) {
        let texts = self.condition_texts(pid);
        if !texts.is_empty() {
            self.send_to(pid, crate::protocol::ServerMsg::Texts { texts });
        }
    }

    /// `pid`'s entry condition, if they have one.
    pub(super) fn condition_of(&self, pid: ParticipantId) -> Option<&crate::config::conditions::Condition> {
        let i = self.participants.get(&pid)?.condition?;
        self.entry_conditions.as_ref().map(|b| &b.conditions[i])
    }

    /// The attributes a policy sees of an entry condition: `condition` (its name) and
    /// `condition.<factor>` (its level of each factor).
    pub(super) fn condition_attributes(&self, condition: Option<usize>) -> Vec<(String, String)> {
        let Some(c) = condition.and_then(|i| self.entry_conditions.as_ref().map(|b| &b.conditions[i])) else {
            return Vec::new();
        };
        let mut out = vec![("condition".to_owned(), c.id.clone())];
        out.extend(c.levels.iter().map(|(f, l)| (format!("condition.{f}"), l.clone())));
        out
    }

    /// A scene as `pid` sees it: `{condition}` and `{condition.<factor>}` in its texts
    /// become their entry condition's name and levels, `{group_code}` the code of
    /// their last group (for a later `reunion`), `{pay}` and `{bonus}` their pay. Called only for scenes that hold
    /// them (`Views::personal`).
    pub(super) fn personalize(&self, pid: ParticipantId, view: SceneView) -> SceneView {
        let Ok(mut text) = serde_json::to_string(&view) else { return view };
        if !text.contains("{condition")
            && !text.contains("{group_code}")
            && !text.contains("{pay}")
            && !text.contains("{bonus}")
        {
            return view;
        }
        // Amounts are digits and a point: nothing to escape. `{pay}` on a page is the
        // pay of finishing (an end scene); outcomes fill in their own.
        text = self.fill_pay(&text, pid, "finished");
        let game = self.participants.get(&pid).and_then(|p| p.last_game);
        // A group's code is hex: nothing to escape either.
        text = text.replace("{group_code}", &game.map(|g| crate::config::reunion::group_code(&g)).unwrap_or_default());
        let condition = self.participants.get(&pid).and_then(|p| p.condition);
        let Some(c) = condition.and_then(|i| self.entry_conditions.as_ref().map(|b| &b.conditions[i])) else {
            return serde_json::from_str(&text).unwrap_or(view);
        };
        // Names and levels are slugs: nothing in them needs escaping in JSON or HTML.
        text = text.replace("{condition}", &c.id);
        for (factor, level) in &c.levels {
            text = text.replace(&format!("{{condition.{factor}}}"), level);
        }
        serde_json::from_str(&text).unwrap_or(view)
    }

    /// The config of a game of `scene` played by `players` with the group condition
    /// `group`: the scene's, then `config_by_condition`'s entries that apply to the
    /// group (its players' shared entry condition, then its group condition) over it
    /// key by key, and `conditions` (see `game_conditions`).
    pub(super) fn game_config(
        &self,
        scene: usize,
        group: Option<usize>,
        players: &[ParticipantId],
        hidden_bots: usize,
    ) -> serde_json::Map<String, serde_json::Value> {
        let game = &self.multiplayer(scene).game;
        let mut config = game.config.clone();
        if !game.config_by_condition.is_empty() {
            let entries: std::collections::BTreeSet<Option<usize>> =
                players.iter().map(|p| self.participants.get(p).and_then(|p| p.condition)).collect();
            let shared = match entries.into_iter().collect::<Vec<_>>()[..] {
                [Some(i)] => self.entry_conditions.as_ref().map(|b| &b.conditions[i]),
                _ => None,
            };
            let group = group.and_then(|i| self.group_conditions.as_ref().map(|b| &b.conditions[i]));
            let audience = crate::config::by_condition::Audience { entry: shared, group };
            for over in crate::config::by_condition::overrides(&game.config_by_condition, audience) {
                config.extend(over.iter().map(|(k, v)| (k.clone(), v.clone())));
            }
        }
        if let Some(mut c) = self.game_conditions(group, players) {
            // Seats the host plays for players not told about bots are players to the
            // pages: each of the first player's entry condition, like a partner of theirs.
            if let Some(list) = c.get_mut("players").and_then(|p| p.as_array_mut()) {
                let like = list.first().cloned().unwrap_or(serde_json::Value::Null);
                list.extend(std::iter::repeat_n(like, hidden_bots));
            }
            config.insert("conditions".to_owned(), c);
        }
        config
    }

    /// What a game's config carries besides the scene's, when the experiment has
    /// conditions: `conditions`, with the group's condition and each player's entry
    /// condition (slot order).
    fn game_conditions(&self, group: Option<usize>, players: &[ParticipantId]) -> Option<serde_json::Value> {
        if self.entry_conditions.is_none() && self.group_conditions.is_none() {
            return None;
        }
        let mut conditions = serde_json::Map::new();
        if let (Some(b), Some(i)) = (&self.group_conditions, group) {
            conditions.insert("group".to_owned(), b.conditions[i].to_json());
        }
        if let Some(b) = &self.entry_conditions {
            let of = |p: &ParticipantId| {
                let condition = self.participants.get(p).and_then(|p| p.condition);
                condition.map_or(serde_json::Value::Null, |i| b.conditions[i].to_json())
            };
            conditions.insert("players".to_owned(), players.iter().map(of).collect());
        }
        Some(serde_json::Value::Object(conditions))
    }
}
