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

struct Phase {
    bar: ProgressBar,
    started: Instant,
    visible: bool,
    items_done: u64,
    total_items: u64,
}

/// indicatif progress for the core's [`mvc::progress::Reporter`].
pub struct Progress {
    enabled: bool,
    bar: Mutex<Option<Phase>>,
}

const SHOW_AFTER: Duration = Duration::from_millis(250);

impl mvc::progress::Reporter for Progress {
    fn start(&self, what: &str, total_items: u64, total_bytes: u64) {
        if !self.enabled {
            return;
        }
        let bar = ProgressBar::with_draw_target(Some(total_bytes), ProgressDrawTarget::hidden());
        let style = ProgressStyle::with_template(
            "{msg:>10} [{bar:30}] {bytes}/{total_bytes} {binary_bytes_per_sec} eta {eta} ({prefix} files)",
        )
        .expect("valid template")
        .progress_chars("=> ");
        bar.set_style(style);
        bar.set_message(what.to_string());
        bar.set_prefix(format!("0/{total_items}"));
        bar.set_length(total_bytes);
        *self.bar.lock().expect("progress lock") =
            Some(Phase { bar, started: Instant::now(), visible: false, items_done: 0, total_items });
    }

    fn advance(&self, items: u64, bytes: u64) {
        if !self.enabled {
            return;
        }
        let mut guard = self.bar.lock().expect("progress lock");
        let Some(phase) = guard.as_mut() else { return };
        phase.bar.inc(bytes);
        if items > 0 {
            phase.items_done += items;
            phase.bar.set_prefix(format!("{}/{}", phase.items_done, phase.total_items));
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
