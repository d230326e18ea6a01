//! Chart geometry for server-rendered SVG charts.
//!
//! Charts are rendered as plain SVG during SSR so they are visible before hydration and in
//! printed reports. Everything geometric (scales, "nice" ticks, label formats, path strings,
//! label anchors, bar rectangles) is computed here, so the view only maps fields to `<svg>`
//! elements and the server and the client produce identical markup.
//!
//! Guarantees, whatever the input (NaN, ±inf, empty series, one point, all-equal values,
//! huge or tiny magnitudes, thousands of points, nonsense sizes):
//! - pure and deterministic: no I/O, clock, randomness or threads (it compiles for wasm32);
//! - never panics;
//! - every `f64` in the output is finite and every path string contains only finite numbers.
//!
//! Labels in the output are raw text; the view escapes them as for any other text.
//!
//! Conventions for the view (SVG user units, y grows downward):
//! - x tick labels: `<text x=label_x y=label_y text-anchor="middle">`;
//! - y tick labels: `<text x=label_x y=label_y text-anchor="end" dominant-baseline="middle">`;
//! - the x axis label: `text-anchor="middle"` at its point; the y axis label: `text-anchor="middle"`
//!   with `transform="rotate(-90 x y)"` at its point;
//! - grid lines run across [`Rect`] `plot` at each tick's `pos`.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

/// Okabe–Ito colours: distinguishable under the common colour-vision deficiencies and in
/// greyscale print. Series take them in order, cycling after eight.
pub const PALETTE: [Color; 8] = [
    "#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000",
];

/// A colour from [`PALETTE`]. (An alias rather than `&'static str` in the structs: serde's
/// derive would otherwise make them deserialisable only from `'static` input.)
pub type Color = &'static str;

/// Series with more finite points than this are downsampled for drawing (see [`line_chart`]).
pub const DOWNSAMPLE_ABOVE: usize = 2000;
/// At most this many points are kept when a series is downsampled.
pub const DOWNSAMPLE_TO: usize = 1000;

/// Bars with a value `>= 0` (and missing values) use this colour.
const BAR_COLOR: Color = PALETTE[0];
/// Negative bars get a second colour, so the sign reads at a glance, not only from direction.
const NEGATIVE_BAR_COLOR: Color = PALETTE[3];

/// About this many ticks per axis (the chosen nice step lands as close to it as it can).
const TICK_TARGET: f64 = 5.0;
/// Values beyond this magnitude are clamped for geometry only (readouts keep the true
/// value): no chart can tell 1e300 from f64::MAX, and clamping keeps `hi - lo` finite.
const MAX_MAGNITUDE: f64 = 1e300;
/// Spans narrower than this are treated as a single value: keeps powers of ten in the tick
/// arithmetic far from underflow.
const MIN_SPAN: f64 = 1e-250;
/// Spans narrower than this fraction of the values' magnitude are float noise around one
/// value; ticks that close could not be told apart in labels.
const MIN_RELATIVE_SPAN: f64 = 1e-12;

const DEFAULT_WIDTH: f64 = 640.0;
const DEFAULT_HEIGHT: f64 = 320.0;
const MIN_WIDTH: f64 = 120.0;
const MIN_HEIGHT: f64 = 80.0;
const MAX_SIDE: f64 = 16_000.0;

/// Label font size the margins are planned for (the view should use 12px text).
const FONT: f64 = 12.0;
/// Estimated advance of one character at [`FONT`]; only used to reserve margin space.
const CHAR_WIDTH: f64 = 7.0;
/// Space between the outer edge and the axis labels, and between tick labels and the axis.
const PAD: f64 = 6.0;
/// Labels longer than this get no more margin (they may overflow instead).
const MAX_LABEL_CHARS: usize = 20;

/// One named series of `(x, y)` points, e.g. `x` = step or epoch, `y` = metric value.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Series {
    pub label: String,
    pub points: Vec<(f64, f64)>,
}

