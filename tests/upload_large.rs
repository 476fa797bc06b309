//! Large and faulty uploads against the writable mirror on 127.0.0.1: chained commits (hub.md
//! §6.8), a connection dropped during a multipart part, local files changing under the upload,
//! failed uploads leaving the previous revision, readers as sources, and progress events.
//! (Resumable uploads: `tests/upload_resume.rs`.)

mod support;

use std::time::Duration;

use futures::TryStreamExt;
use hfkit::hub::commit::{CommitOperation, CommitOptions};
use hfkit::hub::repos::CreateRepo;
use hfkit::hub::upload::{UploadFolderOptions, UploadOptions};
use hfkit::{Error, HubClient};
use support::writable::{TOKEN, WritableHub, read_remote, with_up_repo, write_file};

const THRESHOLD: u64 = 1000;

fn data(n: usize, seed: u8) -> Vec<u8> {
    (0..n)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed) ^ (i >> 9) as u8)
        .collect()
}

async fn setup(chunk: u64) -> (WritableHub, tempfile::TempDir, HubClient) {
    with_up_repo(THRESHOLD, chunk).await
}

async fn titles(client: &HubClient) -> Vec<String> {
    let commits: Vec<_> = client
        .model("acme/up")
        .commits()
        .try_collect()
        .await
        .unwrap();
    commits.into_iter().map(|c| c.title).collect()
}

fn commit_bodies(hub: &WritableHub) -> Vec<Vec<serde_json::Value>> {
    hub.log()
        .iter()
        .filter(|l| l.method == "POST" && l.path.contains("/commit/"))
        .map(|l| {
            String::from_utf8_lossy(&l.body)
                .lines()
                .map(|x| serde_json::from_str(x).unwrap())
                .collect()
        })
        .collect()
}

#[tokio::test]
async fn a_large_folder_is_committed_as_a_chain() {
    let (hub, _cache, client) = setup(1 << 20).await;
    let repo = client.model("acme/up");
    repo.upload_file(b"old".to_vec(), "old.txt", UploadOptions::default())
        .await
        .unwrap();
    let head0 = repo.info().await.unwrap().sha.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for i in 0..6 {
        let content = if i % 2 == 0 {
            data(3000 + i, i as u8)
        } else {
            format!("small {i}").into_bytes()
        };
        write_file(dir.path(), &format!("f{i}.bin"), &content);
        files.push((format!("f{i}.bin"), content));
    }
    hub.clear_log();
    let info = repo
        .upload_folder(
            dir.path(),
            UploadFolderOptions::default()
                .delete_patterns(["old.txt"])
                .parent_commit(head0.clone())
                .max_operations_per_commit(3),
        )
        .await
        .unwrap();
    let bodies = commit_bodies(&hub);
    assert_eq!(bodies.len(), 3, "7 operations in commits of at most 3");
    // The first commit carries the deletion and the caller's parent; each later one names the
    // commit before it.
    assert_eq!(bodies[0][0]["value"]["parentCommit"], head0);
    assert_eq!(bodies[0][1]["key"], "deletedFile");
    let mut oids = Vec::new();
    for (i, b) in bodies.iter().enumerate() {
        assert_eq!(
            b[0]["value"]["summary"],
            format!("Upload folder using hfkit (part {}/3)", i + 1)
        );
        assert!(b.len() - 1 <= 3);
        oids.push(b[0]["value"]["parentCommit"].as_str().unwrap().to_owned());
    }
    let log_commits: Vec<String> = titles(&client).await;
    assert_eq!(
        &log_commits[..3],
        [
            "Upload folder using hfkit (part 3/3)",
            "Upload folder using hfkit (part 2/3)",
            "Upload folder using hfkit (part 1/3)"
        ]
    );
    assert_eq!(repo.info().await.unwrap().sha.as_deref(), Some(&*info.oid));
    assert_ne!(oids[1], oids[2], "each commit has its own parent");
    let mut want: Vec<String> = files.iter().map(|(p, _)| p.clone()).collect();
    want.push(".gitattributes".into());
    want.sort();
    assert_eq!(repo.list_files().await.unwrap(), want);
    for (p, c) in &files {
        assert_eq!(&read_remote(&client, "main", p).await, c, "{p}");
    }
    // Re-running uploads nothing and makes no commit.
    hub.clear_log();
    let again = repo
        .upload_folder(
            dir.path(),
            UploadFolderOptions::default().max_operations_per_commit(3),
        )
        .await
        .unwrap();
    assert_eq!(again.oid, info.oid);
    assert_eq!(hub.count("POST", "/commit/"), 0);
    assert_eq!(hub.count("PUT", "/lfs-upload/"), 0);
}

