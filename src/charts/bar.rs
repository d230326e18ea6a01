//! Bar charts: one value per label, negative bars below the zero line.

use super::{axis::*, data::*, layout::*, types::*};

/// Lays out one bar per entry of `bars`, in order, in equal slots across the plot.
///
/// The y axis always includes 0: bars grow up from 0, negative values grow down from it.
/// A non-finite value keeps its slot as a zero-height bar labelled `"–"` (a version that
/// lacks the metric stays visible, and the others do not shift). No downsampling: every
/// category is drawn, however thin.
pub fn bar_chart(spec: &ChartSpec, bars: &[Bar]) -> BarChart {
    let (width, height) = canvas_size(spec);
    let has_x_label = !spec.x_label.trim().is_empty();
    let has_y_label = !spec.y_label.trim().is_empty();

    let mut values = Extent::default();
    for b in bars.iter().filter(|b| b.value.is_finite()) {
        values.add(b.value);
    }
    let empty = values.get().is_none();
    let (lo, hi) = values.get().unwrap_or((0.0, 0.0));
    let (lo, hi) = (lo.min(0.0), hi.max(0.0));
    // All zeros (or indistinguishable from zero): show 0..1 rather than a range padded below 0.
    let (lo, hi) = if is_degenerate(lo, hi) {
        (0.0, 1.0)
    } else {
        (lo, hi)
    };
    let y_axis = if empty {
        Axis::default()
    } else {
        nice_axis(lo, hi, values.integers)
    };

    let left = left_margin(max_chars(&y_axis.ticks), has_y_label);
    let right = 12.0;
    // Decide rotation with the widest plot the margins allow; rotation only adds bottom room.
    let slot_guess = (width - left - right).max(1.0) / bars.len().max(1) as f64;
    let label_chars = bars
        .iter()
        .map(|b| char_count(&b.label))
        .max()
        .unwrap_or(0)
        .min(MAX_LABEL_CHARS);
    let rotate_labels = label_chars as f64 * CHAR_WIDTH > slot_guess * 0.9;
    let labels_room = if rotate_labels {
        // A -45° label of n chars drops about n·w·sin45° below its anchor.
        12.0 + label_chars as f64 * CHAR_WIDTH * std::f64::consts::FRAC_1_SQRT_2 + 4.0
    } else {
        FONT + 12.0
    };
    let bottom = labels_room + if has_x_label { FONT + 10.0 } else { 0.0 };
    let plot = plot_rect(width, height, left, right, 18.0, bottom);

    let (d0, d1) = if empty {
        (0.0, 1.0)
    } else {
        (y_axis.min, y_axis.max)
    };
    let sy = Scale::new(d0, d1, plot.y + plot.height, plot.y);
    let zero_y = sy.map(0.0);

    let slot = plot.width / bars.len().max(1) as f64;
    // 30% gap between bars, but few bars should not turn into slabs.
    let bar_width = (slot * 0.7).min(80.0);
    let label_y = plot.y + plot.height + if rotate_labels { 12.0 } else { 16.0 };

    let placed = bars
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let cx = plot.x + slot * (i as f64 + 0.5);
            let (y, h, value_y, color, value_label) = if b.value.is_finite() {
                let vy = sy.map(b.value);
                if b.value < 0.0 {
                    let h = vy - zero_y;
                    (
                        zero_y,
                        h,
                        zero_y + h + FONT + 2.0,
                        NEGATIVE_BAR_COLOR,
                        fmt_sig(b.value),
                    )
                } else {
                    (vy, zero_y - vy, vy - 4.0, BAR_COLOR, fmt_sig(b.value))
                }
            } else {
                (zero_y, 0.0, zero_y - 4.0, BAR_COLOR, "–".to_string())
            };
            PlacedBar {
                x: round2(cx - bar_width / 2.0),
                y: round2(y),
                width: round2(bar_width),
                height: round2(h.max(0.0)),
                label: b.label.clone(),
                label_pos: Point {
                    x: round2(cx),
                    y: round2(label_y),
                },
                value_label,
                value_pos: Point {
                    x: round2(cx),
                    y: round2(value_y),
                },
                color,
            }
        })
        .collect();

    BarChart {
        width,
        height,
        plot,
        y_ticks: y_ticks(&y_axis, &sy, plot),
        zero_y,
        bars: placed,
        rotate_labels,
        x_label: x_axis_label(&spec.x_label, plot, height),
        y_label: y_axis_label(&spec.y_label, plot),
        empty,
    }
}
