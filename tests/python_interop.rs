//! hfkit and Python `huggingface_hub` 2.4.0 share one cache (hub.md §3, §4, §5, §9 items 53–58):
//! each finds what the other downloaded (offline), both lay the same revision out identically,
//! both scans agree, `local_dir` metadata is shared, and concurrent processes of both kinds leave
//! exactly one correct blob.
//!
//! The Hub is the real `hfkit serve` binary over a temporary folder; Python gets
//! `HF_ENDPOINT` pointing at it (or at a closed port where no request may happen). Needs the
//! reference interpreter: `HFKIT_TEST_PYTHON`, else `<repo>/.venv/bin/python` (`bash .ci/run`).
#![cfg(unix)]

mod support;

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use hfkit::Repo;
use hfkit::Settings;
use hfkit::blocking::HubClient;
use hfkit::hub::cache::{CachedFile, try_to_load_from_cache};
use hfkit::hub::download::DownloadOptions;
use hfkit::hub::snapshot::SnapshotOptions;
use serde_json::Value;
use sha2::{Digest, Sha256};
use tempfile::TempDir;

use support::python::{
    Finished, cache_tree, incomplete_files, python_command, run_python, sha256_file, wait_bounded,
};
use support::throttle::{self, MirrorProcess, closed_port_url};

const REPO: &str = "acme/tiny-model";
const FOLDER: &str = "models--acme--tiny-model";
/// A little over the mirror's default LFS threshold (10 MiB).
const MODEL_SIZE: usize = 11 * 1024 * 1024 + 123;

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

fn write(path: &Path, content: &[u8]) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, content).unwrap();
}

/// A temporary Hub root with `acme/tiny-model`, served by `hfkit serve`.
struct Fixture {
    tmp: TempDir,
    mirror: MirrorProcess,
    model_sha256: String,
}

impl Fixture {
    fn new() -> Fixture {
        let tmp = TempDir::new().unwrap();
        let repo = tmp.path().join("hub/models/acme/tiny-model");
        write(&repo.join("config.json"), br#"{"model_type": "tiny"}"#);
        write(
            &repo.join("README.md"),
            b"# tiny-model\n\nA test repository.\n",
        );
        write(&repo.join("sub/dir/file.txt"), b"nested file\n");
        let model = pseudo_random(MODEL_SIZE, 42);
        let model_sha256 = hex::encode(Sha256::digest(&model));
        write(&repo.join("model.safetensors"), &model);
        write(&repo.join("onnx/model.onnx"), b"onnx bytes");
        let mirror = MirrorProcess::start(&tmp.path().join("hub"), None);
        Fixture {
            tmp,
            mirror,
            model_sha256,
        }
    }

    fn url(&self) -> String {
        self.mirror.url().to_owned()
    }

    /// A fresh directory under the fixture's temp dir.
    fn dir(&self, name: &str) -> PathBuf {
        let d = self.tmp.path().join(name);
        fs::create_dir_all(&d).unwrap();
        d
    }
}

/// A blocking hfkit client isolated from the process environment.
fn hfkit_client(endpoint: &str, home: &Path, cache: &Path, offline: bool) -> HubClient {
    let settings = Settings::builder()
        .env_map(HashMap::new())
        .endpoint(endpoint)
        .hf_home(home)
        .cache_dir(cache)
        .offline(offline)
        .no_token()
        .build()
        .unwrap();
    HubClient::from_settings(settings).unwrap()
}

/// Python's environment for a given endpoint, home and cache.
fn py_env(endpoint: &str, home: &Path, cache: &Path, offline: bool) -> Vec<(String, String)> {
    let mut env = vec![
        ("HF_ENDPOINT".to_owned(), endpoint.to_owned()),
        ("HF_HOME".to_owned(), home.display().to_string()),
        ("HF_HUB_CACHE".to_owned(), cache.display().to_string()),
        ("HOME".to_owned(), home.display().to_string()),
    ];
    if offline {
        env.push(("HF_HUB_OFFLINE".to_owned(), "1".to_owned()));
    }
    env
}

fn run_py_json(script: &str, env: &[(String, String)]) -> Value {
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let out = run_python(script, &env);
    let last = out.lines().last().unwrap_or_default();
    serde_json::from_str(last).unwrap_or_else(|e| panic!("python printed {out:?}: {e}"))
}

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or_else(|| panic!("not a string: {v}"))
}

fn model_repo() -> Repo {
    Repo::model(REPO).unwrap()
}

