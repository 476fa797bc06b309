//! Python `huggingface_hub` 2.4.0 and hfkit against the same writable mirror: Python's
//! `upload_folder` (regular, basic LFS, multipart LFS, README check, delete patterns) succeeds and
//! hfkit downloads its files byte-identical; hfkit's upload is downloaded byte-identical by Python.

mod support;

use std::path::Path;

use hfkit::hub::repos::CreateRepo;
use hfkit::hub::upload::UploadFolderOptions;
use support::python::run_python;
use support::writable::{TOKEN, WritableHub};

fn data(n: usize, seed: u8) -> Vec<u8> {
    (0..n)
        .map(|i| (i as u8).wrapping_mul(13).wrapping_add(seed))
        .collect()
}

fn write(dir: &Path, rel: &str, bytes: &[u8]) {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, bytes).unwrap();
}

fn folder() -> (tempfile::TempDir, Vec<(&'static str, Vec<u8>)>) {
    let dir = tempfile::tempdir().unwrap();
    let files = vec![
        ("README.md", b"---\nlicense: mit\n---\n# Test\n".to_vec()),
        ("config.json", b"{\"a\": 1}\n".to_vec()),
        ("empty.txt", Vec::new()),
        ("weights/small.bin", data(1200, 1)),
        ("weights/big.bin", data(3500, 2)),
    ];
    for (p, b) in &files {
        write(dir.path(), p, b);
    }
    (dir, files)
}

async fn py(script: String, env: Vec<(String, String)>) -> String {
    tokio::task::spawn_blocking(move || {
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        run_python(&script, &env)
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn python_uploads_hfkit_downloads_and_back() {
    let hub = WritableHub::start(1000, 1000).await;
    let home = tempfile::tempdir().unwrap();
    let (dir, files) = folder();
    let env = vec![
        ("HF_ENDPOINT".to_owned(), hub.url.clone()),
        (
            "HF_HOME".to_owned(),
            home.path().join("py").display().to_string(),
        ),
        ("HF_TOKEN".to_owned(), TOKEN.to_owned()),
        ("FOLDER".to_owned(), dir.path().display().to_string()),
    ];
    let out = py(
        r#"
import os
from huggingface_hub import HfApi
api = HfApi()
api.create_repo("acme/py", exist_ok=True)
api.create_repo("acme/py", exist_ok=True)
api.upload_file(path_or_fileobj=b"to be deleted", path_in_repo="old.log", repo_id="acme/py")
info = api.upload_folder(repo_id="acme/py", folder_path=os.environ["FOLDER"],
                         commit_message="from python", delete_patterns=["*.log"])
print(info.oid)
print(sorted(api.list_repo_files("acme/py")))
"#
        .to_owned(),
        env.clone(),
    )
    .await;
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0].len(), 40, "{out}");
    assert_eq!(
        lines[1],
        "['.gitattributes', 'README.md', 'config.json', 'empty.txt', 'weights/big.bin', 'weights/small.bin']"
    );
    // Python used multipart for the big file and basic for the small one.
    assert!(hub.count("PUT", "/part/") >= 4, "{:?}", hub.log());
    // Python checks the README front matter before committing (twice in 2.4.0).
    assert!(hub.count("POST", "/api/validate-yaml") >= 1);

    let cache = tempfile::tempdir().unwrap();
    let client = hub.client(cache.path());
    for (p, bytes) in &files {
        let got = client.model("acme/py").download(p).await.unwrap();
        assert_eq!(&std::fs::read(got).unwrap(), bytes, "{p}");
    }

    // hfkit uploads the same folder to another repo; Python downloads it.
    client
        .create_repo(CreateRepo::new("acme/rs"))
        .await
        .unwrap();
    client
        .model("acme/rs")
        .upload_folder(dir.path(), UploadFolderOptions::default())
        .await
        .unwrap();
    let out = py(
        r#"
import hashlib
from huggingface_hub import hf_hub_download, HfApi
for p in sorted(HfApi().list_repo_files("acme/rs")):
    data = open(hf_hub_download("acme/rs", p), "rb").read()
    print(p, hashlib.sha256(data).hexdigest())
"#
        .to_owned(),
        env,
    )
    .await;
    use sha2::Digest;
    let mut expected: Vec<String> = files
        .iter()
        .map(|(p, b)| format!("{p} {}", hex::encode(sha2::Sha256::digest(b))))
        .collect();
    expected.push(format!(
        ".gitattributes {}",
        hex::encode(sha2::Sha256::digest(
            std::fs::read(
                client
                    .model("acme/rs")
                    .download(".gitattributes")
                    .await
                    .unwrap()
            )
            .unwrap()
        ))
    ));
    expected.sort();
    let got: Vec<String> = out.lines().map(str::to_owned).collect();
    assert_eq!(got, expected);
}

/// `METHOD path` with the repository name and upload ids made neutral.
fn shape(l: &support::writable::Logged, repo: &str) -> String {
    let mut path = l.path.replace(repo, "REPO");
    if let Some(rest) = path.strip_prefix("/lfs-upload/") {
        let tail = rest.split_once('/').map_or("", |(_, t)| t);
        path = format!("/lfs-upload/ID/{tail}");
    }
    let q = l
        .query
        .as_deref()
        .map(|q| format!("?{q}"))
        .unwrap_or_default();
    format!("{} {path}{q}", l.method)
}

/// Each NDJSON line as `key` plus its value with inline content left out.
fn ndjson_shape(body: &[u8]) -> Vec<serde_json::Value> {
    body.split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice::<serde_json::Value>(l).unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn python_and_hfkit_send_the_same_requests_for_the_same_folder() {
    let (dir, _files) = folder();
    // Python against one mirror…
    let py_hub = WritableHub::start(1000, 1000).await;
    let home = tempfile::tempdir().unwrap();
    let env = vec![
        ("HF_ENDPOINT".to_owned(), py_hub.url.clone()),
        (
            "HF_HOME".to_owned(),
            home.path().join("py").display().to_string(),
        ),
        ("HF_TOKEN".to_owned(), TOKEN.to_owned()),
        ("FOLDER".to_owned(), dir.path().display().to_string()),
    ];
    py(
        r#"
import os
from huggingface_hub import HfApi
api = HfApi()
api.create_repo("acme/same", exist_ok=True)
api.upload_folder(repo_id="acme/same", folder_path=os.environ["FOLDER"], commit_message="same")
"#
        .to_owned(),
        env,
    )
    .await;
    // …hfkit against another, same folder, same calls.
    let rs_hub = WritableHub::start(1000, 1000).await;
    let cache = tempfile::tempdir().unwrap();
    let client = rs_hub.client(cache.path());
    client
        .create_repo(CreateRepo::new("acme/same").exist_ok(true))
        .await
        .unwrap();
    client
        .model("acme/same")
        .upload_folder(dir.path(), UploadFolderOptions::default().message("same"))
        .await
        .unwrap();

    let (py_log, rs_log) = (py_hub.log(), rs_hub.log());
    // The order of the calls, consecutive repeats folded (Python checks the README twice). The
    // transfers (parts, completions, verifications) run concurrently in both clients, so they
    // are one phase here, compared by counts below; the phase must sit between the batch and
    // the commit.
    let order = |log: &[support::writable::Logged]| {
        let mut v: Vec<String> = log
            .iter()
            .map(|l| shape(l, "acme/same"))
            .map(|s| {
                if s.contains("/lfs-upload/") || s.ends_with("/objects/verify") {
                    "TRANSFERS".to_owned()
                } else {
                    s
                }
            })
            .collect();
        v.dedup();
        v
    };
    let (py_calls, rs_calls) = (order(&py_log), order(&rs_log));
    assert_eq!(rs_calls, py_calls);
    assert_eq!(
        rs_calls,
        [
            "POST /api/repos/create",
            "POST /api/validate-yaml",
            "POST /api/models/REPO/preupload/main",
            "POST /REPO.git/info/lfs/objects/batch",
            "TRANSFERS",
            "POST /api/models/REPO/commit/main",
        ]
    );
    let count = |log: &[support::writable::Logged], needle: &str| {
        log.iter()
            .filter(|l| shape(l, "acme/same").contains(needle))
            .count()
    };
    for needle in [
        "PUT /lfs-upload/ID/part/",
        "/complete",
        "/verify",
        "/commit/",
        "/objects/batch",
        "/preupload/",
    ] {
        assert_eq!(count(&rs_log, needle), count(&py_log, needle), "{needle}");
    }
    // The bodies: create, preupload, batch and the commit lines, compared as JSON.
    let body = |log: &[support::writable::Logged], needle: &str| -> serde_json::Value {
        let l = log.iter().find(|l| l.path.contains(needle)).unwrap();
        serde_json::from_slice(&l.body).unwrap()
    };
    assert_eq!(
        body(&rs_log, "/repos/create"),
        body(&py_log, "/repos/create")
    );
    assert_eq!(body(&rs_log, "/preupload/"), body(&py_log, "/preupload/"));
    assert_eq!(
        body(&rs_log, "/objects/batch"),
        body(&py_log, "/objects/batch")
    );
    let commit = |log: &[support::writable::Logged]| {
        ndjson_shape(
            &log.iter()
                .find(|l| l.path.contains("/commit/"))
                .unwrap()
                .body,
        )
    };
    let (rs_lines, py_lines) = (commit(&rs_log), commit(&py_log));
    assert_eq!(rs_lines, py_lines);
}
