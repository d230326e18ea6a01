//! Unit tests for chart geometry: the guarantees in the module docs, input by input.

use super::{axis::*, bar::*, layout::*, line::*, types::*};

fn spec(width: f64, height: f64) -> ChartSpec {
    ChartSpec {
        width,
        height,
        ..ChartSpec::default()
    }
}

fn series(label: &str, points: &[(f64, f64)]) -> Series {
    Series {
        label: label.to_string(),
        points: points.to_vec(),
    }
}

fn ticks(lo: f64, hi: f64) -> (Vec<f64>, Vec<String>) {
    let axis = nice_axis(lo, hi, false);
    axis.ticks.into_iter().unzip()
}

fn tick_text(lo: f64, hi: f64) -> Vec<String> {
    ticks(lo, hi).1
}

#[test]
fn nice_ticks_zero_to_one() {
    let (values, labels) = ticks(0.0, 1.0);
    assert_eq!(values, vec![0.0, 0.25, 0.5, 0.75, 1.0]);
    assert_eq!(labels, ["0", "0.25", "0.5", "0.75", "1"]);
}

#[test]
fn nice_ticks_zero_to_seven() {
    let (values, labels) = ticks(0.0, 7.0);
    assert_eq!(values, vec![0.0, 2.0, 4.0, 6.0, 8.0]);
    assert_eq!(labels, ["0", "2", "4", "6", "8"]);
}

#[test]
fn nice_ticks_negative_to_positive() {
    let (values, labels) = ticks(-3.0, 12.0);
    assert_eq!(values, vec![-5.0, 0.0, 5.0, 10.0, 15.0]);
    assert_eq!(labels, ["-5", "0", "5", "10", "15"]);
}

#[test]
fn nice_ticks_small_decimals() {
    let (values, labels) = ticks(0.001, 0.0042);
    assert_eq!(values, vec![0.001, 0.002, 0.003, 0.004, 0.005]);
    assert_eq!(labels, ["0.001", "0.002", "0.003", "0.004", "0.005"]);
}

#[test]
fn nice_ticks_millions_are_scientific() {
    let (values, labels) = ticks(1e6, 5e6);
    assert_eq!(values, vec![1e6, 2e6, 3e6, 4e6, 5e6]);
    assert_eq!(labels, ["1e6", "2e6", "3e6", "4e6", "5e6"]);
    assert_eq!(tick_text(1e6, 3e6), ["1e6", "1.5e6", "2e6", "2.5e6", "3e6"]);
    assert_eq!(tick_text(0.0, 1e6), ["0", "2.5e5", "5e5", "7.5e5", "1e6"]);
}

#[test]
fn nice_ticks_tiny_are_scientific() {
    assert_eq!(tick_text(0.0, 4e-5), ["0", "1e-5", "2e-5", "3e-5", "4e-5"]);
    assert_eq!(
        tick_text(-2e-5, 2e-5),
        ["-2e-5", "-1e-5", "0", "1e-5", "2e-5"]
    );
}

#[test]
fn nice_ticks_single_value_is_padded() {
    let (values, labels) = ticks(5.0, 5.0);
    assert_eq!(values, vec![4.5, 4.75, 5.0, 5.25, 5.5]);
    assert_eq!(labels, ["4.5", "4.75", "5", "5.25", "5.5"]);
    let (values, _) = ticks(-1234.5, -1234.5);
    assert!(values.first().is_some_and(|v| *v < -1234.5));
    assert!(values.last().is_some_and(|v| *v > -1234.5));
}

#[test]
fn nice_ticks_zero_range_at_zero() {
    let (values, labels) = ticks(0.0, 0.0);
    assert_eq!(values, vec![-1.0, -0.5, 0.0, 0.5, 1.0]);
    assert_eq!(labels, ["-1", "-0.5", "0", "0.5", "1"]);
}

#[test]
fn nice_ticks_cover_range_and_are_about_five() {
    let ranges = [
        (0.0, 1.0),
        (0.3, 0.7),
        (-7.0, -3.0),
        (1.0, 1000.0),
        (0.0123, 0.0987),
        (17.0, 23.0),
        (1e15, 1e15 + 3.0),
        (-1e-9, 3e-9),
        (2.0, 2.0000001),
    ];
    for (lo, hi) in ranges {
        let (values, labels) = ticks(lo, hi);
        assert!((4..=7).contains(&values.len()), "{lo}..{hi}: {values:?}");
        assert!(
            values[0] <= lo && *values.last().unwrap() >= hi,
            "{lo}..{hi}: {values:?}"
        );
        let distinct: std::collections::BTreeSet<_> = labels.iter().collect();
        assert_eq!(distinct.len(), labels.len(), "{lo}..{hi}: {labels:?}");
        assert!(labels.iter().all(|l| l != "-0"));
    }
}

