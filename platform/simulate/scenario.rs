//! What `cohort simulate` plays into an experiment: who arrives when, with which
//! attributes, who drops out, and the round trips between them. A scenario is a small
//! YAML file (`--scenario`), every field optional; command-line flags override it.
//!
//! Everything random is drawn from the scenario's seed before the run, so that two
//! policies compared with `--compare` meet exactly the same participants.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rand::{Rng, SeedableRng};
use serde::Deserialize;

use crate::mix::mix;

/// A simulation scenario.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// How long arrivals go on (simulated seconds); the run then lets the last
    /// arrivals finish waiting.
    #[serde(default = "default_duration")]
    pub duration_secs: f64,
    #[serde(default)]
    pub seed: u64,
    /// The multiplayer scene to simulate (its id); the first one by default.
    #[serde(default)]
    pub scene: Option<String>,
    #[serde(default)]
    pub arrivals: Arrivals,
    /// Attribute name (as the policy sees it) → value → weight.
    #[serde(default)]
    pub attributes: BTreeMap<String, BTreeMap<String, f64>>,
    #[serde(default)]
    pub dropout: Dropout,
    /// Peer-to-peer round trip between two participants.
    #[serde(default)]
    pub rtt: Rtt,
    /// Round trip between a participant and the host (what policies see as
    /// `server-rtt-ms`); absent: not measured.
    #[serde(default)]
    pub server_rtt: Option<Spread>,
    /// Chance that a probe fails (no RTT measured) whatever the pair.
    #[serde(default)]
    pub probe_failure: f64,
    /// How long a game lasts once it starts (its players then finish).
    #[serde(default = "default_game_secs")]
    pub game_secs: f64,
}

fn default_duration() -> f64 {
    600.0
}

fn default_game_secs() -> f64 {
    60.0
}

/// How participants arrive.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Arrivals {
    /// A Poisson process.
    Poisson { rate_per_sec: f64 },
    /// Batches at given times.
    Schedule(Vec<Batch>),
    /// The arrivals of a real run (its directory, with `events.jsonl`): when each
    /// participant entered the scene's waitroom, with their attributes, and when they
    /// left it of their own accord.
    Replay { run: PathBuf },
}

impl Default for Arrivals {
    fn default() -> Self {
        Arrivals::Poisson { rate_per_sec: 1.0 }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Batch {
    pub at_secs: f64,
    pub count: u32,
}

/// Participants who leave before being grouped.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dropout {
    /// Rate (per waiting minute) at which a waiting participant gives up and leaves.
    #[serde(default)]
    pub leave_per_min: f64,
    /// Rate (per waiting minute) at which a waiting participant's connection drops.
    #[serde(default)]
    pub disconnect_per_min: f64,
    /// Chance that a dropped participant comes back, and after how long.
    #[serde(default)]
    pub return_probability: f64,
    #[serde(default)]
    pub return_after_secs: f64,
}

/// A distribution of a positive quantity (milliseconds).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Spread {
    Constant { ms: f64 },
    Uniform { min_ms: f64, max_ms: f64 },
    Lognormal { median_ms: f64, sigma: f64 },
}

impl Spread {
    /// The value at quantile-ish draws `u`, `v` in (0, 1).
    fn at(&self, u: f64, v: f64) -> f64 {
        match *self {
            Spread::Constant { ms } => ms,
            Spread::Uniform { min_ms, max_ms } => min_ms + (max_ms - min_ms) * u,
            Spread::Lognormal { median_ms, sigma } => {
                let normal = (-2.0 * u.max(1e-12).ln()).sqrt() * (std::f64::consts::TAU * v).cos();
                median_ms * (sigma * normal).exp()
            }
        }
    }
}

/// Round trips between participants.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Rtt {
    /// Each pair's RTT drawn independently.
    Pairs(Spread),
    /// Participants in regions (drawn by weight); RTT from a region × region matrix
    /// (inline, or a CSV file of numbers, one row per region).
    Regions {
        names: Vec<String>,
        weights: Vec<f64>,
        #[serde(default)]
        rtt_ms: Vec<Vec<f64>>,
        #[serde(default)]
        file: Option<PathBuf>,
    },
    /// Participants placed uniformly on a `width` × `height` map; RTT is `base_ms` plus
    /// `ms_per_unit` per unit of distance.
    Map { width: f64, height: f64, ms_per_unit: f64, base_ms: f64 },
}

impl Default for Rtt {
    fn default() -> Self {
        Rtt::Pairs(Spread::Constant { ms: 40.0 })
    }
}

