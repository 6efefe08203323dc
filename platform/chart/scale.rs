//! Numbers on axes: round bin widths chosen from the data, labels without needless
//! decimals, and how wide a label will be (so an axis carries only as many as fit).

use serde::Serialize;

use super::Sample;

/// A histogram's bins: `edges` (one more than the bins, at round values) and each
/// sample's count per bin (a value equal to an inner edge counts in the bin it starts).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Bins {
    pub edges: Vec<f64>,
    pub counts: Vec<Vec<u64>>,
}

/// Bins for the samples' values together: about Sturges' count (log2 n + 1, between 5
/// and 30), at a round width (1, 2 or 5 times a power of ten) from a round start.
pub fn bins(samples: &[Sample]) -> Bins {
    let all: Vec<f64> = samples.iter().flat_map(|s| s.values.iter().copied()).filter(|v| v.is_finite()).collect();
    if all.is_empty() {
        return Bins { edges: Vec::new(), counts: samples.iter().map(|_| Vec::new()).collect() };
    }
    let (lo, hi) = all.iter().fold((f64::MAX, f64::MIN), |(a, b), v| (a.min(*v), b.max(*v)));
    let target = ((all.len() as f64).log2().ceil() + 1.0).clamp(5.0, 30.0);
    let width = if hi > lo { nice_step((hi - lo) / target) } else { nice_step(lo.abs().max(1.0) / 10.0) };
    let start = (lo / width).floor() * width;
    let n = (((hi - start) / width).floor() as usize + 1).max(1);
    let edges: Vec<f64> = (0..=n).map(|i| round_to(start + i as f64 * width, width)).collect();
    let counts = samples
        .iter()
        .map(|s| {
            let mut c = vec![0u64; n];
            for v in s.values.iter().filter(|v| v.is_finite()) {
                c[(((v - start) / width).floor() as usize).min(n - 1)] += 1;
            }
            c
        })
        .collect();
    Bins { edges, counts }
}

/// The round step (1, 2 or 5 times a power of ten) at or above `raw`.
pub fn nice_step(raw: f64) -> f64 {
    if raw <= 0.0 || !raw.is_finite() {
        return 1.0;
    }
    let power = 10f64.powf(raw.log10().floor());
    let m = raw / power;
    let nice = if m <= 1.0 {
        1.0
    } else if m <= 2.0 {
        2.0
    } else if m <= 5.0 {
        5.0
    } else {
        10.0
    };
    nice * power
}

/// `v` rounded to the decimals `step` needs (removes 0.30000000000000004).
fn round_to(v: f64, step: f64) -> f64 {
    let decimals = (-step.log10().floor()).max(0.0) as i32;
    let k = 10f64.powi(decimals);
    (v * k).round() / k
}

/// A number as a label: whole numbers without decimals, others with no trailing zeros
/// and at most one decimal from 100, two from 1 (amounts of money keep their cents),
/// three below.
pub fn format_number(v: f64) -> String {
    if !v.is_finite() {
        return String::new();
    }
    if (v - v.round()).abs() < 1e-9 {
        return format!("{}", v.round() as i64);
    }
    let decimals = if v.abs() >= 100.0 {
        1
    } else if v.abs() >= 1.0 {
        2
    } else {
        3
    };
    let s = format!("{v:.decimals$}");
    s.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// A generous estimate of a label's width in pixels at `px` font size (wider than a
/// sans-serif's average letter, so labels placed by it do not touch).
pub fn text_width(text: &str, px: f64) -> f64 {
    text.chars().count() as f64 * px * 0.62
}

/// How many tick labels fit along `length` pixels when the widest is `label_px` wide
/// (with a gap of its own width's third), at least 2, at most 10.
pub fn ticks_that_fit(length: f64, label_px: f64) -> usize {
    ((length / (label_px * 1.35 + 8.0)).floor() as usize).clamp(2, 10)
}
