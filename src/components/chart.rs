//! Charts as SVG, from the pure geometry in `crate::charts`. They render on
//! the server (visible before hydration and in printed reports); after
//! hydration, hovering a point shows its value under the chart.

use leptos::prelude::*;

use crate::charts::{BarChart, LineChart};

fn fmt(v: f64) -> String {
    format!("{v:.2}")
}

#[component]
pub fn LineChartView(chart: LineChart, title: String) -> impl IntoView {
    let hovered = RwSignal::new(None::<String>);
    let plot = chart.plot;
    let legend = chart
        .lines
        .iter()
        .map(|l| (l.label.clone(), l.color))
        .collect::<Vec<_>>();
    let show_legend = legend.len() > 1;
    let empty = chart.empty;
    view! {
        <figure class="chart">
            <figcaption>{title.clone()}</figcaption>
            <svg viewBox=format!("0 0 {} {}", fmt(chart.width), fmt(chart.height)) role="img" aria-label=title class="chart-svg">
                {chart.y_ticks.iter().map(|t| view! {
                    <line class="grid" x1=fmt(plot.x) x2=fmt(plot.x + plot.width) y1=fmt(t.pos) y2=fmt(t.pos)/>
                    <text class="tick" x=fmt(t.label_x) y=fmt(t.label_y) text-anchor="end" dominant-baseline="middle">{t.label.clone()}</text>
                }).collect_view()}
                {chart.x_ticks.iter().map(|t| view! {
                    <line class="grid" x1=fmt(t.pos) x2=fmt(t.pos) y1=fmt(plot.y) y2=fmt(plot.y + plot.height)/>
                    <text class="tick" x=fmt(t.label_x) y=fmt(t.label_y) text-anchor="middle">{t.label.clone()}</text>
                }).collect_view()}
                <rect class="frame" x=fmt(plot.x) y=fmt(plot.y) width=fmt(plot.width) height=fmt(plot.height) fill="none"/>
                <text class="axis-label" x=fmt(chart.x_label.x) y=fmt(chart.x_label.y) text-anchor="middle">{chart.x_label.text.clone()}</text>
                <text class="axis-label" x=fmt(chart.y_label.x) y=fmt(chart.y_label.y) text-anchor="middle"
                    transform=format!("rotate(-90 {} {})", fmt(chart.y_label.x), fmt(chart.y_label.y))>{chart.y_label.text.clone()}</text>
                {chart.lines.into_iter().map(|line| {
                    let color = line.color;
                    let label = line.label.clone();
                    view! {
                        <g class="series">
                            <path d=line.path fill="none" stroke=color stroke-width="2"/>
                            {line.points.into_iter().map(|p| {
                                let readout = format!("{label}: {}", p.readout);
                                let text = readout.clone();
                                view! {
                                    <circle cx=fmt(p.x) cy=fmt(p.y) r="3" fill=color
                                        on:mouseenter=move |_| hovered.set(Some(text.clone()))>
                                        <title>{readout}</title>
                                    </circle>
                                }
                            }).collect_view()}
                        </g>
                    }
                }).collect_view()}
                <Show when=move || empty>
                    <text class="no-data" x=fmt(plot.x + plot.width / 2.0) y=fmt(plot.y + plot.height / 2.0) text-anchor="middle">"no data"</text>
                </Show>
            </svg>
            <Show when=move || show_legend>
                <ul class="legend">
                    {legend.clone().into_iter().map(|(label, color)| view! {
                        <li><span class="swatch" style=format!("background:{color}")></span>{label}</li>
                    }).collect_view()}
                </ul>
            </Show>
            <p class="chart-readout" aria-live="polite">{move || hovered.get().unwrap_or_default()}</p>
        </figure>
    }
}

#[component]
pub fn BarChartView(chart: BarChart, title: String) -> impl IntoView {
    let hovered = RwSignal::new(None::<String>);
    let plot = chart.plot;
    let rotate = chart.rotate_labels;
    let empty = chart.empty;
    view! {
        <figure class="chart">
            <figcaption>{title.clone()}</figcaption>
            <svg viewBox=format!("0 0 {} {}", fmt(chart.width), fmt(chart.height)) role="img" aria-label=title class="chart-svg">
                {chart.y_ticks.iter().map(|t| view! {
                    <line class="grid" x1=fmt(plot.x) x2=fmt(plot.x + plot.width) y1=fmt(t.pos) y2=fmt(t.pos)/>
                    <text class="tick" x=fmt(t.label_x) y=fmt(t.label_y) text-anchor="end" dominant-baseline="middle">{t.label.clone()}</text>
                }).collect_view()}
                <line class="zero" x1=fmt(plot.x) x2=fmt(plot.x + plot.width) y1=fmt(chart.zero_y) y2=fmt(chart.zero_y)/>
                <text class="axis-label" x=fmt(chart.y_label.x) y=fmt(chart.y_label.y) text-anchor="middle"
                    transform=format!("rotate(-90 {} {})", fmt(chart.y_label.x), fmt(chart.y_label.y))>{chart.y_label.text.clone()}</text>
                {chart.bars.into_iter().map(|b| {
                    let readout = format!("{}: {}", b.label, b.value_label);
                    let text = readout.clone();
                    let (lx, ly) = (fmt(b.label_pos.x), fmt(b.label_pos.y));
                    let transform = rotate.then(|| format!("rotate(-45 {lx} {ly})"));
                    view! {
                        <g class="bar">
                            <rect x=fmt(b.x) y=fmt(b.y) width=fmt(b.width) height=fmt(b.height) fill=b.color
                                on:mouseenter=move |_| hovered.set(Some(text.clone()))>
                                <title>{readout}</title>
                            </rect>
                            <text class="tick" x=lx.clone() y=ly.clone() text-anchor=if rotate { "end" } else { "middle" } transform=transform>{b.label}</text>
                        </g>
                    }
                }).collect_view()}
                <Show when=move || empty>
                    <text class="no-data" x=fmt(plot.x + plot.width / 2.0) y=fmt(plot.y + plot.height / 2.0) text-anchor="middle">"no data"</text>
                </Show>
            </svg>
            <p class="chart-readout" aria-live="polite">{move || hovered.get().unwrap_or_default()}</p>
        </figure>
    }
}