/// One simulated participant, drawn before the run.
#[derive(Debug, Clone)]
pub struct Person {
    pub arrives: Duration,
    pub attributes: BTreeMap<String, String>,
    /// Leaves the waitroom after this long, if not grouped before.
    pub leaves_after: Option<Duration>,
    /// Loses the connection after this long, and comes back after the second, if at all.
    pub drops_after: Option<(Duration, Option<Duration>)>,
    pub server_rtt_ms: Option<f64>,
    /// Where they are, for RTTs: a region, or a point on the map.
    pub place: (usize, f64, f64),
}

impl Scenario {
    /// Checks what serde cannot.
    pub fn check(&self) -> Result<(), String> {
        let bad = |what: &str| Err(format!("scenario: {what}"));
        if !(self.duration_secs > 0.0 && self.duration_secs <= 30.0 * 86400.0) {
            return bad("duration_secs must be above 0 and at most 30 days");
        }
        if !(0.0..=1.0).contains(&self.probe_failure) || !(0.0..=1.0).contains(&self.dropout.return_probability) {
            return bad("probe_failure and dropout.return_probability are chances between 0 and 1");
        }
        if let Arrivals::Poisson { rate_per_sec } = self.arrivals
            && !(rate_per_sec > 0.0 && rate_per_sec * self.duration_secs <= 5_000_000.0)
        {
            return bad("arrivals.poisson.rate_per_sec must be above 0, and at most 5 million arrivals in all");
        }
        if let Rtt::Regions { names, weights, rtt_ms, file } = &self.rtt {
            let matrix = if let Some(file) = file { read_matrix(file)? } else { rtt_ms.clone() };
            if weights.len() != names.len()
                || matrix.len() != names.len()
                || matrix.iter().any(|r| r.len() != names.len())
            {
                return bad("rtt.regions needs one weight, and a matrix row and column, per region name");
            }
        }
        for (name, values) in &self.attributes {
            if values.is_empty()
                || values.values().any(|w| w.is_nan() || *w < 0.0)
                || values.values().sum::<f64>() <= 0.0
            {
                return bad(&format!("attributes.{name} needs values with non-negative weights, not all zero"));
            }
        }
        Ok(())
    }

    /// The participants of this scenario (for `Replay`, read from the run).
    pub fn people(&self, replayed: Option<Vec<Person>>) -> Vec<Person> {
        let mut rng = rand::rngs::StdRng::seed_from_u64(self.seed);
        let end = self.duration_secs;
        let mut times = Vec::new();
        match &self.arrivals {
            Arrivals::Poisson { rate_per_sec } => {
                let mut t = 0.0;
                loop {
                    t += -(1.0 - rng.random::<f64>()).ln() / rate_per_sec;
                    if t >= end {
                        break;
                    }
                    times.push(t);
                }
            }
            Arrivals::Schedule(batches) => {
                for b in batches.iter().filter(|b| b.at_secs < end) {
                    times.extend(std::iter::repeat_n(b.at_secs.max(0.0), b.count as usize));
                }
                times.sort_by(f64::total_cmp);
            }
            Arrivals::Replay { .. } => return replayed.unwrap_or_default(),
        }
        times.into_iter().map(|t| self.person(Duration::from_secs_f64(t), &mut rng)).collect()
    }

    fn person(&self, arrives: Duration, rng: &mut rand::rngs::StdRng) -> Person {
        let attributes = self
            .attributes
            .iter()
            .map(|(name, values)| {
                let total: f64 = values.values().sum();
                let mut pick = rng.random::<f64>() * total;
                let value = values.iter().find(|(_, w)| {
                    pick -= **w;
                    pick < 0.0
                });
                (name.clone(), value.or(values.iter().last()).map(|(v, _)| v.clone()).unwrap_or_default())
            })
            .collect();
        let after = |rate_per_min: f64, rng: &mut rand::rngs::StdRng| {
            let u: f64 = rng.random();
            (rate_per_min > 0.0).then(|| Duration::from_secs_f64(-(1.0 - u).ln() * 60.0 / rate_per_min))
        };
        let leaves_after = after(self.dropout.leave_per_min, rng);
        let drops = after(self.dropout.disconnect_per_min, rng);
        let back = rng.random::<f64>() < self.dropout.return_probability;
        let drops_after = drops.map(|d| (d, back.then(|| Duration::from_secs_f64(self.dropout.return_after_secs))));
        let (u, v): (f64, f64) = (rng.random(), rng.random());
        let server_rtt_ms = self.server_rtt.as_ref().map(|s| s.at(u.max(1e-9), v));
        let place = match &self.rtt {
            Rtt::Regions { weights, .. } => {
                let mut pick = rng.random::<f64>() * weights.iter().sum::<f64>();
                let region = weights.iter().position(|w| {
                    pick -= w;
                    pick < 0.0
                });
                (region.unwrap_or(weights.len().saturating_sub(1)), 0.0, 0.0)
            }
            Rtt::Map { width, height, .. } => (0, rng.random::<f64>() * width, rng.random::<f64>() * height),
            Rtt::Pairs(_) => (0, 0.0, 0.0),
        };
        Person { arrives, attributes, leaves_after, drops_after, server_rtt_ms, place }
    }
}

