//! The upload wire against recorded Hub exchanges (hub.md §9 items 36, 37, 43) and against a
//! scripted server for the LFS answers the mirror never gives (object errors, Xet, bad part
//! counts), a failing part, and commit conflicts.

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use hfkit::hub::commit::{CommitOperation, CommitOptions};
use hfkit::hub::repos::CreateRepo;
use hfkit::hub::upload::UploadOptions;
use hfkit::{Error, HubClient, RepoType};
use serde_json::{Value, json};
use support::cassette;

fn client(endpoint: &str, cache: &std::path::Path) -> HubClient {
    HubClient::builder()
        .settings(|b| {
            b.env_map(Default::default())
                .endpoint(endpoint.to_owned())
                .cache_dir(cache.to_path_buf())
                .hf_home(cache.join("home"))
                .token("hf_test")
                .retry_base_delay(Duration::from_millis(10))
        })
        .build()
        .unwrap()
}

fn ndjson(body: &[u8]) -> Vec<Value> {
    body.split(|b| *b == b'\n')
        .filter(|l| !l.iter().all(u8::is_ascii_whitespace))
        .map(|l| serde_json::from_slice(l).unwrap())
        .collect()
}

#[tokio::test]
async fn create_preupload_commit_and_delete_bodies_match_the_recording() {
    let path = cassette::cassettes_dir()
        .join("hub_api_examples/TestSpaceAPIProduction.test_manage_variables.yaml");
    let interactions = cassette::load(&path);
    let recorded = |method: &str, needle: &str| -> String {
        interactions
            .iter()
            .find(|i| i.method == method && i.uri.contains(needle))
            .and_then(|i| i.request_body.clone())
            .unwrap_or_else(|| panic!("no recorded {method} {needle}"))
    };
    let create_body = recorded("POST", "/api/repos/create");
    let preupload_body = recorded("POST", "/preupload/main");
    let commit_body = recorded("POST", "/commit/main");
    let delete_body = recorded("DELETE", "/api/repos/delete");
    let preupload: Value = serde_json::from_str(&preupload_body).unwrap();
    let app_py = base64::engine::general_purpose::STANDARD
        .decode(preupload["files"][0]["sample"].as_str().unwrap())
        .unwrap();
    assert_eq!(app_py.len(), 152);

    let server = cassette::serve(interactions).await;
    let cache = tempfile::tempdir().unwrap();
    let hub = client(&server.url, cache.path());
    let url = hub
        .create_repo(
            CreateRepo::new("user/tmp_test_space")
                .repo_type(RepoType::Space)
                .private(true)
                .space_sdk("gradio"),
        )
        .await
        .unwrap();
    assert_eq!(url.url, "https://huggingface.co/spaces/user/tmp_test_space");
    assert_eq!(url.repo_id, "user/tmp_test_space");
    let info = hub
        .space("user/tmp_test_space")
        .upload_file(
            app_py.clone(),
            "app.py",
            UploadOptions {
                message: Some("Upload app.py with huggingface_hub".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(info.oid, "eff8e0eb38c673ede5f5d4c4d106255900fa39e2");
    assert_eq!(
        info.commit_url,
        "https://huggingface.co/spaces/user/tmp_test_space/commit/eff8e0eb38c673ede5f5d4c4d106255900fa39e2"
    );
    hub.delete_repo("user/tmp_test_space", RepoType::Space, false)
        .await
        .unwrap();

    let seen = server.seen();
    let sent = |method: &str, needle: &str| {
        seen.iter()
            .find(|s| s.method == method && s.path_and_query.contains(needle))
            .unwrap_or_else(|| panic!("hfkit sent no {method} {needle}: {seen:?}"))
            .clone()
    };
    let json_of = |b: &[u8]| serde_json::from_slice::<Value>(b).unwrap();
    assert_eq!(
        json_of(&sent("POST", "/api/repos/create").body),
        serde_json::from_str::<Value>(&create_body).unwrap()
    );
    assert_eq!(json_of(&sent("POST", "/preupload/main").body), preupload);
    assert_eq!(
        ndjson(&sent("POST", "/commit/main").body),
        ndjson(commit_body.as_bytes())
    );
    assert_eq!(
        json_of(&sent("DELETE", "/api/repos/delete").body),
        serde_json::from_str::<Value>(&delete_body).unwrap()
    );
    // Every call carried the token (all went to the configured endpoint).
    assert!(
        seen.iter()
            .all(|s| s.authorization.as_deref() == Some("Bearer hf_test"))
    );
    // The order: create, preupload, commit, delete; nothing else.
    let order: Vec<String> = seen
        .iter()
        .map(|s| format!("{} {}", s.method, s.path_and_query))
        .collect();
    assert_eq!(
        order,
        [
            "POST /api/repos/create",
            "POST /api/spaces/user/tmp_test_space/preupload/main",
            "POST /api/spaces/user/tmp_test_space/commit/main",
            "DELETE /api/repos/delete",
        ]
    );
}

#[tokio::test]
async fn recorded_409_with_exist_ok_returns_the_url() {
    let path = cassette::cassettes_dir()
        .join("hub_api_examples/TestSpaceAPIProduction.test_manage_secrets.yaml");
    let interactions: Vec<_> = cassette::load(&path)
        .into_iter()
        .filter(|i| i.uri.ends_with("/api/repos/create"))
        .collect();
    let conflict = interactions
        .iter()
        .find(|i| i.status == 409)
        .cloned()
        .expect("the recording has the 409 answer");
    let server = cassette::serve(vec![conflict]).await;
    let cache = tempfile::tempdir().unwrap();
    let hub = client(&server.url, cache.path());
    let url = hub
        .create_repo(
            CreateRepo::new("user/tmp_test_space")
                .repo_type(RepoType::Space)
                .space_sdk("gradio")
                .exist_ok(true),
        )
        .await
        .unwrap();
    assert_eq!(url.url, "https://huggingface.co/spaces/user/tmp_test_space");
    // Without exist_ok the same answer is a Conflict.
    let err = hub
        .create_repo(
            CreateRepo::new("user/tmp_test_space")
                .repo_type(RepoType::Space)
                .space_sdk("gradio"),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Conflict(_)), "{err}");
}

/// A scripted Hub: preupload says `lfs` for everything, the batch answer is given by the test,
/// parts and commits are counted.
#[derive(Default)]
struct Script {
    batch: Value,
    commit_status: u16,
    fail_part_once: Option<u64>,
    failed: bool,
    puts: Vec<String>,
    completions: Vec<Value>,
    commits: usize,
    conflicting_creates: usize,
    /// A local file to grow when the batch request arrives.
    grow_on_batch: Option<std::path::PathBuf>,
}

type Shared = Arc<Mutex<Script>>;

async fn scripted(State(s): State<Shared>, req: Request) -> Response {
    let path = req.uri().path().to_owned();
    let method = req.method().clone();
    let body = axum::body::to_bytes(req.into_body(), 1 << 30)
        .await
        .unwrap();
    let mut st = s.lock().unwrap();
    if path == "/api/repos/create" {
        if st.conflicting_creates > 0 {
            st.conflicting_creates -= 1;
            return (
                StatusCode::CONFLICT,
                r#"{"error":"Cannot create repo: another conflicting operation is in progress"}"#,
            )
                .into_response();
        }
        return (StatusCode::OK, r#"{"url":"https://huggingface.co/acme/x"}"#).into_response();
    }
    if path.ends_with("/preupload/main") {
        let v: Value = serde_json::from_slice(&body).unwrap();
        let files: Vec<Value> = v["files"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| json!({"path": f["path"], "uploadMode": "lfs", "shouldIgnore": false}))
            .collect();
        return axum::Json(json!({"files": files})).into_response();
    }
    if path.ends_with("/info/lfs/objects/batch") {
        if let Some(p) = &st.grow_on_batch {
            use std::io::Write;
            let mut f = std::fs::OpenOptions::new().append(true).open(p).unwrap();
            f.write_all(b"more").unwrap();
        }
        return axum::Json(st.batch.clone()).into_response();
    }
    if path.starts_with("/part/") && method == "PUT" {
        let n: u64 = path.trim_start_matches("/part/").parse().unwrap();
        st.puts.push(path.clone());
        if st.fail_part_once == Some(n) && !st.failed {
            st.failed = true;
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
        let mut r = StatusCode::OK.into_response();
        r.headers_mut().insert(
            "etag",
            format!("\"etag-{n}-{}\"", body.len()).parse().unwrap(),
        );
        return r;
    }
    if path == "/complete" {
        st.completions.push(serde_json::from_slice(&body).unwrap());
        return StatusCode::OK.into_response();
    }
    if path.contains("/commit/") {
        st.commits += 1;
        let status = StatusCode::from_u16(st.commit_status).unwrap_or(StatusCode::OK);
        if status != StatusCode::OK {
            return (status, r#"{"error":"nope"}"#).into_response();
        }
        return axum::Json(json!({"success": true, "commitOid": "a".repeat(40)})).into_response();
    }
    (
        StatusCode::NOT_FOUND,
        Body::from(format!("unscripted {path}")),
    )
        .into_response()
}

async fn start(script: Script) -> (String, Shared) {
    let shared: Shared = Arc::new(Mutex::new(script));
    let app = axum::Router::new()
        .fallback(scripted)
        .with_state(shared.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (url, shared)
}

fn sha256_hex(b: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(b))
}

async fn commit_weights(
    url: &str,
    content: &[u8],
) -> hfkit::Result<hfkit::hub::commit::CommitInfo> {
    let cache = tempfile::tempdir().unwrap();
    client(url, cache.path())
        .model("acme/x")
        .create_commit(CommitOptions::new(
            "weights",
            vec![CommitOperation::add_bytes("w.bin", content.to_vec())],
        ))
        .await
}

#[tokio::test]
async fn lfs_object_errors_are_typed_and_list_the_oids() {
    let content = b"weights".to_vec();
    let oid = sha256_hex(&content);
    let (url, st) = start(Script {
        batch: json!({"objects": [{"oid": oid, "size": 7, "error": {"code": 422, "message": "too weird"}}]}),
        ..Default::default()
    })
    .await;
    match commit_weights(&url, &content).await {
        Err(Error::LfsObject { oids, message }) => {
            assert_eq!(oids, [oid]);
            assert!(
                message.contains("422") && message.contains("too weird"),
                "{message}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(st.lock().unwrap().commits, 0);
}

#[tokio::test]
async fn xet_transfer_is_refused() {
    let content = b"weights".to_vec();
    let oid = sha256_hex(&content);
    let (url, st) = start(Script {
        batch: json!({"transfer": "xet", "objects": [{"oid": oid, "size": 7,
            "actions": {"upload": {"href": "https://cas.example/x"}}}]}),
        ..Default::default()
    })
    .await;
    let err = commit_weights(&url, &content).await.unwrap_err();
    assert!(matches!(err, Error::XetRequired { .. }), "{err}");
    assert_eq!(st.lock().unwrap().commits, 0);
}

#[tokio::test]
async fn a_wrong_part_count_is_refused_before_any_put() {
    let content = vec![7u8; 25];
    let oid = sha256_hex(&content);
    let (url, st) = start(Script {
        batch: json!({"objects": [{"oid": oid, "size": 25, "actions": {"upload": {
            "href": "URL/complete",
            "header": {"chunk_size": "10", "00001": "URL/part/1", "00002": "URL/part/2"}}}}]}),
        ..Default::default()
    })
    .await;
    let text = st.lock().unwrap().batch.to_string().replace("URL", &url);
    st.lock().unwrap().batch = serde_json::from_str(&text).unwrap();
    let err = commit_weights(&url, &content).await.unwrap_err();
    assert!(matches!(err, Error::MalformedResponse { .. }), "{err}");
    assert!(st.lock().unwrap().puts.is_empty());
}

#[tokio::test]
async fn a_failed_part_is_retried_alone_and_etags_complete_in_order() {
    let content: Vec<u8> = (0..35u8).collect();
    let oid = sha256_hex(&content);
    let (url, st) = start(Script {
        fail_part_once: Some(2),
        commit_status: 200,
        ..Default::default()
    })
    .await;
    st.lock().unwrap().batch = json!({"transfer": "multipart", "objects": [{"oid": oid, "size": 35, "actions": {"upload": {
        "href": format!("{url}/complete"),
        "header": {"chunk_size": "10", "00004": format!("{url}/part/4"), "00001": format!("{url}/part/1"),
                   "00002": format!("{url}/part/2"), "00003": format!("{url}/part/3")}}}}]});
    commit_weights(&url, &content).await.unwrap();
    let st = st.lock().unwrap();
    let mut puts = st.puts.clone();
    puts.sort();
    assert_eq!(
        puts,
        ["/part/1", "/part/2", "/part/2", "/part/3", "/part/4"]
    );
    assert_eq!(st.completions.len(), 1);
    assert_eq!(
        st.completions[0],
        json!({"oid": oid, "parts": [
            {"partNumber": 1, "etag": "\"etag-1-10\""},
            {"partNumber": 2, "etag": "\"etag-2-10\""},
            {"partNumber": 3, "etag": "\"etag-3-10\""},
            {"partNumber": 4, "etag": "\"etag-4-5\""}]})
    );
    assert_eq!(st.commits, 1);
}

#[tokio::test]
async fn commit_conflicts_are_typed_and_commits_never_retried() {
    let content = b"w".to_vec();
    let oid = sha256_hex(&content);
    for (status, conflict) in [(409u16, true), (412, true), (500, false)] {
        let (url, st) = start(Script {
            batch: json!({"objects": [{"oid": oid, "size": 1}]}),
            commit_status: status,
            ..Default::default()
        })
        .await;
        let err = commit_weights(&url, &content).await.unwrap_err();
        assert_eq!(matches!(err, Error::CommitConflict(_)), conflict, "{err}");
        assert_eq!(err.status(), Some(status));
        assert_eq!(
            st.lock().unwrap().commits,
            1,
            "the commit POST is never retried"
        );
    }
}

#[tokio::test]
async fn conflicting_operation_on_create_is_retried() {
    let (url, st) = start(Script {
        conflicting_creates: 2,
        ..Default::default()
    })
    .await;
    let cache = tempfile::tempdir().unwrap();
    let out = client(&url, cache.path())
        .create_repo(CreateRepo::new("acme/x"))
        .await
        .unwrap();
    assert_eq!(out.url, "https://huggingface.co/acme/x");
    assert_eq!(st.lock().unwrap().conflicting_creates, 0);
}

#[tokio::test]
async fn a_file_that_changes_size_during_the_upload_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("w.bin");
    let content = vec![3u8; 40];
    std::fs::write(&file, &content).unwrap();
    let oid = sha256_hex(&content);
    let (url, st) = start(Script {
        grow_on_batch: Some(file.clone()),
        commit_status: 200,
        ..Default::default()
    })
    .await;
    st.lock().unwrap().batch = json!({"objects": [{"oid": oid, "size": 40,
        "actions": {"upload": {"href": format!("{url}/part/1")}}}]});
    let cache = tempfile::tempdir().unwrap();
    let err = client(&url, cache.path())
        .model("acme/x")
        .create_commit(CommitOptions::new(
            "weights",
            vec![CommitOperation::add_file("w.bin", &file)],
        ))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::InvalidInput(m) if m.contains("changed during the upload")),
        "{err}"
    );
    let st = st.lock().unwrap();
    assert!(st.puts.is_empty(), "no byte of the changed file was sent");
    assert_eq!(st.commits, 0);
}
