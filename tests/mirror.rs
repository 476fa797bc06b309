//! The local Hub mirror (`hfkit::mirror`) over loopback: file metadata and content, ranges,
//! commit ids, errors, path traversal, tree / paths-info / repo info / listings, whoami.
#![cfg(feature = "server")]

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use hfkit::mirror::{Mirror, RunningMirror};
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::Value;
use sha1::{Digest, Sha1};
use sha2::Sha256;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const README: &[u8] = b"hello\n";
const README_SHA1: &str = "ce013625030ba8dba906f756967f9e9ca394464a";
const CONFIG: &[u8] = b"{\"hidden_size\": 8}\n";
const SPACED: &[u8] = b"a file with a space in its name\n";
const SECRET: &str = "TOPSECRET-DO-NOT-SERVE";

struct Fixture {
    _dir: tempfile::TempDir,
    root: PathBuf,
    mirror: RunningMirror,
    http: reqwest::Client,
}

impl Fixture {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.mirror.url())
    }

    fn tiny(&self) -> PathBuf {
        self.root.join("models/acme/tiny")
    }

    async fn get(&self, path: &str) -> reqwest::Response {
        self.http.get(self.url(path)).send().await.unwrap()
    }

    async fn head(&self, path: &str) -> reqwest::Response {
        self.http.head(self.url(path)).send().await.unwrap()
    }

    async fn json(&self, path: &str) -> Value {
        let resp = self.get(path).await;
        assert_eq!(resp.status(), StatusCode::OK, "GET {path}");
        resp.json().await.unwrap()
    }

    async fn commit(&self) -> String {
        let resp = self.head("/acme/tiny/resolve/main/README.md").await;
        assert_eq!(resp.status(), StatusCode::OK);
        header(resp.headers(), "x-repo-commit")
    }
}

fn big_content() -> Vec<u8> {
    (0..5000u32).map(|i| (i * 7 % 256) as u8).collect()
}

fn write(path: &Path, content: &[u8]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, content).unwrap();
}

fn git_sha1(bytes: &[u8]) -> String {
    let mut h = Sha1::new();
    h.update(format!("blob {}\0", bytes.len()).as_bytes());
    h.update(bytes);
    hex::encode(h.finalize())
}

fn lfs_pointer(content: &[u8]) -> String {
    format!(
        "version https://git-lfs.github.com/spec/v1\noid sha256:{}\nsize {}\n",
        hex::encode(Sha256::digest(content)),
        content.len()
    )
}

fn header(h: &HeaderMap, name: &str) -> String {
    h.get(name)
        .unwrap_or_else(|| panic!("missing header {name}"))
        .to_str()
        .unwrap()
        .to_owned()
}

async fn fixture_with(configure: impl FnOnce(Mirror) -> Mirror) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    // A secret next to the root, and one at the root's top level (not inside any repository).
    write(&dir.path().join("secret.txt"), SECRET.as_bytes());
    let root = dir.path().join("root");
    write(&root.join("secret.txt"), SECRET.as_bytes());
    let tiny = root.join("models/acme/tiny");
    write(&tiny.join("config.json"), CONFIG);
    write(&tiny.join("README.md"), README);
    write(&tiny.join("sub/dir/a b.txt"), SPACED);
    write(&tiny.join("model.bin"), &big_content());
    write(&tiny.join(".git/HEAD"), b"ref: refs/heads/main\n");
    write(&tiny.join(".cache/huggingface/download/x"), b"x");
    write(&root.join("datasets/acme/data/data.csv"), b"a,b\n1,2\n");
    let mirror = configure(Mirror::new(&root).lfs_threshold(1024))
        .serve("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    Fixture {
        _dir: dir,
        root,
        mirror,
        http: reqwest::Client::new(),
    }
}

async fn fixture() -> Fixture {
    fixture_with(|m| m).await
}