/// Pair RTTs of a scenario's participants.
pub struct RttModel {
    rtt: Rtt,
    matrix: Vec<Vec<f64>>,
    seed: u64,
}

impl RttModel {
    pub fn new(scenario: &Scenario) -> Result<Self, String> {
        let matrix = match &scenario.rtt {
            Rtt::Regions { file: Some(file), .. } => read_matrix(file)?,
            Rtt::Regions { rtt_ms, .. } => rtt_ms.clone(),
            _ => Vec::new(),
        };
        Ok(Self { rtt: scenario.rtt.clone(), matrix, seed: scenario.seed })
    }

    /// The RTT between participants `i` and `j` (indices in arrival order).
    pub fn between(&self, people: &[Person], i: usize, j: usize) -> f64 {
        let (a, b) = (&people[i], &people[j]);
        match &self.rtt {
            Rtt::Pairs(spread) => {
                let (lo, hi) = (i.min(j) as u64, i.max(j) as u64);
                let h = mix(self.seed ^ mix(lo.wrapping_mul(0x1_0000_0001) ^ hi));
                let (u, v) = (crate::mix::unit(h), crate::mix::unit(h ^ 1));
                spread.at(u.max(1e-9), v)
            }
            Rtt::Regions { .. } => self.matrix[a.place.0][b.place.0],
            Rtt::Map { ms_per_unit, base_ms, .. } => {
                base_ms + ms_per_unit * ((a.place.1 - b.place.1).powi(2) + (a.place.2 - b.place.2).powi(2)).sqrt()
            }
        }
    }
}

/// A CSV of numbers, one row per line.
fn read_matrix(path: &Path) -> Result<Vec<Vec<f64>>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(n, line)| {
            line.split(',')
                .map(|cell| {
                    cell.trim()
                        .parse::<f64>()
                        .map_err(|_| format!("{}:{}: `{cell}` is not a number", path.display(), n + 1))
                })
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scenario(yaml: &str) -> Scenario {
        let value: serde_json::Value = crate::config::yaml::parse(yaml.as_bytes()).expect("yaml").value;
        serde_json::from_value(value).expect("a scenario")
    }

    #[test]
    fn poisson_arrivals_have_the_asked_rate_and_the_same_seed_the_same_people() {
        let s = scenario(
            "duration_secs: 1000\nseed: 3\narrivals: {poisson: {rate_per_sec: 2}}\nattributes: {side: {left: 1, right: 3}}",
        );
        s.check().expect("valid");
        let people = s.people(None);
        assert!((1850..2150).contains(&people.len()), "about 2000: {}", people.len());
        let right = people.iter().filter(|p| p.attributes["side"] == "right").count() as f64 / people.len() as f64;
        assert!((0.70..0.80).contains(&right), "weights 1:3 give 75 % right: {right}");
        let again = s.people(None);
        assert_eq!(
            people.iter().map(|p| p.arrives).collect::<Vec<_>>(),
            again.iter().map(|p| p.arrives).collect::<Vec<_>>()
        );
    }

    #[test]
    fn rtt_models_give_what_they_describe() {
        let s = scenario(
            "arrivals: {schedule: [{at_secs: 0, count: 4}]}\nrtt: {regions: {names: [eu, us], weights: [1, 1], rtt_ms: [[20, 90], [90, 30]]}}",
        );
        s.check().expect("valid");
        let people = s.people(None);
        let model = RttModel::new(&s).unwrap();
        for i in 0..4 {
            for j in 0..4 {
                let expected = [[20.0, 90.0], [90.0, 30.0]][people[i].place.0][people[j].place.0];
                assert_eq!(model.between(&people, i, j), expected);
            }
        }
        let s = scenario("rtt: {pairs: {uniform: {min_ms: 10, max_ms: 20}}}");
        let people = s.people(None);
        let model = RttModel::new(&s).unwrap();
        assert_eq!(model.between(&people, 0, 1), model.between(&people, 1, 0), "symmetric");
        assert!((10.0..=20.0).contains(&model.between(&people, 0, 1)));
        let bad = scenario("rtt: {regions: {names: [a, b], weights: [1], rtt_ms: [[1]]}}");
        assert!(bad.check().unwrap_err().contains("one weight"));
    }
}