#[tokio::test]
async fn a_chain_with_create_pr_extends_the_pr() {
    let (hub, _cache, client) = setup(1 << 20).await;
    let repo = client.model("acme/up");
    repo.upload_file(b"x".to_vec(), "x.txt", UploadOptions::default())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    for i in 0..5 {
        write_file(dir.path(), &format!("p{i}.txt"), format!("{i}").as_bytes());
    }
    hub.clear_log();
    let info = repo
        .upload_folder(
            dir.path(),
            UploadFolderOptions::default()
                .create_pr(true)
                .max_operations_per_commit(2),
        )
        .await
        .unwrap();
    assert_eq!(info.pr_num, Some(1));
    let commits: Vec<_> = hub
        .log()
        .into_iter()
        .filter(|l| l.method == "POST" && l.path.contains("/commit/"))
        .map(|l| (l.path, l.query))
        .collect();
    assert_eq!(commits.len(), 3);
    assert!(commits[0].0.ends_with("/commit/main"));
    assert_eq!(commits[0].1.as_deref(), Some("create_pr=1"));
    for c in &commits[1..] {
        assert!(c.0.ends_with("/commit/refs%2Fpr%2F1"), "{c:?}");
        assert_eq!(c.1, None);
    }
    assert_eq!(
        repo.list_files().await.unwrap(),
        [".gitattributes", "x.txt"]
    );
    for i in 0..5 {
        assert_eq!(
            read_remote(&client, "refs/pr/1", &format!("p{i}.txt")).await,
            format!("{i}").as_bytes()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_dropped_during_a_part_retries_only_that_part() {
    let hub = WritableHub::start(THRESHOLD, 64 * 1024).await;
    let upstream: std::net::SocketAddr = hub.url.trim_start_matches("http://").parse().unwrap();
    let proxy = support::cutter::start(upstream, "/part/2 ", 10_000);
    let cache = tempfile::tempdir().unwrap();
    let client = HubClient::builder()
        .settings(|b| {
            b.env_map(Default::default())
                .endpoint(proxy.url())
                .cache_dir(cache.path().to_path_buf())
                .hf_home(cache.path().join("home"))
                .token(TOKEN)
        })
        .build()
        .unwrap();
    client
        .create_repo(CreateRepo::new("acme/up"))
        .await
        .unwrap();
    let repo = client.model("acme/up");
    let before = repo.info().await.unwrap().sha;
    let content = data(200 * 1024, 5); // 4 parts
    let info = repo
        .upload_file(content.clone(), "w.bin", UploadOptions::default())
        .await
        .unwrap();
    assert!(proxy.cut(), "the connection was dropped during part 2");
    let parts: Vec<String> = proxy
        .request_lines()
        .into_iter()
        .filter(|l| l.starts_with("PUT ") && l.contains("/part/"))
        .map(|l| {
            l.split('/')
                .nth(4)
                .unwrap_or("")
                .split(' ')
                .next()
                .unwrap()
                .to_owned()
        })
        .collect();
    let count = |n: &str| parts.iter().filter(|p| *p == n).count();
    assert_eq!(
        (count("1"), count("2"), count("3"), count("4")),
        (1, 2, 1, 1),
        "{parts:?}"
    );
    assert_ne!(Some(info.oid.clone()), before);
    assert_eq!(
        std::fs::read(repo.download("w.bin").await.unwrap()).unwrap(),
        content
    );
}

#[tokio::test]
async fn failed_lfs_upload_leaves_the_previous_revision() {
    let (hub, _cache, client) = setup(1 << 20).await;
    let repo = client.model("acme/up");
    let c1 = repo
        .upload_file(b"1".to_vec(), "a.txt", UploadOptions::default())
        .await
        .unwrap();
    hub.set_put_status(403);
    let dir = tempfile::tempdir().unwrap();
    write_file(dir.path(), "a.txt", b"2");
    write_file(dir.path(), "w.bin", &data(5000, 1));
    hub.clear_log();
    let err = repo
        .upload_folder(dir.path(), UploadFolderOptions::default())
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(403), "{err}");
    assert_eq!(hub.count("POST", "/commit/"), 0);
    assert_eq!(repo.info().await.unwrap().sha, Some(c1.oid));
    assert_eq!(read_remote(&client, "main", "a.txt").await, b"1");
}

#[tokio::test]
async fn files_edited_during_the_upload_are_refused() {
    let (hub, _cache, client) = setup(1 << 20).await;
    let repo = client.model("acme/up");
    let head = repo.info().await.unwrap().sha;
    let dir = tempfile::tempdir().unwrap();
    for (name, content, needle) in [
        ("w.bin", data(5000, 1), "/info/lfs/objects/batch"),
        ("r.txt", b"regular".to_vec(), "/preupload/"),
    ] {
        let file = dir.path().join(name);
        std::fs::write(&file, &content).unwrap();
        // Same size, other bytes, a later modification time.
        let f2 = file.clone();
        let mut edited = content.clone();
        edited[0] ^= 0xff;
        hub.on_request(needle, move || {
            std::fs::write(&f2, &edited).unwrap();
            let f = std::fs::File::options().write(true).open(&f2).unwrap();
            f.set_modified(std::time::SystemTime::now() + Duration::from_secs(5))
                .unwrap();
        });
        hub.clear_log();
        let err = repo
            .upload_file(file.as_path(), name, UploadOptions::default())
            .await
            .unwrap_err();
        assert!(
            matches!(&err, Error::InvalidInput(m) if m.contains("changed during the upload")),
            "{name}: {err}"
        );
        assert_eq!(hub.count("PUT", "/lfs-upload/"), 0, "{name}");
        assert_eq!(hub.count("POST", "/commit/"), 0, "{name}");
    }
    assert_eq!(repo.info().await.unwrap().sha, head);
}

#[tokio::test]
async fn readers_are_uploaded_without_being_buffered() {
    let (hub, cache, client) = setup(64 * 1024).await;
    let repo = client.model("acme/up");
    let content = data(300 * 1024, 7);
    let src = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(src.path(), &content).unwrap();
    let file = tokio::fs::File::open(src.path()).await.unwrap();
    repo.create_commit(CommitOptions::new(
        "from a reader",
        vec![
            CommitOperation::add_reader("r.bin", file, content.len() as u64),
            CommitOperation::add_reader("s.txt", std::io::Cursor::new(b"tiny".to_vec()), 4),
        ],
    ))
    .await
    .unwrap();
    assert!(hub.count("PUT", "/part/") >= 5, "multipart from the spool");
    assert_eq!(read_remote(&client, "main", "r.bin").await, content);
    assert_eq!(read_remote(&client, "main", "s.txt").await, b"tiny");
    let spool = cache.path().join("home").join("spool");
    assert_eq!(
        std::fs::read_dir(&spool).map(|d| d.count()).unwrap_or(0),
        0,
        "spools are removed"
    );
    // A reader shorter than declared fails before any upload.
    hub.clear_log();
    let err = repo
        .create_commit(CommitOptions::new(
            "short",
            vec![CommitOperation::add_reader(
                "t.bin",
                std::io::Cursor::new(vec![1u8; 10]),
                11,
            )],
        ))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::InvalidInput(m) if m.contains("declared")),
        "{err}"
    );
    assert!(hub.log().is_empty());
}