/// Item 53/54: hfkit downloads, Python offline (and unable to reach any Hub) finds the same paths.
#[test]
fn python_offline_finds_what_hfkit_downloaded() {
    let fx = Fixture::new();
    let (home, cache) = (fx.dir("home"), fx.dir("cache"));
    let hub = hfkit_client(&fx.url(), &home, &cache, false);
    let repo = hub.model(REPO);
    let file = repo.download("config.json").unwrap();
    let lfs = repo.download("model.safetensors").unwrap();
    let snap = repo.snapshot().unwrap();
    let missing = repo.download("missing.txt").unwrap_err();
    assert!(
        matches!(missing, hfkit::Error::EntryNotFound { .. }),
        "{missing:?}"
    );

    let got = run_py_json(
        r#"
import json
from huggingface_hub import hf_hub_download, snapshot_download, try_to_load_from_cache
from huggingface_hub.file_download import _CACHED_NO_EXIST
r = {
    "file": hf_hub_download("acme/tiny-model", "config.json"),
    "lfs": hf_hub_download("acme/tiny-model", "model.safetensors"),
    "snap": snapshot_download("acme/tiny-model"),
    "try": try_to_load_from_cache("acme/tiny-model", "sub/dir/file.txt"),
    "try_lfs": try_to_load_from_cache("acme/tiny-model", "onnx/model.onnx"),
    "try_missing": try_to_load_from_cache("acme/tiny-model", "missing.txt") is _CACHED_NO_EXIST,
    "try_unknown": try_to_load_from_cache("acme/tiny-model", "never-asked.txt"),
}
print(json.dumps(r))
"#,
        &py_env(&closed_port_url(), &home, &cache, true),
    );
    assert_eq!(s(&got["file"]), file.to_str().unwrap());
    assert_eq!(s(&got["lfs"]), lfs.to_str().unwrap());
    assert_eq!(s(&got["snap"]), snap.to_str().unwrap());
    assert_eq!(
        s(&got["try"]),
        snap.join("sub/dir/file.txt").to_str().unwrap()
    );
    assert_eq!(
        s(&got["try_lfs"]),
        snap.join("onnx/model.onnx").to_str().unwrap()
    );
    assert_eq!(
        got["try_missing"], true,
        "hfkit's .no_exist reads as _CACHED_NO_EXIST"
    );
    assert!(got["try_unknown"].is_null());
    assert_eq!(sha256_file(&lfs), fx.model_sha256);
}

/// Item 55: Python downloads online; hfkit offline serves its files, snapshot, refs and
/// `.no_exist`.
#[test]
fn hfkit_offline_finds_what_python_downloaded() {
    let fx = Fixture::new();
    let (home, cache) = (fx.dir("home"), fx.dir("cache"));
    let got = run_py_json(
        r#"
import json
from huggingface_hub import hf_hub_download, snapshot_download
r = {
    "file": hf_hub_download("acme/tiny-model", "config.json"),
    "lfs": hf_hub_download("acme/tiny-model", "model.safetensors"),
    "snap": snapshot_download("acme/tiny-model"),
}
try:
    hf_hub_download("acme/tiny-model", "missing.txt")
    r["missing"] = "found?!"
except Exception as e:
    r["missing"] = type(e).__name__
print(json.dumps(r))
"#,
        &py_env(&fx.url(), &home, &cache, false),
    );
    assert_eq!(s(&got["missing"]), "RemoteEntryNotFoundError");

    let hub = hfkit_client(&closed_port_url(), &home, &cache, true);
    let repo = hub.model(REPO);
    assert_eq!(
        repo.download("config.json").unwrap(),
        Path::new(s(&got["file"]))
    );
    let lfs = repo.download("model.safetensors").unwrap();
    assert_eq!(lfs, Path::new(s(&got["lfs"])));
    assert_eq!(sha256_file(&lfs), fx.model_sha256);
    let snap = repo.snapshot().unwrap();
    assert_eq!(snap, Path::new(s(&got["snap"])));

    let r = model_repo();
    assert_eq!(
        try_to_load_from_cache(&cache, &r, "sub/dir/file.txt").unwrap(),
        CachedFile::Found(snap.join("sub/dir/file.txt"))
    );
    assert_eq!(
        try_to_load_from_cache(&cache, &r, "model.safetensors").unwrap(),
        CachedFile::Found(snap.join("model.safetensors"))
    );
    assert_eq!(
        try_to_load_from_cache(&cache, &r, "missing.txt").unwrap(),
        CachedFile::KnownMissing
    );
    assert_eq!(
        try_to_load_from_cache(&cache, &r, "never-asked.txt").unwrap(),
        CachedFile::Unknown
    );
}

