//! Experiment loading: any bytes as an experiment file (and as a `cohort simulate`
//! scenario) give an experiment or located problems, never a panic or a hang.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // A base directory with nothing in it: files the experiment names are not found.
    let _ = cohort::config::parse(data, Path::new("/nonexistent-cohort-fuzz"));
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = cohort::config::load_typed_str::<cohort::simulate::scenario::Scenario>(text);
    }
});
