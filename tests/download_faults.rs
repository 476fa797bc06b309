//! Downloads under injected faults (hub.md §3.2.8, §3.3, §7): rate limits, server errors, dropped
//! connections with `Range` resumption, servers ignoring `Range`, wrong sizes, corrupted bytes and
//! an unreachable Hub.
#![cfg(feature = "server")]

mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use hfkit::{Error, HubClient};
use sha1::Sha1;
use sha2::{Digest, Sha256};
use support::hub::{CDN, HubEnv as Env, Match};

fn sha256(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

fn git_sha1(data: &[u8]) -> String {
    let mut h = Sha1::new();
    h.update(format!("blob {}\0", data.len()).as_bytes());
    h.update(data);
    hex::encode(h.finalize())
}

/// A port nothing listens on.
fn closed_port_url() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    drop(l);
    format!("http://{addr}")
}

#[tokio::test]
async fn a_429_with_retry_after_is_waited_for_then_succeeds() {
    let env = Env::new().await;
    env.hub
        .faults()
        .status(Match::hub().get().path("/resolve/"), 1, 429, Some("1"));
    // The default retry policy.
    let client = HubClient::builder()
        .endpoint(env.hub.url())
        .cache_dir(env.cache_dir())
        .token("hf_test_token")
        .build()
        .unwrap();
    let start = Instant::now();
    let path = client
        .model("org/name")
        .download("config.json")
        .await
        .unwrap();
    let elapsed = start.elapsed();
    assert!(elapsed >= Duration::from_secs(1), "waited only {elapsed:?}");
    assert_eq!(std::fs::read(path).unwrap(), env.file("config.json"));
    let file_gets = env
        .hub
        .requests()
        .iter()
        .filter(|r| r.method == "GET" && r.path.contains("/resolve/"))
        .count();
    assert_eq!(file_gets, 2);
}

#[tokio::test]
async fn a_persistent_500_fails_after_a_bounded_number_of_attempts() {
    let env = Env::new().await;
    env.hub
        .faults()
        .status(Match::hub().get().path("/resolve/"), usize::MAX, 500, None);
    let client = HubClient::builder()
        .endpoint(env.hub.url())
        .cache_dir(env.cache_dir())
        .token("hf_test_token")
        .settings(|s| s.max_retries(2).retry_base_delay(Duration::from_millis(20)))
        .build()
        .unwrap();
    let err = client
        .model("org/name")
        .download("config.json")
        .await
        .unwrap_err();
    match &err {
        Error::Http(ctx) => assert_eq!(ctx.status, 500),
        other => panic!("expected Http 500, got {other:?}"),
    }
    let file_gets = env
        .hub
        .requests()
        .iter()
        .filter(|r| r.method == "GET" && r.path.contains("/resolve/"))
        .count();
    assert_eq!(file_gets, 3, "1 attempt + max_retries(2)");
    assert!(env.no_pointer("config.json"));
    assert!(
        env.blob_names().is_empty(),
        "no blob and no temp file: {:?}",
        env.blob_names()
    );
}

#[tokio::test]
async fn a_dropped_body_is_resumed_with_range() {
    let env = Env::new().await;
    const K: usize = 100_000;
    env.hub.faults().drop_after(Match::cdn().get(), K);
    let path = env
        .client()
        .model("org/name")
        .download("weights.bin")
        .await
        .unwrap();
    let want = env.file("weights.bin");
    assert_eq!(std::fs::read(&path).unwrap(), want);
    let blob = env.repo_dir().join("blobs").join(sha256(&want));
    assert_eq!(std::fs::read(blob).unwrap(), want);

    let cdn: Vec<_> = env
        .hub
        .requests()
        .into_iter()
        .filter(|r| r.server == CDN)
        .collect();
    assert_eq!(cdn.len(), 2, "{cdn:#?}");
    assert_eq!(cdn[0].range, None);
    assert_eq!(
        cdn[1].range.as_deref(),
        Some(format!("bytes={K}-").as_str())
    );
    assert!(cdn.iter().all(|r| r.authorization.is_none()));
    assert_eq!(env.blob_names(), vec![sha256(&want)]);
}

#[tokio::test]
async fn a_server_ignoring_range_after_a_drop_restarts_cleanly() {
    let env = Env::new().await;
    env.hub.faults().drop_after(Match::cdn().get(), 120_000);
    env.hub
        .faults()
        .ignore_range(Match::cdn().get().with_range(), 1);
    let path = env
        .client()
        .model("org/name")
        .download("weights.bin")
        .await
        .unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), env.file("weights.bin"));
    let cdn: Vec<_> = env
        .hub
        .requests()
        .into_iter()
        .filter(|r| r.server == CDN)
        .collect();
    assert_eq!(cdn.len(), 2, "{cdn:#?}");
    assert_eq!(cdn[1].range.as_deref(), Some("bytes=120000-"));
    assert_eq!(env.blob_names(), vec![sha256(&env.file("weights.bin"))]);
}