/// What the caller wants: canvas size in SVG user units and axis titles (may be empty).
/// Sizes that are not finite fall back to 640×320; others are clamped to 120..16000 × 80..16000.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChartSpec {
    pub width: f64,
    pub height: f64,
    pub x_label: String,
    pub y_label: String,
}

impl Default for ChartSpec {
    fn default() -> Self {
        Self {
            width: DEFAULT_WIDTH,
            height: DEFAULT_HEIGHT,
            x_label: String::new(),
            y_label: String::new(),
        }
    }
}

/// An axis-aligned rectangle; `(x, y)` is its top-left corner.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Rect {
    pub x: f64,
    pub y: f64,
    pub width: f64,
    pub height: f64,
}

/// A point in SVG user units.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Point {
    pub x: f64,
    pub y: f64,
}

/// One axis tick.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Tick {
    /// Data value at the tick (e.g. to emphasise the zero line).
    pub value: f64,
    /// Pixel position along the axis: x for the x axis, y for the y axis.
    pub pos: f64,
    /// Formatted value, e.g. `"0.25"`, `"1.5e6"`.
    pub label: String,
    /// Anchor of the label text (see the module docs for text-anchor conventions).
    pub label_x: f64,
    pub label_y: f64,
}

/// An axis title and where to put it (see the module docs; the y title is rotated).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AxisLabel {
    pub text: String,
    pub x: f64,
    pub y: f64,
}

/// A drawn data point: pixel position, the original values, and a hover/print readout.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlotPoint {
    pub x: f64,
    pub y: f64,
    pub data_x: f64,
    pub data_y: f64,
    /// e.g. `"step 12: 0.0421"`: the x axis title, then both values to 4 significant digits.
    pub readout: String,
}

/// One series as drawn.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Line {
    pub label: String,
    #[serde(deserialize_with = "palette_color")]
    pub color: Color,
    /// SVG path data, `"M x y L x y ..."`, coordinates rounded to 2 decimals. Empty when
    /// the series has no finite point; a lone `M` when it has one (draw `points` as markers).
    pub path: String,
    /// The points the path goes through, in x order.
    pub points: Vec<PlotPoint>,
}

/// Everything the view needs for a line chart, in SVG user units.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LineChart {
    pub width: f64,
    pub height: f64,
    /// The plot area inside the margins; lines and points fall inside it.
    pub plot: Rect,
    pub x_ticks: Vec<Tick>,
    pub y_ticks: Vec<Tick>,
    /// One line per input series, in input order (so legend colours stay stable).
    pub lines: Vec<Line>,
    pub x_label: AxisLabel,
    pub y_label: AxisLabel,
    /// True when no series has a finite point: the view shows "no data" instead.
    pub empty: bool,
}

/// One value per category, e.g. a metric for model version `"1.2.0"`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Bar {
    pub label: String,
    pub value: f64,
}

/// A bar as drawn. Positive bars stand on the zero line, negative ones hang from it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlacedBar {
    pub x: f64,
    pub y: f64,
    pub width: f64,
    pub height: f64,
    /// Category label, e.g. the version; drawn centred at `label_pos`
    /// (or rotated there when [`BarChart::rotate_labels`]).
    pub label: String,
    pub label_pos: Point,
    /// The value, 4 significant digits; `"–"` for a missing (non-finite) value, whose bar
    /// keeps its slot with zero height so categories do not shift.
    pub value_label: String,
    /// Centre of the value label: above a positive bar, below a negative one.
    pub value_pos: Point,
    #[serde(deserialize_with = "palette_color")]
    pub color: Color,
}

