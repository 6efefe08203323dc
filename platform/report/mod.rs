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
    /// Pilot and bot sessions left out (without `--include-pilot`).
    pub pilots_left_out: usize,
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

#[cfg(test)]
mod tests {
    use crate::eventlog::{Event, Record};
    use crate::protocol::ParticipantId;

    #[test]
    fn a_study_of_bots_only_reports_its_run_and_no_data_not_nonsense() {
        let data = tempfile::tempdir().unwrap();
        let run = data.path().join("x").join("r1");
        std::fs::create_dir_all(&run).unwrap();
        let events = [
            Event::RunStarted {
                experiment: "x".into(),
                run: "r1".into(),
                host_version: "t".into(),
                files: Default::default(),
            },
            Event::SessionStarted {
                participant: ParticipantId(uuid::Uuid::from_u128(1)),
                recruitment_id: Some("B".into()),
                params: [("cohort_bot".to_owned(), "1".to_owned())].into(),
                token_sha256: None,
            },
        ];
        let lines: String = events
            .into_iter()
            .enumerate()
            .map(|(i, event)| {
                let record = Record { seq: i as u64 + 1, ts_ms: 1_700_000_000_000 + i as u64, event };
                serde_json::to_string(&record).unwrap() + "\n"
            })
            .collect();
        std::fs::write(run.join("events.jsonl"), lines).unwrap();
        let tables = crate::export::read(&data.path().join("x"), &Default::default()).unwrap();
        let report = super::of("x", &tables);
        let figure = |label: &str| report.summary.iter().find(|(l, _)| l == label).unwrap().1.clone();
        assert_eq!(figure("runs"), "1");
        assert_eq!(figure("participants"), "0");
        assert_eq!(figure("total paid"), "0.00");
        assert_eq!(report.pilots_left_out, 1);
        let arrivals = report.charts.iter().find(|c| c.id == "arrivals").unwrap();
        assert!(arrivals.is_empty(), "no arrivals drawn from 1970: {:?}", arrivals.plot);
        assert!(arrivals.svg(600).contains("No data"));
        assert!(!report.charts.iter().any(|c| c.id == "probe_rtts"), "a study that probed nobody has no probe chart");
    }
}
