//! Line charts: metric series over steps, one coloured line per series.

use super::{axis::*, data::*, layout::*, types::*};

/// Lays out a line chart of `series` on one shared pair of axes.
///
/// - Points with a non-finite coordinate are skipped: they are not drawn and do not widen
///   the axes. The line then simply connects the finite neighbours of the gap.
/// - Points are sorted by x (stable, so equal x keep their input order) before drawing.
/// - A series with more than [`DOWNSAMPLE_ABOVE`] finite points is drawn through at most
///   [`DOWNSAMPLE_TO`] of them: its first and last points, plus the lowest and the highest
///   point of each of equal-count buckets in between. Spikes and the overall extremes thus
///   survive, the SVG stays small, and `points` (and so readouts) hold the kept points only.
/// - Both axes span "nice" ticks covering the data (whole-number ticks when all values on
///   that axis are whole, e.g. steps); one value (or values equal up to float noise) gets a
///   range padded by 10% of its magnitude (±1 around zero).
pub fn line_chart(spec: &ChartSpec, series: &[Series]) -> LineChart {
    let (width, height) = canvas_size(spec);
    let has_x_label = !spec.x_label.trim().is_empty();
    let has_y_label = !spec.y_label.trim().is_empty();
    let bottom = if has_x_label { 42.0 } else { 24.0 };

    let kept: Vec<Vec<(f64, f64)>> = series
        .iter()
        .map(|s| downsample(&sorted_finite(&s.points)))
        .collect();

    let mut xs = Extent::default();
    let mut ys = Extent::default();
    for &(x, y) in kept.iter().flatten() {
        xs.add(x);
        ys.add(y);
    }

    let (Some((x_lo, x_hi)), Some((y_lo, y_hi))) = (xs.get(), ys.get()) else {
        let plot = plot_rect(
            width,
            height,
            left_margin(0, has_y_label),
            12.0,
            10.0,
            bottom,
        );
        return LineChart {
            width,
            height,
            plot,
            x_ticks: Vec::new(),
            y_ticks: Vec::new(),
            lines: series
                .iter()
                .enumerate()
                .map(|(i, s)| Line {
                    label: s.label.clone(),
                    color: series_color(i),
                    path: String::new(),
                    points: Vec::new(),
                })
                .collect(),
            x_label: x_axis_label(&spec.x_label, plot, height),
            y_label: y_axis_label(&spec.y_label, plot),
            empty: true,
        };
    };

    let x_axis = nice_axis(x_lo, x_hi, xs.integers);
    let y_axis = nice_axis(y_lo, y_hi, ys.integers);

    let left = left_margin(max_chars(&y_axis.ticks), has_y_label);
    // Room for half of the last x tick label, which is centred on the plot's right edge.
    let last_x_chars = x_axis.ticks.last().map_or(0, |t| char_count(&t.1));
    let right = (last_x_chars as f64 * CHAR_WIDTH / 2.0 + 4.0).max(12.0);
    let plot = plot_rect(width, height, left, right, 10.0, bottom);

    let sx = Scale::new(x_axis.min, x_axis.max, plot.x, plot.x + plot.width);
    let sy = Scale::new(y_axis.min, y_axis.max, plot.y + plot.height, plot.y);

    let x_prefix = spec.x_label.trim();
    let lines = series
        .iter()
        .zip(&kept)
        .enumerate()
        .map(|(i, (s, pts))| {
            let points: Vec<PlotPoint> = pts
                .iter()
                .map(|&(x, y)| PlotPoint {
                    x: sx.map(x),
                    y: sy.map(y),
                    data_x: x,
                    data_y: y,
                    readout: readout(x_prefix, x, y),
                })
                .collect();
            Line {
                label: s.label.clone(),
                color: series_color(i),
                path: svg_path(&points),
                points,
            }
        })
        .collect();

    LineChart {
        width,
        height,
        plot,
        x_ticks: x_ticks(&x_axis, &sx, plot),
        y_ticks: y_ticks(&y_axis, &sy, plot),
        lines,
        x_label: x_axis_label(&spec.x_label, plot, height),
        y_label: y_axis_label(&spec.y_label, plot),
        empty: false,
    }
}
