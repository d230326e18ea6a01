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

mod axis;
mod bar;
mod data;
mod layout;
mod line;
#[cfg(test)]
mod tests;
mod types;

pub use bar::bar_chart;
pub use line::line_chart;
pub use types::{
    AxisLabel, Bar, BarChart, ChartSpec, Color, Line, LineChart, PlacedBar, PlotPoint, Point, Rect,
    Series, Tick, DOWNSAMPLE_ABOVE, DOWNSAMPLE_TO, PALETTE,
};
