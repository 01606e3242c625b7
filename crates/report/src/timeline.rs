//! `fanout run --timeline FILE.svg`: one bar per host against wall time,
//! coloured by phase (queued, connect, auth, command), so the shape of a
//! concurrency model shows at a glance — seq's staircase, threads' blocks
//! of `-c`, async's single wave. Drawn after the run from the outcomes'
//! [`PhaseTimings`] (`queued` is from the run's start to the host's
//! start on every executor). Above [`MAX_ROWS`] hosts, consecutive hosts
//! share a row (their mean bar, and a thin line from the first start to
//! the last end among them).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use fanout_core::{HostOutcome, PhaseTimings, Status};
use plotters::coord::ranged1d::SegmentValue;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// Most rows drawn; more hosts are binned, in inventory order.
pub const MAX_ROWS: usize = 200;

const WIDTH: u32 = 1100;
const LEGEND_H: u32 = 70;

/// What a timeline needs of one host.
#[derive(Clone, Debug, PartialEq)]
pub struct TimelineHost {
    /// Host name.
    pub host: String,
    /// How it ended (a not-ok host's bar has a red outline).
    pub status: Status,
    /// Its phase timings.
    pub timings: PhaseTimings,
}

impl From<&HostOutcome> for TimelineHost {
    fn from(o: &HostOutcome) -> Self {
        Self {
            host: o.host.clone(),
            status: o.status,
            timings: o.timings,
        }
    }
}

impl TimelineHost {
    /// When the host's outcome came, from the run's start.
    pub fn end(&self) -> Duration {
        self.timings.queued + self.timings.total
    }
}

/// A timeline could not be written.
#[derive(Debug, thiserror::Error)]
#[error("--timeline {path}: {message}")]
pub struct TimelineError {
    path: String,
    message: String,
}

fn error(path: &Path, e: impl std::fmt::Display) -> TimelineError {
    TimelineError {
        path: path.display().to_string(),
        message: format!("{e}; check that the folder exists and is writable"),
    }
}

/// Collects the hosts of a run as their outcomes arrive and hands them
/// back in inventory order (rows follow the inventory, whatever the
/// completion order). Keeps only the timings, not the outputs.
#[derive(Debug)]
pub struct TimelineRecorder {
    index: HashMap<String, usize>,
    rows: Vec<Option<TimelineHost>>,
    extra: Vec<TimelineHost>,
}

impl TimelineRecorder {
    /// A recorder for hosts named `names`, in inventory order.
    pub fn new<'a>(names: impl IntoIterator<Item = &'a str>) -> Self {
        let mut index = HashMap::new();
        for name in names {
            let next = index.len();
            index.entry(name.to_string()).or_insert(next);
        }
        let rows = vec![None; index.len()];
        Self {
            index,
            rows,
            extra: Vec::new(),
        }
    }

    /// Records one host's outcome.
    pub fn record(&mut self, outcome: &HostOutcome) {
        let host = TimelineHost::from(outcome);
        match self.index.get(&outcome.host) {
            Some(&i) if self.rows[i].is_none() => self.rows[i] = Some(host),
            _ => self.extra.push(host),
        }
    }

    /// The hosts recorded, in inventory order.
    pub fn hosts(self) -> Vec<TimelineHost> {
        self.rows.into_iter().flatten().chain(self.extra).collect()
    }
}

/// The phases of a bar, in order, with their colours and legend names.
const PHASES: [(&str, RGBColor); 5] = [
    ("queued (waiting to start)", RGBColor(215, 215, 215)),
    ("connect", RGBColor(255, 160, 50)),
    ("auth", RGBColor(235, 200, 40)),
    ("command / sleep / cpu", RGBColor(45, 120, 200)),
    ("retries, backoff, rest", RGBColor(150, 110, 190)),
];

/// One row: the phase boundaries (seconds from the run's start), and the
/// first start and last end among its hosts.
struct Row {
    label: String,
    edges: [f64; 6],
    first: f64,
    last: f64,
    failed: bool,
}

fn edges(t: &PhaseTimings) -> [f64; 6] {
    let q = t.queued.as_secs_f64();
    let c = q + t.connect.as_secs_f64();
    let a = c + t.auth.as_secs_f64();
    let cmd = a + t.command.as_secs_f64();
    let end = (q + t.total.as_secs_f64()).max(cmd);
    [0.0, q, c, a, cmd, end]
}

fn rows(hosts: &[TimelineHost]) -> Vec<Row> {
    let per_row = hosts.len().div_ceil(MAX_ROWS).max(1);
    hosts
        .chunks(per_row)
        .enumerate()
        .map(|(i, chunk)| {
            let all: Vec<[f64; 6]> = chunk.iter().map(|h| edges(&h.timings)).collect();
            let n = all.len() as f64;
            let mut mean = [0.0; 6];
            for e in &all {
                for (m, v) in mean.iter_mut().zip(e) {
                    *m += v / n;
                }
            }
            let label = if per_row == 1 {
                chunk[0].host.clone()
            } else {
                format!("hosts {}-{}", i * per_row + 1, i * per_row + chunk.len())
            };
            Row {
                label,
                edges: mean,
                first: all.iter().map(|e| e[1]).fold(f64::MAX, f64::min),
                last: all.iter().map(|e| e[5]).fold(0.0, f64::max),
                failed: chunk.iter().any(|h| h.status != Status::Ok),
            }
        })
        .collect()
}

