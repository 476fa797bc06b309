//! The blocking twin (`hfkit::blocking`): downloads, snapshots and the lazy tree iterator from
//! plain threads, and the same called from inside a tokio runtime without panicking.
#![cfg(all(feature = "server", feature = "blocking"))]

mod support;

use std::path::Path;
use std::time::Duration;

use hfkit::hub::info::TreeOptions;
use support::hub::{TestHub, write_fixture};

fn client(hub: &TestHub, cache: &Path) -> hfkit::blocking::HubClient {
    let inner = hfkit::HubClient::builder()
        .endpoint(hub.url())
        .cache_dir(cache)
        .token("hf_test_token")
        .settings(|s| s.retry_base_delay(Duration::from_millis(50)))
        .build()
        .unwrap();
    hfkit::blocking::HubClient::from_async(inner).unwrap()
}

fn fixture_file(root: &Path, path: &str) -> Vec<u8> {
    std::fs::read(root.join("models/org/name").join(path)).unwrap()
}

fn tree_requests(hub: &TestHub) -> usize {
    hub.requests()
        .iter()
        .filter(|r| r.path.starts_with("/api/models/org/name/tree/"))
        .count()
}

/// Downloads a regular and an LFS file, takes a snapshot, and walks the tree lazily.
fn exercise(hub: &TestHub, root: &Path, cache: &Path) {
    let api = client(hub, cache).model("org/name");
    let cfg = api.download("config.json").unwrap();
    assert_eq!(
        std::fs::read(&cfg).unwrap(),
        fixture_file(root, "config.json")
    );
    let weights = api.download("weights.bin").unwrap();
    assert_eq!(
        std::fs::read(&weights).unwrap(),
        fixture_file(root, "weights.bin")
    );
    let snap = api.snapshot().unwrap();
    assert_eq!(
        std::fs::read(snap.join("onnx/model.onnx")).unwrap(),
        fixture_file(root, "onnx/model.onnx")
    );
    assert_eq!(cfg, snap.join("config.json"));

    // Five entries at the root, two a page: three pages, each asked for only when reached.
    hub.clear();
    let mut it = api.list_tree(TreeOptions::default());
    let first = it.next().unwrap().unwrap();
    let second = it.next().unwrap().unwrap();
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(tree_requests(hub), 1, "{:#?}", hub.requests());
    let third = it.next().unwrap().unwrap();
    assert_eq!(tree_requests(hub), 2, "{:#?}", hub.requests());
    let rest: Vec<_> = it.map(|e| e.unwrap().path).collect();
    assert_eq!(tree_requests(hub), 3, "{:#?}", hub.requests());
    let mut all = vec![first.path, second.path, third.path];
    all.extend(rest);
    all.sort();
    assert_eq!(
        all,
        [
            "README.md",
            "config.json",
            "onnx",
            "tokenizer.json",
            "weights.bin"
        ]
    );
}

fn fixture() -> (tempfile::TempDir, tempfile::TempDir) {
    let root = tempfile::tempdir().unwrap();
    write_fixture(root.path());
    (root, tempfile::tempdir().unwrap())
}

#[test]
fn blocking_client_from_a_plain_thread() {
    let (root, cache) = fixture();
    let hub = TestHub::start_sync(root.path(), support::hub::TEST_LFS_THRESHOLD, 2);
    exercise(&hub, root.path(), cache.path());
}

#[tokio::test(flavor = "current_thread")]
async fn blocking_client_called_directly_inside_a_current_thread_runtime() {
    let (root, cache) = fixture();
    let hub = TestHub::start_with(root.path(), support::hub::TEST_LFS_THRESHOLD, 2).await;
    exercise(&hub, root.path(), cache.path());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocking_client_called_directly_inside_a_multi_thread_runtime() {
    let (root, cache) = fixture();
    let hub = TestHub::start_with(root.path(), support::hub::TEST_LFS_THRESHOLD, 2).await;
    exercise(&hub, root.path(), cache.path());
}

#[tokio::test(flavor = "current_thread")]
async fn blocking_client_inside_spawn_blocking() {
    let (root, cache) = fixture();
    let hub = TestHub::start_with(root.path(), support::hub::TEST_LFS_THRESHOLD, 2).await;
    let hub = std::sync::Arc::new(hub);
    let h = hub.clone();
    tokio::task::spawn_blocking(move || exercise(&h, root.path(), cache.path()))
        .await
        .unwrap();
}
