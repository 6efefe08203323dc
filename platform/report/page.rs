//! The report as one self-contained HTML page: no script, no fetched file. Each chart
//! is drawn twice (a wide and a narrow layout, the page shows the one that fits the
//! window), followed by its numbers as a table and as JSON (`<script
//! type="application/json" class="chart-data">`, the same numbers the chart draws).

use std::fmt::Write;

use super::Report;
use crate::chart::{Chart, escape};

/// The page's style: readable on a phone and in print.
const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:0 auto;padding:1em;max-width:780px;color:#222;line-height:1.45}\
h1{font-size:1.5em}h2{font-size:1.25em;margin-top:2em;border-bottom:1px solid #ccc}\
figure{margin:2em 0;break-inside:avoid}svg{width:100%;height:auto;display:block}\
.narrow{display:none}@media (max-width:600px){.wide{display:none}.narrow{display:block}}\
table{border-collapse:collapse;font-size:.9em}td,th{padding:.2em .7em;border-bottom:1px solid #ddd;text-align:right}\
td:first-child,th:first-child{text-align:left}details{margin-top:.5em}.scroll{overflow-x:auto}\
@media print{details{display:none}body{max-width:none}}";

/// A page titled `title` around `body` (HTML).
pub fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>{}</title><style>{STYLE}</style></head><body><h1>{}</h1>{body}</body></html>\n",
        escape(title),
        escape(title)
    )
}

/// One page for the reports (an experiment each), titled `title`.
pub fn html(title: &str, reports: &[Report]) -> String {
    let mut out = String::new();
    for r in reports {
        let _ = write!(out, "<section><h2>{}</h2><table class=\"summary\">", escape(&r.experiment));
        for (label, value) in &r.summary {
            let _ = write!(out, "<tr><th>{}</th><td>{}</td></tr>", escape(label), escape(value));
        }
        out.push_str("</table>");
        for chart in &r.charts {
            figure(&mut out, chart);
        }
        out.push_str("</section>");
    }
    page(title, &out)
}

/// A chart as a figure: both layouts, its numbers, its data.
pub fn figure(out: &mut String, chart: &Chart) {
    let _ = write!(
        out,
        "<figure id=\"{id}\"><div class=\"wide\">{}</div><div class=\"narrow\">{}</div>",
        chart.svg(760),
        chart.svg(360),
        id = escape(&chart.id)
    );
    let (header, rows) = chart.table();
    out.push_str("<details><summary>The numbers</summary><table><tr>");
    for h in header {
        let _ = write!(out, "<th>{}</th>", escape(&h));
    }
    out.push_str("</tr>");
    for row in rows {
        out.push_str("<tr>");
        for cell in row {
            let _ = write!(out, "<td>{}</td>", escape(&cell));
        }
        out.push_str("</tr>");
    }
    // `</` cannot end the script early.
    let data = chart.data().to_string().replace("</", "<\\/");
    let _ = write!(
        out,
        "</table></details><script type=\"application/json\" class=\"chart-data\">{data}</script></figure>"
    );
}
