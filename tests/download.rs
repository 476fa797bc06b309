//! Cache-mode downloads against the loopback test Hub (hub.md §3, §5, §7): cache layout, the CDN
//! redirect and token scoping, request counts, revision encoding, typed errors, offline mode,
//! snapshots, `local_dir` mode and input validation.
#![cfg(feature = "server")]

mod support;

use std::path::Path;
use std::time::Duration;

use hfkit::hub::download::DownloadOptions;
use hfkit::hub::snapshot::SnapshotOptions;
use hfkit::{Error, HubClient};
use sha1::Sha1;
use sha2::{Digest, Sha256};
use support::hub::{
    CDN, HUB, HubEnv as Env, Match, Recorded, TEST_TOKEN as TOKEN, TestHub, pattern_bytes,
};

fn git_sha1(data: &[u8]) -> String {
    let mut h = Sha1::new();
    h.update(format!("blob {}\0", data.len()).as_bytes());
    h.update(data);
    hex::encode(h.finalize())
}

fn sha256(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

fn gets(reqs: &[Recorded]) -> Vec<&Recorded> {
    reqs.iter().filter(|r| r.method == "GET").collect()
}

#[tokio::test]
async fn first_download_builds_the_python_cache_layout() {
    let env = Env::new().await;
    let path = env
        .client()
        .model("org/name")
        .download("config.json")
        .await
        .unwrap();

    let commit = env.commit();
    assert_eq!(
        commit.len(),
        40,
        "refs/main is a bare commit id: {commit:?}"
    );
    assert!(commit.bytes().all(|b| b.is_ascii_hexdigit()));
    assert!(!commit.ends_with('\n'));
    assert_eq!(
        path,
        env.repo_dir()
            .join("snapshots")
            .join(&commit)
            .join("config.json")
    );

    let sha1 = git_sha1(&env.file("config.json"));
    let link = std::fs::read_link(&path).unwrap();
    assert_eq!(link, Path::new("../../blobs").join(&sha1));
    let blob = env.repo_dir().join("blobs").join(&sha1);
    assert_eq!(std::fs::read(&blob).unwrap(), env.file("config.json"));
    assert_eq!(std::fs::read(&path).unwrap(), env.file("config.json"));
    assert!(env.cache_dir().join("CACHEDIR.TAG").is_file());
    assert!(
        env.cache_dir()
            .join(".locks/models--org--name")
            .join(format!("{sha1}.lock"))
            .is_file()
    );

    // A nested LFS file: one `../` per level, named by sha256.
    let onnx = env
        .client()
        .model("org/name")
        .download("onnx/model.onnx")
        .await
        .unwrap();
    let sha = sha256(&env.file("onnx/model.onnx"));
    assert_eq!(
        std::fs::read_link(&onnx).unwrap(),
        Path::new("../../../blobs").join(&sha)
    );
    assert_eq!(std::fs::read(&onnx).unwrap(), env.file("onnx/model.onnx"));
    assert!(
        env.cache_dir()
            .join(".locks/models--org--name")
            .join(format!("{sha}.lock"))
            .is_file()
    );
    let leftovers: Vec<_> = std::fs::read_dir(env.repo_dir().join("blobs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("incomplete"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[tokio::test]
async fn lfs_bytes_come_from_the_cdn_without_the_token() {
    let env = Env::new().await;
    let path = env
        .client()
        .model("org/name")
        .download("weights.bin")
        .await
        .unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), env.file("weights.bin"));

    let reqs = env.hub.requests();
    let cdn: Vec<_> = reqs.iter().filter(|r| r.server == CDN).collect();
    assert!(
        !cdn.is_empty(),
        "the bytes must come from the CDN: {reqs:#?}"
    );
    assert!(cdn.iter().all(|r| r.method == "GET"));
    for r in &cdn {
        assert_eq!(r.authorization, None, "token leaked to the CDN: {r:?}");
        assert!(r.path.contains("X-Amz-Signature=abc"), "{r:?}");
    }
    let hub: Vec<_> = reqs.iter().filter(|r| r.server == HUB).collect();
    assert!(!hub.is_empty());
    for r in &hub {
        assert_eq!(
            r.authorization.as_deref(),
            Some("Bearer hf_test_token"),
            "{r:?}"
        );
    }
}

#[tokio::test]
async fn a_cached_file_is_not_fetched_again() {
    let env = Env::new().await;
    let api = env.client().model("org/name");
    let path = api.download("config.json").await.unwrap();
    let blob = std::fs::canonicalize(&path).unwrap();
    let mtime = std::fs::metadata(&blob).unwrap().modified().unwrap();
    env.hub.clear();

    tokio::time::sleep(Duration::from_millis(20)).await;
    let again = api.download("config.json").await.unwrap();
    assert_eq!(again, path);
    let reqs = env.hub.requests();
    assert_eq!(reqs.len(), 1, "{reqs:#?}");
    assert_eq!(reqs[0].method, "HEAD");
    assert_eq!(std::fs::metadata(&blob).unwrap().modified().unwrap(), mtime);
}

#[tokio::test]
async fn a_commit_revision_with_the_file_cached_makes_no_request() {
    let env = Env::new().await;
    let path = env
        .client()
        .model("org/name")
        .download("config.json")
        .await
        .unwrap();
    let commit = env.commit();
    env.hub.clear();
    let again = env
        .client()
        .model("org/name")
        .revision(commit.clone())
        .download("config.json")
        .await
        .unwrap();
    assert_eq!(again, path);
    assert_eq!(env.hub.request_count(), 0, "{:#?}", env.hub.requests());
}

#[tokio::test]
async fn pr_revisions_are_encoded_once() {
    let env = Env::new().await;
    env.hub.faults().alias_revision("refs%2Fpr%2F1", "main");
    let path = env
        .client()
        .model("org/name")
        .revision("refs/pr/1")
        .download("config.json")
        .await
        .unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), env.file("config.json"));
    let reqs = env.hub.requests();
    assert!(
        reqs.iter()
            .any(|r| r.path == "/org/name/resolve/refs%2Fpr%2F1/config.json"),
        "{reqs:#?}"
    );
    assert!(reqs.iter().all(|r| !r.path.contains("%25")), "{reqs:#?}");
    let reference = env.repo_dir().join("refs/refs/pr/1");
    let commit = std::fs::read_to_string(reference).unwrap();
    assert_eq!(commit.len(), 40);
}