/// Sends a request with the path written byte for byte (no client-side normalisation of `..`).
async fn raw_get(mirror: &RunningMirror, path: &str) -> (u16, String) {
    let mut stream = tokio::net::TcpStream::connect(mirror.addr()).await.unwrap();
    let req = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    stream.write_all(req.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    stream.read_to_end(&mut out).await.unwrap();
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {text:?}"));
    (status, text)
}

#[tokio::test]
async fn head_reports_hub_metadata() {
    let f = fixture().await;
    let resp = f.head("/acme/tiny/resolve/main/README.md").await;
    assert_eq!(resp.status(), StatusCode::OK);
    let h = resp.headers();
    let commit = header(h, "x-repo-commit");
    assert_eq!(commit.len(), 40);
    assert!(commit.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_eq!(header(h, "etag"), format!("\"{README_SHA1}\""));
    assert_eq!(header(h, "content-length"), "6");
    assert_eq!(header(h, "accept-ranges"), "bytes");
    assert!(h.get("x-linked-etag").is_none());
    assert!(h.get("x-linked-size").is_none());

    let big = big_content();
    let resp = f.head("/acme/tiny/resolve/main/model.bin").await;
    assert_eq!(resp.status(), StatusCode::OK);
    let h = resp.headers();
    assert_eq!(header(h, "x-repo-commit"), commit);
    assert_eq!(
        header(h, "x-linked-etag"),
        format!("\"{}\"", hex::encode(Sha256::digest(&big)))
    );
    assert_eq!(header(h, "x-linked-size"), "5000");
    assert_eq!(header(h, "content-length"), "5000");
    assert_eq!(
        header(h, "etag"),
        format!("\"{}\"", git_sha1(lfs_pointer(&big).as_bytes()))
    );
}

#[tokio::test]
async fn get_streams_content_and_honours_ranges() {
    let f = fixture().await;
    let resp = f.get("/acme/tiny/resolve/main/README.md").await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.bytes().await.unwrap().as_ref(), README);
    let resp = f.get("/acme/tiny/resolve/main/sub/dir/a%20b.txt").await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(
        header(resp.headers(), "etag"),
        format!("\"{}\"", git_sha1(SPACED))
    );
    assert_eq!(resp.bytes().await.unwrap().as_ref(), SPACED);

    let big = big_content();
    let resp = f.get("/acme/tiny/resolve/main/model.bin").await;
    assert_eq!(resp.bytes().await.unwrap().as_ref(), big.as_slice());

    let ranged = |range: &'static str| {
        f.http
            .get(f.url("/acme/tiny/resolve/main/model.bin"))
            .header("range", range)
            .send()
    };
    let resp = ranged("bytes=4990-").await.unwrap();
    assert_eq!(resp.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        header(resp.headers(), "content-range"),
        "bytes 4990-4999/5000"
    );
    assert_eq!(header(resp.headers(), "content-length"), "10");
    assert_eq!(resp.bytes().await.unwrap().as_ref(), &big[4990..]);

    let resp = ranged("bytes=100-199").await.unwrap();
    assert_eq!(resp.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        header(resp.headers(), "content-range"),
        "bytes 100-199/5000"
    );
    assert_eq!(resp.bytes().await.unwrap().as_ref(), &big[100..200]);

    let resp = ranged("bytes=5000-").await.unwrap();
    assert_eq!(resp.status(), StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(header(resp.headers(), "content-range"), "bytes */5000");
}

#[tokio::test]
async fn commit_id_follows_content() {
    let f = fixture().await;
    let first = f.commit().await;
    assert_eq!(f.commit().await, first, "stable while nothing changes");
    let info = f.json("/api/models/acme/tiny").await;
    assert_eq!(info["sha"], first.as_str());

    // Resolving by commit id works.
    let resp = f
        .get(&format!("/acme/tiny/resolve/{first}/config.json"))
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(header(resp.headers(), "x-repo-commit"), first);
    assert_eq!(resp.bytes().await.unwrap().as_ref(), CONFIG);

    write(&f.tiny().join("config.json"), b"{\"hidden_size\": 16}\n");
    let second = f.commit().await;
    assert_ne!(second, first, "an edited file changes the commit");
    let resp = f.get("/acme/tiny/resolve/main/config.json").await;
    assert_eq!(
        resp.bytes().await.unwrap().as_ref(),
        b"{\"hidden_size\": 16}\n"
    );
    // The old commit is gone: only the current revision is served.
    let resp = f
        .head(&format!("/acme/tiny/resolve/{first}/config.json"))
        .await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    assert_eq!(header(resp.headers(), "x-error-code"), "RevisionNotFound");

    write(&f.tiny().join("new.txt"), b"new\n");
    let third = f.commit().await;
    assert_ne!(third, second, "an added file changes the commit");
    std::fs::remove_file(f.tiny().join("new.txt")).unwrap();
    write(&f.tiny().join("config.json"), CONFIG);
    assert_eq!(
        f.commit().await,
        first,
        "the commit id is derived from content only"
    );
}

#[tokio::test]
async fn errors_carry_hub_codes() {
    let f = fixture().await;
    let resp = f.head("/acme/nope/resolve/main/README.md").await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    assert_eq!(header(resp.headers(), "x-error-code"), "RepoNotFound");
    assert_eq!(
        header(resp.headers(), "x-error-message"),
        "Repository not found"
    );
    assert!(!header(resp.headers(), "x-request-id").is_empty());

    let resp = f.get("/acme/nope/resolve/main/README.md").await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    assert!(!header(resp.headers(), "x-request-id").is_empty());
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "Repository not found");

    let commit = f.commit().await;
    let resp = f.get("/acme/tiny/resolve/main/missing.txt").await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    assert_eq!(header(resp.headers(), "x-error-code"), "EntryNotFound");
    assert_eq!(header(resp.headers(), "x-error-message"), "Entry not found");
    assert_eq!(header(resp.headers(), "x-repo-commit"), commit);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "Entry not found");

    // A directory is not a file.
    let resp = f.head("/acme/tiny/resolve/main/sub").await;
    assert_eq!(header(resp.headers(), "x-error-code"), "EntryNotFound");

    for rev in ["refs%2Fpr%2F1", "dev", "refs%252Fpr%252F1", &"0".repeat(40)] {
        let resp = f.get(&format!("/acme/tiny/resolve/{rev}/README.md")).await;
        assert_eq!(resp.status(), StatusCode::NOT_FOUND, "{rev}");
        assert_eq!(header(resp.headers(), "x-error-code"), "RevisionNotFound");
        assert!(resp.headers().get("x-request-id").is_some());
    }
    let resp = f.head("/acme/tiny/resolve/refs%2Fpr%2F1/README.md").await;
    assert_eq!(
        header(resp.headers(), "x-error-message"),
        "Invalid rev id: refs/pr/1"
    );

    // The request's trace id is echoed as the request id.
    let resp = f
        .http
        .get(f.url("/acme/nope/resolve/main/x"))
        .header("x-amzn-trace-id", "Root=1-abc")
        .send()
        .await
        .unwrap();
    assert_eq!(header(resp.headers(), "x-request-id"), "Root=1-abc");

    // Unknown routes and wrong methods: JSON errors too.
    for resp in [
        f.get("/nothing/here/at/all").await,
        f.get("/api/unknown").await,
        f.http
            .delete(f.url("/acme/tiny/resolve/main/README.md"))
            .send()
            .await
            .unwrap(),
    ] {
        assert!(resp.status().is_client_error());
        assert!(resp.headers().get("x-request-id").is_some());
        let body: Value = resp.json().await.unwrap();
        assert!(body["error"].is_string());
    }

    // Invalid repo ids are refused with an error body.
    let resp = f.get("/api/models/acme/ti--ny").await;
    assert!(resp.status().is_client_error());
    let body: Value = resp.json().await.unwrap();
    assert!(body["error"].as_str().unwrap().contains("Invalid repo id"));
}

