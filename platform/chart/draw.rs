//! Drawing a chart with plotters' SVG backend: title, legend, axes, then the plot.

use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

use super::scale::{format_number, nice_step, text_width, ticks_that_fit};
use super::{Chart, Plot, bins, escape};

/// plotters writes a font's size divided by 1.24: these are the pixel sizes drawn.
const TICK_PX: f64 = 12.0;
const AXIS_PX: f64 = 13.0;
const TITLE_PX: f64 = 15.0;
const LEGEND_PX: f64 = 12.5;
const FONT: &str = "sans-serif";

/// The Okabe–Ito palette (without its yellow, faint on white): told apart with every
/// common colour-blindness.
pub const PALETTE: [RGBColor; 7] = [
    RGBColor(0x00, 0x72, 0xB2),
    RGBColor(0xE6, 0x9F, 0x00),
    RGBColor(0x00, 0x9E, 0x73),
    RGBColor(0xD5, 0x5E, 0x00),
    RGBColor(0xCC, 0x79, 0xA7),
    RGBColor(0x56, 0xB4, 0xE9),
    RGBColor(0x00, 0x00, 0x00),
];
const GRID: RGBColor = RGBColor(0xDD, 0xDD, 0xDD);
const INK: RGBColor = RGBColor(0x22, 0x22, 0x22);

type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;
type Drawn = Result<(), DrawingAreaErrorKind<std::io::Error>>;

fn font(px: f64) -> TextStyle<'static> {
    (FONT, px * 1.24).into_font().color(&INK)
}

fn color(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// Lines of text no wider than `width` at `px`, split at spaces.
fn wrap(text: &str, width: f64, px: f64) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for word in text.split_whitespace() {
        match lines.last_mut() {
            Some(line) if text_width(&format!("{line} {word}"), px) <= width => {
                line.push(' ');
                line.push_str(word);
            }
            _ => lines.push(word.to_owned()),
        }
    }
    lines
}

/// The legend's items placed in rows: (row, x) of each, and the rows needed.
fn legend_layout(names: &[&str], width: f64) -> (Vec<(usize, f64)>, usize) {
    let (mut row, mut x, mut out) = (0, 0.0, Vec::new());
    for name in names {
        let w = 26.0 + text_width(name, LEGEND_PX) + 18.0;
        if x > 0.0 && x + w > width {
            (row, x) = (row + 1, 0.0);
        }
        out.push((row, x));
        x += w;
    }
    let rows = if names.is_empty() { 0 } else { row + 1 };
    (out, rows)
}

pub fn svg(chart: &Chart, width: u32) -> String {
    let w = width as f64;
    let title = wrap(&chart.title, w - 24.0, TITLE_PX);
    let names = chart.names();
    let (legend, legend_rows) = if names.len() > 1 { legend_layout(&names, w - 24.0) } else { (Vec::new(), 0) };
    let top = 10 + title.len() as u32 * 22 + legend_rows as u32 * 22 + 8;
    let body = match &chart.plot {
        // A row per category, each bar of a row 14 px thick.
        Plot::Bars { categories, series } => (categories.len().max(1) * (10 + 14 * series.len().max(1))) as u32 + 70,
        // Tall enough for the y axis's title, which is written along it.
        _ => ((w * 0.5) as u32).clamp(220, 340).max(text_width(&chart.y_title, AXIS_PX) as u32 + 90),
    };
    let height = top + body;
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (width, height)).into_drawing_area();
        // Writing into a String cannot fail; a drawing error would leave a partial
        // chart, never a broken page.
        let _ = root.fill(&WHITE);
        let _ = heading(&root, &title, &names, &legend, legend_rows);
        let (_, plot_area) = root.split_vertically(top);
        let drawn = if chart.is_empty() { nothing(&plot_area, chart) } else { plot(&plot_area, chart) };
        if let Err(e) = drawn {
            tracing::warn!(chart = %chart.id, "chart not drawn whole: {e}");
        }
        let _ = root.present();
    }
    accessible(out, chart)
}

