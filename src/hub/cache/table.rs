//! The text report of a cache scan, as Python's `export_as_table` prints it, and the size and age
//! formats it uses.

use std::time::{SystemTime, UNIX_EPOCH};

use super::scan::{CacheInfo, CachedRepo, CachedRevision};

/// A byte count as Python's cache tools print it: 1000-based, one decimal (`8.0`, `116.3K`,
/// `1.9G`).
///
/// ```
/// use hfkit::hub::cache::format_size;
/// assert_eq!(format_size(8), "8.0");
/// assert_eq!(format_size(116_300), "116.3K");
/// assert_eq!(format_size(1_900_000_000), "1.9G");
/// ```
pub fn format_size(bytes: u64) -> String {
    let mut n = bytes as f64;
    for unit in ["", "K", "M", "G", "T", "P", "E", "Z"] {
        if n.abs() < 1000.0 {
            return format!("{n:3.1}{unit}");
        }
        n /= 1000.0;
    }
    format!("{n:.1}Y")
}

/// How long before `now` the time `then` was, as Python's cache tools print it
/// (`a few seconds ago`, `1 minute ago`, `3 weeks ago`, `2 years ago`).
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use hfkit::hub::cache::format_timesince;
/// let now = SystemTime::now();
/// assert_eq!(format_timesince(now - Duration::from_secs(5), now), "a few seconds ago");
/// assert_eq!(format_timesince(now - Duration::from_secs(3 * 86_400), now), "3 days ago");
/// ```
pub fn format_timesince(then: SystemTime, now: SystemTime) -> String {
    let delta = secs_since_epoch(now) - secs_since_epoch(then);
    if delta < 20.0 {
        return "a few seconds ago".to_owned();
    }
    const CHUNKS: [(&str, f64, Option<f64>); 7] = [
        ("second", 1.0, Some(59.0)),
        ("minute", 60.0, Some(59.0)),
        ("hour", 3600.0, Some(23.0)),
        ("day", 86_400.0, Some(6.0)),
        ("week", 604_800.0, Some(6.0)),
        ("month", 2_592_000.0, Some(11.0)),
        ("year", 31_536_000.0, None),
    ];
    let mut shown = (0.0, "second");
    for (label, divider, max) in CHUNKS {
        let value = (delta / divider).round_ties_even();
        shown = (value, label);
        if max.is_some_and(|m| value <= m) {
            break;
        }
    }
    let (value, label) = shown;
    let plural = if value > 1.0 { "s" } else { "" };
    format!("{value:.0} {label}{plural} ago")
}

fn secs_since_epoch(t: SystemTime) -> f64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_secs_f64(),
        Err(e) => -e.duration().as_secs_f64(),
    }
}

