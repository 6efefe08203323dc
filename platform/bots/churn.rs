//! Churn: bots that behave like real participants at their worst — leaving the
//! waitroom, losing the connection and coming back within the reconnect grace or too
//! late, never answering a probe, abandoning a game. Each bot draws its fate from its
//! own seeded generator, so a run can be repeated (`cohort bots --leave 0.1 ...`; the
//! soak test).

use std::net::IpAddr;
use std::time::Duration;

use rand::Rng;
use rand::rngs::StdRng;

use super::Plan;
use crate::client::{Client, ClientError};

/// How often each misbehaviour happens (chances between 0 and 1).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Churn {
    /// A waiting bot leaves the waitroom after 0.5-10 s.
    pub leave: f64,
    /// A waiting or playing bot loses its connection after 0.5-10 s...
    pub drop: f64,
    /// ...and comes back within the grace period this often (otherwise after it).
    pub back_in_time: f64,
    /// The reconnect grace of the experiment (seconds), to time the returns.
    pub grace_secs: f64,
    /// A bot never answers a probe (it times out).
    pub ignore_probe: f64,
    /// A playing bot closes its tab for good during the game.
    pub abandon: f64,
}

impl Churn {
    /// Whether any misbehaviour is asked for.
    pub fn any(&self) -> bool {
        self.leave > 0.0 || self.drop > 0.0 || self.ignore_probe > 0.0 || self.abandon > 0.0
    }
}

/// Something a bot will do of its own accord.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Act {
    /// Leave the waitroom.
    Leave,
    /// Close the connection; come back after this long (never: `None`).
    Drop(Option<Duration>),
}

/// What a bot decided to do once it waits: an act and when (after entering).
pub fn on_waiting(churn: &Churn, rng: &mut StdRng) -> Option<(Duration, Act)> {
    let after = Duration::from_secs_f64(rng.random_range(0.5..10.0));
    if rng.random::<f64>() < churn.leave {
        return Some((after, Act::Leave));
    }
    if rng.random::<f64>() < churn.drop {
        return Some((after, Act::Drop(Some(back_after(churn, rng)))));
    }
    None
}

/// What a bot decided to do once its game starts.
pub fn on_playing(churn: &Churn, rng: &mut StdRng) -> Option<(Duration, Act)> {
    let after = Duration::from_secs_f64(rng.random_range(0.5..5.0));
    if rng.random::<f64>() < churn.abandon {
        return Some((after, Act::Drop(None)));
    }
    if rng.random::<f64>() < churn.drop {
        return Some((after, Act::Drop(Some(back_after(churn, rng)))));
    }
    None
}

/// Closes `client`'s connection, stays away for `away`, and opens a new one that
/// resumes the session with its token (from the same address).
pub async fn come_back(
    client: &mut Client,
    plan: &Plan,
    params: &[(String, String)],
    from: Option<IpAddr>,
    away: Duration,
) -> Result<(), ClientError> {
    let token = client.welcome.resume_token.clone();
    client.hang_up().await;
    tokio::time::sleep(away).await;
    let params: Vec<(&str, &str)> = params.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    *client = Client::connect_from(&plan.addr, &plan.experiment, &params, Some(&token), from).await?;
    Ok(())
}

/// Whether a bot ignores the probe it was just asked to take.
pub fn ignores_probe(churn: &Churn, rng: &mut StdRng) -> bool {
    rng.random::<f64>() < churn.ignore_probe
}

/// How long a dropped bot stays away: within the grace period, or past it.
fn back_after(churn: &Churn, rng: &mut StdRng) -> Duration {
    let grace = churn.grace_secs.max(0.5);
    let secs = if rng.random::<f64>() < churn.back_in_time {
        rng.random_range(0.1..grace * 0.6)
    } else {
        grace + rng.random_range(1.0..3.0)
    };
    Duration::from_secs_f64(secs)
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;

    #[test]
    fn fates_follow_their_chances_and_returns_fall_on_either_side_of_the_grace() {
        let churn = Churn { leave: 0.2, drop: 0.5, back_in_time: 0.5, grace_secs: 10.0, ..Churn::default() };
        let mut rng = StdRng::seed_from_u64(3);
        let fates: Vec<_> = (0..2000).filter_map(|_| on_waiting(&churn, &mut rng)).collect();
        let leaves = fates.iter().filter(|(_, a)| *a == Act::Leave).count();
        assert!((340..460).contains(&leaves), "about 20 % leave: {leaves}");
        let backs: Vec<Duration> = fates
            .iter()
            .filter_map(|(_, a)| match a {
                Act::Drop(Some(d)) => Some(*d),
                _ => None,
            })
            .collect();
        let in_time = backs.iter().filter(|d| d.as_secs_f64() < 10.0).count();
        assert!(in_time > 0 && in_time < backs.len(), "some within the grace, some after");
        assert!(!Churn::default().any() && churn.any());
    }
}