fn heading(root: &Area, title: &[String], names: &[&str], legend: &[(usize, f64)], rows: usize) -> Drawn {
    for (i, line) in title.iter().enumerate() {
        root.draw(&Text::new(line.clone(), (12, 10 + 22 * i as i32), font(TITLE_PX).clone()))?;
    }
    let y0 = 10 + 22 * title.len() as i32;
    for (i, (name, (row, x))) in names.iter().zip(legend).enumerate() {
        let (x, y) = (12 + *x as i32, y0 + 22 * *row as i32 + 8);
        root.draw(&Rectangle::new([(x, y - 5), (x + 18, y + 5)], color(i).filled()))?;
        root.draw(&Text::new(name.to_string(), (x + 24, y - 7), font(LEGEND_PX)))?;
    }
    let _ = rows;
    Ok(())
}

/// Axes with their titles and no ticks, saying there is nothing to show.
fn nothing(area: &Area, chart: &Chart) -> Drawn {
    let none = |_: f64| String::new();
    let spec = Axes { x: (0.0, 1.0), y: (0.0, 1.0), x_label: &none, y_label: &none, y_ticks: 0, grid: Grid::None };
    let mut c = axes(area, chart, spec)?;
    c.draw_series(std::iter::once(Text::new("No data", (0.44, 0.55), font(AXIS_PX))))?;
    Ok(())
}

/// Which grid lines a chart draws (at its round ticks).
enum Grid {
    Both,
    /// Across the values only (bars and histograms: lines between bars distract).
    Horizontal,
    Vertical,
    None,
}

/// A chart's axes: ranges, how ticks read, how many y ticks at most.
struct Axes<'f> {
    x: (f64, f64),
    y: (f64, f64),
    x_label: &'f dyn Fn(f64) -> String,
    y_label: &'f dyn Fn(f64) -> String,
    /// At most this many y ticks (0: as many as fit).
    y_ticks: usize,
    grid: Grid,
}

type Plane<'a, 'b> = ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// Draws the axes in the house style (titles, round ticks only as many as fit, light
/// grid) and gives the plane to draw on.
fn axes<'a, 'b>(
    area: &'a Area<'b>,
    chart: &Chart,
    spec: Axes,
) -> Result<Plane<'a, 'b>, DrawingAreaErrorKind<std::io::Error>> {
    let (w, h) = area.dim_in_pixel();
    let (x_area, y_area) = label_areas(widest_label(spec.y.0, spec.y.1, spec.y_label));
    let x_fit = ticks_that_fit(w as f64 - y_area as f64 - 30.0, widest_label(spec.x.0, spec.x.1, spec.x_label));
    let mut y_fit = ticks_that_fit(h as f64 - x_area as f64 - 10.0, TICK_PX + 4.0);
    if spec.y_ticks > 0 {
        y_fit = y_fit.min(spec.y_ticks);
    }
    let mut c = ChartBuilder::on(area)
        .margin_right(24)
        .margin_left(8)
        .margin_top(6)
        .x_label_area_size(x_area)
        .y_label_area_size(y_area)
        .build_cartesian_2d(spec.x.0..spec.x.1, spec.y.0..spec.y.1)?;
    let x_fmt = |v: &f64| (spec.x_label)(*v);
    let y_fmt = |v: &f64| (spec.y_label)(*v);
    let mut mesh = c.configure_mesh();
    mesh.x_desc(chart.x_title.as_str())
        .y_desc(chart.y_title.as_str())
        .x_labels(x_fit)
        .y_labels(y_fit)
        .x_label_formatter(&x_fmt)
        .y_label_formatter(&y_fmt)
        .label_style(font(TICK_PX))
        .axis_desc_style(font(AXIS_PX))
        .bold_line_style(GRID)
        .max_light_lines(0)
        .axis_style(INK);
    match spec.grid {
        Grid::Both => &mut mesh,
        Grid::Horizontal => mesh.disable_x_mesh(),
        Grid::Vertical => mesh.disable_y_mesh(),
        Grid::None => mesh.disable_mesh(),
    }
    .draw()?;
    Ok(c)
}