#[test]
fn integer_data_gets_whole_ticks() {
    let whole = |lo: f64, hi: f64| -> Vec<String> {
        let axis = nice_axis(lo, hi, true);
        axis.ticks.into_iter().map(|t| t.1).collect()
    };
    assert_eq!(whole(0.0, 10.0), ["0", "2", "4", "6", "8", "10"]);
    assert_eq!(whole(3.0, 3.0), ["2", "3", "4"]);
    assert_eq!(whole(1.0, 1.0), ["0", "1", "2"]);
    assert_eq!(whole(0.0, 0.0), ["-1", "0", "1"]);
    assert_eq!(whole(0.0, 2.0), ["0", "1", "2"]);
    assert_eq!(whole(1e6, 5e6), ["1e6", "2e6", "3e6", "4e6", "5e6"]);
    // Through the chart: steps are whole, the loss is not.
    let chart = line_chart(
        &ChartSpec::default(),
        &[series("s", &[(0.0, 0.9), (10.0, 0.1)])],
    );
    let xs: Vec<_> = chart.x_ticks.iter().map(|t| t.label.as_str()).collect();
    assert_eq!(xs, ["0", "2", "4", "6", "8", "10"]);
    let ys: Vec<_> = chart.y_ticks.iter().map(|t| t.label.as_str()).collect();
    assert_eq!(ys, ["0", "0.25", "0.5", "0.75", "1"]);
}

#[test]
fn readouts_use_four_significant_digits() {
    assert_eq!(fmt_sig(0.042_134), "0.04213");
    assert_eq!(fmt_sig(0.0421), "0.0421");
    assert_eq!(fmt_sig(12.0), "12");
    assert_eq!(fmt_sig(1234.56), "1235");
    assert_eq!(fmt_sig(123_456.0), "123456");
    assert_eq!(fmt_sig(1.5e6), "1.5e6");
    assert_eq!(fmt_sig(-2e-5), "-2e-5");
    assert_eq!(fmt_sig(f64::MAX), "1.798e308");
    assert_eq!(fmt_sig(-0.0), "0");
    assert_eq!(readout("step", 12.0, 0.0421), "step 12: 0.0421");
    assert_eq!(readout("", 3.0, 0.5), "3: 0.5");
}

#[test]
fn path_for_tiny_series_is_exact() {
    // Unsorted on purpose: drawing follows x order.
    let chart = line_chart(
        &spec(200.0, 100.0),
        &[series("loss", &[(2.0, 0.5), (0.0, 0.0), (1.0, 1.0)])],
    );
    // y labels "0.25" (4 chars) → left = 6 + 28 + 6 = 40; right 12; top 10; bottom 24.
    assert_eq!(
        chart.plot,
        Rect {
            x: 40.0,
            y: 10.0,
            width: 148.0,
            height: 66.0
        }
    );
    assert_eq!(chart.lines[0].path, "M40 76 L114 10 L188 43");
    assert_eq!(chart.lines[0].color, "#0072B2");
    let readouts: Vec<_> = chart.lines[0].points.iter().map(|p| &p.readout).collect();
    assert_eq!(readouts, ["0: 0", "1: 1", "2: 0.5"]);
    assert!(!chart.empty);
}

#[test]
fn path_coordinates_have_at_most_two_decimals() {
    let pts: Vec<(f64, f64)> = (0..37)
        .map(|i| (i as f64, (i as f64 * 0.37).sin() / 3.0))
        .collect();
    let chart = line_chart(&spec(333.0, 211.0), &[series("s", &pts)]);
    for n in path_numbers(&chart.lines[0].path) {
        assert!((n * 100.0 - (n * 100.0).round()).abs() < 1e-6, "{n}");
    }
}

fn path_numbers(path: &str) -> Vec<f64> {
    path.split_whitespace()
        .map(|t| t.trim_start_matches(['M', 'L']))
        .map(|t| t.parse::<f64>().unwrap_or(f64::NAN))
        .collect()
}

