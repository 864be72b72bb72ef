//! The log-log plot of time per block against node count, one panel per graph shape.

use std::error::Error;
use std::path::Path;

use plotters::prelude::*;
use plotters::style::{FontStyle, register_font};

use crate::Row;
use crate::engines::{AETHERDSP, DASP_GRAPH, FUNDSP};

/// Panels, left to right.
const TOPOLOGIES: [(&str, &str); 3] = [
    ("chain_noop", "Chain of noop nodes"),
    ("chain_gain", "Chain: source + gain nodes"),
    ("wide", "Wide: N sources into 8-input mixers"),
];

/// Engines and their colours.
const ENGINES: [(&str, RGBColor); 3] = [
    (AETHERDSP, RGBColor(214, 39, 40)),
    (FUNDSP, RGBColor(31, 119, 180)),
    (DASP_GRAPH, RGBColor(44, 160, 44)),
];

/// Draws `rows` into a PNG at `png`, with text in the TrueType font at `font`.
pub fn draw(png: &Path, font: &Path, rows: &[Row]) -> Result<(), Box<dyn Error>> {
    let bytes = std::fs::read(font).map_err(|e| {
        format!(
            "cannot read the plot font {} ({e}); install the Debian package fonts-dejavu-core \
             or pass --font with another TrueType file",
            font.display()
        )
    })?;
    register_font(
        "sans-serif",
        FontStyle::Normal,
        Box::leak(bytes.into_boxed_slice()),
    )
    .map_err(|_| format!("{} is not a usable TrueType font", font.display()))?;
    if let Some(parent) = png.parent() {
        std::fs::create_dir_all(parent)?;
    }

    let root = BitMapBackend::new(png, (1800, 640)).into_drawing_area();
    root.fill(&WHITE)?;
    let (title, body) = root.split_vertically(50);
    title.titled(
        "AetherDSP and peers: time per 64-sample block (median of interleaved rounds, log-log)",
        ("sans-serif", 24),
    )?;
    let panels = body.split_evenly((1, TOPOLOGIES.len()));
    for (panel, (topology, caption)) in panels.iter().zip(TOPOLOGIES) {
        let points: Vec<&Row> = rows.iter().filter(|r| r.topology == topology).collect();
        if points.is_empty() {
            continue;
        }
        let max_nodes = points.iter().map(|r| r.nodes).max().unwrap_or(1) as f64;
        let (low, high) = points.iter().fold((f64::MAX, 0.0f64), |(lo, hi), r| {
            (lo.min(r.median_ns), hi.max(r.median_ns))
        });
        let mut chart = ChartBuilder::on(panel)
            .caption(caption, ("sans-serif", 20))
            .margin(12)
            .x_label_area_size(45)
            .y_label_area_size(70)
            .build_cartesian_2d(
                (0.8f64..max_nodes * 1.5).log_scale(),
                (low.max(1.0) * 0.5..high * 2.0).log_scale(),
            )?;
        chart
            .configure_mesh()
            .x_desc("nodes in the graph")
            .y_desc("ns per block (lower is better)")
            .x_label_formatter(&|nodes| format!("{nodes:.0}"))
            .y_label_formatter(&|ns| format!("{ns:.0}"))
            .label_style(("sans-serif", 14))
            .axis_desc_style(("sans-serif", 16))
            .draw()?;
        for (engine, color) in ENGINES {
            let mut series: Vec<(f64, f64)> = points
                .iter()
                .filter(|r| r.engine == engine)
                .map(|r| (r.nodes as f64, r.median_ns))
                .collect();
            if series.is_empty() {
                continue;
            }
            series.sort_by(|a, b| a.0.total_cmp(&b.0));
            chart
                .draw_series(LineSeries::new(series.clone(), color.stroke_width(2)))?
                .label(engine)
                .legend(move |(x, y)| {
                    PathElement::new([(x, y), (x + 20, y)], color.stroke_width(2))
                });
            chart.draw_series(
                series
                    .iter()
                    .map(|&point| Circle::new(point, 4, color.filled())),
            )?;
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .label_font(("sans-serif", 15))
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()?;
    }
    root.present()?;
    Ok(())
}
