use super::*;

fn sample(name: &str, values: &[f64]) -> Sample {
    Sample { name: name.into(), values: values.to_vec() }
}

#[test]
fn bins_are_round_cover_every_value_and_count_each_once() {
    // RTTs between 41 and 47 ms: the old fixed 4 ms bins to 36 ms put them all in one bar.
    let s = [sample("accepted", &[41.2, 42.0, 44.9, 47.0]), sample("rejected", &[43.3])];
    let b = bins(&s);
    let width = b.edges[1] - b.edges[0];
    assert!([0.5, 1.0, 2.0].contains(&width), "a round width from the data: {width}");
    assert!(b.edges[0] <= 41.2 && *b.edges.last().unwrap() > 47.0, "{:?}", b.edges);
    assert!(b.counts[0].iter().filter(|c| **c > 0).count() >= 3, "spread over bins: {:?}", b.counts);
    assert_eq!(b.counts[0].iter().sum::<u64>(), 4);
    assert_eq!(b.counts[1].iter().sum::<u64>(), 1);
    for e in &b.edges {
        assert!(((e / width).round() * width - e).abs() < 1e-9, "edges at multiples of the width: {e}");
        assert!(format_number(*e).len() <= 4, "an edge reads short: {}", format_number(*e));
    }
}

#[test]
fn one_value_still_gets_a_bin() {
    let b = bins(&[sample("x", &[5.0, 5.0])]);
    assert_eq!(b.counts[0].iter().sum::<u64>(), 2);
    assert!(b.edges.len() >= 2);
}

#[test]
fn labels_carry_no_needless_decimals() {
    assert_eq!(format_number(3.0), "3");
    assert_eq!(format_number(0.1 + 0.2), "0.3");
    assert_eq!(format_number(10.61234), "10.61");
    assert_eq!(format_number(22.12), "22.12", "money keeps its cents");
    assert_eq!(format_number(122.46), "122.5");
    assert_eq!(format_number(2.5), "2.5");
    assert_eq!(format_number(-4.0), "-4");
}

#[test]
fn an_svg_names_its_chart_and_axes_and_escapes_text() {
    let chart = Chart {
        id: "waits".into(),
        title: "Time to group <by condition>".into(),
        x_title: "time waited (s)".into(),
        y_title: "share of participants".into(),
        plot: Plot::Cdf { samples: vec![sample("a & b", &[1.0, 2.0, 3.0]), sample("c", &[2.0])] },
    };
    let svg = chart.svg(640);
    assert!(svg.starts_with("<svg role=\"img\" data-chart=\"waits\""), "{}", &svg[..80]);
    assert!(svg.contains("time waited (s)") && svg.contains("share of participants"));
    assert!(svg.contains("a &amp; b"), "legend escaped");
    assert!(!svg.contains("<by condition>"));
    assert!(svg.contains("100%"), "a CDF's axis reads in percent");
}

#[test]
fn a_chart_without_data_says_so() {
    let chart = Chart {
        id: "x".into(),
        title: "t".into(),
        x_title: "x".into(),
        y_title: "y".into(),
        plot: Plot::Histogram { samples: vec![sample("a", &[])] },
    };
    assert!(chart.is_empty());
    assert!(chart.svg(400).contains("No data"));
}

#[test]
fn a_bar_chart_grows_with_its_categories() {
    let bars = |n: usize| Chart {
        id: "b".into(),
        title: "t".into(),
        x_title: "people".into(),
        y_title: "scene".into(),
        plot: Plot::Bars {
            categories: (0..n).map(|i| format!("scene {i}")).collect(),
            series: vec![BarSeries { name: "reached".into(), values: (0..n).map(|i| i as f64).collect() }],
        },
    };
    let height = |svg: String| {
        let at = svg.find("height=\"").unwrap() + 8;
        svg[at..].split('"').next().unwrap().parse::<u32>().unwrap()
    };
    assert!(height(bars(12).svg(600)) > height(bars(3).svg(600)));
    let (header, rows) = bars(3).table();
    assert_eq!(header, ["scene", "reached"]);
    assert_eq!(rows[2], ["scene 2", "2"]);
}
