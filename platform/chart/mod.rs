//! Charts researchers look at: a chart is data (what is plotted, its titles and units)
//! and `svg` draws it with plotters' SVG backend at a given width. The report
//! (`cohort report`) and `cohort simulate --html` use the same charts.
//!
//! What every chart keeps: a title, axis titles with units, tick labels at round values
//! and only as many as fit the axis (estimated from the label's length, generously, so
//! they never overlap), bins chosen from the data, a legend naming each series above
//! the plot, and colours from the Okabe–Ito palette (distinct with colour-blindness and
//! in grey print). `data` gives the numbers drawn, for the page's data tables and for
//! anyone checking them.

mod draw;
mod scale;

use serde::Serialize;

pub use scale::{Bins, bins, format_number};

/// One named set of values (a condition, a run, an outcome).
#[derive(Debug, Clone, Serialize)]
pub struct Sample {
    pub name: String,
    pub values: Vec<f64>,
}

/// One named line through points, x ascending.
#[derive(Debug, Clone, Serialize)]
pub struct Line {
    pub name: String,
    pub points: Vec<(f64, f64)>,
}

/// One named set of bars, a value per category.
#[derive(Debug, Clone, Serialize)]
pub struct BarSeries {
    pub name: String,
    pub values: Vec<f64>,
}

/// What a chart plots.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Plot {
    /// Lines through points (counts over time). With `steps`, each line holds its value
    /// until the next point (a running count).
    Lines { lines: Vec<Line>, steps: bool },
    /// The empirical cumulative distribution of each sample: at x, the share of the
    /// sample's values at or below x.
    Cdf { samples: Vec<Sample> },
    /// A histogram of the samples together: bins chosen from all their values, the
    /// samples' counts stacked in each bin.
    Histogram { samples: Vec<Sample> },
    /// Horizontal bars: a row per category, a bar per series.
    Bars { categories: Vec<String>, series: Vec<BarSeries> },
}

/// A chart: what it shows and how its axes are named (units included).
#[derive(Debug, Clone, Serialize)]
pub struct Chart {
    /// Stable name (`time_to_group`): the SVG file's name and the page's anchor.
    pub id: String,
    pub title: String,
    pub x_title: String,
    pub y_title: String,
    pub plot: Plot,
}

impl Chart {
    /// The chart's numbers as the page's data block holds them: the plot, and for a
    /// histogram the bins drawn.
    pub fn data(&self) -> serde_json::Value {
        let mut value = serde_json::to_value(self).unwrap_or_default();
        if let Plot::Histogram { samples } = &self.plot {
            value["bins"] = serde_json::to_value(bins(samples)).unwrap_or_default();
        }
        value
    }

    /// The series' names, in legend order.
    pub fn names(&self) -> Vec<&str> {
        match &self.plot {
            Plot::Lines { lines, .. } => lines.iter().map(|l| l.name.as_str()).collect(),
            Plot::Cdf { samples } | Plot::Histogram { samples } => samples.iter().map(|s| s.name.as_str()).collect(),
            Plot::Bars { series, .. } => series.iter().map(|s| s.name.as_str()).collect(),
        }
    }

    /// Whether there is anything to draw.
    pub fn is_empty(&self) -> bool {
        match &self.plot {
            Plot::Lines { lines, .. } => lines.iter().all(|l| l.points.is_empty()),
            Plot::Cdf { samples } | Plot::Histogram { samples } => samples.iter().all(|s| s.values.is_empty()),
            Plot::Bars { categories, .. } => categories.is_empty(),
        }
    }

    /// The chart as an SVG document `width` pixels wide (its height follows from the
    /// plot: a bar chart grows with its categories).
    pub fn svg(&self, width: u32) -> String {
        draw::svg(self, width)
    }

    /// The numbers behind the chart as a table (header, rows), for readers who want
    /// them exactly and for screen readers.
    pub fn table(&self) -> (Vec<String>, Vec<Vec<String>>) {
        let f = |v: f64| format_number(v);
        match &self.plot {
            Plot::Lines { lines, .. } => {
                let header = vec!["series".into(), self.x_title.clone(), self.y_title.clone()];
                let rows = lines
                    .iter()
                    .flat_map(|l| l.points.iter().map(|(x, y)| vec![l.name.clone(), f(*x), f(*y)]))
                    .collect();
                (header, rows)
            }
            Plot::Cdf { samples } => {
                let header = ["series", "n", "min", "median", "p90", "max"].map(String::from).to_vec();
                let rows = samples
                    .iter()
                    .map(|s| {
                        let mut v = s.values.clone();
                        v.sort_by(f64::total_cmp);
                        let q = |p: f64| quantile(&v, p).map(f).unwrap_or_default();
                        vec![s.name.clone(), v.len().to_string(), q(0.0), q(0.5), q(0.9), q(1.0)]
                    })
                    .collect();
                (header, rows)
            }
            Plot::Histogram { samples } => {
                let b = bins(samples);
                let mut header = vec![format!("bin from: {}", self.x_title), "bin to".into()];
                header.extend(samples.iter().map(|s| s.name.clone()));
                let rows = (0..b.counts.first().map_or(0, Vec::len))
                    .map(|i| {
                        let mut row = vec![f(b.edges[i]), f(b.edges[i + 1])];
                        row.extend(b.counts.iter().map(|c| c[i].to_string()));
                        row
                    })
                    .collect();
                (header, rows)
            }
            Plot::Bars { categories, series } => {
                let mut header = vec![self.y_title.clone()];
                header.extend(series.iter().map(|s| s.name.clone()));
                let rows = categories
                    .iter()
                    .enumerate()
                    .map(|(i, c)| {
                        let mut row = vec![c.clone()];
                        row.extend(series.iter().map(|s| s.values.get(i).copied().map(f).unwrap_or_default()));
                        row
                    })
                    .collect();
                (header, rows)
            }
        }
    }
}

/// The `p` quantile of sorted values, interpolated between the two nearest (as pandas'
/// `quantile` and R's default type 7: the median of an even count is the mean of the
/// middle two); none when empty.
pub fn quantile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let at = (sorted.len() - 1) as f64 * p.clamp(0.0, 1.0);
    let (lo, hi) = (at.floor() as usize, at.ceil() as usize);
    Some(sorted[lo] + (sorted[hi] - sorted[lo]) * (at - lo as f64))
}

/// Escapes text for HTML and SVG.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

#[cfg(test)]
mod tests;