/// hfkit's snapshot in `hk`, Python's in `py` (fresh caches, same mirror).
fn fill_both(fx: &Fixture) -> (PathBuf, PathBuf) {
    let (hk, py) = (fx.dir("cache-hfkit"), fx.dir("cache-python"));
    let hub = hfkit_client(&fx.url(), &fx.dir("home-hfkit"), &hk, false);
    hub.model(REPO).snapshot().unwrap();
    run_py_json(
        r#"
import json
from huggingface_hub import snapshot_download
print(json.dumps(snapshot_download("acme/tiny-model")))
"#,
        &py_env(&fx.url(), &fx.dir("home-python"), &py, false),
    );
    (hk, py)
}

fn modes(dir: &Path) -> BTreeMap<String, u32> {
    cache_tree(dir)
        .into_iter()
        .filter(|(_, v)| !v.starts_with("link:"))
        .map(|(k, _)| {
            let mode = fs::metadata(dir.join(&k)).unwrap().permissions().mode() & 0o7777;
            (k, mode)
        })
        .collect()
}

/// Both clients lay the same revision out identically (paths, link targets, blob names and
/// contents, ref contents). `trees/*.json` bytes and `.locks` contents are not compared.
#[test]
fn both_clients_write_identical_cache_trees() {
    let fx = Fixture::new();
    let (hk, py) = fill_both(&fx);
    let (a, b) = (cache_tree(&hk), cache_tree(&py));
    let only_a: Vec<_> = a.iter().filter(|(k, v)| b.get(*k) != Some(v)).collect();
    let only_b: Vec<_> = b.iter().filter(|(k, v)| a.get(*k) != Some(v)).collect();
    assert!(
        only_a.is_empty() && only_b.is_empty(),
        "cache trees differ.\nhfkit only/different: {only_a:#?}\npython only/different: {only_b:#?}"
    );
    // The layout must be the complete one, not two equally empty trees.
    let commit = fs::read_to_string(hk.join(FOLDER).join("refs/main")).unwrap();
    assert_eq!(commit.len(), 40, "refs/main holds exactly the commit id");
    assert_eq!(
        a[&format!("{FOLDER}/snapshots/{commit}/model.safetensors")],
        format!("link:../../blobs/{}", fx.model_sha256)
    );
    assert_eq!(
        a[&format!("{FOLDER}/snapshots/{commit}/onnx/model.onnx")]
            .matches("../")
            .count(),
        3
    );
    assert!(a.contains_key("CACHEDIR.TAG"));
    assert_eq!(
        a[&format!("{FOLDER}/trees/{commit}.json")],
        "tree",
        "both write the listing cache"
    );

    // The listing caches: same JSON document (bytes may differ in formatting only).
    let tree = format!("{FOLDER}/trees/{commit}.json");
    let (ta, tb) = (
        fs::read_to_string(hk.join(&tree)).unwrap(),
        fs::read_to_string(py.join(&tree)).unwrap(),
    );
    if ta != tb {
        eprintln!("trees/{commit}.json bytes differ:\nhfkit:\n{ta}\npython:\n{tb}");
    }
    assert_eq!(
        serde_json::from_str::<Value>(&ta).unwrap(),
        serde_json::from_str::<Value>(&tb).unwrap(),
        "trees/{commit}.json"
    );

    // File modes: everything but the lock files must match exactly.
    let (ma, mb) = (modes(&hk), modes(&py));
    let mode_diffs: Vec<_> = ma
        .iter()
        .filter(|(k, v)| mb.get(*k) != Some(v))
        .map(|(k, v)| {
            (
                k.clone(),
                format!("{v:o}"),
                mb.get(k).map(|m| format!("{m:o}")),
            )
        })
        .collect();
    let non_lock: Vec<_> = mode_diffs
        .iter()
        .filter(|(k, _, _)| !k.starts_with(".locks/"))
        .collect();
    if !mode_diffs.is_empty() {
        eprintln!("mode differences (hfkit, python): {mode_diffs:#?}");
    }
    assert!(
        non_lock.is_empty(),
        "modes differ (path, hfkit, python): {non_lock:#?}"
    );
}