/// Columns padded to their widest cell, joined by one space, a dashed rule under the headers.
fn tabulate(rows: &[Vec<String>], headers: &[&str]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &mut dyn Iterator<Item = &str>| {
        cells
            .zip(&widths)
            .map(|(c, &w)| format!("{c:<w$}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mut lines = vec![line(&mut headers.iter().copied())];
    let rules: Vec<String> = widths.iter().map(|&w| "-".repeat(w)).collect();
    lines.push(line(&mut rules.iter().map(String::as_str)));
    for row in rows {
        lines.push(line(&mut row.iter().map(String::as_str)));
    }
    lines.join("\n")
}

impl CacheInfo {
    /// The report Python's `export_as_table` prints: a row per repository (`REPO ID`, `REPO
    /// TYPE`, `SIZE ON DISK`, `NB FILES`, `LAST_ACCESSED`, `LAST_MODIFIED`, `REFS`, `LOCAL
    /// PATH`), or with `verbose` a row per revision (`REVISION` added, `LAST_ACCESSED` dropped).
    pub fn export_as_table(&self, verbose: bool) -> String {
        self.export_as_table_at(verbose, SystemTime::now())
    }

    pub(crate) fn export_as_table_at(&self, verbose: bool, now: SystemTime) -> String {
        let mut repos: Vec<&CachedRepo> = self.repos.iter().collect();
        repos.sort_by(|a, b| a.repo_path.cmp(&b.repo_path));
        let joined = |refs: &mut dyn Iterator<Item = &String>| {
            let mut v: Vec<&str> = refs.map(String::as_str).collect();
            v.sort_unstable();
            v.join(", ")
        };
        if !verbose {
            let rows: Vec<Vec<String>> = repos
                .iter()
                .map(|r| {
                    vec![
                        r.repo_id.clone(),
                        r.repo_type_name.to_owned(),
                        format!("{:>12}", format_size(r.size_on_disk)),
                        r.nb_files.to_string(),
                        format_timesince(r.last_accessed, now),
                        format_timesince(r.last_modified, now),
                        joined(&mut r.refs.keys()),
                        r.repo_path.display().to_string(),
                    ]
                })
                .collect();
            tabulate(
                &rows,
                &[
                    "REPO ID",
                    "REPO TYPE",
                    "SIZE ON DISK",
                    "NB FILES",
                    "LAST_ACCESSED",
                    "LAST_MODIFIED",
                    "REFS",
                    "LOCAL PATH",
                ],
            )
        } else {
            let mut rows = Vec::new();
            for r in repos {
                let mut revisions: Vec<&CachedRevision> = r.revisions.iter().collect();
                revisions.sort_by(|a, b| a.commit_hash.cmp(&b.commit_hash));
                for rev in revisions {
                    rows.push(vec![
                        r.repo_id.clone(),
                        r.repo_type_name.to_owned(),
                        rev.commit_hash.clone(),
                        format!("{:>12}", format_size(rev.size_on_disk)),
                        rev.files.len().to_string(),
                        format_timesince(rev.last_modified, now),
                        joined(&mut rev.refs.iter()),
                        rev.snapshot_path.display().to_string(),
                    ]);
                }
            }
            tabulate(
                &rows,
                &[
                    "REPO ID",
                    "REPO TYPE",
                    "REVISION",
                    "SIZE ON DISK",
                    "NB FILES",
                    "LAST_MODIFIED",
                    "REFS",
                    "LOCAL PATH",
                ],
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::repo::RepoType;
    use std::path::PathBuf;
    use std::time::Duration;

    #[test]
    fn table_layout() {
        let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let day = Duration::from_secs(86_400);
        let rev = CachedRevision {
            commit_hash: "a".repeat(40),
            snapshot_path: PathBuf::from("/c/models--org--m/snapshots/aaaa"),
            size_on_disk: 116_300,
            files: vec![],
            refs: ["main".to_string(), "dev".to_string()]
                .into_iter()
                .collect(),
            last_modified: now - 3 * day,
        };
        let info = CacheInfo {
            cache_dir: PathBuf::from("/c"),
            size_on_disk: 116_300,
            repos: vec![CachedRepo {
                repo_id: "org/m".into(),
                repo_type: RepoType::Model,
                repo_type_name: "model",
                repo_path: PathBuf::from("/c/models--org--m"),
                size_on_disk: 116_300,
                nb_files: 2,
                revisions: vec![rev],
                last_accessed: now - day,
                last_modified: now - 3 * day,
                refs: [("main", "a"), ("dev", "a")]
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v.repeat(40)))
                    .collect(),
            }],
            warnings: vec![],
            incomplete: vec![],
            incomplete_size_on_disk: 0,
        };
        assert_eq!(
            info.export_as_table_at(false, now),
            "REPO ID REPO TYPE SIZE ON DISK NB FILES LAST_ACCESSED LAST_MODIFIED REFS      LOCAL PATH       \n\
             ------- --------- ------------ -------- ------------- ------------- --------- -----------------\n\
             org/m   model           116.3K 2        1 day ago     3 days ago    dev, main /c/models--org--m"
        );
        let verbose = info.export_as_table_at(true, now);
        let lines: Vec<&str> = verbose.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(lines[0].starts_with("REPO ID REPO TYPE REVISION "));
        assert!(lines[2].contains(&format!("model     {}       116.3K 0", "a".repeat(40))));
        assert!(lines[2].ends_with("3 days ago    dev, main /c/models--org--m/snapshots/aaaa"));
    }
}
