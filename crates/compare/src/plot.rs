//! SVG charts of comparisons (plotters, SVG backend): per-executor lines
//! of wall time or hosts/s against the swept value, or one bar per
//! executor for a single comparison.

use std::path::Path;

use plotters::coord::ranged1d::SegmentValue;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::MeasureError;
use crate::result::{Comparison, ExecutorResult};

/// What the chart shows on its y axis.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Metric {
    /// Median wall time, seconds.
    Wall,
    /// Hosts per second.
    HostsPerSecond,
}

impl Metric {
    fn value(self, r: &ExecutorResult) -> f64 {
        match self {
            Metric::Wall => r.wall.as_secs_f64(),
            Metric::HostsPerSecond => r.hosts_per_s(),
        }
    }

    fn label(self) -> &'static str {
        match self {
            Metric::Wall => "wall time (s)",
            Metric::HostsPerSecond => "hosts per second",
        }
    }
}

/// The same colour for an executor in every chart.
fn color(executor: &str, index: usize) -> RGBColor {
    match executor {
        "seq" => RGBColor(110, 110, 110),
        "process" => RGBColor(214, 39, 40),
        "threads" => RGBColor(31, 119, 180),
        "rayon" => RGBColor(44, 160, 44),
        "async" => RGBColor(148, 103, 189),
        _ => {
            let (r, g, b) = Palette99::pick(index).rgb();
            RGBColor(r, g, b)
        }
    }
}

fn error(path: &Path, e: impl std::fmt::Display) -> MeasureError {
    MeasureError::Plot {
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

/// Lines per executor of `metric` against the swept `param` (log-log
/// axes: sweeps usually span decades), one point per comparison.
pub fn sweep_chart(
    path: &Path,
    param: &str,
    points: &[Comparison],
    metric: Metric,
) -> Result<(), MeasureError> {
    let mut executors: Vec<String> = Vec::new();
    for c in points {
        for r in &c.results {
            if !executors.contains(&r.executor) {
                executors.push(r.executor.clone());
            }
        }
    }
    let series: Vec<(String, Vec<(f64, f64)>)> = executors
        .into_iter()
        .map(|e| {
            let data = points
                .iter()
                .filter_map(|c| {
                    let x = c.sweep.as_ref()?.1 as f64;
                    let r = c.results.iter().find(|r| r.executor == e)?;
                    let y = metric.value(r);
                    (x > 0.0 && y > 0.0).then_some((x, y))
                })
                .collect();
            (e, data)
        })
        .collect();
    let all: Vec<(f64, f64)> = series.iter().flat_map(|(_, d)| d.iter().copied()).collect();
    if all.is_empty() {
        return Err(error(path, "no executor produced a result to plot"));
    }
    let (x_min, x_max) = all.iter().fold((f64::MAX, f64::MIN), |(lo, hi), p| {
        (lo.min(p.0), hi.max(p.0))
    });
    let (y_min, y_max) = all.iter().fold((f64::MAX, f64::MIN), |(lo, hi), p| {
        (lo.min(p.1), hi.max(p.1))
    });
    let task = points.first().map(|c| c.task.as_str()).unwrap_or("");

    let root = SVGBackend::new(path, (900, 560)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| error(path, e))?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            format!("fanout compare: {task}, {} vs {param}", metric.label()),
            ("sans-serif", 26),
        )
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(70)
        .build_cartesian_2d(
            (x_min / 1.4..x_max * 1.4).log_scale(),
            (y_min / 1.6..y_max * 1.6).log_scale(),
        )
        .map_err(|e| error(path, e))?;
    chart
        .configure_mesh()
        .x_desc(param)
        .y_desc(metric.label())
        .label_style(("sans-serif", 16))
        .axis_desc_style(("sans-serif", 18))
        .light_line_style(TRANSPARENT)
        .x_labels(8)
        .y_labels(8)
        .x_label_formatter(&|v| format!("{v:.0}"))
        .y_label_formatter(&|v| {
            if *v >= 10.0 {
                format!("{v:.0}")
            } else {
                format!("{v:.2}")
            }
        })
        .draw()
        .map_err(|e| error(path, e))?;
    for (i, (name, data)) in series.iter().enumerate() {
        let c = color(name, i);
        chart
            .draw_series(LineSeries::new(data.iter().copied(), c.stroke_width(2)))
            .map_err(|e| error(path, e))?
            .label(name.as_str())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(2)));
        chart
            .draw_series(data.iter().map(|p| Circle::new(*p, 4, c.filled())))
            .map_err(|e| error(path, e))?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", 16))
        .draw()
        .map_err(|e| error(path, e))?;
    root.present().map_err(|e| error(path, e))
}

