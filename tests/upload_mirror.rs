//! Upload round trips against the writable mirror (`Mirror::allow_writes(true)`), in process on
//! 127.0.0.1: commits, LFS (basic and multipart), patterns, PRs, conflicts, refs and bad input.

mod support;

use std::path::Path;

use hfkit::hub::commit::{CommitOperation, CommitOptions};
use hfkit::hub::repos::CreateRepo;
use hfkit::hub::upload::{UploadFolderOptions, UploadOptions};
use hfkit::{Error, HubClient, RepoType};
use support::writable::{WritableHub, read_remote, with_up_repo, write_file};

const THRESHOLD: u64 = 1000;

fn data(n: usize, seed: u8) -> Vec<u8> {
    (0..n)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

async fn setup(chunk: u64) -> (WritableHub, tempfile::TempDir, HubClient) {
    with_up_repo(THRESHOLD, chunk).await
}

#[tokio::test]
async fn single_file_round_trip() {
    let (hub, _cache, client) = setup(1 << 20).await;
    let repo = client.model("acme/up");
    let info = repo
        .upload_file(
            b"hello world\n".to_vec(),
            "/greeting.txt",
            UploadOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(info.oid.len(), 40);
    assert_eq!(
        info.commit_url,
        format!("{}/acme/up/commit/{}", hub.url, info.oid)
    );
    assert!(info.pr_url.is_none() && info.pr_num.is_none());
    assert_eq!(
        read_remote(&client, "main", "greeting.txt").await,
        b"hello world\n"
    );
    // The commit is the new head, with the default message.
    let head = repo.info().await.unwrap();
    assert_eq!(head.sha.as_deref(), Some(info.oid.as_str()));
    let commits: Vec<_> = futures::TryStreamExt::try_collect::<Vec<_>>(repo.commits())
        .await
        .unwrap();
    assert_eq!(commits[0].title, "Upload greeting.txt with hfkit");
    assert_eq!(commits.len(), 2, "initial commit + upload");
}

#[tokio::test]
async fn folder_with_allow_and_ignore_patterns_and_default_ignores() {
    let (_hub, _cache, client) = setup(1 << 20).await;
    let dir = tempfile::tempdir().unwrap();
    write_file(dir.path(), "a.txt", b"a");
    write_file(dir.path(), "b.bin", b"b");
    write_file(dir.path(), "sub/c.txt", b"c");
    write_file(dir.path(), "sub/d.json", b"{}");
    write_file(dir.path(), ".git/HEAD", b"ref: x");
    write_file(dir.path(), "sub/.git/x.txt", b"x");
    write_file(dir.path(), ".cache/huggingface/x.txt", b"x");
    let repo = client.model("acme/up");
    repo.upload_folder(
        dir.path(),
        UploadFolderOptions::default()
            .path_in_repo("dst/")
            .allow_patterns(["*.txt", "*.bin"])
            .ignore_patterns(["*.bin"]),
    )
    .await
    .unwrap();
    let files = repo.list_files().await.unwrap();
    assert_eq!(files, [".gitattributes", "dst/a.txt", "dst/sub/c.txt"]);
    let commits: Vec<_> = futures::TryStreamExt::try_collect::<Vec<_>>(repo.commits())
        .await
        .unwrap();
    assert_eq!(commits[0].title, "Upload folder using hfkit");
}

#[tokio::test]
async fn delete_patterns_remove_remote_files_in_the_same_commit() {
    let (_hub, _cache, client) = setup(1 << 20).await;
    let repo = client.model("acme/up");
    let one = tempfile::tempdir().unwrap();
    write_file(one.path(), "a.txt", b"a");
    write_file(one.path(), "old.log", b"old");
    write_file(one.path(), "logs/x.log", b"x");
    repo.upload_folder(one.path(), UploadFolderOptions::default())
        .await
        .unwrap();
    let two = tempfile::tempdir().unwrap();
    write_file(two.path(), "new.txt", b"new");
    write_file(two.path(), "again.log", b"kept: re-uploaded");
    let before = repo.info().await.unwrap().sha.unwrap();
    let info = repo
        .upload_folder(
            two.path(),
            UploadFolderOptions::default().delete_patterns(["*.log"]),
        )
        .await
        .unwrap();
    assert_eq!(
        repo.list_files().await.unwrap(),
        [".gitattributes", "a.txt", "again.log", "new.txt"]
    );
    // One commit on top of the previous head.
    let commits: Vec<_> = futures::TryStreamExt::try_collect::<Vec<_>>(repo.commits())
        .await
        .unwrap();
    assert_eq!(commits[0].id, info.oid);
    assert_eq!(commits[1].id, before);
    // `*` never deletes `.gitattributes`.
    let three = tempfile::tempdir().unwrap();
    write_file(three.path(), "keep.txt", b"k");
    repo.upload_folder(
        three.path(),
        UploadFolderOptions::default().delete_patterns(["*"]),
    )
    .await
    .unwrap();
    assert_eq!(
        repo.list_files().await.unwrap(),
        [".gitattributes", "keep.txt"]
    );
}

#[tokio::test]
async fn delete_patterns_are_relative_to_path_in_repo() {
    let (_hub, _cache, client) = setup(1 << 20).await;
    let repo = client.model("acme/up");
    repo.create_commit(CommitOptions::new(
        "seed",
        vec![
            CommitOperation::add_bytes("x.log", b"root".to_vec()),
            CommitOperation::add_bytes("sub/y.log", b"sub".to_vec()),
        ],
    ))
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    write_file(dir.path(), "z.txt", b"z");
    repo.upload_folder(
        dir.path(),
        UploadFolderOptions::default()
            .path_in_repo("sub")
            .delete_patterns(["*.log"]),
    )
    .await
    .unwrap();
    assert_eq!(
        repo.list_files().await.unwrap(),
        [".gitattributes", "sub/z.txt", "x.log"]
    );
}

#[tokio::test]
async fn copy_regular_and_lfs_files() {
    let (hub, _cache, client) = setup(1 << 20).await;
    let repo = client.model("acme/up");
    let big = data(5000, 7);
    repo.create_commit(CommitOptions::new(
        "seed",
        vec![
            CommitOperation::add_bytes("small.txt", b"small".to_vec()),
            CommitOperation::add_bytes("big.bin", big.clone()),
        ],
    ))
    .await
    .unwrap();
    hub.clear_log();
    repo.create_commit(CommitOptions::new(
        "copies",
        vec![
            CommitOperation::copy("small.txt", "copy/small.txt"),
            CommitOperation::copy("big.bin", "copy/big.bin"),
        ],
    ))
    .await
    .unwrap();
    // The LFS copy re-uses the object: no upload at all.
    assert_eq!(hub.count("PUT", "/lfs-upload/"), 0);
    assert_eq!(hub.count("POST", "/info/lfs/objects/batch"), 0);
    assert_eq!(
        read_remote(&client, "main", "copy/small.txt").await,
        b"small"
    );
    assert_eq!(read_remote(&client, "main", "copy/big.bin").await, big);
    let infos = repo
        .paths_info(&["big.bin", "copy/big.bin"], false)
        .await
        .unwrap();
    assert_eq!(infos.len(), 2);
    assert_eq!(infos[0].lfs, infos[1].lfs);
    assert!(infos[0].lfs.is_some());
}

#[tokio::test]
async fn empty_and_one_byte_files() {
    let (_hub, _cache, client) = setup(1 << 20).await;
    let repo = client.model("acme/up");
    let dir = tempfile::tempdir().unwrap();
    write_file(dir.path(), "empty", b"");
    write_file(dir.path(), "one", b"x");
    repo.upload_folder(dir.path(), UploadFolderOptions::default())
        .await
        .unwrap();
    assert_eq!(read_remote(&client, "main", "empty").await, b"");
    assert_eq!(read_remote(&client, "main", "one").await, b"x");
    let infos = repo.paths_info(&["empty", "one"], false).await.unwrap();
    assert_eq!(infos[0].oid, "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391");
    assert!(infos.iter().all(|e| e.lfs.is_none()));
}

#[tokio::test]
async fn files_around_the_lfs_threshold() {
    let (hub, _cache, client) = setup(1 << 20).await;
    let repo = client.model("acme/up");
    let dir = tempfile::tempdir().unwrap();
    let below = data(THRESHOLD as usize - 1, 1);
    let at = data(THRESHOLD as usize, 2);
    let above = data(THRESHOLD as usize + 1, 3);
    write_file(dir.path(), "below.bin", &below);
    write_file(dir.path(), "at.bin", &at);
    write_file(dir.path(), "above.bin", &above);
    repo.upload_folder(dir.path(), UploadFolderOptions::default())
        .await
        .unwrap();
    // Two basic uploads, none with a token.
    assert_eq!(hub.count("PUT", "/lfs-upload/"), 2);
    assert!(
        hub.log()
            .iter()
            .filter(|l| l.path.starts_with("/lfs-upload/"))
            .all(|l| l.authorization.is_none())
    );
    let infos = repo
        .paths_info(&["above.bin", "at.bin", "below.bin"], false)
        .await
        .unwrap();
    let lfs: Vec<bool> = infos.iter().map(|e| e.lfs.is_some()).collect();
    assert_eq!(lfs, [true, true, false]);
    assert_eq!(read_remote(&client, "main", "below.bin").await, below);
    assert_eq!(read_remote(&client, "main", "at.bin").await, at);
    assert_eq!(read_remote(&client, "main", "above.bin").await, above);
}

#[tokio::test]
async fn multipart_upload_in_four_parts() {
    let (hub, _cache, client) = setup(1000).await;
    let repo = client.model("acme/up");
    let dir = tempfile::tempdir().unwrap();
    let content = data(3500, 9);
    write_file(dir.path(), "model.safetensors", &content);
    repo.upload_file(
        dir.path().join("model.safetensors").as_path(),
        "model.safetensors",
        UploadOptions::default(),
    )
    .await
    .unwrap();
    assert_eq!(hub.count("PUT", "/part/"), 4);
    assert_eq!(hub.count("POST", "/complete"), 1);
    assert_eq!(hub.count("POST", "/info/lfs/objects/verify"), 1);
    let log = hub.log();
    let complete = log.iter().find(|l| l.path.ends_with("/complete")).unwrap();
    assert!(
        complete.authorization.is_none(),
        "no token on the completion URL"
    );
    let verify = log.iter().find(|l| l.path.ends_with("/verify")).unwrap();
    assert!(
        verify.authorization.is_some(),
        "verify goes to the Hub with the token"
    );
    assert_eq!(
        read_remote(&client, "main", "model.safetensors").await,
        content
    );
}

#[tokio::test]
async fn second_upload_of_the_same_content_sends_no_bytes() {
    let (hub, _cache, client) = setup(1000).await;
    let repo = client.model("acme/up");
    let dir = tempfile::tempdir().unwrap();
    write_file(dir.path(), "big.bin", &data(2500, 4));
    write_file(dir.path(), "small.txt", b"small");
    let first = repo
        .upload_folder(dir.path(), UploadFolderOptions::default())
        .await
        .unwrap();
    hub.clear_log();
    let second = repo
        .upload_folder(dir.path(), UploadFolderOptions::default())
        .await
        .unwrap();
    assert_eq!(hub.count("PUT", ""), 0);
    assert_eq!(
        hub.count("POST", "/commit/"),
        0,
        "nothing changed: no commit"
    );
    assert_eq!(second.oid, first.oid);
    // The same LFS content at a new path: known to the server, so no PUT either.
    hub.clear_log();
    repo.upload_file(
        dir.path().join("big.bin").as_path(),
        "copy.bin",
        UploadOptions::default(),
    )
    .await
    .unwrap();
    assert_eq!(hub.count("PUT", ""), 0);
    assert_eq!(hub.count("POST", "/commit/"), 1);
}

#[tokio::test]
async fn parent_commit_conflict_keeps_the_head() {
    let (_hub, _cache, client) = setup(1 << 20).await;
    let repo = client.model("acme/up");
    let c1 = repo
        .upload_file(b"1".to_vec(), "a.txt", UploadOptions::default())
        .await
        .unwrap();
    let c2 = repo
        .upload_file(
            b"2".to_vec(),
            "a.txt",
            UploadOptions {
                parent_commit: Some(c1.oid.clone()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let err = repo
        .upload_file(
            b"3".to_vec(),
            "a.txt",
            UploadOptions {
                parent_commit: Some(c1.oid.clone()),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::CommitConflict(_)), "{err}");
    assert_eq!(err.status(), Some(412));
    assert_eq!(repo.info().await.unwrap().sha, Some(c2.oid));
    assert_eq!(read_remote(&client, "main", "a.txt").await, b"2");
}

#[tokio::test]
async fn failed_commit_leaves_the_previous_revision() {
    let (_hub, _cache, client) = setup(1 << 20).await;
    let repo = client.model("acme/up");
    let c1 = repo
        .upload_file(b"1".to_vec(), "a.txt", UploadOptions::default())
        .await
        .unwrap();
    let err = repo
        .create_commit(CommitOptions::new(
            "half",
            vec![
                CommitOperation::add_bytes("b.txt", b"b".to_vec()),
                CommitOperation::delete("missing.txt"),
            ],
        ))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(404), "{err}");
    assert_eq!(repo.info().await.unwrap().sha, Some(c1.oid));
    assert_eq!(
        repo.list_files().await.unwrap(),
        [".gitattributes", "a.txt"]
    );
}

#[tokio::test]
async fn create_pr_opens_refs_pr_1() {
    let (hub, _cache, client) = setup(1000).await;
    let repo = client.model("acme/up");
    let head = repo.info().await.unwrap().sha.unwrap();
    let big = data(1500, 5);
    let info = repo
        .create_commit(
            CommitOptions::new(
                "Propose",
                vec![
                    CommitOperation::add_bytes("pr.txt", b"from a PR".to_vec()),
                    CommitOperation::add_bytes("pr.bin", big.clone()),
                ],
            )
            .create_pr(true),
        )
        .await
        .unwrap();
    assert_eq!(info.pr_num, Some(1));
    assert_eq!(
        info.pr_url.as_deref(),
        Some(format!("{}/acme/up/discussions/1", hub.url).as_str())
    );
    assert_eq!(info.revision(), "refs/pr/1");
    assert!(
        hub.log()
            .iter()
            .filter(|l| l.path.contains("/preupload/") || l.path.contains("/commit/"))
            .all(|l| l.query.as_deref() == Some("create_pr=1"))
    );
    // main did not move; the PR revision has the files.
    assert_eq!(repo.info().await.unwrap().sha, Some(head));
    assert_eq!(
        read_remote(&client, "refs/pr/1", "pr.txt").await,
        b"from a PR"
    );
    assert_eq!(read_remote(&client, "refs/pr/1", "pr.bin").await, big);
    let err = client
        .model("acme/up")
        .download("pr.txt")
        .await
        .unwrap_err();
    assert!(matches!(err, Error::EntryNotFound { .. }), "{err}");
    // Committing to the PR extends it.
    let more = client
        .model("acme/up")
        .revision("refs/pr/1")
        .upload_file(b"more".to_vec(), "more.txt", UploadOptions::default())
        .await
        .unwrap();
    assert!(more.pr_num.is_none());
    assert_eq!(read_remote(&client, "refs/pr/1", "more.txt").await, b"more");
    let refs = repo.refs(true).await.unwrap();
    assert_eq!(refs.pull_requests.len(), 1);
    assert_eq!(refs.pull_requests[0].target_commit, more.oid);
    // A second PR is number 2.
    let second = repo
        .upload_file(
            b"x".to_vec(),
            "x.txt",
            UploadOptions {
                create_pr: true,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(second.pr_num, Some(2));
}

#[tokio::test]
async fn bad_input_is_refused_before_any_request() {
    let hub = WritableHub::start(THRESHOLD, 1 << 20).await;
    let cache = tempfile::tempdir().unwrap();
    let client = hub.client(cache.path());
    let repo = client.model("acme/up");
    let missing = cache.path().join("nope.bin");
    let err = repo
        .upload_file(missing.as_path(), "nope.bin", UploadOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidInput(_)), "{err}");
    for bad in ["../x.txt", "a/../../x", ".git/config", "a/./b"] {
        let err = repo
            .upload_file(b"x".to_vec(), bad, UploadOptions::default())
            .await
            .unwrap_err();
        assert!(matches!(err, Error::InvalidInput(_)), "{bad}: {err}");
    }
    let err = client
        .model("bad--id")
        .upload_file(b"x".to_vec(), "x.txt", UploadOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidInput(_)), "{err}");
    let err = repo
        .upload_folder(
            cache.path().join("no-such-dir"),
            UploadFolderOptions::default(),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidInput(_)), "{err}");
    let err = client
        .create_repo(CreateRepo::new("bad..id"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidInput(_)), "{err}");
    let err = repo
        .create_commit(
            CommitOptions::new("x", vec![CommitOperation::add_bytes("a", b"a".to_vec())])
                .parent_commit("zz"),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidInput(_)), "{err}");
    assert!(hub.log().is_empty(), "{:?}", hub.log());
}

#[tokio::test]
async fn repo_management_and_refs() {
    let (hub, cache, client) = setup(1 << 20).await;
    // Existing repo: Conflict, or success with exist_ok.
    let err = client
        .create_repo(CreateRepo::new("acme/up"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Conflict(_)), "{err}");
    let url = client
        .create_repo(CreateRepo::new("acme/up").exist_ok(true))
        .await
        .unwrap();
    assert_eq!(url.url, format!("{}/acme/up", hub.url));
    let ds = client
        .create_repo(CreateRepo::new("acme/data").repo_type(RepoType::Dataset))
        .await
        .unwrap();
    assert_eq!(ds.url, format!("{}/datasets/acme/data", hub.url));
    assert_eq!(ds.repo_id, "acme/data");

    let repo = client.model("acme/up");
    let c1 = repo
        .upload_file(b"v1".to_vec(), "f.txt", UploadOptions::default())
        .await
        .unwrap();
    repo.create_branch("dev", None, false).await.unwrap();
    let err = repo.create_branch("dev", None, false).await.unwrap_err();
    assert!(matches!(err, Error::Conflict(_)), "{err}");
    repo.create_branch("dev", None, true).await.unwrap();
    let dev = client.model("acme/up").revision("dev");
    dev.upload_file(b"dev".to_vec(), "f.txt", UploadOptions::default())
        .await
        .unwrap();
    assert_eq!(read_remote(&client, "dev", "f.txt").await, b"dev");
    assert_eq!(read_remote(&client, "main", "f.txt").await, b"v1");
    client
        .model("acme/up")
        .revision(c1.oid.clone())
        .create_tag("v1", Some("first"), false)
        .await
        .unwrap();
    assert_eq!(read_remote(&client, "v1", "f.txt").await, b"v1");
    let refs = repo.refs(false).await.unwrap();
    let names: Vec<&str> = refs.branches.iter().map(|b| b.name.as_str()).collect();
    assert_eq!(names, ["dev", "main"]);
    assert_eq!(refs.tags[0].target_commit, c1.oid);
    repo.delete_tag("v1").await.unwrap();
    repo.delete_branch("dev").await.unwrap();
    let refs = repo.refs(false).await.unwrap();
    assert!(refs.tags.is_empty() && refs.branches.len() == 1);

    // Private: invisible without the token.
    repo.update_repo_settings(Some(true), None).await.unwrap();
    let anon = hub.client_with(&cache.path().join("anon"), None);
    let err = anon.model("acme/up").info().await.unwrap_err();
    assert!(matches!(err, Error::RepoNotFound { .. }), "{err}");
    assert_eq!(repo.info().await.unwrap().private, Some(true));
    // Writes need the token.
    let err = anon
        .create_repo(CreateRepo::new("acme/other"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Unauthorized(_)), "{err}");

    // Move, then delete.
    let moved = client
        .move_repo("acme/up", "acme/renamed", RepoType::Model)
        .await
        .unwrap();
    assert_eq!(moved.repo_id, "acme/renamed");
    assert_eq!(
        std::fs::read(
            client
                .model("acme/renamed")
                .download("f.txt")
                .await
                .unwrap()
        )
        .unwrap(),
        b"v1"
    );
    client
        .delete_repo("acme/renamed", RepoType::Model, false)
        .await
        .unwrap();
    let err = client
        .delete_repo("acme/renamed", RepoType::Model, false)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::RepoNotFound { .. }), "{err}");
    client
        .delete_repo("acme/renamed", RepoType::Model, true)
        .await
        .unwrap();
}