#[test]
fn non_finite_points_are_skipped() {
    let chart = line_chart(
        &ChartSpec {
            x_label: "step".into(),
            ..ChartSpec::default()
        },
        &[series(
            "acc",
            &[
                (0.0, 1.0),
                (1.0, f64::NAN),
                (2.0, f64::INFINITY),
                (f64::NAN, 3.0),
                (f64::NEG_INFINITY, 100.0),
                (3.0, 2.0),
            ],
        )],
    );
    let line = &chart.lines[0];
    assert_eq!(line.points.len(), 2);
    assert_eq!(line.path.matches('L').count(), 1);
    assert!(!line.path.contains("NaN") && !line.path.contains("inf"));
    // The axes ignore skipped points: y stays 1..2, x stays 0..3.
    let y_max = chart.y_ticks.last().map(|t| t.value);
    assert_eq!(y_max, Some(2.0));
    assert_eq!(chart.x_ticks.last().map(|t| t.value), Some(3.0));
    assert_eq!(line.points[1].readout, "step 3: 2");
    assert_all_finite_line(&chart);
}

#[test]
fn empty_input_is_empty() {
    let none = line_chart(&ChartSpec::default(), &[]);
    assert!(none.empty && none.lines.is_empty() && none.x_ticks.is_empty());
    assert_all_finite_line(&none);

    let all_bad = line_chart(
        &ChartSpec::default(),
        &[
            series("a", &[]),
            series("b", &[(f64::NAN, 1.0), (1.0, f64::INFINITY)]),
        ],
    );
    assert!(all_bad.empty);
    assert_eq!(all_bad.lines.len(), 2);
    assert!(all_bad.lines.iter().all(|l| l.path.is_empty()));
    assert_eq!(all_bad.lines[1].color, PALETTE[1]);
    assert_all_finite_line(&all_bad);

    let bars = bar_chart(&ChartSpec::default(), &[]);
    assert!(bars.empty && bars.bars.is_empty() && bars.y_ticks.is_empty());
    assert_all_finite_bar(&bars);
    let bad_bars = bar_chart(
        &ChartSpec::default(),
        &[Bar {
            label: "1.0.0".into(),
            value: f64::NAN,
        }],
    );
    assert!(bad_bars.empty);
    assert_eq!(bad_bars.bars[0].value_label, "–");
    assert_all_finite_bar(&bad_bars);
}

#[test]
fn y_axis_is_inverted() {
    let chart = line_chart(
        &ChartSpec::default(),
        &[series("s", &[(0.0, 1.0), (1.0, 2.0)])],
    );
    let p = &chart.lines[0].points;
    assert!(
        p[1].y < p[0].y,
        "higher value must be higher up (smaller y)"
    );
    let ys: Vec<f64> = chart.y_ticks.iter().map(|t| t.pos).collect();
    assert!(ys.windows(2).all(|w| w[1] < w[0]));
    assert_eq!(ys.first(), Some(&(chart.plot.y + chart.plot.height)));
    assert_eq!(ys.last(), Some(&chart.plot.y));
}

#[test]
fn degenerate_series_get_padded_ranges() {
    // (points, x degenerate, y degenerate): a degenerate axis puts its value strictly
    // inside the plot (padded), the other one spans it edge to edge.
    for (pts, flat_x, flat_y) in [
        (vec![(3.0, 0.5)], true, true),
        (vec![(0.0, 7.0), (1.0, 7.0), (2.0, 7.0)], false, true),
        (vec![(5.0, 1.0), (5.0, 2.0)], true, false),
    ] {
        let chart = line_chart(&ChartSpec::default(), &[series("s", &pts)]);
        assert!(!chart.empty);
        assert!(chart.x_ticks.len() >= 2 && chart.y_ticks.len() >= 2);
        let (left, right) = (chart.plot.x, chart.plot.x + chart.plot.width);
        let (top, bottom) = (chart.plot.y, chart.plot.y + chart.plot.height);
        for p in &chart.lines[0].points {
            assert!(p.x >= left && p.x <= right && p.y >= top && p.y <= bottom);
            if flat_x {
                assert!(p.x > left + 1.0 && p.x < right - 1.0, "{p:?}");
            }
            if flat_y {
                assert!(p.y > top + 1.0 && p.y < bottom - 1.0, "{p:?}");
            }
        }
        assert_all_finite_line(&chart);
    }
}

