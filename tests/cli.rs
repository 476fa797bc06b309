//! The `hfkit` command line against the real `hfkit serve` mirror: output contract (path last,
//! one-line errors), a download killed with SIGKILL and resumed, tokens, and cache management.
#![cfg(unix)]

mod support;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use tempfile::TempDir;

use support::python::{Finished, incomplete_files, run_python, sha256_file, wait_bounded};
use support::throttle::{self, MirrorProcess, header};

const REPO: &str = "acme/tiny-model";
const FOLDER: &str = "models--acme--tiny-model";

fn write(path: &Path, content: &[u8]) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, content).unwrap();
}

/// Deterministic, incompressible-looking bytes.
fn pseudo_random(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

struct Fixture {
    tmp: TempDir,
    mirror: MirrorProcess,
}

impl Fixture {
    /// `acme/tiny-model` (small files) served by `hfkit serve`, with an optional token.
    fn new(token: Option<&str>) -> Fixture {
        let tmp = TempDir::new().unwrap();
        let repo = tmp.path().join("hub/models/acme/tiny-model");
        write(&repo.join("config.json"), br#"{"model_type": "tiny"}"#);
        write(&repo.join("tokenizer.json"), br#"{"vocab": {}}"#);
        write(&repo.join("README.md"), b"# tiny-model\n");
        write(&repo.join("sub/dir/file.txt"), b"nested file\n");
        let mirror = MirrorProcess::start(&tmp.path().join("hub"), token);
        Fixture { tmp, mirror }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.tmp.path().join(name)
    }

    /// The environment of an `hfkit` process using this mirror (or `endpoint`).
    fn env(&self, endpoint: &str) -> Vec<(String, String)> {
        vec![
            ("HF_ENDPOINT".into(), endpoint.into()),
            ("HF_HOME".into(), self.path("home").display().to_string()),
            (
                "HF_HUB_CACHE".into(),
                self.path("cache").display().to_string(),
            ),
            ("HF_HUB_DISABLE_TELEMETRY".into(), "1".into()),
        ]
    }

    fn hfkit(&self, args: &[&str]) -> Finished {
        run_hfkit(args, &self.env(self.mirror.url()))
    }

    fn commit(&self) -> String {
        fs::read_to_string(self.path("cache").join(FOLDER).join("refs/main")).unwrap()
    }
}

fn hfkit_command(args: &[&str], env: &[(String, String)]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hfkit"));
    cmd.args(args)
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

fn run_hfkit(args: &[&str], env: &[(String, String)]) -> Finished {
    let child = hfkit_command(args, env).spawn().unwrap();
    wait_bounded(child, Duration::from_secs(60), "hfkit")
}

fn last_line(s: &str) -> &str {
    s.lines().last().unwrap_or_default()
}

/// A download killed with SIGKILL leaves only `blobs/{etag}.incomplete`; the next run resumes it
/// with `Range: bytes=N-` (N > 0) and ends with a byte-correct blob.
#[test]
fn killed_download_resumes_and_verifies() {
    const SIZE: usize = 64 * 1024 * 1024;
    let tmp = TempDir::new().unwrap();
    let content = pseudo_random(SIZE, 7);
    let sha = hex::encode(Sha256::digest(&content));
    write(
        &tmp.path().join("hub/models/acme/big-model/big.bin"),
        &content,
    );
    drop(content);
    let mirror = MirrorProcess::start(&tmp.path().join("hub"), None);
    let proxy = throttle::start(mirror.addr(), 8 * 1024 * 1024);
    let cache = tmp.path().join("cache");
    let env = vec![
        ("HF_ENDPOINT".to_owned(), proxy.url()),
        (
            "HF_HOME".to_owned(),
            tmp.path().join("home").display().to_string(),
        ),
        ("HF_HUB_DISABLE_TELEMETRY".to_owned(), "1".to_owned()),
    ];
    let cache_s = cache.display().to_string();
    let args = [
        "download",
        "acme/big-model",
        "big.bin",
        "--cache-dir",
        &cache_s,
        "--quiet",
    ];
    let blobs = cache.join("models--acme--big-model/blobs");
    let partial = blobs.join(format!("{sha}.incomplete"));

    let mut child = hfkit_command(&args, &env).spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let reached = loop {
        let len = fs::metadata(&partial).map(|m| m.len()).unwrap_or(0);
        if len > SIZE as u64 / 4 {
            break len;
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!("hfkit ended before it could be killed: {status:?}");
        }
        assert!(
            Instant::now() < deadline,
            "the partial file never passed 25%"
        );
        thread::sleep(Duration::from_millis(20));
    };
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert!(reached < SIZE as u64, "killed mid-transfer");
    assert!(!blobs.join(&sha).exists(), "no blob under the final name");
    assert!(partial.exists(), "the partial file stays for a resume");

    proxy.set_rate(0);
    proxy.reset();
    let done = run_hfkit(&args, &env);
    assert_eq!(done.code, Some(0), "{done:?}");
    let path = PathBuf::from(last_line(&done.stdout));
    assert!(path.ends_with("big.bin"), "{path:?}");
    assert_eq!(sha256_file(&path), sha);
    assert_eq!(sha256_file(&blobs.join(&sha)), sha);
    assert_eq!(incomplete_files(&cache), Vec::<PathBuf>::new());

    let heads = proxy.requests();
    let get = heads
        .iter()
        .find(|h| h.starts_with("GET "))
        .unwrap_or_else(|| panic!("no GET on the rerun: {heads:#?}"));
    let range = header(get, "range").unwrap_or_else(|| panic!("no Range on {get}"));
    let start: u64 = range
        .strip_prefix("bytes=")
        .and_then(|r| r.strip_suffix('-'))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("unexpected Range {range:?}"));
    assert!(start >= reached, "resumed from {start}, had {reached}");
    assert!(
        proxy.bytes_down() < SIZE as u64,
        "{} bytes crossed on the rerun",
        proxy.bytes_down()
    );
}

/// The resulting path is the last line of stdout, for one file and for a filtered repository.
#[test]
fn download_prints_the_path_last() {
    let fx = Fixture::new(None);
    let cache = fx.path("cache");
    let done = fx.hfkit(&["download", REPO, "config.json", "--quiet"]);
    assert_eq!(done.code, Some(0), "{done:?}");
    let snap = cache.join(FOLDER).join("snapshots").join(fx.commit());
    assert_eq!(Path::new(last_line(&done.stdout)), snap.join("config.json"));

    let done = fx.hfkit(&["download", REPO, "--include", "*.json"]);
    assert_eq!(done.code, Some(0), "{done:?}");
    assert_eq!(Path::new(last_line(&done.stdout)), snap);
    assert!(snap.join("tokenizer.json").is_file());
    assert!(!snap.join("README.md").exists(), "filtered out");
    assert!(!snap.join("sub/dir/file.txt").exists(), "filtered out");
}

/// Failures exit non-zero; an unknown repository is reported on one `error:` line.
#[test]
fn errors_exit_nonzero_with_one_line() {
    let fx = Fixture::new(None);
    let done = fx.hfkit(&["download", "acme/does-not-exist", "config.json", "--quiet"]);
    assert_ne!(done.code, Some(0), "{done:?}");
    let lines: Vec<&str> = done.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "stderr: {:?}", done.stderr);
    assert!(lines[0].starts_with("error:"), "{lines:?}");
    assert!(
        lines[0].contains("acme/does-not-exist"),
        "names the repo: {lines:?}"
    );

    let done = fx.hfkit(&["download", REPO, "config.json", "--repo-type", "banana"]);
    assert_ne!(done.code, Some(0), "{done:?}");
    assert!(done.stdout.is_empty(), "{done:?}");
}

#[test]
fn env_prints_the_endpoint() {
    let fx = Fixture::new(None);
    let done = fx.hfkit(&["env"]);
    assert_eq!(done.code, Some(0), "{done:?}");
    let expected = format!("HF_ENDPOINT: {}", fx.mirror.url());
    assert!(
        done.stdout.lines().any(|l| l == expected),
        "{}",
        done.stdout
    );
}

/// A reader that goes away (`hfkit env | head -1`) ends the command quietly: no panic, no error
/// line, exit status 0.
#[test]
fn a_closed_stdout_ends_quietly() {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = hfkit_command(&["env"], &[])
        .stdout(Stdio::from(writer))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.is_empty(), "{stderr}");
}

/// `login` checks the token against the mirror and stores it where Python reads it; `whoami`
/// uses it; `logout` removes it.
#[test]
fn login_whoami_logout() {
    const TOKEN: &str = "hf_interopTestToken123";
    let fx = Fixture::new(Some(TOKEN));
    let home = fx.path("home");

    let bad = fx.hfkit(&["login", "--token", "hf_wrong"]);
    assert_ne!(bad.code, Some(0), "a wrong token is refused: {bad:?}");
    assert!(!home.join("token").exists());

    let done = fx.hfkit(&["login", "--token", TOKEN]);
    assert_eq!(done.code, Some(0), "{done:?}");
    let token_file = home.join("token");
    assert_eq!(fs::read_to_string(&token_file).unwrap(), TOKEN);
    let mode = fs::metadata(&token_file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "token file mode {mode:o}");
    let stored = fs::read_to_string(home.join("stored_tokens")).unwrap();
    assert!(stored.contains(TOKEN), "{stored}");

    // Python reads what hfkit stored (hub.md §1.2, item 58).
    let home_s = home.display().to_string();
    let out = run_python(
        "import json\nfrom huggingface_hub.utils._auth import get_token, get_stored_tokens\n\
         print(json.dumps([get_token(), list(get_stored_tokens().values())]))",
        &[
            ("HF_HOME", home_s.as_str()),
            ("HF_ENDPOINT", fx.mirror.url()),
        ],
    );
    let v: serde_json::Value = serde_json::from_str(last_line(&out)).unwrap();
    assert_eq!(v, serde_json::json!([TOKEN, [TOKEN]]));

    let done = fx.hfkit(&["whoami"]);
    assert_eq!(done.code, Some(0), "{done:?}");
    assert_eq!(done.stdout.lines().next(), Some("mirror-user"));

    let done = fx.hfkit(&["logout"]);
    assert_eq!(done.code, Some(0), "{done:?}");
    assert!(!token_file.exists(), "token removed");
    let stored = fs::read_to_string(home.join("stored_tokens")).unwrap_or_default();
    assert!(!stored.contains(TOKEN), "stored token removed: {stored}");

    let done = fx.hfkit(&["whoami"]);
    assert_ne!(done.code, Some(0), "no token any more: {done:?}");
}

/// `scan-cache` lists the repo; `delete-cache` deletes nothing without `--yes` when stdin is not
/// a terminal, and removes the revision with it.
#[test]
fn scan_and_delete_cache() {
    let fx = Fixture::new(None);
    let cache = fx.path("cache");
    let cache_s = cache.display().to_string();
    let done = fx.hfkit(&["download", REPO, "--quiet"]);
    assert_eq!(done.code, Some(0), "{done:?}");
    let commit = fx.commit();
    let snap = cache.join(FOLDER).join("snapshots").join(&commit);
    assert!(snap.join("sub/dir/file.txt").is_file());

    let done = fx.hfkit(&["scan-cache", "--dir", &cache_s]);
    assert_eq!(done.code, Some(0), "{done:?}");
    assert!(done.stdout.contains(REPO), "{}", done.stdout);
    assert!(done.stdout.contains("REPO ID"), "{}", done.stdout);

    let delete = [
        "delete-cache",
        "--repo",
        REPO,
        "--revision",
        &commit,
        "--dir",
        &cache_s,
    ];
    let done = fx.hfkit(&delete);
    assert_eq!(done.code, Some(0), "{done:?}");
    assert!(snap.join("sub/dir/file.txt").is_file(), "dry run kept it");

    let mut with_yes = delete.to_vec();
    with_yes.push("--yes");
    let done = fx.hfkit(&with_yes);
    assert_eq!(done.code, Some(0), "{done:?}");
    assert!(!snap.exists(), "snapshot deleted");

    let done = fx.hfkit(&["scan-cache", "--dir", &cache_s]);
    assert_eq!(done.code, Some(0), "{done:?}");
    assert!(!done.stdout.contains(REPO), "{}", done.stdout);
}