/// The fields both scans report, normalised for comparison.
fn scan_summary_python(cache: &Path) -> Value {
    let script = format!(
        r#"
import json
from huggingface_hub import scan_cache_dir
info = scan_cache_dir({cache:?})
repos = []
for r in sorted(info.repos, key=lambda r: (r.repo_type, r.repo_id)):
    repos.append({{
        "repo_id": r.repo_id, "repo_type": r.repo_type, "size_on_disk": r.size_on_disk,
        "nb_files": r.nb_files,
        "refs": {{k: v.commit_hash for k, v in r.refs.items()}},
        "revisions": sorted([{{"commit_hash": v.commit_hash, "size_on_disk": v.size_on_disk,
            "nb_files": v.nb_files, "refs": sorted(v.refs),
            "files": sorted(f.file_name for f in v.files)}} for v in r.revisions],
            key=lambda v: v["commit_hash"]),
    }})
print(json.dumps({{"size_on_disk": info.size_on_disk, "repos": repos,
    "warnings": [str(w) for w in info.warnings]}}))
"#,
        cache = cache.display().to_string()
    );
    let home = TempDir::new().unwrap();
    run_py_json(
        &script,
        &py_env(&closed_port_url(), home.path(), cache, true),
    )
}

fn scan_summary_hfkit(cache: &Path) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_hfkit"))
        .args(["scan-cache", "--json", "--dir"])
        .arg(cache)
        .env_clear()
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut repos: Vec<Value> = v["repos"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let mut revisions: Vec<Value> = r["revisions"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| {
                    let mut files: Vec<String> = v["files"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|f| s(&f["file_name"]).to_owned())
                        .collect();
                    files.sort();
                    let mut refs: Vec<Value> = v["refs"].as_array().unwrap().clone();
                    refs.sort_by(|a, b| s(a).cmp(s(b)));
                    serde_json::json!({
                        "commit_hash": v["commit_hash"], "size_on_disk": v["size_on_disk"],
                        "nb_files": v["nb_files"], "refs": refs, "files": files,
                    })
                })
                .collect();
            revisions.sort_by(|a, b| s(&a["commit_hash"]).cmp(s(&b["commit_hash"])));
            serde_json::json!({
                "repo_id": r["repo_id"], "repo_type": r["repo_type"],
                "size_on_disk": r["size_on_disk"], "nb_files": r["nb_files"],
                "refs": r["refs"], "revisions": revisions,
            })
        })
        .collect();
    repos.sort_by(|a, b| {
        (s(&a["repo_type"]), s(&a["repo_id"])).cmp(&(s(&b["repo_type"]), s(&b["repo_id"])))
    });
    serde_json::json!({
        "size_on_disk": v["size_on_disk"],
        "repos": repos,
        "warnings": v["warnings"],
    })
}

/// Item 56: `hfkit scan-cache --json` and Python's `scan_cache_dir` agree on caches filled by
/// either client, and neither warns about them.
#[test]
fn scans_agree_on_caches_filled_by_either_client() {
    let fx = Fixture::new();
    let (hk, py) = fill_both(&fx);
    for cache in [&hk, &py] {
        let (ours, theirs) = (scan_summary_hfkit(cache), scan_summary_python(cache));
        assert_eq!(ours, theirs, "scan of {}", cache.display());
        assert_eq!(theirs["repos"].as_array().unwrap().len(), 1);
        let repo = &theirs["repos"][0];
        assert_eq!(repo["repo_id"], REPO);
        assert_eq!(repo["nb_files"], 5);
        assert!(repo["size_on_disk"].as_u64().unwrap() > MODEL_SIZE as u64);
        assert_eq!(theirs["warnings"].as_array().unwrap().len(), 0);
    }

    // Python's `snapshot_download(local_dir=…)` leaves `C/R/refs/main` without `snapshots/`:
    // both scans skip that repo with one warning (hub.md §3.5, §4.4).
    let (refs_only, local) = (fx.dir("cache-refs-only"), fx.dir("local-python"));
    let script = format!(
        "import json\nfrom huggingface_hub import snapshot_download\n\
         print(json.dumps(snapshot_download('acme/tiny-model', local_dir={:?})))",
        local.display().to_string()
    );
    run_py_json(
        &script,
        &py_env(&fx.url(), &fx.dir("home-refs-only"), &refs_only, false),
    );
    assert!(refs_only.join(FOLDER).join("refs/main").is_file());
    assert!(!refs_only.join(FOLDER).join("snapshots").exists());
    let (ours, theirs) = (
        scan_summary_hfkit(&refs_only),
        scan_summary_python(&refs_only),
    );
    assert_eq!(ours["repos"], theirs["repos"]);
    assert_eq!(theirs["warnings"].as_array().unwrap().len(), 1, "{theirs}");
    assert_eq!(ours["warnings"].as_array().unwrap().len(), 1, "{ours}");

    // hfkit's own local_dir snapshot writes nothing into the cache that a scan would warn about.
    let quiet = fx.dir("cache-hfkit-local");
    let hub = hfkit_client(&fx.url(), &fx.dir("home-hfkit-local"), &quiet, false);
    let got = hub
        .model(REPO)
        .snapshot_with(SnapshotOptions::default().local_dir(fx.dir("local-hfkit")))
        .unwrap();
    assert_eq!(got, fx.tmp.path().join("local-hfkit"));
    assert_eq!(sha256_file(&got.join("model.safetensors")), fx.model_sha256);
    let theirs = scan_summary_python(&quiet);
    assert_eq!(theirs["warnings"].as_array().unwrap().len(), 0, "{theirs}");
    assert_eq!(scan_summary_hfkit(&quiet), theirs);
}

