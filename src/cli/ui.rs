//! The one place that writes to the terminal: data to stdout, status and errors to stderr,
//! progress bars (indicatif) on stderr only when it is a terminal and only after ~250 ms.

use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How the user asked output to look.
pub struct Ui {
    quiet: bool,
    json: bool,
}

impl Ui {
    /// A UI for these global flags.
    pub fn new(quiet: bool, json: bool) -> Ui {
        Ui { quiet, json }
    }

    /// Whether `--json` was given.
    pub fn json(&self) -> bool {
        self.json
    }

    /// Writes one line of data to stdout.
    #[allow(clippy::print_stdout)]
    pub fn out(&self, line: impl AsRef<str>) -> std::io::Result<()> {
        let mut stdout = std::io::stdout().lock();
        stdout.write_all(line.as_ref().as_bytes())?;
        stdout.write_all(b"\n")
    }

    /// Writes a JSON document to stdout.
    pub fn out_json(&self, value: &impl serde::Serialize) -> std::io::Result<()> {
        let text = serde_json::to_string_pretty(value).map_err(std::io::Error::other)?;
        self.out(text)
    }

    /// A status message on stderr (silent under `--quiet` and `--json`).
    pub fn status(&self, line: impl AsRef<str>) {
        if !self.quiet && !self.json {
            let _ = writeln!(std::io::stderr().lock(), "{}", line.as_ref());
        }
    }

    /// A warning on stderr (shown even under `--json`, which keeps stdout clean).
    pub fn warn(&self, line: impl AsRef<str>) {
        if !self.quiet {
            let _ = writeln!(std::io::stderr().lock(), "warning: {}", line.as_ref());
        }
    }

    /// An error message, always shown.
    pub fn error(&self, message: &str, hint: Option<&str>) {
        let mut stderr = std::io::stderr().lock();
        let _ = writeln!(stderr, "error: {message}");
        if let Some(hint) = hint {
            // Hints quote names from the repository in the commands they suggest.
            let _ = writeln!(stderr, "hint: {}", mvc::text::sanitize(hint));
        }
    }

    /// A progress reporter: indicatif on a terminal, silent otherwise.
    pub fn reporter(&self) -> Progress {
        let enabled = !self.quiet && !self.json && std::io::stderr().is_terminal();
        Progress { enabled, bar: Mutex::new(None) }
    }
}

/// One phase's bar and what its line shows.
struct Phase {
    bar: ProgressBar,
    started: Instant,
    visible: bool,
    items_done: u64,
    total_items: u64,
    bytes_done: u64,
    total_bytes: u64,
    layout: Layout,
    rate: Ewma,
    last_text: Option<Instant>,
}

/// indicatif progress for the core's [`mvc::progress::Reporter`].
pub struct Progress {
    enabled: bool,
    bar: Mutex<Option<Phase>>,
}

const SHOW_AFTER: Duration = Duration::from_millis(250);

/// How often the text beside the bar (sizes, rate, eta) is rebuilt.
const TEXT_EVERY: Duration = Duration::from_millis(100);

impl mvc::progress::Reporter for Progress {
    fn start(&self, what: &str, total_items: u64, total_bytes: u64) {
        if !self.enabled {
            return;
        }
        // The terminal's width decides which fields fit, so a frame never wraps.
        let width = console::Term::stderr().size_checked().map_or(80, |(_, cols)| cols as usize);
        let layout = Layout::for_width(width, total_items);
        let length = if total_bytes > 0 { total_bytes } else { total_items };
        let bar = ProgressBar::with_draw_target(Some(length), ProgressDrawTarget::hidden());
        bar.set_style(ProgressStyle::with_template(layout.template()).expect("valid template").progress_chars("=> "));
        bar.set_prefix(format!("{what:>WHAT_WIDTH$}"));
        let mut phase = Phase {
            bar,
            started: Instant::now(),
            visible: false,
            items_done: 0,
            total_items,
            bytes_done: 0,
            total_bytes,
            layout,
            rate: Ewma::default(),
            last_text: None,
        };
        phase.refresh_text(Instant::now());
        *self.bar.lock().expect("progress lock") = Some(phase);
    }

