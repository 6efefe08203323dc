//! SplitMix64: a tiny, well-mixed function from a number to a pseudo-random number,
//! for everything that must be random-looking yet the same on every run (sample
//! participants, simulated pair RTTs, a policy's seeded randomness).

/// The SplitMix64 output for state `n`.
pub fn mix(n: u64) -> u64 {
    let mut z = n.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A uniform number in [0, 1) from `n`.
pub fn unit(n: u64) -> f64 {
    (mix(n) >> 11) as f64 / (1u64 << 53) as f64
}
