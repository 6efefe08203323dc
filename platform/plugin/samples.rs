//! What `cohort plugin check` runs with: the setup (the config, limits, group sizes
//! and attributes — sampled, from an experiment, or a participants file) and the
//! sample participants and waitrooms, oldest first with varied waits.

use std::collections::BTreeMap;
use std::time::Duration;

use super::Limits;
use crate::matchmaking::Candidate;
use crate::mix::mix;
use crate::protocol::ParticipantId;

/// What a check runs with.
#[derive(Debug, Clone)]
pub struct Setup {
    /// `matchmaker.config`, as JSON text.
    pub config: String,
    pub limits: Limits,
    pub pass_budget_ms: u32,
    pub group_sizes: Vec<usize>,
    /// Attribute names and the values sample participants take.
    pub attributes: Vec<(String, Vec<String>)>,
    /// Participants to use instead of generated ones (oldest first).
    pub participants: Option<Vec<Candidate>>,
    /// Where the attributes come from, for the report.
    pub from: String,
}

impl Setup {
    /// Without an experiment: sample attributes `team` and `gender`.
    pub fn sample(config: &str, limits: Limits) -> Self {
        Self {
            config: config.to_owned(),
            limits,
            pass_budget_ms: 50,
            group_sizes: vec![2, 3],
            attributes: vec![
                ("team".to_owned(), ["red", "blue", "green"].map(str::to_owned).to_vec()),
                ("gender".to_owned(), ["f", "m"].map(str::to_owned).to_vec()),
            ],
            participants: None,
            from: "sample attributes (use --experiment for an experiment's)".to_owned(),
        }
    }
}

/// What a `--participants` file lists: one object per participant.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Listed {
    #[serde(default)]
    id: Option<uuid::Uuid>,
    waited_ms: u64,
    #[serde(default)]
    server_rtt_ms: Option<f64>,
    #[serde(default)]
    attributes: BTreeMap<String, String>,
}

impl Setup {
    /// The setup of the multiplayer scene of `loaded` that uses a plugin (`scene`, or
    /// the only one): its config, limits, group size and attributes, with sample values
    /// from the options of the survey questions they come from. Returns the plugin.
    pub fn from_experiment(
        loaded: &crate::config::Loaded,
        scene: Option<&str>,
    ) -> Result<(std::path::PathBuf, Self), String> {
        use crate::config::Scene;
        use crate::config::types::AttributeSource;
        let experiment = &loaded.experiment;
        let candidates: Vec<_> = experiment
            .scenes
            .iter()
            .filter_map(|s| match s {
                Scene::Multiplayer(m) if m.matchmaker.plugin.is_some() => Some(m),
                _ => None,
            })
            .filter(|m| scene.is_none_or(|id| m.id.as_str() == id))
            .collect();
        let m = match candidates.as_slice() {
            [m] => *m,
            [] => {
                return Err(format!(
                    "`{}` has no multiplayer scene{} with a plugin",
                    experiment.id,
                    scene.map_or(String::new(), |s| format!(" `{s}`"))
                ));
            }
            _ => return Err("several scenes use a plugin: name one with --scene".to_owned()),
        };
        let values = |source: AttributeSource<'_>| -> Vec<String> {
            let AttributeSource::Answer { scene, question } = source else {
                return ["a", "b", "c"].map(str::to_owned).to_vec();
            };
            let question = experiment.scenes.iter().find_map(|s| match s {
                Scene::Survey(s) if s.id.as_str() == scene => s.questions.iter().find(|q| q.id().as_str() == question),
                _ => None,
            });
            match question {
                Some(crate::config::survey::Question::SingleChoice(q)) => q.options.clone(),
                Some(crate::config::survey::Question::MultipleChoice(q)) => q.options.clone(),
                Some(crate::config::survey::Question::Likert(q)) => (1..=q.points).map(|p| p.to_string()).collect(),
                Some(crate::config::survey::Question::Dropdown(q)) => q.options.clone(),
                Some(crate::config::survey::Question::Rank(q)) => vec![q.options.join(",")],
                Some(crate::config::survey::Question::Slider(q)) => {
                    [q.min, (q.min + q.max) / 2.0, q.max].iter().map(|x| x.to_string()).collect()
                }
                _ => ["a", "b", "c"].map(str::to_owned).to_vec(),
            }
        };
        let attributes: Vec<(String, Vec<String>)> =
            m.matchmaker.attributes.iter().map(|a| (a.name().to_owned(), values(a.source()))).collect();
        let named: Vec<String> = attributes.iter().map(|(n, v)| format!("{n} ∈ {{{}}}", v.join(", "))).collect();
        let setup = Self {
            config: serde_json::Value::Object(m.matchmaker.config.clone()).to_string(),
            limits: Limits::of(&m.matchmaker),
            pass_budget_ms: m.matchmaker.pass_budget_ms,
            group_sizes: vec![m.group_size as usize],
            from: format!(
                "scene `{}` of {}: {}",
                m.id,
                loaded.path.display(),
                if named.is_empty() { "no attributes".to_owned() } else { named.join("; ") }
            ),
            attributes,
            participants: None,
        };
        let plugin = loaded.base_dir.join(m.matchmaker.plugin.as_ref().expect("filtered above"));
        Ok((plugin, setup))
    }

    /// Uses the participants listed in `json` (a list of `{"waited_ms": 30000,
    /// "server_rtt_ms": 40, "attributes": {"side": "left"}}`, `id` optional) as the
    /// waitroom, oldest first.
    pub fn with_participants(mut self, json: &str) -> Result<Self, String> {
        let listed: Vec<Listed> = serde_json::from_str(json).map_err(|e| format!("the participants file: {e}"))?;
        if listed.is_empty() || listed.len() > 100_000 {
            return Err("the participants file must list 1 to 100000 participants".to_owned());
        }
        let now = Duration::from_secs(3600);
        let mut given: Vec<Candidate> =
            listed
                .into_iter()
                .enumerate()
                .map(|(i, l)| Candidate {
                    id: ParticipantId(l.id.unwrap_or_else(|| {
                        uuid::Uuid::from_u128(0xf11e_0000_0000_0000_0000_0000_0000_0000 + i as u128)
                    })),
                    joined_at: now.saturating_sub(Duration::from_millis(l.waited_ms)),
                    server_rtt_ms: l.server_rtt_ms,
                    attributes: l.attributes,
                    previous_partners: Vec::new(),
                    avoid: Vec::new(),
                })
                .collect();
        given.sort_by_key(|c| c.joined_at);
        self.from = format!("{} participants from the file", given.len());
        self.participants = Some(given);
        Ok(self)
    }
}