#[tokio::test]
async fn folder_repos_stay_read_only() {
    let hub = WritableHub::start(THRESHOLD, 1 << 20).await;
    std::fs::create_dir_all(hub.root.path().join("models/acme/plain")).unwrap();
    std::fs::write(hub.root.path().join("models/acme/plain/a.txt"), "a").unwrap();
    let cache = tempfile::tempdir().unwrap();
    let client = hub.client(cache.path());
    let err = client
        .create_repo(CreateRepo::new("acme/plain"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Conflict(_)), "{err}");
    let err = client
        .model("acme/plain")
        .upload_file(b"x".to_vec(), "x.txt", UploadOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Forbidden(_)), "{err}");
    assert_eq!(
        std::fs::read(client.model("acme/plain").download("a.txt").await.unwrap()).unwrap(),
        b"a"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_upload_and_repo_commands() {
    let hub = WritableHub::start(THRESHOLD, 1 << 20).await;
    let home = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    write_file(dir.path(), "a.txt", b"a");
    write_file(dir.path(), "skip.tmp", b"t");
    write_file(dir.path(), "w.bin", &data(1500, 3));
    let run = |args: Vec<String>| {
        let url = hub.url.clone();
        let home = home.path().to_path_buf();
        tokio::task::spawn_blocking(move || {
            std::process::Command::new(env!("CARGO_BIN_EXE_hfkit"))
                .args(&args)
                .env_clear()
                .env("HF_ENDPOINT", url)
                .env("HF_HOME", &home)
                .env("HF_HUB_DISABLE_PROGRESS_BARS", "1")
                .env("HF_TOKEN", support::writable::TOKEN)
                .output()
                .unwrap()
        })
    };
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    let folder = dir.path().display().to_string();
    let out = run(s(&[
        "upload",
        "acme/cli",
        &folder,
        "sub",
        "--exclude",
        "*.tmp",
        "--commit-message",
        "cli",
    ]))
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let last = stdout.lines().last().unwrap();
    assert!(
        last.starts_with(&format!("{}/acme/cli/commit/", hub.url)),
        "{stdout}"
    );
    let cache = tempfile::tempdir().unwrap();
    let client = hub.client(cache.path());
    assert_eq!(
        client.model("acme/cli").list_files().await.unwrap(),
        [".gitattributes", "sub/a.txt", "sub/w.bin"]
    );
    // A single file, into a PR.
    let file = dir.path().join("a.txt").display().to_string();
    let out = run(s(&["upload", "acme/cli", &file, "--create-pr"]))
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::read(
            client
                .model("acme/cli")
                .revision("refs/pr/1")
                .download("a.txt")
                .await
                .unwrap()
        )
        .unwrap(),
        b"a"
    );
    let out = run(s(&[
        "repo",
        "create",
        "acme/ds",
        "--repo-type",
        "dataset",
        "--private",
    ]))
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8(out.stdout).unwrap().trim(),
        format!("{}/datasets/acme/ds", hub.url)
    );
    let out = run(s(&["repo", "delete", "acme/ds", "--repo-type", "dataset"]))
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run(s(&["repo", "delete", "acme/ds", "--repo-type", "dataset"]))
        .await
        .unwrap();
    assert!(!out.status.success());
    // Bad input: no request, non-zero exit.
    hub.clear_log();
    let out = run(s(&["upload", "acme/cli", "/no/such/path"]))
        .await
        .unwrap();
    assert!(!out.status.success());
    assert!(hub.log().is_empty());
}

