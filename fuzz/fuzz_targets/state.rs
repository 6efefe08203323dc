//! The state machine fed random input sequences: arrivals, drops, returns, takeovers,
//! restarts from the log, probes answered or not, ready-checks confirmed, inputs,
//! relays, completions and time, in one of eight experiments (pairs, trios, bot seats,
//! backfill, countdown, trios that time out, a failing policy, a ready-check). After every step each participant is in exactly
//! one place and no probe or pending match outlives its participants; no group ever
//! holds a pair whose probe failed; in the end nothing is left. A broken invariant
//! panics, which the fuzzer reports as a crash.
#![no_main]

use std::sync::{Arc, OnceLock};

use cohort::experiment::testkit::sequences::{self, Op, Variant};
use cohort::experiment::testkit::{Harness, prepare};
use libfuzzer_sys::fuzz_target;

type Loaded = (Arc<cohort::config::Experiment>, Arc<cohort::experiment::view::Views>);

fuzz_target!(|data: &[u8]| {
    static LOADED: OnceLock<Vec<Loaded>> = OnceLock::new();
    let loaded = LOADED.get_or_init(|| Variant::ALL.iter().map(|v| prepare(&v.yaml())).collect());
    let Some((&which, rest)) = data.split_first() else { return };
    let at = usize::from(which) % Variant::ALL.len();
    let variant = Variant::ALL[at];
    // At most 120 steps: longer sequences add little and slow every run.
    let ops: Vec<Op> = Op::decode(rest).into_iter().take(120).collect();
    let mut h = Harness::with(loaded[at].0.clone(), loaded[at].1.clone());
    variant.arm(&mut h);
    if let Err(broken) = sequences::run_on(h, ops.clone()) {
        panic!("{broken}\nvariant {variant:?}, steps {ops:?}");
    }
});
