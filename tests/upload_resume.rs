//! Resumable uploads against the writable mirror on 127.0.0.1 (hub.md §6.8):
//! `upload_large_folder` from the library and its blocking twin, and the `hfkit
//! upload-large-folder` CLI killed with SIGKILL mid-upload, then re-run.

mod support;

use std::path::Path;
use std::time::Duration;

use hfkit::HubClient;
use hfkit::hub::large_folder::LargeFolderOptions;
use hfkit::hub::repos::CreateRepo;
use support::writable::{TOKEN, WritableHub, read_remote, with_up_repo, write_file};

const THRESHOLD: u64 = 1000;

fn data(n: usize, seed: u8) -> Vec<u8> {
    (0..n)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed) ^ (i >> 9) as u8)
        .collect()
}

fn sha256_hex(b: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(b))
}

async fn setup(chunk: u64) -> (WritableHub, tempfile::TempDir, HubClient) {
    with_up_repo(THRESHOLD, chunk).await
}

#[tokio::test]
async fn upload_large_folder_resumes_and_skips_finished_files() {
    let (hub, _cache, client) = setup(4096).await;
    let repo = client.model("acme/up");
    let dir = tempfile::tempdir().unwrap();
    write_file(dir.path(), "a/big.bin", &data(10_000, 1));
    write_file(dir.path(), "b.bin", &data(5000, 2));
    write_file(dir.path(), "c.txt", b"hello");
    write_file(dir.path(), ".git/HEAD", b"ref");
    // The LFS uploads fail: modes and hashes are recorded, nothing is uploaded or committed.
    hub.set_put_status(403);
    let opts = || {
        LargeFolderOptions::default()
            .num_workers(2)
            .max_operations_per_commit(2)
    };
    let err = repo
        .upload_large_folder(dir.path(), opts())
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(403), "{err}");
    assert_eq!(hub.count("POST", "/commit/"), 0, "nothing committed");
    let meta = dir
        .path()
        .join(".cache/huggingface/upload/a/big.bin.metadata");
    let lines: Vec<String> = std::fs::read_to_string(&meta)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(lines.len(), 8);
    assert_eq!(lines[1], "10000");
    assert_eq!(lines[2], "0");
    assert_eq!(lines[3], sha256_hex(&data(10_000, 1)));
    assert_eq!(lines[4], "lfs");
    assert_eq!((lines[6].as_str(), lines[7].as_str()), ("0", "0"));
    hub.set_put_status(0);
    hub.clear_log();
    let info = repo.upload_large_folder(dir.path(), opts()).await.unwrap();
    assert_eq!(hub.count("POST", "/preupload/"), 0, "modes were recorded");
    assert_eq!(hub.count("POST", "/commit/"), 2, "3 files in commits of 2");
    assert_eq!(
        repo.list_files().await.unwrap(),
        [".gitattributes", "a/big.bin", "b.bin", "c.txt"]
    );
    assert_eq!(
        read_remote(&client, "main", "a/big.bin").await,
        data(10_000, 1)
    );
    assert_eq!(read_remote(&client, "main", "c.txt").await, b"hello");
    // Everything committed: a re-run sends nothing at all but the head lookup.
    hub.clear_log();
    let again = repo.upload_large_folder(dir.path(), opts()).await.unwrap();
    assert_eq!(again.oid, info.oid);
    assert!(
        hub.log().iter().all(|l| l.method == "GET"),
        "{:?}",
        hub.log().iter().map(|l| &l.path).collect::<Vec<_>>()
    );
    // An edited file is the only one sent again.
    std::thread::sleep(Duration::from_millis(20));
    write_file(dir.path(), "b.bin", &data(5000, 9));
    hub.clear_log();
    repo.upload_large_folder(dir.path(), opts()).await.unwrap();
    let preuploads: Vec<String> = hub
        .log()
        .iter()
        .filter(|l| l.path.contains("/preupload/"))
        .map(|l| String::from_utf8_lossy(&l.body).into_owned())
        .collect();
    assert_eq!(preuploads.len(), 1);
    assert!(preuploads[0].contains("b.bin") && !preuploads[0].contains("big.bin"));
    assert_eq!(read_remote(&client, "main", "b.bin").await, data(5000, 9));
}

#[test]
fn blocking_upload_large_folder() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let hub = rt.block_on(WritableHub::start(THRESHOLD, 1 << 20));
    let cache = tempfile::tempdir().unwrap();
    let client = hfkit::blocking::HubClient::from_async(hub.client(cache.path())).unwrap();
    client
        .create_repo(CreateRepo::new("acme/blk").exist_ok(true))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    write_file(dir.path(), "w.bin", &data(4000, 3));
    let repo = client.model("acme/blk");
    repo.upload_large_folder(dir.path().to_path_buf(), LargeFolderOptions::default())
        .unwrap();
    assert_eq!(
        std::fs::read(repo.download("w.bin").unwrap()).unwrap(),
        data(4000, 3)
    );
    drop(hub);
}