/// Records progress events.
#[derive(Default)]
struct Recorder {
    events: std::sync::Mutex<Vec<(String, String, u64)>>,
}

impl hfkit::hub::Progress for Recorder {
    fn start(&self, path: &str, total: Option<u64>, _resumed_from: u64) {
        self.events
            .lock()
            .unwrap()
            .push(("start".into(), path.into(), total.unwrap_or(0)));
    }
    fn advance(&self, path: &str, bytes: u64) {
        self.events
            .lock()
            .unwrap()
            .push(("advance".into(), path.into(), bytes));
    }
    fn stage(&self, stage: &str) {
        self.events
            .lock()
            .unwrap()
            .push(("stage".into(), stage.into(), 0));
    }
}

#[tokio::test]
async fn uploads_report_hashing_and_transfer_progress() {
    let (_hub, _cache, client) = setup(4096).await;
    let rec = std::sync::Arc::new(Recorder::default());
    let dir = tempfile::tempdir().unwrap();
    write_file(dir.path(), "w.bin", &data(10_000, 4));
    write_file(dir.path(), "s.txt", b"small");
    client
        .model("acme/up")
        .upload_folder(
            dir.path(),
            UploadFolderOptions::default().progress(rec.clone()),
        )
        .await
        .unwrap();
    let ev = rec.events.lock().unwrap().clone();
    let stages: Vec<&str> = ev
        .iter()
        .filter(|e| e.0 == "stage")
        .map(|e| e.1.as_str())
        .collect();
    assert_eq!(stages, ["hashing", "uploading", "committing"]);
    let at = |name: &str| {
        ev.iter()
            .position(|e| e.0 == "stage" && e.1 == name)
            .unwrap()
    };
    let sum = |from: usize, to: usize| -> u64 {
        ev[from..to]
            .iter()
            .filter(|e| e.0 == "advance" && e.1 == "w.bin")
            .map(|e| e.2)
            .sum()
    };
    assert_eq!(sum(at("hashing"), at("uploading")), 10_000, "hashed once");
    assert_eq!(
        sum(at("uploading"), at("committing")),
        10_000,
        "sent once, 3 parts"
    );
    assert!(ev.contains(&("start".into(), "w.bin".into(), 10_000)));
}
