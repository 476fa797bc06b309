//! `Mirror::cdn` / `hfkit serve --cdn-url`: LFS downloads of public repositories are redirected
//! to a static file server over the mirror root, as the Hub redirects them to its CDN; clients
//! follow the redirect without their token and verify what they get.
#![cfg(feature = "server")]

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use hfkit::HubClient;
use hfkit::config::Settings;
use hfkit::mirror::Mirror;
use sha2::{Digest, Sha256};

const TOKEN: &str = "hf_cdn_test_token";

/// What the static server saw: request path and whether an `Authorization` header came along.
type Seen = Arc<Mutex<Vec<(String, bool)>>>;

/// A static file server over `root` (what nginx would be in production).
async fn static_server(root: PathBuf, seen: Seen) -> String {
    async fn serve(State((root, seen)): State<(PathBuf, Seen)>, req: Request) -> Response {
        let path = req.uri().path().to_string();
        let auth = req.headers().contains_key("authorization");
        seen.lock().unwrap().push((path.clone(), auth));
        let decoded = percent_decode(&path);
        let rel = decoded.trim_start_matches('/');
        if rel.split('/').any(|s| s == ".." || s.is_empty()) {
            return StatusCode::BAD_REQUEST.into_response();
        }
        match std::fs::read(root.join(rel)) {
            Ok(bytes) => bytes.into_response(),
            Err(_) => StatusCode::NOT_FOUND.into_response(),
        }
    }
    let app = axum::Router::new().fallback(serve).with_state((root, seen));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap()
}

fn write(path: &Path, content: &[u8]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, content).unwrap();
}

fn big() -> Vec<u8> {
    (0..300_000u32).map(|i| (i * 31 % 251) as u8).collect()
}

fn client(endpoint: &str, cache: &Path) -> HubClient {
    let settings = Settings::builder()
        .env_map(Default::default())
        .endpoint(endpoint)
        .cache_dir(cache)
        .token(TOKEN)
        .build()
        .unwrap();
    HubClient::from_settings(settings).unwrap()
}

#[tokio::test]
async fn lfs_downloads_are_redirected_to_the_cdn_without_the_token() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let content = big();
    write(
        &root.join("models/acme/tiny/weights/model v1.bin"),
        &content,
    );
    write(&root.join("models/acme/tiny/config.json"), b"{}\n");
    let seen: Seen = Default::default();
    let cdn = static_server(root.clone(), seen.clone()).await;
    let mirror = Mirror::new(&root)
        .lfs_threshold(1024)
        .cdn(format!("{cdn}/"))
        .serve("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();

    // The redirect carries the Hub's metadata headers.
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let url = format!(
        "{}/acme/tiny/resolve/main/weights/model%20v1.bin",
        mirror.url()
    );
    let head = http.head(&url).send().await.unwrap();
    assert_eq!(head.status(), StatusCode::FOUND);
    let h = head.headers();
    assert_eq!(
        h["location"].to_str().unwrap(),
        format!("{cdn}/models/acme/tiny/weights/model%20v1.bin")
    );
    let sha = hex::encode(Sha256::digest(&content));
    assert_eq!(h["x-linked-etag"].to_str().unwrap(), format!("\"{sha}\""));
    assert_eq!(
        h["x-linked-size"].to_str().unwrap(),
        content.len().to_string()
    );
    assert!(h.contains_key("x-repo-commit"));
    // Small files are still served by the mirror itself.
    let small = http
        .get(format!(
            "{}/acme/tiny/resolve/main/config.json",
            mirror.url()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(small.status(), StatusCode::OK);
    assert_eq!(small.bytes().await.unwrap().as_ref(), b"{}\n");

    // hfkit follows the redirect, verifies the bytes and never sends its token to the CDN.
    let cache = dir.path().join("cache");
    let hub = client(&mirror.url(), &cache);
    let path = hub
        .model("acme/tiny")
        .download("weights/model v1.bin")
        .await
        .unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), content);
    let seen = seen.lock().unwrap().clone();
    assert!(
        seen.iter()
            .any(|(p, _)| p == "/models/acme/tiny/weights/model%20v1.bin"),
        "{seen:?}"
    );
    assert!(
        seen.iter().all(|(_, auth)| !auth),
        "token sent to the CDN: {seen:?}"
    );
    mirror.shutdown().await;
}

#[tokio::test]
async fn private_repositories_are_never_redirected() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    std::fs::create_dir_all(&root).unwrap();
    let seen: Seen = Default::default();
    let cdn = static_server(root.clone(), seen.clone()).await;
    let mirror = Mirror::new(&root)
        .lfs_threshold(1024)
        .allow_writes(true)
        .token(TOKEN)
        .cdn(cdn)
        .serve("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let cache = dir.path().join("cache");
    let hub = client(&mirror.url(), &cache);
    let content = big();
    hub.create_repo(hfkit::hub::repos::CreateRepo::new("acme/secret").private(true))
        .await
        .unwrap();
    hub.model("acme/secret")
        .upload_file(content.clone(), "model.bin", Default::default())
        .await
        .unwrap();

    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let resp = http
        .get(format!(
            "{}/acme/secret/resolve/main/model.bin",
            mirror.url()
        ))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.bytes().await.unwrap().len(), content.len());
    let path = hub
        .model("acme/secret")
        .download("model.bin")
        .await
        .unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), content);
    assert!(seen.lock().unwrap().is_empty());
    mirror.shutdown().await;
}
