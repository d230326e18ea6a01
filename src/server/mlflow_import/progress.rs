//! How an import reports progress: a trait the import calls, and the
//! terminal's version (two indicatif bars: versions, and bytes copied),
//! which prints nothing extra when the output is not a terminal.

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

pub trait Progress: Sync {
    /// How many versions the run will look at.
    fn planned(&self, versions: u64);
    fn version(&self, model: &str, number: &str);
    fn version_done(&self);
    /// Versions of a model that could not be imported at all.
    fn skip(&self, versions: u64);
    fn bytes(&self, n: u64);
}

pub struct TerminalProgress {
    versions: ProgressBar,
    bytes: ProgressBar,
}

impl Default for TerminalProgress {
    fn default() -> Self {
        Self::new()
    }
}

impl TerminalProgress {
    pub fn new() -> Self {
        let bars = MultiProgress::new();
        let versions = bars.add(ProgressBar::new(0));
        versions.set_style(
            ProgressStyle::with_template("{bar:30} {pos}/{len} versions  {wide_msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        let bytes = bars.add(ProgressBar::new_spinner());
        bytes.set_style(
            ProgressStyle::with_template("{spinner} {bytes} copied ({bytes_per_sec})")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        Self { versions, bytes }
    }

    pub fn finish(&self) {
        self.versions.finish_and_clear();
        self.bytes.finish_and_clear();
    }
}

impl Progress for TerminalProgress {
    fn planned(&self, versions: u64) {
        self.versions.set_length(versions);
    }

    fn version(&self, model: &str, number: &str) {
        self.versions
            .set_message(format!("{model} version {number}"));
        // Without a terminal the bars are hidden; a line per version still
        // shows where a long import is.
        if self.versions.is_hidden() {
            println!("importing {model} version {number}");
        }
    }

    fn version_done(&self) {
        self.versions.inc(1);
    }

    fn skip(&self, versions: u64) {
        self.versions.inc(versions);
    }

    fn bytes(&self, n: u64) {
        self.bytes.inc(n);
    }
}