#[test]
fn bar_chart_with_negative_values() {
    let bars = [
        Bar {
            label: "1.0.0".into(),
            value: 3.0,
        },
        Bar {
            label: "1.1.0".into(),
            value: -2.0,
        },
        Bar {
            label: "1.2.0".into(),
            value: f64::NAN,
        },
        Bar {
            label: "1.3.0".into(),
            value: 0.0,
        },
    ];
    let chart = bar_chart(&spec(400.0, 200.0), &bars);
    assert!(!chart.empty);
    let zero = chart.y_ticks.iter().find(|t| t.value == 0.0);
    assert_eq!(zero.map(|t| t.pos), Some(chart.zero_y));
    let (pos, neg, missing, flat) = (
        &chart.bars[0],
        &chart.bars[1],
        &chart.bars[2],
        &chart.bars[3],
    );
    // Positive grows up to the zero line, negative hangs down from it.
    assert!(pos.height > 0.0 && (pos.y + pos.height - chart.zero_y).abs() < 0.02);
    assert!(neg.height > 0.0 && neg.y == chart.zero_y);
    assert!(pos.value_pos.y < pos.y && neg.value_pos.y > neg.y + neg.height);
    assert_eq!(missing.height, 0.0);
    assert_eq!(missing.value_label, "–");
    assert_eq!(flat.height, 0.0);
    assert_eq!(
        (pos.value_label.as_str(), neg.value_label.as_str()),
        ("3", "-2")
    );
    assert_eq!((pos.color, neg.color), (PALETTE[0], PALETTE[3]));
    // 3 / 2 ratio of heights; bars stay inside the plot and in order.
    assert!((pos.height / neg.height - 1.5).abs() < 0.01);
    for w in chart.bars.windows(2) {
        assert!(w[0].x + w[0].width < w[1].x);
    }
    for b in &chart.bars {
        assert!(b.x >= chart.plot.x && b.x + b.width <= chart.plot.x + chart.plot.width);
        assert!(b.y >= chart.plot.y && b.y + b.height <= chart.plot.y + chart.plot.height);
        assert!(b.label_pos.y > chart.plot.y + chart.plot.height);
    }
    assert!(!chart.rotate_labels);
    assert_all_finite_bar(&chart);
}

#[test]
fn bar_chart_all_zero_and_all_negative() {
    let zeros = bar_chart(
        &ChartSpec::default(),
        &[Bar {
            label: "a".into(),
            value: 0.0,
        }],
    );
    assert_eq!(zeros.y_ticks.first().map(|t| t.value), Some(0.0));
    assert_eq!(zeros.zero_y, zeros.plot.y + zeros.plot.height);

    let negs = bar_chart(
        &ChartSpec::default(),
        &[
            Bar {
                label: "a".into(),
                value: -0.3,
            },
            Bar {
                label: "b".into(),
                value: -0.7,
            },
        ],
    );
    assert_eq!(negs.y_ticks.last().map(|t| t.value), Some(0.0));
    assert_eq!(negs.zero_y, negs.plot.y);
    assert!(negs
        .bars
        .iter()
        .all(|b| b.y == negs.zero_y && b.height > 0.0));
}

#[test]
fn many_long_bar_labels_rotate() {
    let bars: Vec<Bar> = (0..60)
        .map(|i| Bar {
            label: format!("1.{i}.0-rc.1"),
            value: i as f64,
        })
        .collect();
    let chart = bar_chart(&ChartSpec::default(), &bars);
    assert!(chart.rotate_labels);
    assert_eq!(chart.bars.len(), 60);
    assert_all_finite_bar(&chart);
}

#[test]
fn downsampling_keeps_ends_and_extremes() {
    let mut pts: Vec<(f64, f64)> = (0..5000)
        .map(|i| (i as f64, (i as f64 / 50.0).sin()))
        .collect();
    pts[1234].1 = -100.0;
    pts[3456].1 = 100.0;
    let chart = line_chart(&ChartSpec::default(), &[series("s", &pts)]);
    let kept = &chart.lines[0].points;
    assert!(kept.len() <= DOWNSAMPLE_TO, "{}", kept.len());
    assert!(kept.len() >= DOWNSAMPLE_TO - 2);
    assert_eq!(kept.first().map(|p| p.data_x), Some(0.0));
    assert_eq!(kept.last().map(|p| p.data_x), Some(4999.0));
    assert!(kept
        .iter()
        .any(|p| p.data_x == 1234.0 && p.data_y == -100.0));
    assert!(kept.iter().any(|p| p.data_x == 3456.0 && p.data_y == 100.0));
    assert!(kept.windows(2).all(|w| w[0].data_x <= w[1].data_x));
    assert_eq!(chart.lines[0].path.matches('L').count(), kept.len() - 1);

    // At the threshold nothing is dropped.
    let short: Vec<(f64, f64)> = pts[..DOWNSAMPLE_ABOVE].to_vec();
    let chart = line_chart(&ChartSpec::default(), &[series("s", &short)]);
    assert_eq!(chart.lines[0].points.len(), DOWNSAMPLE_ABOVE);
}