    fn advance(&self, items: u64, bytes: u64) {
        if !self.enabled {
            return;
        }
        let mut guard = self.bar.lock().expect("progress lock");
        let Some(phase) = guard.as_mut() else { return };
        phase.items_done += items;
        phase.bytes_done += bytes;
        phase.bar.inc(if phase.total_bytes > 0 { bytes } else { items });
        let now = Instant::now();
        phase.rate.sample(now, phase.bytes_done);
        if phase.last_text.is_none_or(|t| now.duration_since(t) >= TEXT_EVERY) {
            phase.refresh_text(now);
        }
        if !phase.visible && phase.started.elapsed() > SHOW_AFTER {
            phase.bar.set_draw_target(ProgressDrawTarget::stderr());
            phase.visible = true;
        }
    }

    fn finish(&self) {
        if let Some(phase) = self.bar.lock().expect("progress lock").take() {
            phase.bar.finish_and_clear();
        }
    }
}

impl Phase {
    fn refresh_text(&mut self, now: Instant) {
        self.last_text = Some(now);
        let eta = self.rate.eta(self.total_bytes.saturating_sub(self.bytes_done));
        self.bar.set_message(self.layout.text(&Numbers {
            items_done: self.items_done,
            total_items: self.total_items,
            bytes_done: self.bytes_done,
            total_bytes: self.total_bytes,
            rate: self.rate.per_second(),
            eta,
        }));
    }
}

/// Width of the phase name column (`hashing`, `checkout`, `uploading`).
const WHAT_WIDTH: usize = 9;
/// Narrowest bar worth drawing, brackets included.
const MIN_BAR: usize = 12;
/// Widest human size (`1023.9 MiB`).
const SIZE_WIDTH: usize = 10;

/// The fields a progress line can show, richest first; narrower terminals drop fields from
/// the right (rate, then file counts, then sizes), then the bar itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Bytes,
    Rate,
    Eta,
    Files,
}

/// Which fields fit a terminal of some width, padded to fixed widths so the bar never jumps.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Layout {
    fields: Vec<Field>,
    bar: bool,
    count_width: usize,
}

/// The numbers behind one frame.
struct Numbers {
    items_done: u64,
    total_items: u64,
    bytes_done: u64,
    total_bytes: u64,
    rate: Option<f64>,
    eta: Option<Duration>,
}

impl Layout {
    /// The richest layout whose line fits in `width - 1` columns (the last column would
    /// make some terminals wrap).
    fn for_width(width: usize, total_items: u64) -> Layout {
        use Field::*;
        let count_width = total_items.to_string().len();
        let choices: [(&[Field], bool); 6] = [
            (&[Bytes, Rate, Eta, Files], true),
            (&[Bytes, Eta, Files], true),
            (&[Bytes, Eta], true),
            (&[Eta], true),
            (&[Bytes, Eta], false),
            (&[Eta], false),
        ];
        let fits = |l: &Layout| l.width() < width;
        choices
            .iter()
            .map(|(fields, bar)| Layout { fields: fields.to_vec(), bar: *bar, count_width })
            .find(fits)
            .unwrap_or(Layout { fields: vec![Field::Eta], bar: false, count_width })
    }

    /// The widest this layout's line can be (with the narrowest bar).
    fn width(&self) -> usize {
        let fields: usize = self.fields.iter().map(|f| 1 + self.field_width(*f)).sum();
        WHAT_WIDTH + if self.bar { 1 + MIN_BAR } else { 0 } + fields
    }

    fn field_width(&self, field: Field) -> usize {
        match field {
            Field::Bytes => 2 * SIZE_WIDTH + 1,
            Field::Rate => SIZE_WIDTH + 2,
            Field::Eta => "eta 99h59m".len(),
            Field::Files => 2 * self.count_width + 1 + " files".len(),
        }
    }

    /// The indicatif template: the phase name, the bar (taking what is left), the text.
    fn template(&self) -> &'static str {
        if self.bar { "{prefix} [{wide_bar}] {msg}" } else { "{prefix} {msg}" }
    }

    /// The text beside the bar, each field padded to its width.
    fn text(&self, n: &Numbers) -> String {
        let parts: Vec<String> = self
            .fields
            .iter()
            .map(|f| {
                let text = match f {
                    Field::Bytes if n.total_bytes > 0 => {
                        format!("{}/{}", human_size(n.bytes_done), human_size(n.total_bytes))
                    }
                    Field::Bytes => human_size(n.bytes_done),
                    Field::Rate => n.rate.map(|r| format!("{}/s", human_size(r as u64))).unwrap_or_default(),
                    Field::Eta => format!("eta {}", n.eta.map(short_duration).unwrap_or_else(|| "-".into())),
                    Field::Files => format!("{}/{} files", n.items_done, n.total_items),
                };
                format!("{text:>w$}", w = self.field_width(*f))
            })
            .collect();
        parts.join(" ")
    }
}