#[tokio::test]
async fn a_size_smaller_than_the_body_is_size_mismatch_and_leaves_nothing() {
    let env = Env::new().await;
    env.hub
        .faults()
        .wrong_size(Match::hub().head().path("weights.bin"), 1000);
    let err = env
        .client()
        .model("org/name")
        .download("weights.bin")
        .await
        .unwrap_err();
    match &err {
        Error::SizeMismatch { expected, .. } => assert_eq!(*expected, 1000),
        other => panic!("expected SizeMismatch, got {other:?}"),
    }
    // No unverified bytes under a final name, no leftover temp file.
    assert!(env.blob_names().is_empty(), "{:?}", env.blob_names());
    assert!(env.no_pointer("weights.bin"));
}

#[tokio::test]
async fn a_size_larger_than_the_body_is_size_mismatch_and_leaves_nothing() {
    let env = Env::new().await;
    env.hub
        .faults()
        .wrong_size(Match::hub().head().path("weights.bin"), 300_001);
    let res = tokio::time::timeout(
        Duration::from_secs(30),
        env.client().model("org/name").download("weights.bin"),
    )
    .await
    .expect("the download must end, not loop");
    let err = res.unwrap_err();
    match &err {
        Error::SizeMismatch {
            expected, actual, ..
        } => {
            assert_eq!(*expected, 300_001);
            assert_eq!(*actual, 300_000);
        }
        other => panic!("expected SizeMismatch, got {other:?}"),
    }
    assert!(env.blob_names().is_empty(), "{:?}", env.blob_names());
    assert!(env.no_pointer("weights.bin"));
}

#[tokio::test]
async fn corrupted_lfs_bytes_are_checksum_mismatch_and_leave_nothing() {
    let env = Env::new().await;
    env.hub.faults().corrupt(Match::cdn().get());
    let err = env
        .client()
        .model("org/name")
        .download("weights.bin")
        .await
        .unwrap_err();
    match &err {
        Error::ChecksumMismatch {
            expected, actual, ..
        } => {
            assert_eq!(*expected, sha256(&env.file("weights.bin")));
            assert_ne!(actual, expected);
        }
        other => panic!("expected ChecksumMismatch, got {other:?}"),
    }
    assert!(env.blob_names().is_empty(), "{:?}", env.blob_names());
    assert!(env.no_pointer("weights.bin"));
}

#[tokio::test]
async fn corrupted_regular_bytes_are_checksum_mismatch_and_leave_nothing() {
    let env = Env::new().await;
    env.hub
        .faults()
        .corrupt(Match::hub().get().path("config.json"));
    let err = env
        .client()
        .model("org/name")
        .download("config.json")
        .await
        .unwrap_err();
    match &err {
        Error::ChecksumMismatch { expected, .. } => {
            assert_eq!(*expected, git_sha1(&env.file("config.json")))
        }
        other => panic!("expected ChecksumMismatch, got {other:?}"),
    }
    assert!(env.blob_names().is_empty(), "{:?}", env.blob_names());
    assert!(env.no_pointer("config.json"));
}

#[tokio::test]
async fn an_unreachable_hub_still_yields_cached_files() {
    let env = Env::new().await;
    let path = env
        .client()
        .model("org/name")
        .download("config.json")
        .await
        .unwrap();
    let down = HubClient::builder()
        .endpoint(closed_port_url())
        .cache_dir(env.cache_dir())
        .token("hf_test_token")
        .settings(|s| s.retry_base_delay(Duration::from_millis(20)).max_retries(1))
        .build()
        .unwrap();
    let again = down
        .model("org/name")
        .download("config.json")
        .await
        .unwrap();
    assert_eq!(again, path);
    assert_eq!(std::fs::read(&again).unwrap(), env.file("config.json"));
}

#[tokio::test]
async fn a_head_timeout_still_yields_cached_files() {
    let env = Env::new().await;
    let path = env
        .client()
        .model("org/name")
        .download("config.json")
        .await
        .unwrap();
    env.hub
        .faults()
        .delay(Match::hub().head(), Duration::from_secs(5));
    let slow = HubClient::builder()
        .endpoint(env.hub.url())
        .cache_dir(env.cache_dir())
        .token("hf_test_token")
        .settings(|s| s.etag_timeout(Duration::from_millis(300)))
        .build()
        .unwrap();
    let start = Instant::now();
    let again = slow
        .model("org/name")
        .download("config.json")
        .await
        .unwrap();
    assert_eq!(again, path);
    assert!(
        start.elapsed() < Duration::from_secs(4),
        "{:?}",
        start.elapsed()
    );
}

#[tokio::test]
async fn an_unreachable_hub_without_cache_is_local_entry_not_found() {
    let cache = tempfile::tempdir().unwrap();
    let down = HubClient::builder()
        .endpoint(closed_port_url())
        .cache_dir(cache.path())
        .token("hf_test_token")
        .settings(|s| s.retry_base_delay(Duration::from_millis(20)).max_retries(1))
        .build()
        .unwrap();
    let err = down
        .model("org/name")
        .download("config.json")
        .await
        .unwrap_err();
    match &err {
        Error::LocalEntryNotFound { what, .. } => assert!(what.contains("config.json"), "{what}"),
        other => panic!("expected LocalEntryNotFound, got {other:?}"),
    }
    assert!(!Path::new(&cache.path().join("models--org--name/blobs")).exists());
}
