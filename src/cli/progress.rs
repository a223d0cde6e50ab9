//! Progress of a long command: a bar on a terminal, a line per tenth of the
//! work otherwise (so that logs of a cron job stay short), or nothing.

use std::io::IsTerminal as _;
use std::sync::Mutex;

use indicatif::{ProgressBar, ProgressStyle};

/// Where progress goes.
pub struct Progress {
    mode: Mode,
}

enum Mode {
    Hidden,
    Bar(ProgressBar),
    Lines(Mutex<Stage>),
}

/// The stage being reported in plain lines.
#[derive(Default)]
struct Stage {
    what: String,
    total: u64,
    /// The last tenth of `total` printed.
    tenths: u64,
}

impl Progress {
    /// Reports nothing.
    pub fn hidden() -> Progress {
        Progress { mode: Mode::Hidden }
    }

    /// A bar when standard error is a terminal, plain lines when it is not.
    pub fn stderr() -> Progress {
        let mode = if std::io::stderr().is_terminal() {
            let bar = ProgressBar::new(0);
            bar.set_style(
                ProgressStyle::with_template("{msg:24} [{bar:40}] {pos}/{len} ({per_sec}, {eta})")
                    .expect("a valid template")
                    .progress_chars("=> "),
            );
            Mode::Bar(bar)
        } else {
            Mode::Lines(Mutex::new(Stage::default()))
        };
        Progress { mode }
    }

    /// Starts a stage of `total` steps.
    pub fn start(&self, what: &str, total: u64) {
        match &self.mode {
            Mode::Hidden => {}
            Mode::Bar(bar) => {
                bar.set_message(what.to_owned());
                bar.set_length(total);
                bar.set_position(0);
            }
            Mode::Lines(stage) => {
                if total > 0 {
                    eprintln!("{what}: 0/{total}");
                }
                *stage.lock().expect("progress lock") = Stage {
                    what: what.to_owned(),
                    total,
                    tenths: 0,
                };
            }
        }
    }

    /// `done` steps of the current stage are done.
    pub fn set(&self, done: u64) {
        match &self.mode {
            Mode::Hidden => {}
            Mode::Bar(bar) => bar.set_position(done),
            Mode::Lines(stage) => {
                let mut stage = stage.lock().expect("progress lock");
                let tenths = (done * 10).checked_div(stage.total).unwrap_or(10);
                if tenths > stage.tenths {
                    stage.tenths = tenths;
                    eprintln!("{}: {done}/{}", stage.what, stage.total);
                }
            }
        }
    }

    /// Ends the output (clears the bar).
    pub fn finish(&self) {
        if let Mode::Bar(bar) = &self.mode {
            bar.finish_and_clear();
        }
    }
}