fn gets(lines: &[String]) -> Vec<&String> {
    lines.iter().filter(|l| l.starts_with("GET ")).collect()
}

fn metadata_lines(local_dir: &Path, path: &str) -> Vec<String> {
    let m = local_dir
        .join(".cache/huggingface/download")
        .join(format!("{path}.metadata"));
    let text = fs::read_to_string(&m).unwrap_or_else(|e| panic!("{}: {e}", m.display()));
    assert!(text.ends_with('\n'), "{text:?}");
    let lines: Vec<String> = text.lines().map(str::to_owned).collect();
    assert_eq!(lines.len(), 3, "{text:?}");
    assert_eq!(lines[0].len(), 40, "commit: {text:?}");
    lines[2]
        .parse::<f64>()
        .unwrap_or_else(|e| panic!("timestamp {:?}: {e}", lines[2]));
    lines
}

/// Item 58: a file Python put in a `local_dir` is reused by hfkit (no `GET`) and vice versa; the
/// metadata files agree on commit and etag.
#[test]
fn local_dir_files_are_reused_both_ways() {
    let fx = Fixture::new();
    let proxy = throttle::start(fx.mirror.addr(), 0);
    let files = ["model.safetensors", "sub/dir/file.txt"];

    // Python first, hfkit second (each with its own, empty cache: nothing to copy from).
    let d1 = fx.dir("local-1");
    let script = format!(
        r#"
import json
from huggingface_hub import hf_hub_download
print(json.dumps([hf_hub_download("acme/tiny-model", f, local_dir={d:?}) for f in {files:?}]))
"#,
        d = d1.display().to_string(),
        files = files
    );
    let py_paths = run_py_json(
        &script,
        &py_env(
            &proxy.url(),
            &fx.dir("home-py1"),
            &fx.dir("cache-py1"),
            false,
        ),
    );
    let py_meta: Vec<_> = files.iter().map(|f| metadata_lines(&d1, f)).collect();
    let mtime_before = fs::metadata(d1.join("model.safetensors"))
        .unwrap()
        .modified()
        .unwrap();
    proxy.reset();
    let hub = hfkit_client(
        &proxy.url(),
        &fx.dir("home-hk1"),
        &fx.dir("cache-hk1"),
        false,
    );
    for (i, f) in files.iter().enumerate() {
        let p = hub
            .model(REPO)
            .download_with(f, DownloadOptions::default().local_dir(&d1))
            .unwrap();
        assert_eq!(p, Path::new(s(&py_paths[i])));
    }
    let lines = proxy.request_lines();
    assert!(gets(&lines).is_empty(), "hfkit re-fetched: {lines:#?}");
    assert_eq!(
        fs::metadata(d1.join("model.safetensors"))
            .unwrap()
            .modified()
            .unwrap(),
        mtime_before
    );
    for (i, f) in files.iter().enumerate() {
        let now = metadata_lines(&d1, f);
        assert_eq!(now[..2], py_meta[i][..2], "{f}: commit/etag kept");
    }
    assert_eq!(metadata_lines(&d1, "model.safetensors")[1], fx.model_sha256);

    // hfkit first, Python second.
    let d2 = fx.dir("local-2");
    let hub = hfkit_client(
        &proxy.url(),
        &fx.dir("home-hk2"),
        &fx.dir("cache-hk2"),
        false,
    );
    let mut hk_paths = Vec::new();
    for f in files {
        hk_paths.push(
            hub.model(REPO)
                .download_with(f, DownloadOptions::default().local_dir(&d2))
                .unwrap(),
        );
    }
    let hk_meta: Vec<_> = files.iter().map(|f| metadata_lines(&d2, f)).collect();
    for i in 0..files.len() {
        assert_eq!(hk_meta[i][..2], py_meta[i][..2], "same commit/etag lines");
    }
    assert_eq!(fs::read(d2.join(files[1])).unwrap(), b"nested file\n");
    proxy.reset();
    let script = script.replace(&d1.display().to_string(), &d2.display().to_string());
    let py_paths = run_py_json(
        &script,
        &py_env(
            &proxy.url(),
            &fx.dir("home-py2"),
            &fx.dir("cache-py2"),
            false,
        ),
    );
    for i in 0..files.len() {
        assert_eq!(hk_paths[i], Path::new(s(&py_paths[i])));
    }
    let lines = proxy.request_lines();
    assert!(gets(&lines).is_empty(), "Python re-fetched: {lines:#?}");
    assert_eq!(sha256_file(&d2.join("model.safetensors")), fx.model_sha256);
}

