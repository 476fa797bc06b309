//! The Python reference client (`huggingface_hub` 2.4.0) and a comparable description of a cache
//! directory.
//!
//! The interpreter comes from `HFKIT_TEST_PYTHON`, else `<repo>/.venv/bin/python` (which
//! `bash .ci/run` creates); without either a test fails, it never skips.

use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

/// How long one Python script may run.
pub const PYTHON_TIMEOUT: Duration = Duration::from_secs(120);

/// The reference interpreter (with `huggingface_hub` 2.4.0 installed).
pub fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("HFKIT_TEST_PYTHON").filter(|p| !p.is_empty()) {
        let p = PathBuf::from(p);
        assert!(
            p.exists(),
            "HFKIT_TEST_PYTHON={} does not exist: run `bash .ci/run` to create .venv with \
             huggingface-hub==2.4.0",
            p.display()
        );
        return p;
    }
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
    assert!(
        p.exists(),
        "no Python reference client at {}: run `bash .ci/run` to create .venv with \
         huggingface-hub==2.4.0 (or set HFKIT_TEST_PYTHON)",
        p.display()
    );
    p
}

/// A `python -c script` command with a clean environment: only `PATH` and the safety variables
/// (`HF_HUB_DISABLE_XET`, `HF_HUB_DISABLE_TELEMETRY`, no progress bars) are inherited or set,
/// then `env` (which should name `HF_ENDPOINT`, `HF_HOME`, `HF_HUB_CACHE`).
pub fn python_command(script: &str, env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(python());
    cmd.arg("-c").arg(script);
    cmd.env_clear();
    if let Some(path) = std::env::var_os("PATH") {
        cmd.env("PATH", path);
    }
    cmd.env("HF_HUB_DISABLE_XET", "1")
        .env("HF_HUB_DISABLE_TELEMETRY", "1")
        .env("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("PYTHONUNBUFFERED", "1");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// The output of a finished child: status code, stdout, stderr.
#[derive(Debug)]
pub struct Finished {
    /// Exit code (`None` when killed by a signal).
    pub code: Option<i32>,
    /// Everything written to stdout.
    pub stdout: String,
    /// Everything written to stderr.
    pub stderr: String,
}

/// Waits for a spawned child (stdout/stderr piped) at most `timeout`; kills it and panics after.
pub fn wait_bounded(mut child: Child, timeout: Duration, what: &str) -> Finished {
    let mut out = child.stdout.take().expect("stdout piped");
    let mut err = child.stderr.take().expect("stderr piped");
    let t_out = thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let t_err = thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            let stderr = t_err.join().unwrap_or_default();
            panic!("{what} ran longer than {timeout:?}; killed. stderr:\n{stderr}");
        }
        thread::sleep(Duration::from_millis(20));
    };
    Finished {
        code: status.code(),
        stdout: t_out.join().unwrap_or_default(),
        stderr: t_err.join().unwrap_or_default(),
    }
}

/// Runs `script` with the reference interpreter (see [`python_command`]) and returns its stdout;
/// panics with its stderr when it fails or runs past [`PYTHON_TIMEOUT`].
pub fn run_python(script: &str, env: &[(&str, &str)]) -> String {
    let child = python_command(script, env)
        .spawn()
        .unwrap_or_else(|e| panic!("starting {}: {e}", python().display()));
    let done = wait_bounded(child, PYTHON_TIMEOUT, "python");
    assert_eq!(
        done.code,
        Some(0),
        "python failed ({:?}).\nscript:\n{script}\nstdout:\n{}\nstderr:\n{}",
        done.code,
        done.stdout,
        done.stderr
    );
    done.stdout
}

/// Hex sha256 of a file's content.
pub fn sha256_file(path: &Path) -> String {
    let bytes = fs::read(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    hex::encode(Sha256::digest(&bytes))
}

/// Describes every entry under a cache directory: relative path (with `/`) → `dir`,
/// `file:<sha256 of content>` or `link:<target>`.
///
/// Entries under `.locks/` and `trees/*.json` files are listed with a content-free value
/// (`lock` / `tree`), since their bytes are not part of the shared format; `*.incomplete`
/// files are skipped.
pub fn cache_tree(dir: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, String>) {
    let mut entries: Vec<_> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("listing {}: {e}", dir.display()))
        .map(|e| e.unwrap())
        .collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        let rel = path
            .strip_prefix(root)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        if rel.ends_with(".incomplete") {
            continue;
        }
        let meta = fs::symlink_metadata(&path).unwrap();
        let in_locks = rel.starts_with(".locks/");
        let is_tree = rel.split('/').nth(1) == Some("trees") && rel.ends_with(".json");
        let value = if meta.file_type().is_symlink() {
            format!("link:{}", fs::read_link(&path).unwrap().display())
        } else if meta.is_dir() {
            walk(root, &path, out);
            "dir".to_owned()
        } else if in_locks {
            "lock".to_owned()
        } else if is_tree {
            "tree".to_owned()
        } else {
            format!("file:{}", sha256_file(&path))
        };
        out.insert(rel, value);
    }
}

/// Lists every path under `dir` whose name ends with `.incomplete`.
pub fn incomplete_files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = fs::read_dir(&d) else { continue };
        for e in rd.flatten() {
            let p = e.path();
            if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                stack.push(p);
            } else if p.to_string_lossy().ends_with(".incomplete") {
                found.push(p);
            }
        }
    }
    found
}