/// Everything the view needs for a bar chart, in SVG user units.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BarChart {
    pub width: f64,
    pub height: f64,
    pub plot: Rect,
    /// Always includes a tick at 0.
    pub y_ticks: Vec<Tick>,
    /// Pixel y of the zero line (the bars' baseline).
    pub zero_y: f64,
    /// One bar per input bar, in input order.
    pub bars: Vec<PlacedBar>,
    /// True when the category labels would not fit side by side: the view should draw them
    /// with `text-anchor="end"` and `transform="rotate(-45 x y)"` at `label_pos`; the
    /// bottom margin already leaves room for that.
    pub rotate_labels: bool,
    pub x_label: AxisLabel,
    pub y_label: AxisLabel,
    /// True when no bar has a finite value: the view shows "no data" instead.
    pub empty: bool,
}

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

// ---------------------------------------------------------------------------------------
// Layout helpers

fn canvas_size(spec: &ChartSpec) -> (f64, f64) {
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
fn left_margin(tick_chars: usize, has_y_label: bool) -> f64 {
    let title = if has_y_label { FONT + PAD } else { 0.0 };
    PAD + title + tick_chars.min(MAX_LABEL_CHARS) as f64 * CHAR_WIDTH + PAD
}

/// The plot area; margins that would take more than 60% of a side shrink proportionally so
/// a tiny canvas still has a plot.
fn plot_rect(width: f64, height: f64, left: f64, right: f64, top: f64, bottom: f64) -> Rect {
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

fn x_axis_label(text: &str, plot: Rect, height: f64) -> AxisLabel {
    AxisLabel {
        text: text.trim().to_string(),
        x: round2(plot.x + plot.width / 2.0),
        y: round2(height - PAD),
    }
}

fn y_axis_label(text: &str, plot: Rect) -> AxisLabel {
    AxisLabel {
        text: text.trim().to_string(),
        // Rotated -90°, glyphs extend left of the baseline by about one font size.
        x: PAD + FONT,
        y: round2(plot.y + plot.height / 2.0),
    }
}

fn x_ticks(axis: &Axis, scale: &Scale, plot: Rect) -> Vec<Tick> {
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

fn y_ticks(axis: &Axis, scale: &Scale, plot: Rect) -> Vec<Tick> {
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

fn series_color(i: usize) -> Color {
    PALETTE[i % PALETTE.len()]
}

fn char_count(s: &str) -> usize {
    s.chars().count()
}

fn max_chars(ticks: &[(f64, String)]) -> usize {
    ticks.iter().map(|t| char_count(&t.1)).max().unwrap_or(0)
}

/// Rounds to 2 decimals (keeps SVG small) and never returns -0 or a non-finite value.
fn round2(v: f64) -> f64 {
    let r = (v * 100.0).round() / 100.0;
    if r.is_finite() {
        r + 0.0
    } else {
        0.0
    }
}

/// Linear map from a data domain to a pixel range, clamping like [`clamp_magnitude`].
struct Scale {
    d0: f64,
    d1: f64,
    r0: f64,
    r1: f64,
}

impl Scale {
    fn new(d0: f64, d1: f64, r0: f64, r1: f64) -> Self {
        Self { d0, d1, r0, r1 }
    }

    fn map(&self, v: f64) -> f64 {
        let t = (clamp_magnitude(v) - self.d0) / (self.d1 - self.d0);
        let t = if t.is_finite() { t } else { 0.5 };
        round2(self.r0 + t * (self.r1 - self.r0))
    }
}

fn svg_path(points: &[PlotPoint]) -> String {
    let mut path = String::with_capacity(points.len() * 16);
    for (i, p) in points.iter().enumerate() {
        let cmd = if i == 0 { "M" } else { " L" };
        // Writing to a String cannot fail.
        let _ = write!(path, "{cmd}{} {}", p.x, p.y);
    }
    path
}

fn readout(x_prefix: &str, x: f64, y: f64) -> String {
    if x_prefix.is_empty() {
        format!("{}: {}", fmt_sig(x), fmt_sig(y))
    } else {
        format!("{x_prefix} {}: {}", fmt_sig(x), fmt_sig(y))
    }
}

// ---------------------------------------------------------------------------------------
// Data preparation

fn clamp_magnitude(v: f64) -> f64 {
    if v.is_nan() {
        0.0
    } else {
        v.clamp(-MAX_MAGNITUDE, MAX_MAGNITUDE)
    }
}

/// Min and max of the (clamped) values seen, and whether they were all integers.
struct Extent {
    range: Option<(f64, f64)>,
    integers: bool,
}

impl Default for Extent {
    fn default() -> Self {
        Self {
            range: None,
            integers: true,
        }
    }
}

impl Extent {
    fn add(&mut self, v: f64) {
        self.integers &= v.fract() == 0.0;
        let v = clamp_magnitude(v);
        self.range = Some(match self.range {
            None => (v, v),
            Some((lo, hi)) => (lo.min(v), hi.max(v)),
        });
    }

    fn get(&self) -> Option<(f64, f64)> {
        self.range
    }
}

fn sorted_finite(points: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let mut pts: Vec<(f64, f64)> = points
        .iter()
        .copied()
        .filter(|(x, y)| x.is_finite() && y.is_finite())
        .collect();
    pts.sort_by(|a, b| a.0.total_cmp(&b.0));
    pts
}

/// Min/max bucket downsampling of x-sorted points (see [`line_chart`]).
fn downsample(points: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let n = points.len();
    if n <= DOWNSAMPLE_ABOVE {
        return points.to_vec();
    }
    let (Some(&first), Some(&last)) = (points.first(), points.last()) else {
        return points.to_vec();
    };
    let interior = &points[1..n - 1];
    let m = interior.len() as u64;
    let buckets = ((DOWNSAMPLE_TO - 2) / 2) as u64;
    let mut out = Vec::with_capacity(DOWNSAMPLE_TO);
    out.push(first);
    for b in 0..buckets {
        // u64 arithmetic: `b * m` could overflow a 32-bit usize on wasm32.
        let start = (b * m / buckets) as usize;
        let end = ((b + 1) * m / buckets) as usize;
        let Some(bucket) = interior.get(start..end) else {
            continue;
        };
        let mut lo = None::<(usize, f64)>;
        let mut hi = None::<(usize, f64)>;
        for (i, &(_, y)) in bucket.iter().enumerate() {
            if lo.is_none_or(|(_, v)| y < v) {
                lo = Some((i, y));
            }
            if hi.is_none_or(|(_, v)| y > v) {
                hi = Some((i, y));
            }
        }
        if let (Some((a, _)), Some((b, _))) = (lo, hi) {
            let (first_i, second_i) = if a <= b { (a, b) } else { (b, a) };
            out.push(bucket[first_i]);
            if second_i != first_i {
                out.push(bucket[second_i]);
            }
        }
    }
    out.push(last);
    out
}

// ---------------------------------------------------------------------------------------
// Nice ticks and number formats

/// A covering axis: its domain is `[min, max]`, the first and last tick.
#[derive(Debug, Default, PartialEq)]
struct Axis {
    min: f64,
    max: f64,
    ticks: Vec<(f64, String)>,
}

fn is_degenerate(lo: f64, hi: f64) -> bool {
    let mid = lo / 2.0 + hi / 2.0;
    let span = hi - lo;
    span.is_nan() || span <= MIN_SPAN.max(mid.abs() * MIN_RELATIVE_SPAN)
}

/// The range ticks are computed for: data range, or a padded one around a single value.
fn padded_range(lo: f64, hi: f64) -> (f64, f64) {
    let (lo, hi) = (clamp_magnitude(lo), clamp_magnitude(hi));
    let (lo, hi) = if lo <= hi { (lo, hi) } else { (hi, lo) };
    if !is_degenerate(lo, hi) {
        return (lo, hi);
    }
    let mid = lo / 2.0 + hi / 2.0;
    let pad = mid.abs() * 0.1;
    if pad < MIN_SPAN * 10.0 {
        // Zero, or indistinguishable from it.
        return (-1.0, 1.0);
    }
    (mid - pad, mid + pad)
}

/// A candidate tick step `mant × 10^p` covering the range with ticks `i0..=i1` × step.
struct Candidate {
    /// Distance of the tick count from [`TICK_TARGET`].
    score: f64,
    /// Tie-break in favour of 1, 2, 5 over 2.5.
    rank: u8,
    mant: f64,
    p: i32,
    step: f64,
    i0: f64,
    i1: f64,
}

impl Candidate {
    /// Closer to the target count; then the rounder mantissa; then the larger step.
    fn beats(&self, other: &Self) -> bool {
        self.score
            .total_cmp(&other.score)
            .then(self.rank.cmp(&other.rank))
            .then(other.step.total_cmp(&self.step))
            .is_lt()
    }
}

/// `m * 10^p`, dividing for negative `p` so decimal steps like 0.1 are correctly rounded.
fn pow10_mul(m: f64, p: i32) -> f64 {
    if p >= 0 {
        m * 10f64.powi(p)
    } else {
        m / 10f64.powi(-p)
    }
}

/// Nice ticks (1, 2, 2.5 or 5 × 10^k apart) covering `lo..=hi`, about [`TICK_TARGET`] of them.
///
/// With `integers` (all data values are whole, e.g. steps, epochs, counts) only whole steps
/// are used: an epoch axis reads 0, 2, 4 rather than 0, 2.5, 5, and a single step 3 gets
/// ticks 2, 3, 4 rather than 2.8, 3, 3.2.
fn nice_axis(lo: f64, hi: f64, integers: bool) -> Axis {
    let (lo, hi) = padded_range(lo, hi);
    let raw = (hi - lo) / (TICK_TARGET - 1.0);
    let e = raw.log10().floor();
    if !e.is_finite() {
        return fallback_axis(lo, hi);
    }
    let e = e as i32;

    // (mant, shift of p, rank): steps 1, 2, 5 × 10^k and 2.5 × 10^k = 25 × 10^(k-1).
    const MANTISSAS: [(f64, i32, u8); 4] = [(1.0, 0, 0), (2.0, 0, 1), (5.0, 0, 2), (25.0, -1, 3)];
    let mut best: Option<Candidate> = None;
    // Whole steps need k >= 0: always offer k = 0 for integer data.
    let k_max = if integers { (e + 1).max(0) } else { e + 1 };
    for k in (e - 1)..=k_max {
        for (mant, shift, rank) in MANTISSAS {
            let p = k + shift;
            if integers && p < 0 {
                continue;
            }
            let step = pow10_mul(mant, p);
            if !(step.is_finite() && step > 0.0) {
                continue;
            }
            // The tolerance keeps float noise (0.3 / 0.1 = 2.9999…) from adding a tick.
            let i0 = (lo / step + 1e-9).floor();
            let i1 = (hi / step - 1e-9).ceil();
            let count = i1 - i0 + 1.0;
            if !count.is_finite() || count < 2.0 {
                continue;
            }
            let candidate = Candidate {
                score: (count - TICK_TARGET).abs(),
                rank,
                mant,
                p,
                step,
                i0,
                i1,
            };
            if best.as_ref().is_none_or(|b| candidate.beats(b)) {
                best = Some(candidate);
            }
        }
    }
    let Some(Candidate {
        mant,
        p,
        step,
        i0,
        i1,
        ..
    }) = best
    else {
        return fallback_axis(lo, hi);
    };

    let values: Vec<f64> = (0..)
        .map(|i| i0 + i as f64)
        .take_while(|i| *i <= i1)
        .take(64)
        .map(|i| pow10_mul(i * mant, p) + 0.0)
        .filter(|v| v.is_finite())
        .collect();
    let (Some(&min), Some(&max)) = (values.first(), values.last()) else {
        return fallback_axis(lo, hi);
    };
    if max <= min {
        return fallback_axis(lo, hi);
    }
    let labels = tick_labels(&values, step, p);
    Axis {
        min,
        max,
        ticks: values.into_iter().zip(labels).collect(),
    }
}

/// Two ticks at the ends; only reachable through float edge cases the search rejected.
fn fallback_axis(lo: f64, hi: f64) -> Axis {
    let (lo, hi) = if hi > lo && (hi - lo).is_finite() {
        (lo, hi)
    } else {
        (0.0, 1.0)
    };
    Axis {
        min: lo,
        max: hi,
        ticks: vec![(lo, fmt_sig(lo)), (hi, fmt_sig(hi))],
    }
}

/// Labels for ticks `step = mant × 10^p` apart: exactly as many decimals as the step needs
/// (so 0.25 is never shown as 0.2), trailing zeros dropped (so integers have no decimals).
/// Axes reaching 1e6, or staying below 1e-3, use compact scientific form ("1.5e6", "2e-5").
fn tick_labels(values: &[f64], step: f64, p: i32) -> Vec<String> {
    let max_abs = values.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let sci = max_abs >= 1e6 || (max_abs > 0.0 && max_abs < 1e-3);
    values
        .iter()
        .map(|&v| {
            if v.abs() < step * 1e-6 {
                "0".to_string()
            } else if sci {
                let exp = sci_exponent(v);
                let decimals = (exp - p).clamp(0, 17) as usize;
                trim_sci(&format!("{v:.decimals$e}"))
            } else {
                let decimals = (-p).clamp(0, 17) as usize;
                trim_decimals(&format!("{v:.decimals$}"))
            }
        })
        .collect()
}

/// Decimal exponent of `v` as Rust's shortest `{:e}` form writes it (no log10 off-by-one).
fn sci_exponent(v: f64) -> i32 {
    let s = format!("{v:e}");
    s.split_once('e')
        .and_then(|(_, e)| e.parse().ok())
        .unwrap_or(0)
}

fn trim_decimals(s: &str) -> String {
    if s.contains('.') {
        let t = s.trim_end_matches('0').trim_end_matches('.');
        if t == "-0" {
            "0".to_string()
        } else {
            t.to_string()
        }
    } else {
        s.to_string()
    }
}

fn trim_sci(s: &str) -> String {
    match s.split_once('e') {
        Some((mantissa, exp)) => format!("{}e{exp}", trim_decimals(mantissa)),
        None => s.to_string(),
    }
}

/// A value to at most 4 significant digits, compact: `0.0421`, `12`, `1235`, `1.5e6`, `2e-5`.
/// Integers of up to 6 digits are shown whole (a step count should not lose digits).
fn fmt_sig(v: f64) -> String {
    if !v.is_finite() {
        return "–".to_string();
    }
    if v == 0.0 {
        return "0".to_string();
    }
    let a = v.abs();
    if !(1e-3..1e6).contains(&a) {
        return trim_sci(&format!("{v:.3e}"));
    }
    let magnitude = a.log10().floor() as i32;
    let decimals = (3 - magnitude).clamp(0, 6) as usize;
    trim_decimals(&format!("{v:.decimals$}"))
}

/// Output colours are `&'static str` from [`PALETTE`]; deserialising maps a string back to
/// the palette entry, so charts can also travel through server functions.
fn palette_color<'de, D>(deserializer: D) -> Result<Color, D::Error>
where
    D: serde::Deserializer<'de>,
{
    let s = String::deserialize(deserializer)?;
    PALETTE
        .iter()
        .find(|c| c.eq_ignore_ascii_case(&s))
        .copied()
        .ok_or_else(|| serde::de::Error::custom(format!("colour {s:?} is not in the palette")))
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