#[tokio::test]
async fn never_serves_outside_the_repository() {
    let f = fixture().await;
    let attempts = [
        "/acme/tiny/resolve/main/..%2F..%2F..%2Fsecret.txt",
        "/acme/tiny/resolve/main/..%2F..%2F..%2F..%2Fsecret.txt",
        "/acme/tiny/resolve/main/../../../secret.txt",
        "/acme/tiny/resolve/main/%2e%2e/%2e%2e/%2e%2e/secret.txt",
        "/acme/tiny/resolve/main/%2E%2E%2F%2E%2E%2F%2E%2E%2Fsecret.txt",
        "/acme/tiny/resolve/main/sub/../../../../secret.txt",
        "/acme/tiny/resolve/main//etc/passwd",
        "/acme/tiny/resolve/main/%2Fetc%2Fpasswd",
        "/acme/tiny/resolve/main/..%5C..%5C..%5Csecret.txt",
        "/acme/tiny/resolve/main/C:%2Fsecret.txt",
        "/acme/tiny/resolve/main/.git/HEAD",
        "/acme/..%2F..%2Fsecret.txt/resolve/main/x",
        "/api/models/acme/tiny/tree/main/..%2F..%2F..",
        "/api/models/acme/tiny/tree/main/%2Fetc",
    ];
    for path in attempts {
        let (status, text) = raw_get(&f.mirror, path).await;
        assert!((400..500).contains(&status), "{path}: status {status}");
        assert!(!text.contains(SECRET), "{path} leaked the secret");
        assert!(!text.contains("root:"), "{path} leaked /etc/passwd");
    }
    // Through a normal client too (which normalises `..` itself).
    let resp = f
        .get("/acme/tiny/resolve/main/..%2F..%2F..%2Fsecret.txt")
        .await;
    assert!(resp.status().is_client_error());
    assert!(!resp.text().await.unwrap().contains(SECRET));

    // paths-info ignores such paths.
    let resp = f
        .http
        .post(f.url("/api/models/acme/tiny/paths-info/main"))
        .form(&[("paths", "../../secret.txt"), ("paths", "/etc/passwd")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.json::<Value>().await.unwrap(), serde_json::json!([]));
}

#[cfg(unix)]
#[tokio::test]
async fn links_escaping_the_root_are_not_served() {
    let f = fixture().await;
    let outside = f.root.parent().unwrap().join("secret.txt");
    std::os::unix::fs::symlink(&outside, f.tiny().join("leak.txt")).unwrap();
    std::os::unix::fs::symlink(f.root.parent().unwrap(), f.tiny().join("leakdir")).unwrap();
    for path in [
        "/acme/tiny/resolve/main/leak.txt",
        "/acme/tiny/resolve/main/leakdir/secret.txt",
    ] {
        let resp = f.get(path).await;
        assert_eq!(resp.status(), StatusCode::NOT_FOUND, "{path}");
        assert!(!resp.text().await.unwrap().contains(SECRET));
    }
    let tree = f
        .json("/api/models/acme/tiny/tree/main?recursive=true")
        .await;
    assert!(!tree.to_string().contains("leak"));
}

fn tree_paths(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|e| e["path"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn tree_lists_children_or_everything() {
    let f = fixture().await;
    let big = big_content();
    let top = f.json("/api/models/acme/tiny/tree/main").await;
    assert_eq!(
        tree_paths(&top),
        ["README.md", "config.json", "model.bin", "sub"]
    );
    let entries = top.as_array().unwrap();
    assert_eq!(
        entries[0],
        serde_json::json!({"type": "file", "oid": README_SHA1, "size": 6, "path": "README.md"})
    );
    let pointer = lfs_pointer(&big);
    assert_eq!(
        entries[2],
        serde_json::json!({
            "type": "file",
            "oid": git_sha1(pointer.as_bytes()),
            "size": 5000,
            "path": "model.bin",
            "lfs": {"oid": hex::encode(Sha256::digest(&big)), "size": 5000, "pointerSize": pointer.len()}
        })
    );
    assert_eq!(entries[3]["type"], "directory");
    assert_eq!(entries[3]["size"], 0);
    assert_eq!(entries[3]["oid"].as_str().unwrap().len(), 40);

    let all = f
        .json("/api/models/acme/tiny/tree/main?recursive=true&expand=false")
        .await;
    assert_eq!(
        tree_paths(&all),
        [
            "README.md",
            "config.json",
            "model.bin",
            "sub",
            "sub/dir",
            "sub/dir/a b.txt"
        ]
    );
    let sub = f.json("/api/models/acme/tiny/tree/main/sub").await;
    assert_eq!(tree_paths(&sub), ["sub/dir"]);
    let commit = f.commit().await;
    let deep = f
        .json(&format!("/api/models/acme/tiny/tree/{commit}/sub%2Fdir"))
        .await;
    assert_eq!(tree_paths(&deep), ["sub/dir/a b.txt"]);
    assert_eq!(deep[0]["oid"], git_sha1(SPACED));

    let expanded = f.json("/api/models/acme/tiny/tree/main?expand=true").await;
    assert_eq!(expanded[0]["lastCommit"]["id"], commit.as_str());

    let resp = f.get("/api/models/acme/tiny/tree/main/nope").await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    assert_eq!(header(resp.headers(), "x-error-code"), "EntryNotFound");
    let resp = f.get("/api/models/acme/tiny/tree/refs%2Fpr%2F1").await;
    assert_eq!(header(resp.headers(), "x-error-code"), "RevisionNotFound");
}

#[tokio::test]
async fn tree_pagination_yields_every_entry_once() {
    let f = fixture_with(|m| m.page_size(2)).await;
    for i in 0..5 {
        write(&f.tiny().join(format!("extra/f{i}.txt")), b"x");
    }
    let mut url = f.url("/api/models/acme/tiny/tree/main?recursive=true");
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        let resp = f.http.get(&url).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        let link = resp
            .headers()
            .get("link")
            .map(|v| v.to_str().unwrap().to_owned());
        let page: Value = resp.json().await.unwrap();
        let paths = tree_paths(&page);
        assert!(
            !paths.is_empty() && paths.len() <= 2,
            "page of {}",
            paths.len()
        );
        seen.extend(paths);
        pages += 1;
        match link {
            Some(link) => {
                let next = link
                    .strip_prefix('<')
                    .and_then(|l| l.strip_suffix(">; rel=\"next\""))
                    .unwrap_or_else(|| panic!("bad Link {link}"));
                assert!(next.starts_with(&f.mirror.url()), "absolute: {next}");
                assert!(next.contains("recursive=true"), "query kept: {next}");
                url = next.to_owned();
            }
            None => break,
        }
        assert!(pages < 20, "pagination does not end");
    }
    // 6 original entries + `extra` + 5 files.
    assert_eq!(seen.len(), 12);
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), 12, "{seen:?}");
    let mut sorted = seen.clone();
    sorted.sort();
    assert_eq!(seen, sorted);
    assert_eq!(pages, 6);
}

