//! ModelHubMixin against a loopback writable mirror: push (one commit, LFS weights, card modes,
//! PRs, branches, no token), then `from_pretrained` by repo id into a fresh cache, only the
//! needed files, and offline after the first load.

#[allow(dead_code)]
#[path = "support/toy.rs"]
mod toy;
#[allow(dead_code)]
#[path = "support/writable.rs"]
mod writable;

use hfkit::card::ModelCard;
use hfkit::hub::upload::UploadOptions;
use hfkit::mixin::{CardMode, HubModel, LoadOptions, ModelHubMixin, PushOptions, SaveOptions};
use hfkit::{Error, HubClient};
use toy::{Toy, ToyConfig};
use writable::WritableHub;

/// Files of 1000 bytes and more go through LFS.
const THRESHOLD: u64 = 1000;

fn big_config() -> ToyConfig {
    // embed 64×4×4 = 1024 bytes (LFS), layers 3×64×4 = 768 and 2×64×4 = 512.
    ToyConfig {
        hidden: 64,
        ..ToyConfig::small()
    }
}

fn remote_files(client: &HubClient, id: &str) -> impl std::future::Future<Output = Vec<String>> {
    let repo = client.model(id.to_owned());
    async move {
        let mut f = repo.list_files().await.unwrap();
        f.sort();
        f
    }
}