/// Item 57: 4 hfkit and 4 Python processes fetch one LFS file into one cache at the same time,
/// through a throttled link so they overlap: one correct blob, no temporaries, one answer.
#[test]
fn concurrent_processes_of_both_clients_share_one_blob() {
    let fx = Fixture::new();
    // ~11 MiB at 3 MiB/s: the first transfer takes ~4 s, while everyone else starts.
    let proxy = throttle::start(fx.mirror.addr(), 3 * 1024 * 1024);
    let (home, cache) = (fx.dir("home"), fx.dir("cache"));
    let env = py_env(&proxy.url(), &home, &cache, false);
    let mut children = Vec::new();
    for i in 0..8 {
        let child = if i % 2 == 0 {
            let mut cmd = Command::new(env!("CARGO_BIN_EXE_hfkit"));
            cmd.args([
                "download",
                REPO,
                "model.safetensors",
                "--quiet",
                "--cache-dir",
            ])
            .arg(&cache)
            .env_clear()
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
            ("hfkit", cmd.spawn().unwrap())
        } else {
            let envs: Vec<(&str, &str)> =
                env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            let cmd = python_command(
                "from huggingface_hub import hf_hub_download\n\
                 print(hf_hub_download('acme/tiny-model', 'model.safetensors'))",
                &envs,
            )
            .spawn()
            .unwrap();
            ("python", cmd)
        };
        children.push(child);
    }
    let started = std::time::Instant::now();
    let results: Vec<(&str, Finished)> = children
        .into_iter()
        .map(|(who, c)| (who, wait_bounded(c, Duration::from_secs(60), who)))
        .collect();
    let lines = proxy.request_lines();
    let heads = lines.iter().filter(|l| l.starts_with("HEAD ")).count();
    assert_eq!(heads, 8, "every process asked for the metadata: {lines:#?}");
    assert_eq!(gets(&lines).len(), 1, "one transfer only: {lines:#?}");
    assert!(
        started.elapsed() > Duration::from_secs(3),
        "the throttled transfer should have taken seconds"
    );
    let mut paths = Vec::new();
    for (who, done) in &results {
        assert_eq!(done.code, Some(0), "{who} failed: {done:?}");
        paths.push(done.stdout.lines().last().unwrap_or_default().to_owned());
    }
    assert!(
        paths.iter().all(|p| p == &paths[0]),
        "different answers: {paths:#?}"
    );
    let commit = fs::read_to_string(cache.join(FOLDER).join("refs/main")).unwrap();
    assert_eq!(
        Path::new(&paths[0]),
        cache
            .join(FOLDER)
            .join("snapshots")
            .join(&commit)
            .join("model.safetensors")
    );
    let blobs: Vec<String> = fs::read_dir(cache.join(FOLDER).join("blobs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(blobs, vec![fx.model_sha256.clone()], "exactly one blob");
    assert_eq!(
        sha256_file(&cache.join(FOLDER).join("blobs").join(&fx.model_sha256)),
        fx.model_sha256
    );
    assert_eq!(incomplete_files(&cache), Vec::<PathBuf>::new());
    // The model crossed the link once (plus small HEAD answers), not once per process.
    assert!(
        proxy.bytes_down() < 2 * MODEL_SIZE as u64,
        "{} bytes crossed the proxy",
        proxy.bytes_down()
    );
}
