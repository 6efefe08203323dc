//! ICE servers for participants' peer connections (probes and games): STUN URLs, TURN
//! with static credentials, or TURN with a shared secret from which the host mints
//! short-lived per-participant credentials — the TURN REST scheme that coturn's
//! `use-auth-secret` accepts: username `<expiry unix time>:<participant id>`, password
//! `base64(HMAC-SHA1(secret, username))`.
//!
//! The secret comes from an environment variable or a file named in the experiment,
//! never from the YAML itself; it is held in a [`TurnSecret`] whose `Debug` is
//! redacted, and it never reaches a client or a log.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use hmac::{KeyInit, Mac};

use crate::config::{Experiment, Scene};
use crate::experiment::IceProvider;
use crate::protocol::{IceServerView, ParticipantId};

/// How long minted TURN credentials stay valid.
pub const CREDENTIAL_TTL: Duration = Duration::from_secs(3600);

/// A TURN shared secret (redacted in `Debug`).
#[derive(Clone)]
pub struct TurnSecret(Vec<u8>);

impl std::fmt::Debug for TurnSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TurnSecret([redacted])")
    }
}

/// A TURN secret could not be read at start-up (the message names where it was
/// looked for, never its content).
#[derive(Debug, thiserror::Error)]
pub enum IceError {
    #[error("experiment `{experiment}`: the TURN secret variable `{var}` is not set (or empty)")]
    MissingEnv { experiment: String, var: String },
    #[error("experiment `{experiment}`: cannot read the TURN secret file {path}: {source}")]
    File { experiment: String, path: String, source: std::io::Error },
}

/// Username and password for `participant`, valid until `expiry_unix`.
pub fn turn_rest_credentials(secret: &TurnSecret, participant: &str, expiry_unix: u64) -> (String, String) {
    let username = format!("{expiry_unix}:{participant}");
    let mut mac = hmac::Hmac::<sha1::Sha1>::new_from_slice(&secret.0).expect("HMAC takes keys of any length");
    mac.update(username.as_bytes());
    let password = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    (username, password)
}

/// Reads every TURN secret the experiment names: (scene index, server index) → secret.
pub fn load_secrets(experiment: &Experiment, base_dir: &Path) -> Result<HashMap<(usize, usize), TurnSecret>, IceError> {
    let mut secrets = HashMap::new();
    for (scene, m) in experiment.scenes.iter().enumerate().filter_map(|(i, s)| match s {
        Scene::Multiplayer(m) => Some((i, m)),
        _ => None,
    }) {
        for (index, server) in m.ice_servers.iter().enumerate() {
            let secret = if let Some(var) = &server.secret_env {
                let value = std::env::var(var).ok().filter(|v| !v.is_empty());
                let missing = || IceError::MissingEnv { experiment: experiment.id.to_string(), var: var.clone() };
                value.ok_or_else(missing)?.into_bytes()
            } else if let Some(file) = &server.secret_file {
                let path = base_dir.join(file);
                let text = std::fs::read_to_string(&path).map_err(|source| IceError::File {
                    experiment: experiment.id.to_string(),
                    path: path.display().to_string(),
                    source,
                })?;
                text.trim_end_matches(['\n', '\r']).as_bytes().to_vec()
            } else {
                continue;
            };
            secrets.insert((scene, index), TurnSecret(secret));
        }
    }
    Ok(secrets)
}

/// The ICE servers each participant gets, minting TURN credentials from the secrets
/// with the wall clock.
pub fn provider(experiment: Arc<Experiment>, secrets: HashMap<(usize, usize), TurnSecret>) -> IceProvider {
    Arc::new(move |scene: usize, participant: ParticipantId| {
        let Scene::Multiplayer(m) = &experiment.scenes[scene] else { return Vec::new() };
        let expiry = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default() + CREDENTIAL_TTL;
        m.ice_servers
            .iter()
            .enumerate()
            .map(|(index, server)| {
                let (username, credential) = match secrets.get(&(scene, index)) {
                    Some(secret) => {
                        let (u, c) = turn_rest_credentials(secret, &participant.to_string(), expiry.as_secs());
                        (Some(u), Some(c))
                    }
                    None => (server.username.clone(), server.credential.clone()),
                };
                IceServerView { urls: server.urls.clone(), username, credential }
            })
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_match_an_independent_hmac_sha1() {
        // Computed with Python's hmac/hashlib/base64 for secret "north".
        let (user, pass) = turn_rest_credentials(&TurnSecret(b"north".to_vec()), "alice", 1_600_000_000);
        assert_eq!(user, "1600000000:alice");
        assert_eq!(pass, "gq98pTOhhHaAu0we9aV79kOVVv0=");
    }

    #[test]
    fn secrets_are_redacted_in_debug() {
        assert_eq!(format!("{:?}", TurnSecret(b"hunter2".to_vec())), "TurnSecret([redacted])");
    }
}