fn push_opts(client: &HubClient) -> PushOptions {
    PushOptions::default().hub(client.clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_then_load_by_repo_id_into_a_fresh_cache_then_offline() {
    let hub = WritableHub::start(THRESHOLD, 1 << 20).await;
    let up_cache = tempfile::tempdir().unwrap();
    let client = hub.client(up_cache.path());
    let model = Toy::new(big_config(), 11);
    let info = model
        .push_to_hub_with("acme/toy", push_opts(&client))
        .await
        .unwrap();
    assert_eq!(hub.count("POST", "/api/models/acme/toy/commit/main"), 1);
    assert!(info.commit_url.ends_with(&info.oid), "{info:?}");
    assert_eq!(
        remote_files(&client, "acme/toy").await,
        [
            ".gitattributes",
            "README.md",
            "config.json",
            "model.safetensors"
        ]
    );
    let commit = hub
        .log()
        .into_iter()
        .find(|l| l.path.contains("/commit/main"))
        .unwrap();
    let body = String::from_utf8_lossy(&commit.body);
    assert!(body.contains("Push model using hfkit."), "{body}");
    assert!(
        body.contains("lfsFile"),
        "the weights go through LFS: {body}"
    );

    // A fresh cache: only config.json and the weights are fetched.
    let cache = tempfile::tempdir().unwrap();
    let reader = hub.client_with(cache.path(), None);
    hub.clear_log();
    let loaded = Toy::from_pretrained_with("acme/toy", LoadOptions::default().hub(reader.clone()))
        .await
        .unwrap();
    assert_eq!(loaded, model);
    assert!(hub.log().iter().all(|l| !l.path.contains("README.md")));
    let cached = toy::list(cache.path());
    assert!(
        cached.iter().any(|f| f.ends_with("/model.safetensors")),
        "{cached:?}"
    );
    assert!(
        !cached.iter().any(|f| f.ends_with("README.md")),
        "{cached:?}"
    );

    // Offline after the first load: no request at all.
    hub.clear_log();
    let offline = HubClient::builder()
        .settings(|b| {
            b.env_map(Default::default())
                .endpoint(hub.url.clone())
                .cache_dir(cache.path().to_path_buf())
                .hf_home(cache.path().join("home"))
                .no_token()
        })
        .offline(true)
        .build()
        .unwrap();
    let again = Toy::from_pretrained_with("acme/toy", LoadOptions::default().hub(offline))
        .await
        .unwrap();
    assert_eq!(again, model);
    let again = Toy::from_pretrained_with(
        "acme/toy",
        LoadOptions::default().hub(reader).local_files_only(true),
    )
    .await
    .unwrap();
    assert_eq!(again, model);
    assert!(hub.log().is_empty(), "{:?}", hub.log());

    // A repo id unknown to the cache, offline → a typed error, not a panic.
    let err = Toy::from_pretrained_with(
        "acme/other",
        LoadOptions::default()
            .hub(hub.client_with(cache.path(), None))
            .local_files_only(true),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, Error::Offline { .. }), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sharded_push_and_load() {
    let hub = WritableHub::start(THRESHOLD, 1 << 20).await;
    let up_cache = tempfile::tempdir().unwrap();
    let client = hub.client(up_cache.path());
    let model = Toy::new(big_config(), 12);
    let save = SaveOptions::default().max_shard_size(1300);
    model
        .push_to_hub_with("acme/sharded", push_opts(&client).save(save))
        .await
        .unwrap();
    let files = remote_files(&client, "acme/sharded").await;
    assert!(
        files.contains(&"model.safetensors.index.json".to_owned()),
        "{files:?}"
    );
    assert!(
        files.contains(&"model-00002-of-00002.safetensors".to_owned()),
        "{files:?}"
    );
    // An unrelated big file in the repo is never fetched.
    client
        .model("acme/sharded")
        .upload_file(vec![7u8; 5000], "other.bin", UploadOptions::default())
        .await
        .unwrap();
    let cache = tempfile::tempdir().unwrap();
    hub.clear_log();
    let loaded = Toy::from_pretrained_with(
        "acme/sharded",
        LoadOptions::default().hub(hub.client_with(cache.path(), None)),
    )
    .await
    .unwrap();
    assert_eq!(loaded, model);
    assert!(hub.log().iter().all(|l| !l.path.contains("other.bin")));
}

#[tokio::test]
async fn push_without_a_token_fails_before_any_request() {
    let hub = WritableHub::start(THRESHOLD, 1 << 20).await;
    let cache = tempfile::tempdir().unwrap();
    let anonymous = hub.client_with(cache.path(), None);
    let err = Toy::new(ToyConfig::small(), 1)
        .push_to_hub_with("acme/toy", push_opts(&anonymous))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Unauthorized(_)), "{err}");
    assert!(err.to_string().contains("HF_TOKEN"), "{err}");
    assert!(hub.log().is_empty());
    // An explicit token is enough.
    Toy::new(ToyConfig::small(), 1)
        .push_to_hub_with("acme/toy", push_opts(&anonymous).token(writable::TOKEN))
        .await
        .unwrap();
}

async fn read_remote(client: &HubClient, id: &str, rev: &str, path: &str) -> Vec<u8> {
    let p = client
        .model(id.to_owned())
        .revision(rev)
        .download(path)
        .await
        .unwrap();
    std::fs::read(p).unwrap()
}

#[tokio::test]
async fn card_modes_branches_and_pull_requests() {
    let hub = WritableHub::start(THRESHOLD, 1 << 20).await;
    let up_cache = tempfile::tempdir().unwrap();
    let client = hub.client(up_cache.path());
    let model = Toy::new(ToyConfig::small(), 2);
    model
        .push_to_hub_with("acme/cards", push_opts(&client))
        .await
        .unwrap();
    // Someone edits the card on the Hub.
    client
        .model("acme/cards")
        .upload_file(
            b"---\nlicense: mit\n---\nhand written".to_vec(),
            "README.md",
            UploadOptions::default(),
        )
        .await
        .unwrap();
    // KeepRemote leaves it alone.
    let info = model
        .push_to_hub_with("acme/cards", push_opts(&client).card(CardMode::KeepRemote))
        .await
        .unwrap();
    let card = read_remote(&client, "acme/cards", &info.oid, "README.md").await;
    assert_eq!(card, b"---\nlicense: mit\n---\nhand written");
    // Provided replaces it with the given card.
    let mine: ModelCard = "---\nlicense: bsd\n---\nprovided".parse().unwrap();
    let info = model
        .push_to_hub_with(
            "acme/cards",
            push_opts(&client).card(CardMode::Provided(Box::new(mine))),
        )
        .await
        .unwrap();
    let card = read_remote(&client, "acme/cards", &info.oid, "README.md").await;
    assert_eq!(card, b"---\nlicense: bsd\n---\nprovided");
    // Generate (the default) replaces it again, as Python.
    let info = model
        .push_to_hub_with("acme/cards", push_opts(&client).commit_message("again"))
        .await
        .unwrap();
    let card = String::from_utf8(read_remote(&client, "acme/cards", &info.oid, "README.md").await)
        .unwrap();
    assert!(card.contains("model_hub_mixin"), "{card}");
    assert!(
        card.contains("acme/cards"),
        "the usage snippet names the repo: {card}"
    );
    // A pull request (with a change: identical files make no commit).
    let proposed = Toy::new(ToyConfig::small(), 99);
    let head = client.model("acme/cards").info().await.unwrap().sha;
    let info = proposed
        .push_to_hub_with("acme/cards", push_opts(&client).create_pr(true))
        .await
        .unwrap();
    assert_eq!(info.revision(), "refs/pr/1");
    assert_eq!(client.model("acme/cards").info().await.unwrap().sha, head);
    let from_pr = Toy::from_pretrained_with(
        "acme/cards",
        LoadOptions::default()
            .hub(client.clone())
            .revision("refs/pr/1"),
    )
    .await
    .unwrap();
    assert_eq!(from_pr, proposed);
    // A missing branch is a typed error; an existing one receives the commit.
    let err = model
        .push_to_hub_with("acme/cards", push_opts(&client).branch("nope"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::RevisionNotFound { .. }), "{err}");
    client
        .model("acme/cards")
        .create_branch("dev", None, false)
        .await
        .unwrap();
    let info = model
        .push_to_hub_with("acme/cards", push_opts(&client).branch("dev"))
        .await
        .unwrap();
    let loaded = Toy::from_pretrained_with(
        "acme/cards",
        LoadOptions::default()
            .hub(client.clone())
            .revision(info.oid.clone()),
    )
    .await
    .unwrap();
    assert_eq!(loaded, model);
    // Patterns: stale remote files deleted in the same commit, ignored files left out.
    client
        .model("acme/cards")
        .upload_file(b"old".to_vec(), "old.bin", UploadOptions::default())
        .await
        .unwrap();
    hub.clear_log();
    model
        .push_to_hub_with(
            "acme/cards",
            push_opts(&client)
                .delete_patterns(["*.bin"])
                .ignore_patterns(["README.md"])
                .commit_message("cleanup"),
        )
        .await
        .unwrap();
    assert_eq!(hub.count("POST", "/commit/main"), 1);
    let files = remote_files(&client, "acme/cards").await;
    assert!(!files.contains(&"old.bin".to_owned()), "{files:?}");
    let commit = hub
        .log()
        .into_iter()
        .find(|l| l.path.contains("/commit/main"))
        .unwrap();
    let body = String::from_utf8_lossy(&commit.body);
    assert!(
        body.contains("old.bin") && body.contains("deletedFile"),
        "{body}"
    );
    assert!(!body.contains("README.md"), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn save_pretrained_can_push_and_blocking_push_works_inside_a_runtime() {
    let hub = WritableHub::start(THRESHOLD, 1 << 20).await;
    let up_cache = tempfile::tempdir().unwrap();
    let client = hub.client(up_cache.path());
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("named-after-dir");
    let model = Toy::new(ToyConfig::small(), 3);
    let saved = model
        .save_pretrained_with(
            &dir,
            SaveOptions::default().push_to_hub(Some("acme/pushed".into()), push_opts(&client)),
        )
        .await
        .unwrap();
    assert!(saved.commit.is_some());
    assert_eq!(
        remote_files(&client, "acme/pushed").await,
        [
            ".gitattributes",
            "README.md",
            "config.json",
            "model.safetensors"
        ]
    );
    let m2 = model.clone();
    let c2 = client.clone();
    let info = tokio::task::spawn_blocking(move || {
        hfkit::blocking::mixin::push_to_hub_with(&m2, "acme/blocking", push_opts(&c2))
    })
    .await
    .unwrap()
    .unwrap();
    assert!(!info.oid.is_empty());
    // Directly on this runtime's thread too.
    hfkit::blocking::mixin::push_to_hub_with(&model, "acme/blocking", push_opts(&client)).unwrap();
    let back: Toy = hfkit::blocking::mixin::from_pretrained_with(
        "acme/blocking",
        LoadOptions::default().hub(client.clone()),
    )
    .unwrap();
    assert_eq!(back, model);
}