#[test]
fn blocking_twins_upload_and_manage() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let hub = rt.block_on(WritableHub::start(THRESHOLD, 1000));
    let cache = tempfile::tempdir().unwrap();
    let client = hfkit::blocking::HubClient::from_async(hub.client(cache.path())).unwrap();
    client
        .create_repo(CreateRepo::new("acme/blk").exist_ok(true))
        .unwrap();
    let repo = client.model("acme/blk");
    let big = data(2500, 8);
    let info = repo
        .create_commit(CommitOptions::new(
            "seed",
            vec![
                CommitOperation::add_bytes("a.txt", b"a".to_vec()),
                CommitOperation::add_bytes("big.bin", big.clone()),
            ],
        ))
        .unwrap();
    repo.upload_file(b"b".to_vec(), "b.txt", UploadOptions::default())
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    write_file(dir.path(), "c.txt", b"c");
    repo.upload_folder(dir.path().to_path_buf(), UploadFolderOptions::default())
        .unwrap();
    repo.create_branch("dev", Some(&info.oid), false).unwrap();
    repo.clone()
        .revision("dev")
        .create_tag("v0", None, false)
        .unwrap();
    assert_eq!(
        std::fs::read(repo.clone().revision("v0").download("big.bin").unwrap()).unwrap(),
        big
    );
    repo.delete_tag("v0").unwrap();
    repo.delete_branch("dev").unwrap();
    repo.update_repo_settings(Some(true), None).unwrap();
    assert_eq!(
        repo.list_files().unwrap(),
        [".gitattributes", "a.txt", "b.txt", "big.bin", "c.txt"]
    );
    client
        .move_repo("acme/blk", "acme/blk2", RepoType::Model)
        .unwrap();
    client
        .delete_repo("acme/blk2", RepoType::Model, false)
        .unwrap();
    drop(hub);
}

