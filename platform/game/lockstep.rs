//! The host's record of a lockstep game: every player's inputs, contiguous from tick
//! 0 (for the log, the relay and a reloaded page's catch-up), and the state hashes the
//! copies report, compared tick by tick to detect a desync. Pure; bounded by the
//! game's duration, tick rate and input size.

use std::collections::BTreeMap;

use serde_json::Value;

// The rules every copy of a game keeps, the page's (`web/lockstep.js`, which reads them
// from the host's `/static/constants.js`, made from these) and the bots' alike.

/// Largest input, in bytes of JSON.
pub const MAX_INPUT_BYTES: usize = 256;
/// Most inputs in one `game_inputs` or channel message.
pub const MAX_BATCH: usize = 64;
/// A copy reports its state hash after every tick t with t % HASH_EVERY == HASH_EVERY - 1.
pub const HASH_EVERY: u64 = 20;
/// A game channel that closed mid-game is opened again after this long, doubling.
pub const REOPEN_MS: u64 = 1000;
/// At most this many new channels per partner and game.
pub const REOPEN_TRIES: u32 = 5;
/// Hashes reported for ticks not yet compared (older ones are dropped).
const MAX_PENDING_HASHES: usize = 64;
/// Longest hash string.
const MAX_HASH_LEN: usize = 64;

/// Why a batch of inputs was refused (nothing of it is kept).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum InputError {
    #[error("inputs must continue at tick {expected}; this batch starts at {from}")]
    Gap { expected: u64, from: u64 },
    #[error("tick {tick} is too far ahead of the game (at most {limit} now)")]
    TooFarAhead { tick: u64, limit: u64 },
    #[error("an input is {len} bytes of JSON; at most {MAX_INPUT_BYTES}")]
    TooLarge { len: usize },
    #[error("at most {MAX_BATCH} inputs per message")]
    TooMany,
    #[error("the input for tick {tick} was already sent differently")]
    Conflict { tick: u64 },
    #[error("a state hash is empty or longer than {MAX_HASH_LEN} characters")]
    BadHash,
}

/// Copies that disagree: the hashes reported for `tick`, by slot.
#[derive(Debug, Clone, PartialEq)]
pub struct Desync {
    pub tick: u64,
    pub hashes: Vec<Option<String>>,
}

/// Inputs and hashes of one game.
#[derive(Debug, Clone)]
pub struct Lockstep {
    pub seed: u32,
    pub tick_rate: u32,
    pub input_delay: u32,
    /// Per slot, the inputs of ticks 0, 1, … as far as that player has sent them.
    pub inputs: Vec<Vec<Value>>,
    /// Whether the host forwards inputs to the group (the relay path).
    pub relay: bool,
    /// Per slot, whether its player still plays it (a vacated seat reports nothing).
    pub active: Vec<bool>,
    hashes: BTreeMap<u64, Vec<Option<String>>>,
}

impl Lockstep {
    pub fn new(players: usize, seed: u32, tick_rate: u32, input_delay: u32, relay: bool) -> Self {
        let (inputs, active) = (vec![Vec::new(); players], vec![true; players]);
        Self { seed, tick_rate, input_delay, inputs, relay, active, hashes: BTreeMap::new() }
    }

    /// Takes `slot`'s inputs from tick `from` on. A batch may repeat inputs already
    /// held (a page resending after a reconnect) if they are the same; no tick may be
    /// beyond `limit`. Returns the tick of the first new input and the new inputs.
    pub fn accept(
        &mut self,
        slot: usize,
        from: u64,
        inputs: Vec<Value>,
        limit: u64,
    ) -> Result<(u64, Vec<Value>), InputError> {
        if inputs.len() > MAX_BATCH {
            return Err(InputError::TooMany);
        }
        if let Some(len) = inputs.iter().map(|i| i.to_string().len()).find(|len| *len > MAX_INPUT_BYTES) {
            return Err(InputError::TooLarge { len });
        }
        let held = &mut self.inputs[slot];
        let expected = held.len() as u64;
        if from > expected {
            return Err(InputError::Gap { expected, from });
        }
        let end = from + inputs.len() as u64;
        if end > limit + 1 && end > expected {
            return Err(InputError::TooFarAhead { tick: end - 1, limit });
        }
        let overlap = (expected - from) as usize;
        for (i, input) in inputs.iter().take(overlap).enumerate() {
            if held[from as usize + i] != *input {
                return Err(InputError::Conflict { tick: from + i as u64 });
            }
        }
        let fresh: Vec<Value> = inputs.into_iter().skip(overlap).collect();
        held.extend(fresh.iter().cloned());
        Ok((expected, fresh))
    }