#[test]
fn palette_cycles() {
    let many: Vec<Series> = (0..10)
        .map(|i| series(&format!("s{i}"), &[(0.0, i as f64), (1.0, 1.0)]))
        .collect();
    let chart = line_chart(&ChartSpec::default(), &many);
    let colors: Vec<_> = chart.lines.iter().map(|l| l.color).collect();
    assert_eq!(&colors[..8], &PALETTE[..]);
    assert_eq!(colors[8], PALETTE[0]);
    assert_eq!(colors[9], PALETTE[1]);
}

#[test]
fn extreme_values_never_panic_and_stay_finite() {
    let extremes = [
        f64::MAX,
        -f64::MAX,
        f64::MIN_POSITIVE,
        -f64::MIN_POSITIVE,
        -0.0,
        0.0,
        5e-324,
        1e300,
        -1e-300,
        1e15,
        1e15 + 0.125,
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
    ];
    let sizes = [
        (640.0, 320.0),
        (f64::NAN, f64::INFINITY),
        (-5.0, 0.0),
        (1e12, 1.0),
        (f64::MAX, f64::MIN_POSITIVE),
    ];
    let mut all_series = Vec::new();
    for &a in &extremes {
        for &b in &extremes {
            all_series.push(series("pair", &[(a, b), (b, a)]));
            all_series.push(series("one", &[(a, b)]));
            all_series.push(series("flat", &[(a, b), (a, b), (a, b)]));
        }
    }
    for &(w, h) in &sizes {
        let s = ChartSpec {
            width: w,
            height: h,
            x_label: "step".into(),
            y_label: "loss".into(),
        };
        // Each series alone, then all together.
        for one in all_series.chunks(1) {
            assert_all_finite_line(&line_chart(&s, one));
        }
        assert_all_finite_line(&line_chart(&s, &all_series));
        for &v in &extremes {
            let bars = [
                Bar {
                    label: "x".into(),
                    value: v,
                },
                Bar {
                    label: "ünïcödé ✓ label".into(),
                    value: 1.0,
                },
            ];
            assert_all_finite_bar(&bar_chart(&s, &bars));
            assert_all_finite_bar(&bar_chart(&s, &bars[..1]));
        }
        let all_bars: Vec<Bar> = extremes
            .iter()
            .map(|&v| Bar {
                label: fmt_sig(v),
                value: v,
            })
            .collect();
        assert_all_finite_bar(&bar_chart(&s, &all_bars));
    }
    for &a in &extremes {
        for &b in &extremes {
            for integers in [false, true] {
                let axis = nice_axis(a, b, integers);
                assert!(axis.min.is_finite() && axis.max.is_finite());
                assert!(axis.max > axis.min && axis.ticks.len() >= 2);
            }
        }
    }
}

#[test]
fn pseudo_random_inputs_stay_finite_and_inside_the_plot() {
    // A fixed LCG: deterministic, no dependency. Raw bit patterns cover subnormals,
    // NaN payloads and infinities; scaled values cover ordinary data.
    let mut state = 0x9E37_79B9_7F4A_7C15_u64;
    let mut next = move || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        state
    };
    for round in 0..300 {
        let n = (next() % 40) as usize + if round % 50 == 0 { 2500 } else { 0 };
        let value = |next: &mut dyn FnMut() -> u64| match next() % 4 {
            0 => f64::from_bits(next()),
            1 => (next() % 1000) as f64,
            _ => (next() % 1_000_000) as f64 / 1000.0 - 500.0,
        };
        let pts: Vec<(f64, f64)> = (0..n)
            .map(|_| (value(&mut next), value(&mut next)))
            .collect();
        let s = spec(100.0 + (next() % 900) as f64, 80.0 + (next() % 500) as f64);
        let chart = line_chart(&s, &[series("r", &pts)]);
        assert_all_finite_line(&chart);
        let p = chart.plot;
        for pt in chart.lines.iter().flat_map(|l| &l.points) {
            assert!(
                pt.x >= p.x - 0.02 && pt.x <= p.x + p.width + 0.02,
                "{pt:?} {p:?}"
            );
            assert!(
                pt.y >= p.y - 0.02 && pt.y <= p.y + p.height + 0.02,
                "{pt:?} {p:?}"
            );
        }
        let bars: Vec<Bar> = pts
            .iter()
            .map(|&(x, y)| Bar {
                label: fmt_sig(x),
                value: y,
            })
            .collect();
        let chart = bar_chart(&s, &bars);
        assert_all_finite_bar(&chart);
        let p = chart.plot;
        for b in &chart.bars {
            assert!(b.y >= p.y - 0.02 && b.y + b.height <= p.y + p.height + 0.02);
        }
    }
}