#[tokio::test]
async fn a_missing_file_is_remembered_in_no_exist() {
    let env = Env::new().await;
    let err = env
        .client()
        .model("org/name")
        .download("missing.txt")
        .await
        .unwrap_err();
    assert!(matches!(err, Error::EntryNotFound { .. }), "{err:?}");
    let commit = env.commit();
    let marker = env
        .repo_dir()
        .join(".no_exist")
        .join(&commit)
        .join("missing.txt");
    assert_eq!(std::fs::metadata(&marker).unwrap().len(), 0);
}

#[tokio::test]
async fn a_missing_repo_is_repo_not_found() {
    let env = Env::new().await;
    let err = env
        .client()
        .model("org/nope")
        .download("config.json")
        .await
        .unwrap_err();
    assert!(matches!(err, Error::RepoNotFound { .. }), "{err:?}");
}

#[tokio::test]
async fn a_missing_revision_is_revision_not_found() {
    let env = Env::new().await;
    let err = env
        .client()
        .model("org/name")
        .revision("nope")
        .download("config.json")
        .await
        .unwrap_err();
    assert!(matches!(err, Error::RevisionNotFound { .. }), "{err:?}");
}

#[tokio::test]
async fn a_gated_repo_is_gated_repo_with_request_id_and_message() {
    let env = Env::new().await;
    env.hub.faults().error(
        Match::hub(),
        401,
        Some("GatedRepo"),
        "Access to model org/name is restricted.",
        Some("Root=1-abc"),
    );
    let err = env
        .client()
        .model("org/name")
        .download("config.json")
        .await
        .unwrap_err();
    assert!(matches!(err, Error::GatedRepo { .. }), "{err:?}");
    assert_eq!(err.request_id(), Some("Root=1-abc"));
    let ctx = err.http_context().unwrap();
    assert_eq!(ctx.status, 401);
    assert!(
        ctx.server_message
            .as_deref()
            .unwrap_or_default()
            .contains("Access to model org/name is restricted."),
        "{ctx:?}"
    );
    assert_eq!(ctx.error_code.as_deref(), Some("GatedRepo"));
}

#[tokio::test]
async fn forbidden_is_typed_and_download_falls_back_as_the_spec_says() {
    let env = Env::new().await;
    // The metadata call returns the typed error (hub.md §7).
    env.hub.faults().error(
        Match::hub(),
        403,
        None,
        "You are not allowed.",
        Some("req-403"),
    );
    let err = env
        .client()
        .model("org/name")
        .file_metadata("config.json")
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Forbidden(_)), "{err:?}");
    assert_eq!(err.request_id(), Some("req-403"));
    assert!(err.to_string().contains("You are not allowed."), "{err}");

    // A download whose HEAD got a 403 and has no cached copy: hub.md §3.2.8 says
    // LocalEntryNotFound carrying the cause (only RepoNotFound/GatedRepo/401 pass through).
    env.hub.faults().error(
        Match::hub(),
        403,
        None,
        "You are not allowed.",
        Some("req-403"),
    );
    let err = env
        .client()
        .model("org/name")
        .download("config.json")
        .await
        .unwrap_err();
    match &err {
        Error::LocalEntryNotFound { reason, .. } => {
            assert!(reason.contains("403"), "{reason}");
            assert!(reason.contains("You are not allowed."), "{reason}");
        }
        other => panic!("expected LocalEntryNotFound, got {other:?}"),
    }
}