/// Sample participant `n`, who has waited `waited`.
pub(super) fn sample(setup: &Setup, n: usize, waited: Duration, now: Duration) -> Candidate {
    let attributes = setup
        .attributes
        .iter()
        .enumerate()
        .map(|(k, (name, values))| {
            let value = values[(mix(n as u64 * 31 + k as u64) % values.len().max(1) as u64) as usize].clone();
            (name.clone(), value)
        })
        .collect();
    Candidate {
        id: ParticipantId(uuid::Uuid::from_u128(0x5eed_0000_0000_0000_0000_0000_0000_0000 + n as u128)),
        joined_at: now.saturating_sub(waited),
        server_rtt_ms: Some(15.0 + (mix(n as u64) % 120) as f64),
        attributes,
        previous_partners: Vec::new(),
        avoid: Vec::new(),
    }
}

/// Sample participant `n` with the sample attributes, who has waited `n + 1` seconds
/// (for benchmarks).
pub fn sample_candidate(n: usize, now: Duration) -> Candidate {
    let limits = Limits { call_timeout: Duration::from_millis(100), memory_bytes: 1 << 20 };
    sample(&Setup::sample("{}", limits), n, Duration::from_secs(n as u64 + 1), now)
}

/// A waitroom of `count`, oldest first, with varied waits (the oldest about 1.5 s per
/// place ahead of the next, give or take).
pub(super) fn waitroom(setup: &Setup, count: usize, now: Duration) -> Vec<Candidate> {
    if let Some(given) = &setup.participants {
        return given
            .iter()
            .cycle()
            .take(count)
            .cloned()
            .enumerate()
            .map(|(i, mut c)| {
                if i >= given.len() {
                    c.id = ParticipantId(uuid::Uuid::from_u128(0xf11e_0000_0000_0000_0000_0000_0000_0000 + i as u128));
                }
                c
            })
            .collect();
    }
    (0..count)
        .map(|i| {
            let place = (count - i) as u64;
            let waited = Duration::from_millis(place * 1500 + mix(i as u64) % 1500);
            sample(setup, i, waited, now)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> Limits {
        Limits { call_timeout: Duration::from_millis(100), memory_bytes: 1 << 20 }
    }

    #[test]
    fn sample_waitrooms_are_oldest_first_with_varied_waits_and_values() {
        let setup = Setup::sample("{}", limits());
        let now = Duration::from_secs(3600);
        let room = waitroom(&setup, 50, now);
        let waits: Vec<Duration> = room.iter().map(|c| now - c.joined_at).collect();
        assert!(waits.windows(2).all(|w| w[0] > w[1]), "index 0 waited longest: {waits:?}");
        let gaps: std::collections::BTreeSet<Duration> = waits.windows(2).map(|w| w[0] - w[1]).collect();
        assert!(gaps.len() > 10, "waits are varied, not evenly spaced");
        let teams: std::collections::BTreeSet<&str> = room.iter().map(|c| c.attributes["team"].as_str()).collect();
        assert_eq!(teams.len(), 3, "every sample value appears");
        assert!(
            room.iter().map(|c| &c.attributes["team"]).collect::<Vec<_>>().windows(3).any(|w| w[0] == w[1]),
            "values are not a fixed rotation"
        );
    }

    #[test]
    fn a_participants_file_is_sorted_oldest_first_and_bad_files_are_refused() {
        let json = r#"[{"waited_ms": 1000, "attributes": {"side": "left"}}, {"waited_ms": 9000, "server_rtt_ms": 40}]"#;
        let setup = Setup::sample("{}", limits()).with_participants(json).expect("valid");
        let given = setup.participants.expect("listed");
        assert_eq!(given[0].server_rtt_ms, Some(40.0), "the one who waited 9 s comes first");
        assert_eq!(given[1].attributes["side"], "left");
        let bad = Setup::sample("{}", limits()).with_participants(r#"[{"waited": 1}]"#).expect_err("unknown field");
        assert!(bad.contains("unknown field `waited`"), "{bad}");
        assert!(Setup::sample("{}", limits()).with_participants("[]").is_err());
    }
}