/// One bar per executor of a single comparison.
pub fn bar_chart(path: &Path, c: &Comparison, metric: Metric) -> Result<(), MeasureError> {
    if c.results.is_empty() {
        return Err(error(path, "no executor produced a result to plot"));
    }
    let names: Vec<String> = c.results.iter().map(|r| r.executor.clone()).collect();
    let values: Vec<f64> = c.results.iter().map(|r| metric.value(r)).collect();
    let top = values.iter().copied().fold(0.0, f64::max).max(1e-6) * 1.15;
    let root = SVGBackend::new(path, (900, 560)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| error(path, e))?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            format!(
                "fanout compare: {} on {} hosts, {}",
                c.task,
                c.hosts,
                metric.label()
            ),
            ("sans-serif", 26),
        )
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(70)
        .build_cartesian_2d((0..names.len() - 1).into_segmented(), 0.0..top)
        .map_err(|e| error(path, e))?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .y_desc(metric.label())
        .label_style(("sans-serif", 16))
        .axis_desc_style(("sans-serif", 18))
        .x_labels(names.len())
        .x_label_formatter(&|v| match v {
            SegmentValue::CenterOf(i) | SegmentValue::Exact(i) => {
                names.get(*i).cloned().unwrap_or_default()
            }
            SegmentValue::Last => String::new(),
        })
        .draw()
        .map_err(|e| error(path, e))?;
    chart
        .draw_series(values.iter().enumerate().map(|(i, v)| {
            let mut bar = Rectangle::new(
                [
                    (SegmentValue::Exact(i), 0.0),
                    (SegmentValue::Exact(i + 1), *v),
                ],
                color(&names[i], i).filled(),
            );
            bar.set_margin(0, 0, 20, 20);
            bar
        }))
        .map_err(|e| error(path, e))?;
    chart
        .draw_series(values.iter().enumerate().map(|(i, v)| {
            let text = match metric {
                Metric::Wall => crate::render::fmt_time(std::time::Duration::from_secs_f64(*v)),
                Metric::HostsPerSecond => format!("{v:.0}/s"),
            };
            Text::new(
                text,
                (SegmentValue::CenterOf(i), *v + top * 0.01),
                ("sans-serif", 16)
                    .into_font()
                    .color(&BLACK)
                    .pos(Pos::new(HPos::Center, VPos::Bottom)),
            )
        }))
        .map_err(|e| error(path, e))?;
    root.present().map_err(|e| error(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::result::tests::result;

    fn comparison(value: u64, scale: u64) -> Comparison {
        Comparison {
            task: "sleep 10ms".into(),
            hosts: value as usize,
            source: "--synthetic".into(),
            cores: 2,
            repeat: 1,
            sweep: Some(("hosts".into(), value)),
            results: vec![
                result("seq", 1, value as usize, 10 * value * scale, 1, 0),
                result("async", 100, value as usize, 12 * scale, 1, 0),
            ],
            skipped: Vec::new(),
            fleet_cpu: None,
            estimates: Vec::new(),
            verdict: crate::verdict::Verdict::default(),
            explanation: None,
        }
    }

    #[test]
    fn sweep_and_bar_charts_are_svg_with_every_executor() {
        let dir = tempfile::tempdir().unwrap();
        let points = [comparison(10, 1), comparison(100, 1), comparison(1000, 1)];
        let path = dir.path().join("sweep.svg");
        sweep_chart(&path, "hosts", &points, Metric::Wall).unwrap();
        let svg = std::fs::read_to_string(&path).unwrap();
        assert!(svg.starts_with("<svg"), "{}", &svg[..100.min(svg.len())]);
        for text in ["seq", "async", "hosts", "wall time (s)"] {
            assert!(
                svg.contains(&format!(">{text}<")) || svg.contains(text),
                "{text} missing"
            );
        }
        assert!(
            svg.matches("<circle").count() >= 6,
            "a point per executor and value"
        );

        let bars = dir.path().join("bars.svg");
        bar_chart(&bars, &points[1], Metric::HostsPerSecond).unwrap();
        let svg = std::fs::read_to_string(&bars).unwrap();
        assert!(svg.contains("hosts per second") && svg.contains("async"));

        let mut empty = points[0].clone();
        empty.results.clear();
        assert!(bar_chart(&bars, &empty, Metric::Wall).is_err());
        assert!(sweep_chart(&path, "hosts", &[empty], Metric::Wall).is_err());
    }
}