fn uploaded(dir: &Path, rel: &str) -> bool {
    let meta = dir.join(format!(".cache/huggingface/upload/{rel}.metadata"));
    std::fs::read_to_string(meta)
        .ok()
        .and_then(|t| t.lines().nth(6).map(|l| l == "1"))
        .unwrap_or(false)
}

fn cli(hub: &WritableHub, home: &Path, dir: &Path) -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_hfkit"));
    cmd.args(["upload-large-folder", "acme/cli"])
        .arg(dir)
        .args(["--num-workers", "1", "--max-operations-per-commit", "4"])
        .env("HF_ENDPOINT", &hub.url)
        .env("HF_TOKEN", TOKEN)
        .env("HF_HOME", home)
        .env_remove("HF_HUB_CACHE")
        .env_remove("HF_HUB_OFFLINE")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    cmd
}

/// The CLI is killed with SIGKILL while it uploads through a slowed mirror; the re-run
/// completes without sending the objects the first run finished.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_upload_large_folder_survives_kill_9() {
    let hub = WritableHub::start(THRESHOLD, 1 << 20).await;
    let home = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for i in 0..8 {
        let content = data(20_000 + i, i as u8);
        let rel = format!("shard-{i}.bin");
        write_file(dir.path(), &rel, &content);
        files.push((rel, content));
    }
    write_file(dir.path(), "README.txt", b"eight shards\n");
    hub.set_put_delay(Duration::from_millis(400));
    let mut child = cli(&hub, home.path(), dir.path()).spawn().unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let done = files
            .iter()
            .filter(|(r, _)| uploaded(dir.path(), r))
            .count();
        if done >= 2 {
            break;
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the upload ended before it was killed: {status}");
        }
        assert!(std::time::Instant::now() < deadline, "no progress in 60 s");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let finished: Vec<&(String, Vec<u8>)> = files
        .iter()
        .filter(|(r, _)| uploaded(dir.path(), r))
        .collect();
    assert!(
        !finished.is_empty() && finished.len() < files.len(),
        "{} of {} finished before the kill",
        finished.len(),
        files.len()
    );
    assert_eq!(hub.count("POST", "/commit/"), 0, "killed before committing");
    let puts_before = hub.count("PUT", "/lfs-upload/");

    hub.set_put_delay(Duration::ZERO);
    hub.clear_log();
    let out = cli(&hub, home.path(), dir.path()).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("hashing…") && !stderr.contains("uploading…"),
        "no progress output when piped: {stderr}"
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let last = stdout.lines().last().unwrap_or_default().to_owned();
    assert!(
        last.starts_with(&format!("{}/acme/cli/commit/", hub.url)),
        "{stdout}"
    );
    // The finished objects were neither asked for nor sent again.
    let batches: Vec<String> = hub
        .log()
        .iter()
        .filter(|l| l.path.ends_with("/info/lfs/objects/batch"))
        .map(|l| String::from_utf8_lossy(&l.body).into_owned())
        .collect();
    for (rel, content) in &finished {
        let oid = sha256_hex(content);
        assert!(
            batches.iter().all(|b| !b.contains(&oid)),
            "{rel} was uploaded before the kill and asked for again"
        );
    }
    let puts_after = hub.count("PUT", "/lfs-upload/");
    assert!(puts_after >= 1);
    assert!(
        puts_after <= files.len() - finished.len(),
        "{puts_after} PUTs after the kill for {} unfinished files ({puts_before} before)",
        files.len() - finished.len()
    );
    assert_eq!(hub.count("POST", "/preupload/"), 0, "modes were recorded");
    assert_eq!(hub.count("POST", "/commit/"), 3, "9 files, 4 per commit");
    // The repository is complete and right.
    let cache = tempfile::tempdir().unwrap();
    let client = hub.client(cache.path());
    let repo = client.model("acme/cli");
    let mut want: Vec<String> = files.iter().map(|(r, _)| r.clone()).collect();
    want.extend([".gitattributes".to_owned(), "README.txt".to_owned()]);
    want.sort();
    assert_eq!(repo.list_files().await.unwrap(), want);
    for (rel, content) in &files {
        assert_eq!(
            &std::fs::read(repo.download(rel).await.unwrap()).unwrap(),
            content,
            "{rel}"
        );
    }
    // Python reads hfkit's records.
    let script = format!(
        "from pathlib import Path\n\
         from huggingface_hub._local_folder import read_upload_metadata\n\
         m = read_upload_metadata(Path({:?}), 'shard-0.bin')\n\
         print(m.size, m.sha256, m.upload_mode, m.is_uploaded, m.is_committed)\n",
        dir.path().display().to_string()
    );
    let py = std::process::Command::new(support::python::python())
        .args(["-c", &script])
        .output()
        .unwrap();
    assert!(
        py.status.success(),
        "{}",
        String::from_utf8_lossy(&py.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&py.stdout).trim(),
        format!("20000 {} lfs True True", sha256_hex(&files[0].1))
    );
}
