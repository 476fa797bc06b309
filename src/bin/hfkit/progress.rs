//! indicatif rendering of the library's progress events (on a terminal only): a bar per file
//! being downloaded, hashed or uploaded, and a line per upload stage.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::sync::{Arc, Mutex};

use hfkit::hub::{Progress, ProgressHandle};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

/// Bars per file, shown on stderr.
pub struct Bars {
    multi: MultiProgress,
    bars: Mutex<HashMap<String, ProgressBar>>,
}

impl Progress for Bars {
    fn start(&self, path: &str, total: Option<u64>, resumed_from: u64) {
        let bar = match total {
            Some(t) => ProgressBar::new(t),
            None => ProgressBar::no_length(),
        };
        let style = ProgressStyle::with_template(
            "{msg:30!} {bar:30} {bytes:>10}/{total_bytes:10} {bytes_per_sec:>12} {eta:>4}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar());
        bar.set_style(style);
        bar.set_message(path.to_owned());
        bar.set_position(resumed_from);
        let bar = self.multi.add(bar);
        if let Ok(mut m) = self.bars.lock()
            && let Some(old) = m.insert(path.to_owned(), bar)
        {
            old.finish_and_clear();
        }
    }
    fn advance(&self, path: &str, bytes: u64) {
        if let Ok(m) = self.bars.lock()
            && let Some(b) = m.get(path)
        {
            b.inc(bytes);
        }
    }
    fn finish(&self, path: &str) {
        if let Ok(mut m) = self.bars.lock()
            && let Some(b) = m.remove(path)
        {
            b.finish_and_clear();
        }
    }
    fn stage(&self, stage: &str) {
        let _ = self.multi.println(format!("{stage}…"));
    }
}

/// Progress bars when stderr is a terminal, `quiet` is off and `HF_HUB_DISABLE_PROGRESS_BARS` is
/// not truthy (a set-but-false value forces them on).
pub fn bars(quiet: bool, forced: Option<bool>) -> Option<ProgressHandle> {
    if quiet {
        return None;
    }
    let on = forced.unwrap_or_else(|| std::io::stderr().is_terminal());
    on.then(|| {
        Arc::new(Bars {
            multi: MultiProgress::new(),
            bars: Mutex::new(HashMap::new()),
        }) as ProgressHandle
    })
}