/// The longest a host of `hosts` took to finish from the run's start
/// (the x axis a timeline needs).
pub fn span(hosts: &[TimelineHost]) -> Duration {
    hosts
        .iter()
        .map(TimelineHost::end)
        .max()
        .unwrap_or_default()
}

/// Writes the timeline of `hosts` (in the order rows are drawn) to the SVG
/// file `path`, titled `title`. `scale` is the x axis' end (for pictures
/// compared side by side); by default the last host's end.
pub fn write_timeline(
    path: &Path,
    title: &str,
    hosts: &[TimelineHost],
    scale: Option<Duration>,
) -> Result<(), TimelineError> {
    let rows = rows(hosts);
    let n = rows.len().max(1);
    let row_h: u32 = match n {
        0..=30 => 22,
        31..=80 => 10,
        _ => 4,
    };
    let height = LEGEND_H + 110 + row_h * n as u32;
    let x_end = scale
        .unwrap_or_else(|| span(hosts))
        .as_secs_f64()
        .max(0.001)
        * 1.02;
    let root = SVGBackend::new(path, (WIDTH, height)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| error(path, e))?;
    let (top, chart_area) = root.split_vertically(LEGEND_H);
    draw_legend(&top, title, hosts.len(), rows.len()).map_err(|e| error(path, e))?;
    let label_w = if rows.len() == hosts.len() { 90 } else { 110 };
    let mut chart = ChartBuilder::on(&chart_area)
        .margin_left(10)
        .margin_right(25)
        .margin_bottom(10)
        .x_label_area_size(45)
        .y_label_area_size(label_w)
        .build_cartesian_2d(0.0..x_end, (0..n - 1).into_segmented())
        .map_err(|e| error(path, e))?;
    let labels: Vec<String> = rows.iter().map(|r| r.label.clone()).collect();
    let every = n.div_ceil(30).max(1);
    chart
        .configure_mesh()
        .x_desc("wall time since the run started (s)")
        .y_desc(if rows.len() == hosts.len() {
            "host (inventory order)"
        } else {
            "hosts, binned (inventory order)"
        })
        .label_style(("sans-serif", 13))
        .axis_desc_style(("sans-serif", 15))
        .disable_y_mesh()
        .light_line_style(RGBColor(238, 238, 238))
        .bold_line_style(RGBColor(200, 200, 200))
        .x_labels(12)
        .y_labels(n)
        .x_label_formatter(&|v| format!("{v:.2}"))
        .y_label_formatter(&|v| match v {
            // Segment i is row n-1-i, counted from the top.
            SegmentValue::CenterOf(i) if *i < n => {
                let k = n - 1 - i;
                if k.is_multiple_of(every) {
                    labels.get(k).cloned().unwrap_or_default()
                } else {
                    String::new()
                }
            }
            _ => String::new(),
        })
        .draw()
        .map_err(|e| error(path, e))?;
    // Rows from the top: row k is segment n-1-k.
    let pad = if row_h >= 10 { 3 } else { 0 };
    let binned = rows.len() != hosts.len();
    let mut bars = Vec::new();
    for (k, r) in rows.iter().enumerate() {
        let y0 = SegmentValue::Exact(n - k - 1);
        let y1 = SegmentValue::Exact(n - k);
        let rect = |a: f64, b: f64, style: ShapeStyle, margin: u32| {
            let mut rect = Rectangle::new([(a, y0.clone()), (b, y1.clone())], style);
            rect.set_margin(margin, margin, 0, 0);
            rect
        };
        if binned && r.last > r.first {
            bars.push(rect(
                r.first,
                r.last,
                BLACK.mix(0.45).filled(),
                (row_h / 2).saturating_sub(1),
            ));
        }
        for (p, (_, colour)) in PHASES.iter().enumerate() {
            let (a, b) = (r.edges[p], r.edges[p + 1]);
            if b > a {
                bars.push(rect(a, b, colour.filled(), pad));
            }
        }
        if r.failed {
            bars.push(rect(r.edges[1], r.edges[5], RED.stroke_width(2), pad));
        }
    }
    chart.draw_series(bars).map_err(|e| error(path, e))?;
    root.present().map_err(|e| error(path, e))
}

