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
