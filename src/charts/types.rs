//! The charts' inputs and outputs (specs, series, placed ticks, lines and
//! bars), the palette and the layout constants every part shares.

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
pub(super) const BAR_COLOR: Color = PALETTE[0];
/// Negative bars get a second colour, so the sign reads at a glance, not only from direction.
pub(super) const NEGATIVE_BAR_COLOR: Color = PALETTE[3];

/// About this many ticks per axis (the chosen nice step lands as close to it as it can).
pub(super) const TICK_TARGET: f64 = 5.0;
/// Values beyond this magnitude are clamped for geometry only (readouts keep the true
/// value): no chart can tell 1e300 from f64::MAX, and clamping keeps `hi - lo` finite.
pub(super) const MAX_MAGNITUDE: f64 = 1e300;
/// Spans narrower than this are treated as a single value: keeps powers of ten in the tick
/// arithmetic far from underflow.
pub(super) const MIN_SPAN: f64 = 1e-250;
/// Spans narrower than this fraction of the values' magnitude are float noise around one
/// value; ticks that close could not be told apart in labels.
pub(super) const MIN_RELATIVE_SPAN: f64 = 1e-12;

pub(super) const DEFAULT_WIDTH: f64 = 640.0;
pub(super) const DEFAULT_HEIGHT: f64 = 320.0;
pub(super) const MIN_WIDTH: f64 = 120.0;
pub(super) const MIN_HEIGHT: f64 = 80.0;
pub(super) const MAX_SIDE: f64 = 16_000.0;

/// Label font size the margins are planned for (the view should use 12px text).
pub(super) const FONT: f64 = 12.0;
/// Estimated advance of one character at [`FONT`]; only used to reserve margin space.
pub(super) const CHAR_WIDTH: f64 = 7.0;
/// Space between the outer edge and the axis labels, and between tick labels and the axis.
pub(super) const PAD: f64 = 6.0;
/// Labels longer than this get no more margin (they may overflow instead).
pub(super) const MAX_LABEL_CHARS: usize = 20;

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

/// Output colours are `&'static str` from [`PALETTE`]; deserialising maps a string back to
/// the palette entry, so charts can also travel through server functions.
pub(super) fn palette_color<'de, D>(deserializer: D) -> Result<Color, D::Error>
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
