//! The cache scan and deletion plans agree with Python `huggingface_hub` 2.4.0 on one hand-built
//! cache tree (hub.md §4.4, §4.5).
//!
//! Needs the reference interpreter: `HFKIT_TEST_PYTHON`, else `<repo>/.venv/bin/python`, which
//! `.ci/run` installs. Without it the test fails rather than silently passing.
#![cfg(unix)]

use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use hfkit::Repo;
use hfkit::hub::cache::{
    CacheInfo, CacheRepo, CachedFile, DeleteStrategy, scan_cache_dir, try_to_load_from_cache,
};
use serde_json::{Value, json};

const C1: &str = "1111111111111111111111111111111111111111";
const C2: &str = "2222222222222222222222222222222222222222";
const C3: &str = "3333333333333333333333333333333333333333";
const C4: &str = "4444444444444444444444444444444444444444";
const C5: &str = "5555555555555555555555555555555555555555";
const C6: &str = "6666666666666666666666666666666666666666";
const C7: &str = "7777777777777777777777777777777777777777";
const EA: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const EB: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
const EC: &str = "cccccccccccccccccccccccccccccccccccccccc";
const ED: &str = "dddddddddddddddddddddddddddddddddddddddd";
const XET: &str = "ab00000000000000000000000000000000000000000000000000000000000001";
const ORPHAN: &str = "cd00000000000000000000000000000000000000000000000000000000000002";
const EK: &str = "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee";

fn python() -> PathBuf {
    let path = std::env::var_os("HFKIT_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python"));
    assert!(
        path.exists(),
        "the Python reference client is missing ({}): run `.ci/run` (or `bash .ci/run`) to \
         create .venv with huggingface_hub 2.4.0, or set HFKIT_TEST_PYTHON",
        path.display()
    );
    path
}

fn write(path: &Path, content: &[u8]) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, content).unwrap();
}

fn link(cache: &CacheRepo, commit: &str, path: &str, etag: &str) {
    cache.link_pointer(commit, path, etag, false).unwrap();
}