/// The widest of the labels an axis from `lo` to `hi` could carry.
fn widest_label(lo: f64, hi: f64, label: &dyn Fn(f64) -> String) -> f64 {
    let step = nice_step((hi - lo).abs() / 10.0);
    let mut widest = text_width(&label(lo), TICK_PX).max(text_width(&label(hi), TICK_PX));
    let mut v = (lo / step).floor() * step;
    while v <= hi && step > 0.0 {
        widest = widest.max(text_width(&label(v), TICK_PX));
        v += step;
    }
    widest
}

/// Ranges with a little room at the top; a single value gets a range around it.
fn span(lo: f64, hi: f64) -> (f64, f64) {
    if hi > lo {
        (lo, hi)
    } else if lo == 0.0 {
        (0.0, 1.0)
    } else {
        (lo - lo.abs() * 0.5, hi + hi.abs() * 0.5)
    }
}

fn plot(area: &Area, chart: &Chart) -> Drawn {
    match &chart.plot {
        Plot::Lines { lines, steps } => {
            let xs = lines.iter().flat_map(|l| l.points.iter().map(|p| p.0));
            let ys = lines.iter().flat_map(|l| l.points.iter().map(|p| p.1));
            let (x0, x1) = span(xs.clone().fold(f64::MAX, f64::min), xs.fold(f64::MIN, f64::max));
            let y1 = ys.fold(0.0, f64::max).max(1.0) * 1.08;
            let series: Vec<Vec<(f64, f64)>> =
                lines.iter().map(|l| if *steps { stepped(&l.points) } else { l.points.clone() }).collect();
            xy(area, chart, (x0, x1), (0.0, y1), &series, &format_number)
        }
        Plot::Cdf { samples } => {
            let all = samples.iter().flat_map(|s| s.values.iter().copied());
            let (lo, hi) = (all.clone().fold(f64::MAX, f64::min), all.fold(f64::MIN, f64::max));
            let (x0, x1) = span(lo.min(0.0), hi * 1.04);
            let series: Vec<Vec<(f64, f64)>> = samples.iter().map(|s| cdf_points(&s.values, x0, x1)).collect();
            let percent = |v: f64| format!("{}%", (v * 100.0).round());
            xy(area, chart, (x0, x1), (0.0, 1.0), &series, &percent)
        }
        Plot::Histogram { samples } => histogram(area, chart, samples),
        Plot::Bars { categories, series } => bars(area, chart, categories, series),
    }
}

/// Points of a running count: each value held until the next point.
fn stepped(points: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let mut out = Vec::with_capacity(points.len() * 2);
    for (i, p) in points.iter().enumerate() {
        if i > 0 {
            out.push((p.0, points[i - 1].1));
        }
        out.push(*p);
    }
    out
}

/// The empirical CDF of `values` as a step line from `x0` to `x1`.
fn cdf_points(values: &[f64], x0: f64, x1: f64) -> Vec<(f64, f64)> {
    let mut v: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    v.sort_by(f64::total_cmp);
    let n = v.len() as f64;
    let mut out = vec![(x0, 0.0)];
    for (i, x) in v.iter().enumerate() {
        out.push((*x, i as f64 / n));
        out.push((*x, (i + 1) as f64 / n));
    }
    if let Some(last) = out.last().copied() {
        out.push((x1, last.1));
    }
    out
}

fn label_areas(y_label_px: f64) -> (u32, u32) {
    // x: the tick labels, a gap, the axis title; y: the same, sideways.
    (TICK_PX as u32 + AXIS_PX as u32 + 22, y_label_px as u32 + AXIS_PX as u32 + 22)
}

fn xy(
    area: &Area,
    chart: &Chart,
    x: (f64, f64),
    y: (f64, f64),
    series: &[Vec<(f64, f64)>],
    y_label: &dyn Fn(f64) -> String,
) -> Drawn {
    let spec = Axes { x, y, x_label: &format_number, y_label, y_ticks: 0, grid: Grid::Both };
    let mut c = axes(area, chart, spec)?;
    for (i, points) in series.iter().enumerate() {
        c.draw_series(LineSeries::new(points.iter().copied(), color(i).stroke_width(2)))?;
    }
    Ok(())
}

