//! Layout: canvas size, margins, the plot rectangle, axis labels and ticks in pixels.

use std::fmt::Write as _;

use super::{axis::*, data::*, types::*};

pub(super) fn canvas_size(spec: &ChartSpec) -> (f64, f64) {
    let side = |v: f64, default: f64, min: f64| {
        if v.is_finite() {
            round2(v.clamp(min, MAX_SIDE))
        } else {
            default
        }
    };
    (
        side(spec.width, DEFAULT_WIDTH, MIN_WIDTH),
        side(spec.height, DEFAULT_HEIGHT, MIN_HEIGHT),
    )
}

/// Left margin: the rotated y title (if any), the widest y tick label, and a gap.
pub(super) fn left_margin(tick_chars: usize, has_y_label: bool) -> f64 {
    let title = if has_y_label { FONT + PAD } else { 0.0 };
    PAD + title + tick_chars.min(MAX_LABEL_CHARS) as f64 * CHAR_WIDTH + PAD
}

/// The plot area; margins that would take more than 60% of a side shrink proportionally so
/// a tiny canvas still has a plot.
pub(super) fn plot_rect(
    width: f64,
    height: f64,
    left: f64,
    right: f64,
    top: f64,
    bottom: f64,
) -> Rect {
    let fit = |a: f64, b: f64, side: f64| {
        let limit = side * 0.6;
        if a + b > limit {
            let k = limit / (a + b);
            (a * k, b * k)
        } else {
            (a, b)
        }
    };
    let (l, r) = fit(left, right, width);
    let (t, b) = fit(top, bottom, height);
    let x = round2(l);
    let y = round2(t);
    Rect {
        x,
        y,
        width: round2(width - r) - x,
        height: round2(height - b) - y,
    }
}

pub(super) fn x_axis_label(text: &str, plot: Rect, height: f64) -> AxisLabel {
    AxisLabel {
        text: text.trim().to_string(),
        x: round2(plot.x + plot.width / 2.0),
        y: round2(height - PAD),
    }
}

pub(super) fn y_axis_label(text: &str, plot: Rect) -> AxisLabel {
    AxisLabel {
        text: text.trim().to_string(),
        // Rotated -90°, glyphs extend left of the baseline by about one font size.
        x: PAD + FONT,
        y: round2(plot.y + plot.height / 2.0),
    }
}

pub(super) fn x_ticks(axis: &Axis, scale: &Scale, plot: Rect) -> Vec<Tick> {
    let label_y = round2(plot.y + plot.height + PAD + FONT);
    axis.ticks
        .iter()
        .map(|(value, label)| {
            let pos = scale.map(*value);
            Tick {
                value: *value,
                pos,
                label: label.clone(),
                label_x: pos,
                label_y,
            }
        })
        .collect()
}

pub(super) fn y_ticks(axis: &Axis, scale: &Scale, plot: Rect) -> Vec<Tick> {
    let label_x = round2(plot.x - PAD);
    axis.ticks
        .iter()
        .map(|(value, label)| {
            let pos = scale.map(*value);
            Tick {
                value: *value,
                pos,
                label: label.clone(),
                label_x,
                label_y: pos,
            }
        })
        .collect()
}

pub(super) fn series_color(i: usize) -> Color {
    PALETTE[i % PALETTE.len()]
}

pub(super) fn char_count(s: &str) -> usize {
    s.chars().count()
}

pub(super) fn max_chars(ticks: &[(f64, String)]) -> usize {
    ticks.iter().map(|t| char_count(&t.1)).max().unwrap_or(0)
}

/// Rounds to 2 decimals (keeps SVG small) and never returns -0 or a non-finite value.
pub(super) fn round2(v: f64) -> f64 {
    let r = (v * 100.0).round() / 100.0;
    if r.is_finite() {
        r + 0.0
    } else {
        0.0
    }
}

/// Linear map from a data domain to a pixel range, clamping like [`clamp_magnitude`].
pub(super) struct Scale {
    pub(super) d0: f64,
    pub(super) d1: f64,
    pub(super) r0: f64,
    pub(super) r1: f64,
}

impl Scale {
    pub(super) fn new(d0: f64, d1: f64, r0: f64, r1: f64) -> Self {
        Self { d0, d1, r0, r1 }
    }

    pub(super) fn map(&self, v: f64) -> f64 {
        let t = (clamp_magnitude(v) - self.d0) / (self.d1 - self.d0);
        let t = if t.is_finite() { t } else { 0.5 };
        round2(self.r0 + t * (self.r1 - self.r0))
    }
}

pub(super) fn svg_path(points: &[PlotPoint]) -> String {
    let mut path = String::with_capacity(points.len() * 16);
    for (i, p) in points.iter().enumerate() {
        let cmd = if i == 0 { "M" } else { " L" };
        // Writing to a String cannot fail.
        let _ = write!(path, "{cmd}{} {}", p.x, p.y);
    }
    path
}

pub(super) fn readout(x_prefix: &str, x: f64, y: f64) -> String {
    if x_prefix.is_empty() {
        format!("{}: {}", fmt_sig(x), fmt_sig(y))
    } else {
        format!("{x_prefix} {}: {}", fmt_sig(x), fmt_sig(y))
    }
}