#[tokio::test]
async fn invalid_credentials_are_unauthorized() {
    let env = Env::new().await;
    env.hub.faults().error(
        Match::hub(),
        401,
        None,
        "Invalid credentials in Authorization header",
        Some("req-401"),
    );
    let err = env
        .client()
        .model("org/name")
        .download("config.json")
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Unauthorized(_)), "{err:?}");
    assert_eq!(err.request_id(), Some("req-401"));
    assert!(
        err.to_string()
            .contains("Invalid credentials in Authorization header"),
        "{err}"
    );
}

#[tokio::test]
async fn offline_mode_uses_the_cache_without_any_request() {
    let env = Env::new().await;
    let path = env
        .client()
        .model("org/name")
        .download("config.json")
        .await
        .unwrap();
    env.hub.clear();

    let offline = env.client_with(true);
    let again = offline
        .model("org/name")
        .download("config.json")
        .await
        .unwrap();
    assert_eq!(again, path);
    let err = offline
        .model("org/name")
        .download("README.md")
        .await
        .unwrap_err();
    match &err {
        Error::Offline { what } => assert!(what.contains("README.md"), "{what}"),
        other => panic!("expected Offline, got {other:?}"),
    }
    assert_eq!(env.hub.request_count(), 0, "{:#?}", env.hub.requests());
}

#[tokio::test]
async fn snapshot_resolves_once_writes_the_listing_and_filters() {
    let env = Env::new().await;
    let api = env.client().model("org/name");
    let dir = api
        .snapshot_with(
            SnapshotOptions::default()
                .allow(["*.json", "*.md"])
                .ignore(["tokenizer.json"]),
        )
        .await
        .unwrap();
    let commit = env.commit();
    assert_eq!(dir, env.repo_dir().join("snapshots").join(&commit));
    assert_eq!(
        std::fs::read(dir.join("config.json")).unwrap(),
        env.file("config.json")
    );
    assert_eq!(
        std::fs::read(dir.join("README.md")).unwrap(),
        env.file("README.md")
    );
    assert!(!dir.join("tokenizer.json").exists());
    assert!(!dir.join("weights.bin").exists());
    assert!(!dir.join("onnx").exists());
    assert!(
        env.repo_dir()
            .join("trees")
            .join(format!("{commit}.json"))
            .is_file()
    );

    let reqs = env.hub.requests();
    let revision_calls = reqs
        .iter()
        .filter(|r| r.path.starts_with("/api/models/org/name/revision/"))
        .count();
    assert_eq!(revision_calls, 1, "{reqs:#?}");
    assert!(
        reqs.iter()
            .all(|r| !r.path.contains("tokenizer.json") && !r.path.contains("weights")),
        "{reqs:#?}"
    );

    // Again: only the revision is asked for.
    env.hub.clear();
    let again = api
        .snapshot_with(
            SnapshotOptions::default()
                .allow(["*.json", "*.md"])
                .ignore(["tokenizer.json"]),
        )
        .await
        .unwrap();
    assert_eq!(again, dir);
    let reqs = env.hub.requests();
    assert_eq!(reqs.len(), 1, "{reqs:#?}");
    assert_eq!(reqs[0].path, "/api/models/org/name/revision/main");

    // Offline: the same folder, no request.
    env.hub.clear();
    let offline = env
        .client_with(true)
        .model("org/name")
        .snapshot_with(
            SnapshotOptions::default()
                .allow(["*.json", "*.md"])
                .ignore(["tokenizer.json"]),
        )
        .await
        .unwrap();
    assert_eq!(offline, dir);
    assert_eq!(env.hub.request_count(), 0);
}