/// `hfkit serve --allow-writes` as a process; the URL is its first stdout line.
fn serve_process(root: &Path, extra: &[&str]) -> (std::process::Child, String) {
    use std::io::BufRead;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_hfkit"))
        .args(["serve", "--port", "0", "--root"])
        .arg(root)
        .args(extra)
        .env_remove("HFKIT_SERVE_TOKEN")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = std::io::BufReader::new(stdout).lines();
    let url = lines.next().unwrap().unwrap().trim().to_owned();
    std::thread::spawn(move || for _ in lines {});
    (child, url)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn served_writes_persist_across_restarts() {
    let root = tempfile::tempdir().unwrap();
    let token = support::writable::TOKEN;
    let args = [
        "--allow-writes",
        "--token",
        token,
        "--lfs-threshold",
        "1000",
        "--multipart-chunk-size",
        "1000",
    ];
    // Writes without a token are refused by the command line itself.
    let refused = std::process::Command::new(env!("CARGO_BIN_EXE_hfkit"))
        .args(["serve", "--port", "0", "--allow-writes", "--root"])
        .arg(root.path())
        .env_remove("HFKIT_SERVE_TOKEN")
        .output()
        .unwrap();
    assert!(!refused.status.success());

    let (mut server, url) = serve_process(root.path(), &args);
    let client_for = |url: &str, cache: &Path| {
        HubClient::builder()
            .settings(|b| {
                b.env_map(Default::default())
                    .endpoint(url.to_owned())
                    .cache_dir(cache.to_path_buf())
                    .hf_home(cache.join("home"))
                    .token(token)
            })
            .build()
            .unwrap()
    };
    let cache = tempfile::tempdir().unwrap();
    let client = client_for(&url, cache.path());
    client
        .create_repo(CreateRepo::new("team/model"))
        .await
        .unwrap();
    let big = data(4200, 6);
    let info = client
        .model("team/model")
        .create_commit(CommitOptions::new(
            "weights",
            vec![
                CommitOperation::add_bytes("w.bin", big.clone()),
                CommitOperation::add_bytes("cfg.json", b"{}".to_vec()),
            ],
        ))
        .await
        .unwrap();
    server.kill().unwrap();
    server.wait().unwrap();
    assert!(root.path().join(".hfkit-mirror").is_dir());

    let (mut server, url) = serve_process(root.path(), &args);
    let cache = tempfile::tempdir().unwrap();
    let client = client_for(&url, cache.path());
    let repo = client.model("team/model");
    assert_eq!(repo.info().await.unwrap().sha, Some(info.oid.clone()));
    assert_eq!(
        std::fs::read(repo.download("w.bin").await.unwrap()).unwrap(),
        big
    );
    let at_commit = client.model("team/model").revision(info.oid.clone());
    assert_eq!(
        std::fs::read(at_commit.download("cfg.json").await.unwrap()).unwrap(),
        b"{}"
    );
    server.kill().unwrap();
    server.wait().unwrap();
}
