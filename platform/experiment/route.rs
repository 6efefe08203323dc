//! Each participant's route through the scenes (`blocks`: randomized and repeated
//! scenes): drawn at the start and logged, then followed step by step. A scene entered
//! again counts its `iteration`, which `scene` carries and `advance` / `submit` echo.

use super::state::State;
use crate::config::blocks;
use crate::eventlog::Event;
use crate::protocol::ParticipantId;

impl State {
    /// Draws and logs a new participant's route (only with `blocks`); the first scene.
    pub(super) fn assign_route(&mut self, pid: ParticipantId) -> usize {
        if self.experiment.blocks.is_empty() {
            return 0;
        }
        let experiment = self.experiment.clone();
        let route = blocks::route(&experiment, |scenes| {
            // Fisher–Yates with the state's seeded randomness.
            for i in (1..scenes.len()).rev() {
                let j = self.new_seed() as usize % (i + 1);
                scenes.swap(i, j);
            }
        });
        let ids = route.iter().map(|i| experiment.scenes[*i].id().to_string()).collect();
        self.log(Event::RouteAssigned { participant: pid, route: ids });
        let first = route.first().copied().unwrap_or(0);
        self.participants.get_mut(&pid).expect("participant exists").route = route;
        first
    }

    /// Moves `pid`'s step to the scene at `index`: the next occurrence on their route
    /// (or the first, for a jump back).
    pub(super) fn step_to(&mut self, pid: ParticipantId, index: usize) {
        let p = self.participants.get_mut(&pid).expect("participant exists");
        if p.route.is_empty() {
            p.step = Some(index);
            return;
        }
        let from = p.step.map_or(0, |s| s + 1).min(p.route.len());
        let ahead = p.route[from..].iter().position(|i| *i == index).map(|k| k + from);
        p.step = ahead.or_else(|| p.route.iter().position(|i| *i == index)).or(p.step);
    }

    /// The scene after the one at `index` on `pid`'s route.
    pub(super) fn next_scene(&self, pid: ParticipantId, index: usize) -> usize {
        let p = &self.participants[&pid];
        match p.step {
            Some(s) if !p.route.is_empty() => p.route.get(s + 1).copied().unwrap_or(index + 1),
            _ => index + 1,
        }
    }

    /// How many times `pid` has entered their current scene, from 1.
    pub(super) fn iteration(&self, pid: ParticipantId) -> u32 {
        let Some(p) = self.participants.get(&pid) else { return 1 };
        match p.step {
            Some(s) if s < p.route.len() => p.route[..=s].iter().filter(|i| **i == p.route[s]).count() as u32,
            _ => 1,
        }
    }

    /// `pid`'s position on their route and its length (for the page's progress).
    pub(super) fn progress(&self, pid: ParticipantId, index: usize) -> (usize, usize) {
        let p = &self.participants[&pid];
        if p.route.is_empty() { (index, self.experiment.scenes.len()) } else { (p.step.unwrap_or(0), p.route.len()) }
    }
}

/// The step of the `iteration`-th visit of scene `index` on `route` (a restored session).
pub fn step_of(route: &[usize], index: usize, iteration: u32) -> Option<usize> {
    if route.is_empty() {
        return Some(index);
    }
    route.iter().enumerate().filter(|(_, i)| **i == index).nth(iteration.saturating_sub(1) as usize).map(|(s, _)| s)
}