#[test]
fn thousands_of_points_with_duplicate_x() {
    let pts: Vec<(f64, f64)> = (0..10_000)
        .map(|i| ((i % 7) as f64, (i as f64).sqrt()))
        .collect();
    let chart = line_chart(&ChartSpec::default(), &[series("s", &pts)]);
    assert!(chart.lines[0].points.len() <= DOWNSAMPLE_TO);
    assert_all_finite_line(&chart);
}

#[test]
fn output_is_deterministic() {
    let pts: Vec<(f64, f64)> = (0..3000).map(|i| (i as f64, (i % 13) as f64)).collect();
    let a = line_chart(&ChartSpec::default(), &[series("s", &pts)]);
    let b = line_chart(&ChartSpec::default(), &[series("s", &pts)]);
    assert_eq!(a, b);
}

#[test]
fn colours_deserialise_back_to_the_palette() {
    use serde::de::value::{Error, StrDeserializer, StringDeserializer};
    let owned = StringDeserializer::<Error>::new("#e69f00".to_string());
    assert_eq!(palette_color(owned), Ok(PALETTE[1]));
    let unknown = StrDeserializer::<Error>::new("#123456");
    assert!(palette_color(unknown).is_err());
}

fn assert_finite(v: f64, what: &str) {
    assert!(v.is_finite(), "{what} is {v}");
}

fn assert_rect(r: &Rect) {
    for v in [r.x, r.y, r.width, r.height] {
        assert_finite(v, "plot");
    }
    assert!(r.width > 0.0 && r.height > 0.0, "{r:?}");
}

fn assert_ticks(ticks: &[Tick]) {
    for t in ticks {
        for v in [t.value, t.pos, t.label_x, t.label_y] {
            assert_finite(v, "tick");
        }
        assert!(!t.label.contains("NaN") && !t.label.contains("inf"));
    }
}

fn assert_labels(a: &AxisLabel) {
    assert_finite(a.x, "axis label x");
    assert_finite(a.y, "axis label y");
}

fn assert_all_finite_line(c: &LineChart) {
    assert_finite(c.width, "width");
    assert_finite(c.height, "height");
    assert_rect(&c.plot);
    assert_ticks(&c.x_ticks);
    assert_ticks(&c.y_ticks);
    assert_labels(&c.x_label);
    assert_labels(&c.y_label);
    for line in &c.lines {
        assert!(!line.path.contains("NaN") && !line.path.contains("inf"));
        for n in path_numbers(&line.path) {
            assert_finite(n, "path number");
        }
        for p in &line.points {
            for v in [p.x, p.y, p.data_x, p.data_y] {
                assert_finite(v, "point");
            }
            assert!(!p.readout.contains("NaN") && !p.readout.contains("inf"));
        }
    }
}

fn assert_all_finite_bar(c: &BarChart) {
    assert_finite(c.width, "width");
    assert_finite(c.height, "height");
    assert_finite(c.zero_y, "zero_y");
    assert_rect(&c.plot);
    assert_ticks(&c.y_ticks);
    assert_labels(&c.x_label);
    assert_labels(&c.y_label);
    for b in &c.bars {
        for v in [
            b.x,
            b.y,
            b.width,
            b.height,
            b.label_pos.x,
            b.label_pos.y,
            b.value_pos.x,
            b.value_pos.y,
        ] {
            assert_finite(v, "bar");
        }
        assert!(b.height >= 0.0 && b.width >= 0.0);
        assert!(!b.value_label.contains("NaN") && !b.value_label.contains("inf"));
    }
}