fn draw_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    title: &str,
    hosts: usize,
    rows: usize,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let left = Pos::new(HPos::Left, VPos::Center);
    let shown = if rows == hosts {
        format!("{title} — {hosts} hosts, one bar each")
    } else {
        format!(
            "{title} — {hosts} hosts, {} per row (mean bar; grey line: first start to last end)",
            hosts.div_ceil(rows.max(1))
        )
    };
    area.draw(&Text::new(
        shown,
        (15, 18),
        ("sans-serif", 19)
            .into_font()
            .style(FontStyle::Bold)
            .color(&BLACK)
            .pos(left),
    ))?;
    let mut x = 15;
    for (name, colour) in PHASES {
        area.draw(&Rectangle::new([(x, 42), (x + 22, 58)], colour.filled()))?;
        area.draw(&Text::new(
            name,
            (x + 28, 50),
            ("sans-serif", 14).into_font().color(&BLACK).pos(left),
        ))?;
        x += 48 + 7 * name.len() as i32;
    }
    area.draw(&Rectangle::new(
        [(x, 42), (x + 22, 58)],
        RED.stroke_width(2),
    ))?;
    area.draw(&Text::new(
        "not ok",
        (x + 28, 50),
        ("sans-serif", 14).into_font().color(&BLACK).pos(left),
    ))?;
    Ok(())
}

/// `DIR/NAME.svg` for executor `name` of `fanout compare --timeline DIR`.
pub fn timeline_path(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!("timeline-{name}.svg"))
}

#[cfg(test)]
mod tests {
    use fanout_core::Worker;

    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn outcome(name: &str, queued: u64, command: u64) -> HostOutcome {
        let mut o = HostOutcome::ok(name, Vec::new(), Worker::Thread(0));
        o.timings = PhaseTimings {
            queued: ms(queued),
            connect: ms(10),
            auth: ms(5),
            command: ms(command),
            total: ms(15 + command),
        };
        o
    }

    /// Bars drawn in a phase's colour.
    fn bars(svg: &str, (r, g, b): (u8, u8, u8)) -> usize {
        let colour = format!("fill=\"#{r:02X}{g:02X}{b:02X}\"");
        svg.lines()
            .filter(|l| l.contains("<rect") && l.contains(&colour))
            .count()
    }

    #[test]
    fn a_small_run_has_one_bar_per_host_in_inventory_order_and_a_legend() {
        let names = ["r1", "r2", "r3"];
        let mut rec = TimelineRecorder::new(names);
        // Completion order is not inventory order.
        rec.record(&outcome("r3", 200, 100));
        rec.record(&outcome("r1", 0, 100));
        let mut failed = outcome("r2", 100, 50);
        failed.status = Status::Failed;
        rec.record(&failed);
        let hosts = rec.hosts();
        let order: Vec<&str> = hosts.iter().map(|h| h.host.as_str()).collect();
        assert_eq!(order, names);
        assert_eq!(span(&hosts), ms(315));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.svg");
        write_timeline(&path, "fanout run -e seq", &hosts, None).unwrap();
        let svg = std::fs::read_to_string(&path).unwrap();
        assert!(svg.starts_with("<svg"), "{}", &svg[..100]);
        for (name, colour) in PHASES {
            assert!(svg.contains(name), "legend entry {name} missing");
            let drawn = bars(&svg, (colour.0, colour.1, colour.2));
            // queued: r2 and r3 only (r1 started at once); the rest phase:
            // none; the others: one per host; +1 legend swatch each.
            let want = match name {
                n if n.starts_with("queued") => 2,
                n if n.starts_with("retries") => 0,
                _ => 3,
            } + 1;
            assert_eq!(drawn, want, "{name}: {drawn} rects");
        }
        for text in [
            "r1",
            "r2",
            "r3",
            "wall time since the run started (s)",
            "not ok",
        ] {
            assert!(svg.contains(&format!("\n{text}\n")), "{text} missing");
        }
    }

    #[test]
    fn many_hosts_are_binned_into_rows() {
        let names: Vec<String> = (0..1000).map(|i| format!("h{i}")).collect();
        let mut rec = TimelineRecorder::new(names.iter().map(String::as_str));
        for (i, n) in names.iter().enumerate() {
            rec.record(&outcome(n, i as u64, 100));
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.svg");
        write_timeline(&path, "big", &rec.hosts(), Some(ms(2000))).unwrap();
        let svg = std::fs::read_to_string(&path).unwrap();
        let (r, g, b) = (PHASES[3].1.0, PHASES[3].1.1, PHASES[3].1.2);
        assert_eq!(
            bars(&svg, (r, g, b)),
            MAX_ROWS + 1,
            "one command bar per row"
        );
        assert!(svg.contains("\nhosts 1-5\n"), "row labels name their hosts");
        assert!(svg.contains("5 per row"));
        // The given scale: the axis runs to 2 s although the run took 1.1 s.
        assert!(svg.contains("\n2.00\n"), "x axis to the given scale");
    }

    #[test]
    fn an_unwritable_path_is_an_error_naming_it() {
        let err = write_timeline(Path::new("/nonexistent-dir/t.svg"), "x", &[], None).unwrap_err();
        assert!(err.to_string().contains("/nonexistent-dir/t.svg"), "{err}");
    }
}
