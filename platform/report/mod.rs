//! `cohort report`: the pictures of a study, drawn from the same tables `cohort export`
//! writes (so every number in a chart is one a researcher can find in the export):
//! arrivals and completions over time, time to group per condition, where people
//! went and left, the conditions' balance over time, probe round-trip times, game
//! results per condition, and pay per outcome. One self-contained HTML page (charts as
//! inline SVG, their numbers in tables and in a JSON block per chart), and each chart
//! as an SVG file for papers. Pilot and bot sessions are left out as in the export.

mod page;
mod study;

use std::path::Path;

use crate::chart::Chart;

pub use page::{figure, html, page};

/// One experiment's figures and charts.
pub struct Report {
    pub experiment: String,
    /// Figures of the whole study, in reading order: (label, value).
    pub summary: Vec<(String, String)>,
    pub charts: Vec<Chart>,
}

/// The report of the experiment whose exported tables are `tables`.
pub fn of(experiment: &str, tables: &crate::export::Tables) -> Report {
    study::report(experiment, tables)
}

/// Writes each chart of each report as `<dir>/<experiment>/<chart>.svg`; returns the
/// files written.
pub fn write_svgs(reports: &[Report], dir: &Path) -> std::io::Result<Vec<std::path::PathBuf>> {
    let mut written = Vec::new();
    for r in reports {
        let folder = dir.join(&r.experiment);
        std::fs::create_dir_all(&folder)?;
        for chart in &r.charts {
            let path = folder.join(format!("{}.svg", chart.id));
            std::fs::write(&path, chart.svg(720))?;
            written.push(path);
        }
    }
    Ok(written)
}