#[tokio::test]
async fn snapshot_respects_max_workers() {
    let root = tempfile::tempdir().unwrap();
    let repo = root.path().join("models/org/many");
    std::fs::create_dir_all(&repo).unwrap();
    for i in 0..8 {
        std::fs::write(
            repo.join(format!("f{i}.txt")),
            pattern_bytes(100 + i, i as u8),
        )
        .unwrap();
    }
    let hub = TestHub::start(root.path()).await;
    hub.faults().delay(
        Match::hub().get().path("/resolve/"),
        Duration::from_millis(150),
    );
    let cache = tempfile::tempdir().unwrap();
    let client = HubClient::builder()
        .endpoint(hub.url())
        .cache_dir(cache.path())
        .token(TOKEN)
        .build()
        .unwrap();
    let dir = client
        .model("org/many")
        .snapshot_with(SnapshotOptions::default().max_workers(2))
        .await
        .unwrap();
    for i in 0..8 {
        assert_eq!(
            std::fs::read(dir.join(format!("f{i}.txt"))).unwrap(),
            pattern_bytes(100 + i, i as u8)
        );
    }
    let file_gets = gets(&hub.requests())
        .into_iter()
        .filter(|r| r.path.contains("/resolve/"))
        .count();
    assert_eq!(file_gets, 8);
    assert_eq!(hub.max_in_flight(), 2, "at most 2 and really concurrent");
}

#[tokio::test]
async fn local_dir_mode_writes_real_files_and_metadata() {
    let env = Env::new().await;
    let local = tempfile::tempdir().unwrap();
    let api = env.client().model("org/name");
    let opts = DownloadOptions::default().local_dir(local.path());
    let path = api
        .download_with("onnx/model.onnx", opts.clone())
        .await
        .unwrap();
    assert_eq!(path, local.path().join("onnx/model.onnx"));
    let md = std::fs::symlink_metadata(&path).unwrap();
    assert!(md.file_type().is_file(), "a real file, not a link");
    assert_eq!(std::fs::read(&path).unwrap(), env.file("onnx/model.onnx"));

    let meta = std::fs::read_to_string(
        local
            .path()
            .join(".cache/huggingface/download/onnx/model.onnx.metadata"),
    )
    .unwrap();
    let lines: Vec<&str> = meta.lines().collect();
    assert_eq!(lines.len(), 3, "{meta:?}");
    assert_eq!(lines[0].len(), 40, "commit: {meta:?}");
    assert_eq!(lines[1], sha256(&env.file("onnx/model.onnx")));
    let ts: f64 = lines[2].parse().unwrap();
    assert!(ts > 1.0e9, "{meta:?}");
    assert!(lines[2].contains('.'), "a float timestamp: {meta:?}");

    env.hub.clear();
    let again = api.download_with("onnx/model.onnx", opts).await.unwrap();
    assert_eq!(again, path);
    let reqs = env.hub.requests();
    assert!(gets(&reqs).is_empty(), "no GET the second time: {reqs:#?}");
}

#[tokio::test]
async fn invalid_ids_and_revisions_fail_before_any_request() {
    let env = Env::new().await;
    let client = env.client();
    for id in ["../x", "a/b/c", "a--b/c"] {
        let err = client.model(id).download("config.json").await.unwrap_err();
        assert!(matches!(err, Error::InvalidInput(_)), "{id}: {err:?}");
        let err = client.model(id).snapshot().await.unwrap_err();
        assert!(matches!(err, Error::InvalidInput(_)), "{id}: {err:?}");
    }
    for rev in ["..", ""] {
        let err = client
            .model("org/name")
            .revision(rev)
            .download("config.json")
            .await
            .unwrap_err();
        assert!(matches!(err, Error::InvalidInput(_)), "{rev:?}: {err:?}");
    }
    for path in ["../x", "/etc/passwd"] {
        let err = client.model("org/name").download(path).await.unwrap_err();
        assert!(matches!(err, Error::InvalidInput(_)), "{path:?}: {err:?}");
    }
    assert_eq!(env.hub.request_count(), 0, "{:#?}", env.hub.requests());
}

#[tokio::test]
async fn a_listing_that_escapes_the_cache_is_rejected() {
    for evil in ["../evil", "../../../../evil", "/abs/path"] {
        let env = Env::new().await;
        let listing = serde_json::json!([
            {"type": "file", "oid": git_sha1(b"x"), "size": 1, "path": "config.json"},
            {"type": "file", "oid": git_sha1(b"x"), "size": 1, "path": evil},
        ])
        .to_string();
        env.hub.faults().json(Match::hub().path("/tree/"), &listing);
        let err = env.client().model("org/name").snapshot().await.unwrap_err();
        assert!(matches!(err, Error::InvalidInput(_)), "{evil}: {err:?}");
        // Nothing was fetched and nothing exists outside the cache.
        let reqs = env.hub.requests();
        assert!(
            reqs.iter().all(|r| !r.path.contains("/resolve/")),
            "{reqs:#?}"
        );
        assert!(!env.cache.path().join("evil").exists());
        assert!(!env.repo_dir().join("evil").exists());
        assert!(!env.cache_dir().join("evil").exists());
        assert!(!Path::new("/abs/path").exists());
        let outside: Vec<_> = std::fs::read_dir(env.cache.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(
            outside,
            vec![std::ffi::OsString::from("hub")],
            "{outside:?}"
        );
    }
}