/// Builds the tree:
/// - `models--org--model`: C1 and C2 share the blob of `onnx/model.onnx`; `refs/main` → C2,
///   `refs/refs/pr/1` → C1; an `.incomplete` blob; a `.no_exist` marker; a lock.
/// - `datasets--glue`: one revision whose two files share one blob.
/// - `spaces--org--space`: two no-symlink revisions (regular files in the snapshots).
/// - `kernels--org--kern`: a kernel repo (Python accepts the type).
/// - `models--org--xet`: a blob linking into Python's shared store `C/blobs/` (plus an orphan
///   payload there).
/// - invalid entries: a folder without `--`, a repo without `snapshots/`, a broken pointer,
///   a ref to a missing snapshot, `refs` as a file, a file directly in `snapshots/`, an unknown
///   type, a file named like a repo, plus files every scan skips.
fn build_cache(c: &Path) {
    hfkit::hub::cache::ensure_cachedir_tag(c).unwrap();
    let model = CacheRepo::new(c, &Repo::model("org/model").unwrap());
    write(&model.blob_path(EA), b"{\"model_type\": \"bert\"}");
    write(&model.blob_path(EB), &[7u8; 1000]);
    write(&model.blob_path(EC), b"{\"v\": 2}");
    write(&model.incomplete_path(ED), &[1u8; 123]);
    link(&model, C1, "config.json", EA);
    link(&model, C1, "onnx/model.onnx", EB);
    link(&model, C2, "config.json", EC);
    link(&model, C2, "onnx/model.onnx", EB);
    model.write_ref("main", C2).unwrap();
    model.write_ref("refs/pr/1", C1).unwrap();
    model.mark_missing(C2, "missing.txt").unwrap();
    write(&model.lock_path(EA), b"");

    let glue = CacheRepo::new(c, &Repo::dataset("glue").unwrap());
    write(&glue.blob_path(ED), b"a,b\n1,2\n");
    link(&glue, C3, "data/train.csv", ED);
    link(&glue, C3, "data/copy.csv", ED);
    glue.write_ref("main", C3).unwrap();

    let space = CacheRepo::new(c, &Repo::space("org/space").unwrap());
    write(&space.blob_path(EA), b"app");
    space.link_pointer(C4, "app.py", EA, true).unwrap();
    space.link_pointer(C4, "sub/app.py", EA, true).unwrap();
    space.link_pointer(C7, "app.py", EA, true).unwrap();
    space.write_ref("main", C4).unwrap();

    let kern = c.join("kernels--org--kern");
    write(&kern.join("blobs").join(EK), b"kernel!");
    fs::create_dir_all(kern.join("snapshots").join(C5)).unwrap();
    symlink(
        format!("../../blobs/{EK}"),
        kern.join("snapshots").join(C5).join("k.py"),
    )
    .unwrap();

    // Python's shared blob store: a repo blob linking to a payload, and an orphan payload.
    let store = c.join("blobs");
    write(&store.join(".huggingface-shared-blobs"), b"1\n");
    write(&store.join(&XET[..2]).join(XET), &[9u8; 500]);
    write(&store.join(&ORPHAN[..2]).join(ORPHAN), &[9u8; 70]);
    write(
        &store.join(&XET[..2]).join(format!("{XET}.refs")),
        format!("models--org--xet/blobs/{EB}\n").as_bytes(),
    );
    let xet = CacheRepo::new(c, &Repo::model("org/xet").unwrap());
    fs::create_dir_all(xet.blob_path(EB).parent().unwrap()).unwrap();
    symlink(
        format!("../../blobs/{}/{XET}", &XET[..2]),
        xet.blob_path(EB),
    )
    .unwrap();
    link(&xet, C6, "weights.bin", EB);
    xet.write_ref("main", C6).unwrap();

    // Invalid entries (each skipped with a warning).
    fs::create_dir_all(c.join("not-a-repo")).unwrap();
    fs::create_dir_all(c.join("models--org--no-snapshots").join("refs")).unwrap();
    let broken = c.join("models--org--broken").join("snapshots").join(C1);
    fs::create_dir_all(&broken).unwrap();
    symlink(format!("../../blobs/{EA}"), broken.join("gone.bin")).unwrap();
    let dangling = CacheRepo::new(c, &Repo::model("org/dangling").unwrap());
    fs::create_dir_all(dangling.snapshot_dir(C1)).unwrap();
    dangling.write_ref("main", C2).unwrap();
    fs::create_dir_all(c.join("models--org--refsfile").join("snapshots").join(C1)).unwrap();
    write(&c.join("models--org--refsfile").join("refs"), C1.as_bytes());
    write(
        &c.join("models--org--snapfile")
            .join("snapshots")
            .join("stray.txt"),
        b"x",
    );
    fs::create_dir_all(c.join("foos--org--x").join("snapshots")).unwrap();
    write(&c.join("models--org--file"), b"not a folder");
    // Skipped silently.
    write(&c.join(".DS_Store"), b"x");
}

