//! What a log that verified is reported as.

use std::fmt;

use lucent_core::Hash;
use lucent_core::record::Day;

/// A log that verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    pub origin: String,
    /// How many signed roots there are.
    pub roots: usize,
    /// The days of the first and the latest root; `None` before the first.
    pub days: Option<(Day, Day)>,
    /// The size and root hash of the latest root.
    pub size: u64,
    pub root_hash: Hash,
    /// In monitor mode with a remembered root: its size then and now.
    pub growth: Option<Growth>,
    /// The days of the roots whose served stats were recomputed and
    /// matched.
    pub stats_days: Vec<Day>,
}

/// How much a log grew since the last verified root.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Growth {
    pub from: u64,
    pub to: u64,
}

impl fmt::Display for VerifyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.days {
            None => write!(f, "{}: no root has been signed yet", self.origin)?,
            Some((first, latest)) => write!(
                f,
                "{}: verified {} ({first} to {latest}) and {}; latest root {}",
                self.origin,
                count(self.roots as u64, "signed root", "signed roots"),
                count(self.size, "entry", "entries"),
                self.root_hash
            )?,
        }
        if !self.stats_days.is_empty() {
            let days: Vec<String> = self.stats_days.iter().map(Day::to_string).collect();
            write!(
                f,
                "\nstats recomputed from the entries match those served at the root of {}",
                days.join(", ")
            )?;
        }
        match self.growth {
            None => Ok(()),
            Some(Growth { from, to }) if from == to => {
                write!(
                    f,
                    "\nlog unchanged since the last verified root ({})",
                    count(to, "entry", "entries")
                )
            }
            Some(Growth { from, to }) => write!(f, "\nlog grew from {from} to {to} entries"),
        }
    }
}

/// `1 entry`, `2 entries`.
fn count(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}