/// `1.5 GiB`: the same units as the commands' own output.
fn human_size(bytes: u64) -> String {
    super::commands::human_size(bytes)
}

/// `14s`, `3m20s`, `1h05m`: short enough for a fixed column.
fn short_duration(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", (s / 3600).min(99), s / 60 % 60),
    }
}

/// A transfer rate smoothed over about a second (an exponentially weighted moving average of
/// bytes per second, sampled at most every 200 ms), so one slow start or one large file does
/// not swing the estimate by orders of magnitude.
#[derive(Debug, Default)]
struct Ewma {
    last: Option<(Instant, u64)>,
    rate: Option<f64>,
}

impl Ewma {
    const EVERY: Duration = Duration::from_millis(200);
    /// Weight of the newest sample: the average forgets old samples within about 5 of them.
    const ALPHA: f64 = 0.3;

    fn sample(&mut self, now: Instant, bytes_done: u64) {
        let Some((then, before)) = self.last else {
            self.last = Some((now, bytes_done));
            return;
        };
        let dt = now.duration_since(then);
        if dt < Self::EVERY {
            return;
        }
        let current = bytes_done.saturating_sub(before) as f64 / dt.as_secs_f64();
        self.rate = Some(match self.rate {
            None => current,
            Some(r) => Self::ALPHA * current + (1.0 - Self::ALPHA) * r,
        });
        self.last = Some((now, bytes_done));
    }

    fn per_second(&self) -> Option<f64> {
        self.rate.filter(|r| *r > 0.0)
    }

    fn eta(&self, remaining: u64) -> Option<Duration> {
        self.per_second().map(|r| Duration::from_secs_f64((remaining as f64 / r).min(360_000.0)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numbers(total_items: u64) -> Numbers {
        Numbers {
            items_done: total_items,
            total_items,
            bytes_done: 1023 * 1024 * 1024 + 1000,
            total_bytes: 1023 * 1024 * 1024 + 1000,
            rate: Some(1000.0 * 1024.0 * 1024.0),
            eta: Some(Duration::from_secs(99 * 3600 + 59 * 60)),
        }
    }

    #[test]
    fn every_layout_fits_its_terminal_and_wide_ones_show_everything() {
        for width in [20, 40, 60, 80, 100, 120, 200] {
            for total_items in [1, 1_000, 10_000_000] {
                let layout = Layout::for_width(width, total_items);
                let text = layout.text(&numbers(total_items));
                let line = WHAT_WIDTH + 1 + if layout.bar { MIN_BAR + 1 } else { 0 } + text.chars().count();
                assert!(line < width || layout.fields == [Field::Eta], "{width}: {layout:?} is {line} wide");
                assert_eq!(line, layout.width(), "fields are padded to fixed widths");
            }
        }
        let wide = Layout::for_width(120, 50);
        assert_eq!(wide.fields, [Field::Bytes, Field::Rate, Field::Eta, Field::Files]);
        assert!(wide.bar);
        let narrow = Layout::for_width(80, 50);
        assert!(narrow.bar && !narrow.fields.contains(&Field::Rate), "{narrow:?}");
        assert!(!Layout::for_width(30, 50).bar);
    }

    #[test]
    fn eta_comes_from_a_smoothed_rate() {
        let t0 = Instant::now();
        let mut rate = Ewma::default();
        rate.sample(t0, 0);
        assert_eq!(rate.eta(100), None, "no estimate before a second sample");
        // A slow first second (10 B/s), then a steady 1000 B/s.
        rate.sample(t0 + Duration::from_secs(1), 10);
        for i in 2..=10u64 {
            rate.sample(t0 + Duration::from_secs(i), 10 + 1000 * (i - 1));
        }
        let eta = rate.eta(14_000).unwrap().as_secs_f64();
        assert!((14.0..16.0).contains(&eta), "the slow start is forgotten: {eta}");
        // Samples closer than 200 ms apart are folded into the next one.
        rate.sample(t0 + Duration::from_millis(10_050), 1_000_000);
        assert_eq!(rate.eta(14_000).unwrap().as_secs_f64().round(), eta.round());
    }

    #[test]
    fn durations_stay_short() {
        assert_eq!(short_duration(Duration::from_secs(14)), "14s");
        assert_eq!(short_duration(Duration::from_secs(200)), "3m20s");
        assert_eq!(short_duration(Duration::from_secs(3900)), "1h05m");
        assert_eq!(short_duration(Duration::from_secs(10_000_000)), "99h46m");
    }
}
