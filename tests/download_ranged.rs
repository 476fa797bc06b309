//! High-throughput mode (hub.md §3.3): a file of 64 MiB or more is fetched as 16 MiB ranges, up to
//! 8 at once, from the CDN the Hub redirects to, verified, and stored like any other download. A
//! server that ignores `Range` gets one plain stream; a dropped range is resumed alone.
#![cfg(feature = "server")]

mod support;

use std::path::Path;

use hfkit::HubClient;
use sha2::{Digest, Sha256};
use support::hub::{CDN, HUB, Match, TestHub, pattern_bytes, write_fixture};

const BIG: usize = 65 << 20;

fn setup(root: &Path) -> Vec<u8> {
    write_fixture(root);
    let bytes = pattern_bytes(BIG, 3);
    std::fs::write(root.join("models/org/name/big.bin"), &bytes).unwrap();
    bytes
}

fn client(hub: &TestHub, cache: &Path) -> HubClient {
    HubClient::builder()
        .endpoint(hub.url())
        .cache_dir(cache)
        .token("hf_test_token")
        .settings(|s| s.high_throughput(true))
        .build()
        .unwrap()
}

fn cdn_ranges(hub: &TestHub) -> Vec<String> {
    hub.requests()
        .into_iter()
        .filter(|r| r.server == CDN && r.method == "GET")
        .filter_map(|r| r.range)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_file_is_fetched_by_ranges_and_verified() {
    let root = tempfile::tempdir().unwrap();
    let bytes = setup(root.path());
    let hub = TestHub::start(root.path()).await;
    let cache = tempfile::tempdir().unwrap();
    let path = client(&hub, cache.path())
        .model("org/name")
        .download("big.bin")
        .await
        .unwrap();
    let got = std::fs::read(&path).unwrap();
    assert_eq!(got.len(), BIG);
    assert_eq!(Sha256::digest(&got), Sha256::digest(&bytes));
    let mut ranges = cdn_ranges(&hub);
    ranges.sort();
    // 65 MiB = four 16 MiB parts + one of 1 MiB.
    assert_eq!(ranges.len(), 5, "{ranges:?}");
    assert!(
        ranges.contains(&"bytes=0-16777215".to_owned()),
        "{ranges:?}"
    );
    assert!(
        ranges.contains(&format!("bytes={}-{}", 64u64 << 20, BIG - 1)),
        "{ranges:?}"
    );
    for r in hub.requests() {
        if r.server == CDN {
            assert!(r.authorization.is_none(), "token sent to the CDN: {r:?}");
        }
        if r.server == HUB {
            assert_eq!(r.authorization.as_deref(), Some("Bearer hf_test_token"));
        }
    }
    let blobs = std::fs::read_dir(cache.path().join("models--org--name/blobs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect::<Vec<_>>();
    assert!(
        blobs.iter().all(|b| !b.ends_with(".incomplete")),
        "{blobs:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_without_ranges_gets_one_stream() {
    let root = tempfile::tempdir().unwrap();
    let bytes = setup(root.path());
    let hub = TestHub::start(root.path()).await;
    hub.faults()
        .ignore_range(Match::cdn().get().with_range(), usize::MAX);
    let cache = tempfile::tempdir().unwrap();
    let path = client(&hub, cache.path())
        .model("org/name")
        .download("big.bin")
        .await
        .unwrap();
    assert_eq!(
        Sha256::digest(std::fs::read(&path).unwrap()),
        Sha256::digest(&bytes)
    );
    let gets = hub
        .requests()
        .into_iter()
        .filter(|r| r.server == CDN && r.method == "GET")
        .count();
    assert_eq!(gets, 2, "the probe, then one plain stream");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_range_is_resumed_alone() {
    let root = tempfile::tempdir().unwrap();
    let bytes = setup(root.path());
    let hub = TestHub::start(root.path()).await;
    hub.faults()
        .drop_after(Match::cdn().get().with_range(), 1_000_000);
    let cache = tempfile::tempdir().unwrap();
    let path = client(&hub, cache.path())
        .model("org/name")
        .download("big.bin")
        .await
        .unwrap();
    assert_eq!(
        Sha256::digest(std::fs::read(&path).unwrap()),
        Sha256::digest(&bytes)
    );
    let ranges = cdn_ranges(&hub);
    assert_eq!(ranges.len(), 6, "five parts and one resumption: {ranges:?}");
    assert!(
        ranges.iter().any(|r| r.starts_with("bytes=1000000-")),
        "the dropped part resumes where it stopped: {ranges:?}"
    );
}