/// The scan as JSON, in the shape the Python script prints.
fn rust_json(info: &CacheInfo) -> Value {
    let secs = |t: SystemTime| t.duration_since(UNIX_EPOCH).unwrap().as_secs_f64();
    let repos: Vec<Value> = info
        .repos
        .iter()
        .map(|r| {
            json!({
                "repo_id": r.repo_id,
                "repo_type": r.repo_type_name,
                "repo_path": r.repo_path,
                "size_on_disk": r.size_on_disk,
                "nb_files": r.nb_files,
                "last_modified": secs(r.last_modified),
                "refs": r.refs.iter().map(|(k, v)| json!([k, v])).collect::<Vec<_>>(),
                "revisions": r.revisions.iter().map(|rev| json!({
                    "commit_hash": rev.commit_hash,
                    "snapshot_path": rev.snapshot_path,
                    "size_on_disk": rev.size_on_disk,
                    "nb_files": rev.files.len(),
                    "refs": rev.refs,
                    "last_modified": secs(rev.last_modified),
                    "files": rev.files.iter().map(|f| json!({
                        "file_name": f.file_name,
                        "file_path": f.file_path,
                        "blob_path": f.blob_path,
                        "size_on_disk": f.size_on_disk,
                        "blob_last_modified": secs(f.blob_last_modified),
                    })).collect::<Vec<_>>(),
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({
        "size_on_disk": info.size_on_disk,
        "nb_warnings": info.warnings.len(),
        "incomplete": info.incomplete,
        "incomplete_size_on_disk": info.incomplete_size_on_disk,
        "repos": repos,
    })
}

fn plan_json(plan: &DeleteStrategy) -> Value {
    json!({
        "expected_freed_size": plan.expected_freed_size,
        "blobs": plan.blobs,
        "refs": plan.refs,
        "repos": plan.repos,
        "snapshots": plan.snapshots,
    })
}

const PY: &str = r#"
import json, sys
from huggingface_hub import scan_cache_dir
info = scan_cache_dir(sys.argv[1])
def rev(r):
    return {
        "commit_hash": r.commit_hash, "snapshot_path": str(r.snapshot_path),
        "size_on_disk": r.size_on_disk, "nb_files": r.nb_files, "refs": sorted(r.refs),
        "last_modified": r.last_modified,
        "files": [{"file_name": f.file_name, "file_path": str(f.file_path),
                   "blob_path": str(f.blob_path), "size_on_disk": f.size_on_disk,
                   "blob_last_modified": f.blob_last_modified}
                  for f in sorted(r.files, key=lambda f: str(f.file_path))],
    }
repos = [{
    "repo_id": r.repo_id, "repo_type": r.repo_type, "repo_path": str(r.repo_path),
    "size_on_disk": r.size_on_disk, "nb_files": r.nb_files, "last_modified": r.last_modified,
    "refs": sorted([k, v.commit_hash] for k, v in r.refs.items()),
    "revisions": [rev(x) for x in sorted(r.revisions, key=lambda x: x.commit_hash)],
} for r in sorted(info.repos, key=lambda r: str(r.repo_path))]
def plan(s):
    return {"expected_freed_size": s.expected_freed_size,
            "blobs": sorted(map(str, s.blobs)), "refs": sorted(map(str, s.refs)),
            "repos": sorted(map(str, s.repos)), "snapshots": sorted(map(str, s.snapshots))}
plans = [plan(info.delete_revisions(*a.split(","))) for a in sys.argv[2:]]
print(json.dumps({
    "scan": {
        "size_on_disk": info.size_on_disk, "nb_warnings": len(info.warnings),
        "incomplete": sorted(str(f.file_path) for f in info.incomplete_files),
        "incomplete_size_on_disk": info.incomplete_size_on_disk,
        "repos": repos,
    },
    "plans": plans,
    "table": info.export_as_table(),
    "table_verbose": info.export_as_table(verbosity=1),
}))
"#;

/// Equal JSON, floats within a microsecond (timestamps).
fn assert_same(rust: &Value, py: &Value, at: &str) {
    match (rust, py) {
        (Value::Object(a), Value::Object(b)) => {
            let mut ka: Vec<_> = a.keys().collect();
            let mut kb: Vec<_> = b.keys().collect();
            ka.sort();
            kb.sort();
            assert_eq!(ka, kb, "keys at {at}");
            for k in ka {
                assert_same(&a[k], &b[k], &format!("{at}.{k}"));
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            assert_eq!(a.len(), b.len(), "length at {at}: {rust} vs {py}");
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                assert_same(x, y, &format!("{at}[{i}]"));
            }
        }
        (Value::Number(a), Value::Number(b)) if a.is_f64() || b.is_f64() => {
            let (x, y) = (a.as_f64().unwrap(), b.as_f64().unwrap());
            assert!((x - y).abs() < 1e-6, "{at}: {x} vs {y}");
        }
        _ => assert_eq!(rust, py, "at {at}"),
    }
}

#[test]
fn scan_and_plans_agree_with_python() {
    let python = python();
    let dir = tempfile::tempdir().unwrap();
    let c = dir.path().join("hub");
    build_cache(&c);

    let info = scan_cache_dir(&c).unwrap();
    let plans_args = [
        C1.to_string(),
        format!("{C1},{C2}"),
        format!("{C3},{C5}"),
        C4.to_string(),
    ];
    let out = Command::new(&python)
        .arg("-c")
        .arg(PY)
        .arg(&c)
        .args(&plans_args)
        .env("HF_HUB_DISABLE_TELEMETRY", "1")
        .output()
        .expect("running the Python reference client");
    assert!(
        out.status.success(),
        "python failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let py: Value = serde_json::from_slice(&out.stdout).unwrap();

    assert_same(&rust_json(&info), &py["scan"], "scan");
    for (i, args) in plans_args.iter().enumerate() {
        let hashes: Vec<&str> = args.split(',').collect();
        let plan = info.delete_revisions(&hashes);
        assert!(plan.warnings.is_empty());
        assert_same(&plan_json(&plan), &py["plans"][i], &format!("plan {args}"));
    }
    assert_eq!(info.export_as_table(false), py["table"].as_str().unwrap());
    assert_eq!(
        info.export_as_table(true),
        py["table_verbose"].as_str().unwrap()
    );

    // Sanity of the shape itself, independent of Python.
    assert_eq!(info.warnings.len(), 8, "{:#?}", info.warnings);
    let ids: Vec<&str> = info.repos.iter().map(|r| r.repo_id.as_str()).collect();
    assert_eq!(
        ids,
        ["glue", "org/kern", "org/model", "org/xet", "org/space"]
    );
    // Repo blobs once each, the shared payloads once each (the orphan included).
    assert_eq!(info.size_on_disk, 8 + 7 + (22 + 1000 + 8) + 9 + 500 + 70);
    assert_eq!(info.repos[3].size_on_disk, 500);
    // hfkit deletes only the repo-local link; the payload stays for Python's `hf cache prune`,
    // so nothing is counted as freed (Python, which sweeps it, would count 500).
    let plan = info.delete_revisions(&[C6]);
    assert_eq!(plan.repos.len(), 1);
    assert_eq!(plan.expected_freed_size, 0);
    let model = &info.repos[2];
    assert_eq!(model.nb_files, 3);
    assert_eq!(model.size_on_disk, 22 + 1000 + 8);
    assert_eq!(model.refs["main"], C2);
    assert_eq!(model.refs["refs/pr/1"], C1);
    assert_eq!(info.incomplete.len(), 1);
    assert_eq!(info.incomplete_size_on_disk, 123);
}

#[test]
fn delete_plans_execute() {
    let dir = tempfile::tempdir().unwrap();
    let c = dir.path().join("hub");
    build_cache(&c);
    let model = CacheRepo::new(&c, &Repo::model("org/model").unwrap());
    let info = scan_cache_dir(&c).unwrap();

    // One of two revisions: its snapshot, its ref and only its unique blob go.
    let plan = info.delete_revisions(&[C1, "ffffffffffffffffffffffffffffffffffffffff"]);
    assert_eq!(plan.warnings.len(), 1, "unknown hash is reported");
    assert!(plan.warnings[0].contains("ffffffffffffffffffffffffffffffffffffffff"));
    assert_eq!(plan.expected_freed_size, 22);
    assert_eq!(plan.expected_freed_size_str(), "22.0");
    let warnings = plan.execute();
    assert!(warnings.is_empty(), "{warnings:?}");
    assert!(!model.snapshot_dir(C1).exists());
    assert!(!model.ref_path("refs/pr/1").exists());
    assert!(!model.blob_path(EA).exists());
    assert!(model.blob_path(EB).exists(), "still used by C2");
    assert!(model.blob_path(EC).exists());
    assert!(model.ref_path("main").exists());
    let repo = Repo::model("org/model").unwrap();
    assert!(matches!(
        try_to_load_from_cache(&c, &repo, "onnx/model.onnx").unwrap(),
        CachedFile::Found(_)
    ));
    // Running it again only warns.
    let again = plan.execute();
    assert_eq!(again.len(), 3, "{again:?}");
    assert!(again.iter().all(|w| w.contains("not found")));

    // The shared payload survives deleting the repo linking to it.
    let info = scan_cache_dir(&c).unwrap();
    assert!(info.delete_revisions(&[C6]).execute().is_empty());
    assert!(c.join("blobs").join(&XET[..2]).join(XET).exists());
    assert!(!c.join("models--org--xet").exists());

    // All revisions of a repo: the whole folder goes.
    let info = scan_cache_dir(&c).unwrap();
    let plan = info.delete_revisions(&[C2]);
    assert_eq!(plan.repos.len(), 1);
    assert!(plan.blobs.is_empty() && plan.snapshots.is_empty() && plan.refs.is_empty());
    assert_eq!(plan.expected_freed_size, 1000 + 8);
    assert!(plan.execute().is_empty());
    assert!(!model.repo_dir().exists());
    let info = scan_cache_dir(&c).unwrap();
    assert!(info.repos.iter().all(|r| r.repo_id != "org/model"));
}