fn histogram(area: &Area, chart: &Chart, samples: &[super::Sample]) -> Drawn {
    let b = bins(samples);
    let n = b.edges.len().saturating_sub(1);
    let stacks: Vec<u64> = (0..n).map(|i| b.counts.iter().map(|c| c[i]).sum()).collect();
    let top = stacks.iter().copied().max().unwrap_or(0).max(1) as f64 * 1.1;
    // Counts are whole: a label between them would be a fraction of a participant.
    let count = |v: f64| if (v - v.round()).abs() < 1e-9 { format_number(v) } else { String::new() };
    let spec = Axes {
        x: (b.edges[0], b.edges[n]),
        y: (0.0, top),
        x_label: &format_number,
        y_label: &count,
        y_ticks: top as usize + 1,
        grid: Grid::Horizontal,
    };
    let mut c = axes(area, chart, spec)?;
    for i in 0..n {
        let mut base = 0.0;
        for (s, counts) in b.counts.iter().enumerate() {
            let v = counts[i] as f64;
            if v > 0.0 {
                let mut bar = Rectangle::new([(b.edges[i], base), (b.edges[i + 1], base + v)], color(s).filled());
                bar.set_margin(0, 0, 1, 1);
                c.draw_series(std::iter::once(bar))?;
            }
            base += v;
        }
    }
    Ok(())
}

fn bars(area: &Area, chart: &Chart, categories: &[String], series: &[super::BarSeries]) -> Drawn {
    let n = categories.len();
    let (w, _) = area.dim_in_pixel();
    let max_label = w as f64 * 0.4;
    let shown: Vec<String> = categories.iter().map(|c| fit(c, max_label)).collect();
    let top = series.iter().flat_map(|s| s.values.iter().copied()).fold(0.0, f64::max);
    let top = if top > 0.0 { top * 1.1 } else { 1.0 };
    // Rows from the top: category 0 is drawn in the highest row.
    let row = |i: usize| n - 1 - i;
    // A row per category, centred on a whole number (the axis's labels, one per row);
    // plotters' own category axes cannot hold a single category.
    let name = |v: f64| {
        let r = v.round();
        if (v - r).abs() < 1e-6 && r >= 0.0 && (r as usize) < n {
            shown[row(r as usize)].clone()
        } else {
            String::new()
        }
    };
    let spec = Axes {
        x: (0.0, top),
        y: (-0.5, n as f64 - 0.5),
        x_label: &format_number,
        y_label: &name,
        y_ticks: n + 1,
        grid: Grid::Vertical,
    };
    let mut c = axes(area, chart, spec)?;
    let (_, plot_h) = c.plotting_area().dim_in_pixel();
    let segment = plot_h as f64 / n.max(1) as f64;
    let band = ((segment - 8.0) / series.len().max(1) as f64).max(1.0);
    for (k, s) in series.iter().enumerate() {
        for (i, v) in s.values.iter().enumerate().take(n) {
            let y = row(i);
            let mut bar = Rectangle::new([(0.0, y as f64 + 0.5), (*v, y as f64 - 0.5)], color(k).filled());
            let above = 4.0 + k as f64 * band;
            let below = segment - above - band;
            bar.set_margin(above.round() as u32, below.max(0.0).round() as u32, 0, 0);
            c.draw_series(std::iter::once(bar))?;
        }
    }
    Ok(())
}

/// `text` cut with an ellipsis to fit `width` pixels of tick labels.
fn fit(text: &str, width: f64) -> String {
    if text_width(text, TICK_PX) <= width {
        return text.to_owned();
    }
    let keep = ((width / (TICK_PX * 0.62)) as usize).saturating_sub(1).max(1);
    format!("{}…", text.chars().take(keep).collect::<String>())
}

/// The SVG named for screen readers (a role, a title) and marked with the chart's id.
fn accessible(svg: String, chart: &Chart) -> String {
    let open =
        format!("<svg role=\"img\" data-chart=\"{}\" aria-label=\"{}\" ", escape(&chart.id), escape(&chart.title));
    let svg = svg.replacen("<svg ", &open, 1);
    match svg.find('>') {
        Some(end) => format!("{}<title>{}</title>{}", &svg[..=end], escape(&chart.title), &svg[end + 1..]),
        None => svg,
    }
}