#[tokio::test]
async fn paths_info_reports_existing_paths() {
    let f = fixture().await;
    let resp = f
        .http
        .post(f.url("/api/models/acme/tiny/paths-info/main"))
        .form(&[
            ("paths", "README.md"),
            ("paths", "sub"),
            ("paths", "nope.txt"),
            ("paths", "model.bin"),
            ("expand", "false"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(tree_paths(&v), ["README.md", "sub", "model.bin"]);
    assert_eq!(v[0]["oid"], README_SHA1);
    assert_eq!(v[1]["type"], "directory");
    assert_eq!(v[2]["lfs"]["size"], 5000);

    let resp = f
        .http
        .post(f.url("/api/datasets/acme/data/paths-info/main"))
        .form(&[("paths", "data.csv")])
        .send()
        .await
        .unwrap();
    let v: Value = resp.json().await.unwrap();
    assert_eq!(tree_paths(&v), ["data.csv"]);

    let resp = f
        .http
        .get(f.url("/api/models/acme/tiny/paths-info/main"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn repo_info_with_and_without_blobs() {
    let f = fixture().await;
    let commit = f.commit().await;
    let info = f.json("/api/models/acme/tiny").await;
    assert_eq!(info["id"], "acme/tiny");
    assert_eq!(info["author"], "acme");
    assert_eq!(info["sha"], commit.as_str());
    assert_eq!(info["private"], false);
    assert_eq!(info["gated"], false);
    assert_eq!(info["disabled"], false);
    let object_id = info["_id"].as_str().unwrap();
    assert_eq!(object_id.len(), 24);
    assert!(object_id.bytes().all(|b| b.is_ascii_hexdigit()));
    let modified = info["lastModified"].as_str().unwrap();
    assert_eq!(modified.len(), 24, "{modified}");
    assert!(modified.ends_with('Z') && modified.as_bytes()[10] == b'T');
    assert_eq!(
        info["siblings"],
        serde_json::json!([
            {"rfilename": "README.md"},
            {"rfilename": "config.json"},
            {"rfilename": "model.bin"},
            {"rfilename": "sub/dir/a b.txt"}
        ])
    );

    let at_commit = f
        .json(&format!("/api/models/acme/tiny/revision/{commit}"))
        .await;
    assert_eq!(at_commit, info);
    assert_eq!(f.json("/api/models/acme/tiny/revision/main").await, info);

    let big = big_content();
    let pointer = lfs_pointer(&big);
    let blobs = f
        .json("/api/models/acme/tiny/revision/main?blobs=true")
        .await;
    let siblings = blobs["siblings"].as_array().unwrap();
    assert_eq!(
        siblings[0],
        serde_json::json!({"rfilename": "README.md", "size": 6, "blobId": README_SHA1})
    );
    assert_eq!(
        siblings[2],
        serde_json::json!({
            "rfilename": "model.bin",
            "size": 5000,
            "blobId": git_sha1(pointer.as_bytes()),
            "lfs": {"sha256": hex::encode(Sha256::digest(&big)), "size": 5000, "pointerSize": pointer.len()}
        })
    );

    let resp = f.get("/api/models/acme/tiny/revision/refs%2Fpr%2F1").await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    assert_eq!(header(resp.headers(), "x-error-code"), "RevisionNotFound");
    let resp = f.get("/api/models/acme/data").await;
    assert_eq!(header(resp.headers(), "x-error-code"), "RepoNotFound");
    let resp = f.get("/api/datasets/acme/tiny").await;
    assert_eq!(header(resp.headers(), "x-error-code"), "RepoNotFound");
}

#[tokio::test]
async fn refs_and_commits() {
    let f = fixture().await;
    let commit = f.commit().await;
    let expected = serde_json::json!({
        "branches": [{"name": "main", "ref": "refs/heads/main", "targetCommit": commit}],
        "converts": [],
        "tags": [],
        "pullRequests": []
    });
    assert_eq!(f.json("/api/models/acme/tiny/refs").await, expected);
    assert_eq!(
        f.json("/api/models/acme/tiny/refs?include_prs=1").await,
        expected
    );
    let commits = f.json("/api/models/acme/tiny/commits/main").await;
    let commits = commits.as_array().unwrap();
    assert_eq!(commits.len(), 1);
    assert_eq!(commits[0]["id"], commit.as_str());
    assert_eq!(commits[0]["title"], "Mirror snapshot");
    assert_eq!(commits[0]["authors"][0]["user"], "hfkit-mirror");
    assert!(commits[0]["date"].as_str().unwrap().ends_with('Z'));
    let resp = f.get("/api/models/acme/nope/refs").await;
    assert_eq!(header(resp.headers(), "x-error-code"), "RepoNotFound");
}

#[tokio::test]
async fn listings_search_and_paginate() {
    let f = fixture_with(|m| m.page_size(2)).await;
    for name in ["alpha", "beta", "gamma"] {
        write(&f.root.join(format!("models/other/{name}/x.txt")), b"x");
    }
    // Not repositories: invalid names, a stray file, a dot-directory.
    write(&f.root.join("models/other/bad--name/x.txt"), b"x");
    write(&f.root.join("models/stray.txt"), b"x");
    write(&f.root.join("models/.hidden/repo/x.txt"), b"x");

    let ids = |v: &Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|e| e["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let resp = f.get("/api/models").await;
    let link = header(resp.headers(), "link");
    assert!(link.contains("cursor="), "{link}");
    let first: Value = resp.json().await.unwrap();
    assert_eq!(ids(&first), ["acme/tiny", "other/alpha"]);
    assert!(first[0].get("siblings").is_none());
    assert_eq!(first[0]["author"], "acme");

    // Follow the links to the end.
    let mut all = ids(&first);
    let mut next = link;
    loop {
        let url = next
            .trim_start_matches('<')
            .trim_end_matches(">; rel=\"next\"")
            .to_owned();
        let resp = f.http.get(&url).send().await.unwrap();
        let more = resp
            .headers()
            .get("link")
            .map(|v| v.to_str().unwrap().to_owned());
        all.extend(ids(&resp.json::<Value>().await.unwrap()));
        match more {
            Some(l) => next = l,
            None => break,
        }
    }
    assert_eq!(
        all,
        ["acme/tiny", "other/alpha", "other/beta", "other/gamma"]
    );

    assert_eq!(ids(&f.json("/api/models?search=TIN").await), ["acme/tiny"]);
    assert_eq!(
        ids(&f.json("/api/models?search=zzz").await),
        Vec::<String>::new()
    );
    assert_eq!(
        ids(&f.json("/api/models?author=other&search=a").await),
        ["other/alpha", "other/beta"]
    );
    let resp = f.get("/api/models?author=other&limit=1").await;
    assert!(
        resp.headers().get("link").is_none(),
        "limit caps the listing"
    );
    assert_eq!(ids(&resp.json::<Value>().await.unwrap()), ["other/alpha"]);
    assert_eq!(
        ids(&f
            .json("/api/models?author=other&sort=id&direction=-1")
            .await),
        ["other/gamma", "other/beta"]
    );

    let full = f.json("/api/models?search=tiny&full=true").await;
    assert_eq!(full[0]["sha"], f.commit().await.as_str());
    assert_eq!(full[0]["siblings"].as_array().unwrap().len(), 4);

    assert_eq!(ids(&f.json("/api/datasets").await), ["acme/data"]);
    assert_eq!(ids(&f.json("/api/spaces").await), Vec::<String>::new());
}

#[tokio::test]
async fn whoami_needs_the_configured_token() {
    let f = fixture_with(|m| m.token("hf_mirror_secret")).await;
    let resp = f
        .http
        .get(f.url("/api/whoami-v2"))
        .bearer_auth("hf_mirror_secret")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["name"], "mirror-user");
    assert_eq!(v["type"], "user");
    assert_eq!(v["auth"]["accessToken"]["role"], "write");

    for auth in [None, Some("Bearer wrong"), Some("hf_mirror_secret")] {
        let mut req = f.http.get(f.url("/api/whoami-v2"));
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "{auth:?}");
        let v: Value = resp.json().await.unwrap();
        assert_eq!(v["error"], "Invalid credentials in Authorization header");
    }

    let open = fixture().await;
    let resp = open
        .http
        .get(open.url("/api/whoami-v2"))
        .bearer_auth("anything")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn datasets_use_their_prefix() {
    let f = fixture().await;
    let resp = f.head("/datasets/acme/data/resolve/main/data.csv").await;
    assert_eq!(resp.status(), StatusCode::OK);
    let commit = header(resp.headers(), "x-repo-commit");
    assert_eq!(
        header(resp.headers(), "etag"),
        format!("\"{}\"", git_sha1(b"a,b\n1,2\n"))
    );
    let resp = f.get("/datasets/acme/data/resolve/main/data.csv").await;
    assert_eq!(resp.bytes().await.unwrap().as_ref(), b"a,b\n1,2\n");
    // Not a model.
    let resp = f.head("/acme/data/resolve/main/data.csv").await;
    assert_eq!(header(resp.headers(), "x-error-code"), "RepoNotFound");
    let resp = f.head("/spaces/acme/data/resolve/main/data.csv").await;
    assert_eq!(header(resp.headers(), "x-error-code"), "RepoNotFound");

    let info = f.json("/api/datasets/acme/data").await;
    assert_eq!(info["sha"], commit.as_str());
    let tree = f.json("/api/datasets/acme/data/tree/main").await;
    assert_eq!(tree_paths(&tree), ["data.csv"]);
    let refs = f.json("/api/datasets/acme/data/refs").await;
    assert_eq!(refs["branches"][0]["targetCommit"], commit.as_str());
    let commits = f
        .json(&format!("/api/datasets/acme/data/commits/{commit}"))
        .await;
    assert_eq!(commits[0]["id"], commit.as_str());
}

#[tokio::test]
async fn router_can_be_served_and_wrapped_in_process() {
    let dir = tempfile::tempdir().unwrap();
    write(&dir.path().join("models/acme/tiny/README.md"), README);
    let seen = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = seen.clone();
    let app = Mirror::new(dir.path())
        .router()
        .layer(axum::middleware::from_fn(
            move |req: axum::extract::Request, next: axum::middleware::Next| {
                let counter = counter.clone();
                async move {
                    counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    next.run(req).await
                }
            },
        ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let resp = reqwest::get(format!("http://{addr}/acme/tiny/resolve/main/README.md"))
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.bytes().await.unwrap().as_ref(), README);
    assert_eq!(seen.load(std::sync::atomic::Ordering::SeqCst), 1);
    server.abort();
}

#[tokio::test]
async fn shutdown_and_drop_stop_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let running = Mirror::new(dir.path())
        .serve("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let addr = running.addr();
    assert_eq!(running.url(), format!("http://127.0.0.1:{}", addr.port()));
    assert!(tokio::net::TcpStream::connect(addr).await.is_ok());
    running.shutdown().await;
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());

    let running = Mirror::new(dir.path())
        .serve("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let addr = running.addr();
    drop(running);
    let mut stopped = false;
    for _ in 0..50 {
        if tokio::net::TcpStream::connect(addr).await.is_err() {
            stopped = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(stopped, "dropping the handle stops the server");

    let missing = Mirror::new(dir.path().join("missing"))
        .serve("127.0.0.1:0".parse().unwrap())
        .await;
    assert!(missing.is_err());
}