    /// `slot`'s inputs from tick `from` on.
    pub fn since(&self, slot: usize, from: u64) -> &[Value] {
        let held = &self.inputs[slot];
        &held[(from as usize).min(held.len())..]
    }

    /// Records the hashes `slot` computed; a desync when every slot has reported a
    /// tick and they differ.
    pub fn report(&mut self, slot: usize, hashes: &[(u64, String)]) -> Result<Option<Desync>, InputError> {
        if hashes.iter().any(|(_, h)| h.is_empty() || h.len() > MAX_HASH_LEN) {
            return Err(InputError::BadHash);
        }
        let players = self.inputs.len();
        for (tick, hash) in hashes {
            let row = self.hashes.entry(*tick).or_insert_with(|| vec![None; players]);
            row[slot] = Some(hash.clone());
            if row.iter().zip(&self.active).all(|(h, active)| h.is_some() || !active) {
                let row = self.hashes.remove(tick).unwrap_or_default();
                let mut reported = row.iter().flatten();
                let first = reported.next();
                if reported.any(|h| Some(h) != first) {
                    return Ok(Some(Desync { tick: *tick, hashes: row }));
                }
            }
        }
        while self.hashes.len() > MAX_PENDING_HASHES {
            self.hashes.pop_first();
        }
        Ok(None)
    }
}

/// The input delay for a group whose worst probed round trip was `rtt_ms`: the
/// one-way time plus a margin for jitter, in ticks (100 ms assumed when not probed).
pub fn input_delay(rtt_ms: Option<f64>, tick_rate: u32) -> u32 {
    let tick_ms = 1000.0 / f64::from(tick_rate.max(1));
    let one_way = rtt_ms.unwrap_or(100.0) / 2.0 + 30.0;
    ((one_way / tick_ms).ceil() as u32).clamp(1, 30)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn inputs_are_contiguous_resends_idempotent_and_conflicts_refused() {
        let mut l = Lockstep::new(2, 1, 20, 2, false);
        assert_eq!(l.accept(0, 0, vec![json!(1), json!(2)], 100), Ok((0, vec![json!(1), json!(2)])));
        assert_eq!(l.accept(0, 3, vec![json!(4)], 100), Err(InputError::Gap { expected: 2, from: 3 }));
        assert_eq!(l.accept(0, 1, vec![json!(2), json!(3)], 100), Ok((2, vec![json!(3)])));
        assert_eq!(l.accept(0, 0, vec![json!(9)], 100), Err(InputError::Conflict { tick: 0 }));
        assert_eq!(l.since(0, 1), &[json!(2), json!(3)]);
        assert!(matches!(l.accept(1, 0, vec![Value::Null; 5], 3), Err(InputError::TooFarAhead { .. })));
        let big = json!("x".repeat(300));
        assert!(matches!(l.accept(1, 0, vec![big], 100), Err(InputError::TooLarge { .. })));
        assert_eq!(l.inputs[1].len(), 0, "a refused batch keeps nothing");
    }

    #[test]
    fn a_desync_is_found_once_every_slot_reported_the_tick() {
        let mut l = Lockstep::new(2, 1, 20, 2, false);
        assert_eq!(l.report(0, &[(20, "aa".into())]), Ok(None));
        assert_eq!(l.report(1, &[(20, "aa".into()), (40, "bb".into())]), Ok(None));
        let desync = l.report(0, &[(40, "cc".into())]).unwrap().expect("a desync");
        assert_eq!(desync.tick, 40);
        assert_eq!(desync.hashes, vec![Some("cc".into()), Some("bb".into())]);
        for t in 0..200 {
            l.report(0, &[(1000 + t, "x".into())]).unwrap();
        }
        assert!(l.hashes.len() <= MAX_PENDING_HASHES, "hashes of a silent partner stay bounded");
    }

    #[test]
    fn delay_covers_the_one_way_time() {
        assert_eq!(input_delay(Some(2.0), 20), 1);
        assert_eq!(input_delay(Some(120.0), 20), 2);
        assert_eq!(input_delay(None, 20), 2);
        assert_eq!(input_delay(Some(5000.0), 30), 30);
    }
}
