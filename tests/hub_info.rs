//! The Hub read API against a loopback test Hub: URLs, queries, form bodies, tokens, `Link`
//! pagination, error codes, redirects and a recorded repo-info body.
#![cfg(feature = "server")]

mod support;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, Method, Response, StatusCode, Uri};
use futures::{StreamExt, TryStreamExt};
use hfkit::hub::info::{InfoOptions, TreeOptions, parse_next_link};
use hfkit::hub::listing::ListQuery;
use hfkit::hub::types::{EntryKind, Gated, RepoInfo, TreeEntry};
use hfkit::{Error, HubClient};

/// The 200 body of `GET https://huggingface.co/api/models/sentence-transformers/paraphrase-albert-small-v2`,
/// read at run time from the recording
/// `../shared/conformance/cassettes/v0.27.1/InferenceApiTest.test_inference_overriding_task.yaml`.
static RECORDED_INFO: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    let path = support::cassette::cassettes_dir()
        .join("v0.27.1/InferenceApiTest.test_inference_overriding_task.yaml");
    let body = support::cassette::load(&path)
        .into_iter()
        .find(|i| {
            i.uri
                .ends_with("/api/models/sentence-transformers/paraphrase-albert-small-v2")
        })
        .expect("the recorded repo-info lookup")
        .body;
    String::from_utf8(body).expect("a JSON body")
});

/// One request as the test Hub received it (path and query still percent-encoded).
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    path: String,
    query: Option<String>,
    auth: Option<String>,
    content_type: Option<String>,
    body: String,
}

struct Srv {
    base: String,
    seen: Mutex<Vec<Seen>>,
}

struct TestHub {
    base: String,
    srv: Arc<Srv>,
    home: tempfile::TempDir,
}

impl TestHub {
    async fn start() -> TestHub {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let srv = Arc::new(Srv {
            base: base.clone(),
            seen: Mutex::new(Vec::new()),
        });
        let app = Router::new().fallback(handle).with_state(srv.clone());
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        TestHub {
            base,
            srv,
            home: tempfile::tempdir().unwrap(),
        }
    }

    /// A client of this Hub, isolated from the process environment.
    fn builder(&self) -> hfkit::hub::HubClientBuilder {
        let env = HashMap::from([(
            "HF_HOME".to_owned(),
            self.home.path().to_string_lossy().into_owned(),
        )]);
        HubClient::builder()
            .settings(|s| s.env_map(env).max_retries(0))
            .endpoint(self.base.clone())
    }

    fn client(&self) -> HubClient {
        self.builder().token("hf_test").build().unwrap()
    }

    fn seen(&self) -> Vec<Seen> {
        self.srv.seen.lock().unwrap().clone()
    }

    fn requests_to(&self, path: &str) -> Vec<Seen> {
        self.seen().into_iter().filter(|s| s.path == path).collect()
    }
}

fn json(status: StatusCode, body: impl Into<String>) -> Response<Body> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json; charset=utf-8")
        .body(Body::from(body.into()))
        .unwrap()
}

fn json_next(body: &str, link: &str) -> Response<Body> {
    Response::builder()
        .header("content-type", "application/json; charset=utf-8")
        .header("link", link)
        .body(Body::from(body.to_owned()))
        .unwrap()
}

fn hub_error(status: StatusCode, code: &str, message: &str) -> Response<Body> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json; charset=utf-8")
        .header("x-error-code", code)
        .header("x-error-message", message)
        .header("x-request-id", "req-123")
        .body(Body::from(format!(r#"{{"error":"{message}"}}"#)))
        .unwrap()
}

fn cursor(query: &str) -> Option<&str> {
    query.split('&').find_map(|kv| kv.strip_prefix("cursor="))
}

async fn handle(
    State(srv): State<Arc<Srv>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: String,
) -> Response<Body> {
    let header = |n: &str| {
        headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    srv.seen.lock().unwrap().push(Seen {
        method: method.to_string(),
        path: uri.path().to_owned(),
        query: uri.query().map(str::to_owned),
        auth: header("authorization"),
        content_type: header("content-type"),
        body,
    });
    let base = &srv.base;
    let q = uri.query().unwrap_or("");
    match (method.as_str(), uri.path()) {
        // Repo info.
        ("GET", "/api/models/org/repo") => match q {
            "" => json(
                StatusCode::OK,
                r#"{"_id":"abc","id":"org/repo","sha":"mainsha","private":false,"gated":"manual",
                    "siblings":[{"rfilename":"config.json"}]}"#,
            ),
            "securityStatus=true&blobs=true" => json(
                StatusCode::OK,
                r#"{"id":"org/repo","securityRepoStatus":{"scansDone":true},
                    "siblings":[{"rfilename":"model.bin","size":440473133,"blobId":"b1",
                    "lfs":{"sha256":"9f86d0","size":440473133,"pointerSize":135}}]}"#,
            ),
            "expand=downloads&expand=likes" => json(
                StatusCode::OK,
                r#"{"_id":"abc","id":"org/repo","downloads":7,"likes":2}"#,
            ),
            other => json(
                StatusCode::BAD_REQUEST,
                format!(r#"{{"error":"unexpected query {other}"}}"#),
            ),
        },
        ("GET", "/api/models/org/repo/revision/refs%2Fpr%2F1") => {
            json(StatusCode::OK, r#"{"id":"org/repo","sha":"prsha"}"#)
        }
        ("GET", "/api/models/org/repo/revision/missing-rev") => hub_error(
            StatusCode::NOT_FOUND,
            "RevisionNotFound",
            "Invalid rev id: missing-rev",
        ),
        ("GET", "/api/models/org/missing") => hub_error(
            StatusCode::NOT_FOUND,
            "RepoNotFound",
            "Repository not found",
        ),
        ("GET", "/api/models/org/gated") => hub_error(
            StatusCode::UNAUTHORIZED,
            "GatedRepo",
            "Access to model org/gated is restricted.",
        ),
        ("GET", "/api/models/sentence-transformers/paraphrase-albert-small-v2") => {
            json(StatusCode::OK, RECORDED_INFO.as_str())
        }
        // A renamed repository: relative redirect, as recorded for `bert-base-uncased`.
        ("GET", "/api/models/old/name") => Response::builder()
            .status(StatusCode::TEMPORARY_REDIRECT)
            .header("location", "/api/models/new/name")
            .header("content-type", "text/plain; charset=utf-8")
            .body(Body::from(
                "Temporary Redirect. Redirecting to /api/models/new/name",
            ))
            .unwrap(),
        ("GET", "/api/models/new/name") => json(StatusCode::OK, r#"{"id":"new/name","sha":"n1"}"#),

        // Tree: three pages, `Link` URLs absolute with an encoded cursor.
        ("GET", "/api/models/org/repo/tree/main") => {
            let link = |c: &str, rel: &str| {
                format!(
                    "<{base}/api/models/org/repo/tree/main?recursive=true&expand=false&cursor=p%3D{c}>; rel=\"{rel}\""
                )
            };
            match cursor(q) {
                None => json_next(
                    r#"[{"type":"file","oid":"o1","size":10,"path":".gitattributes"},
                        {"type":"directory","oid":"d1","size":0,"path":"dir"}]"#,
                    &link("2", "next"),
                ),
                Some("p%3D2") => json_next(
                    r#"[{"type":"file","oid":"o2","size":5,"path":"dir/b.bin",
                         "lfs":{"oid":"sha-b","size":5,"pointerSize":130}},
                        {"type":"file","oid":"o3","size":3,"path":"README.md"}]"#,
                    &format!("{}, {}", link("1", "prev"), link("3", "next")),
                ),
                Some("p%3D3") => json(
                    StatusCode::OK,
                    r#"[{"type":"file","oid":"o4","size":1,"path":"config.json","xetHash":"xh"}]"#,
                ),
                Some(other) => json(
                    StatusCode::BAD_REQUEST,
                    format!(r#"{{"error":"cursor {other}"}}"#),
                ),
            }
        }
        ("GET", "/api/models/org/repo/tree/refs%2Fpr%2F1/sub%2Fdir%20x") => json(
            StatusCode::OK,
            r#"[{"type":"file","oid":"o9","size":2,"path":"sub/dir x/f.txt",
                 "lastCommit":{"id":"c9","title":"add f","date":"2024-03-27T12:15:35.000Z"},
                 "securityFileStatus":{"status":"safe"}}]"#,
        ),
        // A page whose body is not a list.
        ("GET", "/api/models/org/broken/tree/main") => json(StatusCode::OK, r#"{"not":"a list"}"#),

        // Paths info.
        ("POST", "/api/models/org/repo/paths-info/main") => json(
            StatusCode::OK,
            r#"[{"type":"file","oid":"o1","size":1,"path":"a.txt"}]"#,
        ),

        // Refs.
        ("GET", "/api/models/org/repo/refs") => {
            if q == "include_prs=1" {
                json(
                    StatusCode::OK,
                    r#"{"branches":[{"name":"main","ref":"refs/heads/main","targetCommit":"aaa"}],
                        "converts":[],"tags":[{"name":"v1","ref":"refs/tags/v1","targetCommit":"bbb"}],
                        "pullRequests":[{"name":"refs/pr/1","ref":"refs/pr/1","targetCommit":"ccc"}]}"#,
                )
            } else {
                json(
                    StatusCode::OK,
                    r#"{"branches":[{"name":"main","ref":"refs/heads/main","targetCommit":"aaa"}],
                        "converts":[],"tags":[]}"#,
                )
            }
        }

        // Commits: two pages.
        ("GET", "/api/models/org/repo/commits/refs%2Fpr%2F1") => match cursor(q) {
            None => json_next(
                r#"[{"id":"c2","title":"second","message":"body","date":"2024-02-01T00:00:00.000Z",
                     "authors":[{"user":"alice"},{"user":"bob"}]}]"#,
                &format!(
                    "<{base}/api/models/org/repo/commits/refs%2Fpr%2F1?cursor=2>; rel=\"next\""
                ),
            ),
            _ => json(
                StatusCode::OK,
                r#"[{"id":"c1","title":"initial commit","message":"","date":"2024-01-01T00:00:00.000Z",
                     "authors":[{"user":"system"}]}]"#,
            ),
        },

        // File existence (`HEAD …/resolve/…`).
        ("HEAD", "/org/repo/resolve/main/config.json") => Response::builder()
            .header("x-repo-commit", "mainsha")
            .header("etag", "\"o4\"")
            .header("content-length", "1")
            .body(Body::empty())
            .unwrap(),
        ("HEAD", "/org/repo/resolve/main/dir/a%20b%23c.bin") => Response::builder()
            .status(StatusCode::FOUND)
            .header("location", "http://localhost:9/cdn/a-b-c.bin")
            .header("x-repo-commit", "mainsha")
            .body(Body::empty())
            .unwrap(),
        ("HEAD", "/org/repo/resolve/main/missing.txt") => {
            hub_error(StatusCode::NOT_FOUND, "EntryNotFound", "Entry not found")
        }
        ("HEAD", "/org/missing/resolve/main/config.json") => hub_error(
            StatusCode::NOT_FOUND,
            "RepoNotFound",
            "Repository not found",
        ),
        ("HEAD", "/org/repo/resolve/missing-rev/config.json") => hub_error(
            StatusCode::NOT_FOUND,
            "RevisionNotFound",
            "Invalid rev id: missing-rev",
        ),

        // whoami.
        ("GET", "/api/whoami-v2") => {
            if header("authorization").as_deref() == Some("Bearer hf_test") {
                json(
                    StatusCode::OK,
                    r#"{"type":"user","id":"u1","name":"tester","fullname":"Test User","email":"t@example.com",
                        "orgs":[{"name":"acme","roleInOrg":"admin"}],
                        "auth":{"type":"access_token","accessToken":{"displayName":"ci","role":"read",
                        "createdAt":"2024-01-01T00:00:00.000Z"}},"isPro":false}"#,
                )
            } else {
                json(
                    StatusCode::UNAUTHORIZED,
                    r#"{"error":"Invalid credentials in Authorization header"}"#,
                )
            }
        }

        // Search: three pages of two.
        ("GET", "/api/models") | ("GET", "/api/datasets") => {
            let kind = if uri.path() == "/api/models" {
                "m"
            } else {
                "d"
            };
            let page = |a: u32| {
                format!(
                    r#"[{{"id":"org/{kind}{a}","downloads":{a}}},{{"id":"org/{kind}{}","siblings":null}}]"#,
                    a + 1
                )
            };
            let next = |c: u32| format!("<{base}{}?cursor={c}&{q}>; rel=\"next\"", uri.path());
            match cursor(q) {
                None => json_next(&page(1), &next(2)),
                Some("2") => json_next(&page(3), &next(3)),
                Some("3") => json(StatusCode::OK, page(5)),
                Some(other) => json(
                    StatusCode::BAD_REQUEST,
                    format!(r#"{{"error":"cursor {other}"}}"#),
                ),
            }
        }
        _ => json(
            StatusCode::NOT_FOUND,
            r#"{"error":"no such route in the test Hub"}"#,
        ),
    }
}

#[tokio::test]
async fn repo_info_default_revision_uses_the_plain_url() {
    let hub = TestHub::start().await;
    let info = hub.client().model("org/repo").info().await.unwrap();
    assert_eq!(info.id, "org/repo");
    assert_eq!(info.object_id.as_deref(), Some("abc"));
    assert_eq!(info.sha.as_deref(), Some("mainsha"));
    assert_eq!(info.gated, Some(Gated::Mode("manual".into())));
    assert_eq!(info.file_names().collect::<Vec<_>>(), ["config.json"]);
    let seen = hub.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].method, "GET");
    assert_eq!(seen[0].path, "/api/models/org/repo");
    assert_eq!(seen[0].query, None);
    assert_eq!(seen[0].auth.as_deref(), Some("Bearer hf_test"));
}

#[tokio::test]
async fn repo_info_encodes_the_revision_once() {
    let hub = TestHub::start().await;
    let info = hub
        .client()
        .model("org/repo")
        .revision("refs/pr/1")
        .info()
        .await
        .unwrap();
    assert_eq!(info.sha.as_deref(), Some("prsha"));
    assert_eq!(
        hub.seen()[0].path,
        "/api/models/org/repo/revision/refs%2Fpr%2F1"
    );
}

#[tokio::test]
async fn repo_info_options_reach_the_query() {
    let hub = TestHub::start().await;
    let repo = hub.client().model("org/repo");
    let info = repo
        .info_with(InfoOptions::default().blobs(true).security_status(true))
        .await
        .unwrap();
    let s = &info.siblings[0];
    assert_eq!(s.rfilename, "model.bin");
    assert_eq!(s.size, Some(440_473_133));
    assert_eq!(s.blob_id.as_deref(), Some("b1"));
    let lfs = s.lfs.as_ref().unwrap();
    assert_eq!(
        (lfs.sha256.as_str(), lfs.size, lfs.pointer_size),
        ("9f86d0", 440_473_133, Some(135))
    );
    assert_eq!(info.extra["securityRepoStatus"]["scansDone"], true);

    let trimmed = repo
        .info_with(InfoOptions::default().expand("downloads").expand("likes"))
        .await
        .unwrap();
    assert_eq!((trimmed.downloads, trimmed.likes), (Some(7), Some(2)));
    assert!(trimmed.siblings.is_empty());
    let queries: Vec<_> = hub.seen().into_iter().map(|s| s.query).collect();
    assert_eq!(
        queries,
        [
            Some("securityStatus=true&blobs=true".to_owned()),
            Some("expand=downloads&expand=likes".to_owned())
        ]
    );
}

#[tokio::test]
async fn recorded_repo_info_body_parses() {
    // The body is served as recorded and read through `info()`.
    let hub = TestHub::start().await;
    let info = hub
        .client()
        .model("sentence-transformers/paraphrase-albert-small-v2")
        .info()
        .await
        .unwrap();
    assert_eq!(info.id, "sentence-transformers/paraphrase-albert-small-v2");
    assert_eq!(info.object_id.as_deref(), Some("621ffdc136468d709f1802e8"));
    assert_eq!(info.author.as_deref(), Some("sentence-transformers"));
    assert_eq!(
        info.sha.as_deref(),
        Some("08663f27e632f8215246d80118296ebc05b717a8")
    );
    assert_eq!(
        info.last_modified.as_deref(),
        Some("2024-03-27T12:15:35.000Z")
    );
    assert_eq!(info.created_at.as_deref(), Some("2022-03-02T23:29:05.000Z"));
    assert_eq!(info.private, Some(false));
    assert_eq!(info.disabled, Some(false));
    assert_eq!(info.gated, Some(Gated::Bool(false)));
    assert_eq!(info.downloads, Some(161_086));
    assert_eq!(info.likes, Some(4));
    assert_eq!(info.pipeline_tag.as_deref(), Some("sentence-similarity"));
    assert_eq!(info.library_name.as_deref(), Some("sentence-transformers"));
    assert!(info.tags.iter().any(|t| t == "license:apache-2.0"));
    assert_eq!(info.card_data.as_ref().unwrap()["license"], "apache-2.0");
    assert_eq!(info.siblings.len(), 15);
    assert_eq!(info.siblings[0].rfilename, ".gitattributes");
    assert_eq!(info.siblings[1].rfilename, "1_Pooling/config.json");
    assert_eq!(info.siblings[14].rfilename, "tokenizer_config.json");
    assert!(
        info.siblings
            .iter()
            .all(|s| s.size.is_none() && s.lfs.is_none())
    );
    assert_eq!(
        info.extra["modelId"],
        "sentence-transformers/paraphrase-albert-small-v2"
    );
    assert_eq!(info.extra["safetensors"]["total"], 11_684_096);
    assert_eq!(info.extra["config"]["model_type"], "albert");
    assert!(info.extra["model-index"].is_null());

    // The same value parses directly and survives a round trip.
    let direct: RepoInfo = serde_json::from_str(RECORDED_INFO.as_str()).unwrap();
    assert_eq!(direct, info);
    let again: RepoInfo = serde_json::from_value(serde_json::to_value(&direct).unwrap()).unwrap();
    assert_eq!(again, direct);
}

#[tokio::test]
async fn relative_redirect_is_followed_with_the_token() {
    let hub = TestHub::start().await;
    let info = hub.client().model("old/name").info().await.unwrap();
    assert_eq!(info.id, "new/name");
    let seen = hub.seen();
    let paths: Vec<_> = seen.iter().map(|s| s.path.as_str()).collect();
    assert_eq!(paths, ["/api/models/old/name", "/api/models/new/name"]);
    assert!(
        seen.iter()
            .all(|s| s.auth.as_deref() == Some("Bearer hf_test"))
    );
}

#[tokio::test]
async fn tree_pages_are_walked_in_order_exactly_once() {
    let hub = TestHub::start().await;
    let repo = hub.client().model("org/repo");
    let entries: Vec<TreeEntry> = repo
        .list_tree(TreeOptions::default().recursive(true))
        .try_collect()
        .await
        .unwrap();
    let paths: Vec<_> = entries.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            ".gitattributes",
            "dir",
            "dir/b.bin",
            "README.md",
            "config.json"
        ]
    );
    assert_eq!(entries[1].kind, EntryKind::Directory);
    assert_eq!(entries[2].etag(), "sha-b");
    assert_eq!(entries[3].etag(), "o3");
    assert_eq!(entries[4].xet_hash.as_deref(), Some("xh"));

    let seen = hub.requests_to("/api/models/org/repo/tree/main");
    let queries: Vec<_> = seen
        .iter()
        .map(|s| s.query.clone().unwrap_or_default())
        .collect();
    // The first page gets our query; the next ones are the `Link` URLs, verbatim.
    assert_eq!(
        queries,
        [
            "recursive=true&expand=false",
            "recursive=true&expand=false&cursor=p%3D2",
            "recursive=true&expand=false&cursor=p%3D3",
        ]
    );
    assert!(
        seen.iter()
            .all(|s| s.auth.as_deref() == Some("Bearer hf_test"))
    );
}

#[tokio::test]
async fn tree_stream_is_lazy() {
    let hub = TestHub::start().await;
    let repo = hub.client().model("org/repo");
    let mut tree = std::pin::pin!(repo.list_tree(TreeOptions::default().recursive(true)));
    assert!(
        hub.seen().is_empty(),
        "nothing is fetched before the stream is read"
    );
    let first = tree.next().await.unwrap().unwrap();
    assert_eq!(first.path, ".gitattributes");
    assert_eq!(hub.seen().len(), 1);
    let second = tree.next().await.unwrap().unwrap();
    assert_eq!(second.path, "dir");
    assert_eq!(
        hub.seen().len(),
        1,
        "the second page waits until the first is consumed"
    );
    let third = tree.next().await.unwrap().unwrap();
    assert_eq!(third.path, "dir/b.bin");
    assert_eq!(hub.seen().len(), 2);
}

#[tokio::test]
async fn list_files_is_recursive_sorted_and_without_folders() {
    let hub = TestHub::start().await;
    let files = hub.client().model("org/repo").list_files().await.unwrap();
    assert_eq!(
        files,
        [".gitattributes", "README.md", "config.json", "dir/b.bin"]
    );
}

#[tokio::test]
async fn tree_of_a_folder_at_a_pr_revision() {
    let hub = TestHub::start().await;
    let entries: Vec<TreeEntry> = hub
        .client()
        .model("org/repo")
        .revision("refs/pr/1")
        .list_tree(TreeOptions::default().path("sub/dir x/").expand(true))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(entries.len(), 1);
    let commit = entries[0].last_commit.as_ref().unwrap();
    assert_eq!((commit.id.as_str(), commit.title.as_str()), ("c9", "add f"));
    assert_eq!(
        entries[0].security_file_status.as_ref().unwrap()["status"],
        "safe"
    );
    let seen = hub.seen();
    // Python 2.4.0 encodes `/` inside the folder path too (`quote(path, safe="")`).
    assert_eq!(
        seen[0].path,
        "/api/models/org/repo/tree/refs%2Fpr%2F1/sub%2Fdir%20x"
    );
    assert_eq!(
        seen[0].query.as_deref(),
        Some("recursive=false&expand=true")
    );
}

#[tokio::test]
async fn a_malformed_page_is_an_error_and_ends_the_stream() {
    let hub = TestHub::start().await;
    let items: Vec<_> = hub
        .client()
        .model("org/broken")
        .list_tree(TreeOptions::default())
        .collect()
        .await;
    assert_eq!(items.len(), 1);
    assert!(
        matches!(items[0], Err(Error::MalformedResponse { .. })),
        "{items:?}"
    );
}

#[tokio::test]
async fn paths_info_posts_a_repeated_form() {
    let hub = TestHub::start().await;
    let entries = hub
        .client()
        .model("org/repo")
        .paths_info(&["a.txt", "dir/b c.bin"], false)
        .await
        .unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].path, "a.txt");
    let seen = hub.seen();
    assert_eq!(seen[0].method, "POST");
    assert_eq!(seen[0].path, "/api/models/org/repo/paths-info/main");
    assert_eq!(
        seen[0].content_type.as_deref(),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(seen[0].body, "paths=a.txt&paths=dir%2Fb+c.bin&expand=false");
    assert_eq!(seen[0].auth.as_deref(), Some("Bearer hf_test"));
}

#[tokio::test]
async fn refs_with_and_without_pull_requests() {
    let hub = TestHub::start().await;
    let repo = hub.client().model("org/repo");
    let refs = repo.refs(true).await.unwrap();
    assert_eq!(refs.branches[0].name, "main");
    assert_eq!(refs.branches[0].ref_, "refs/heads/main");
    assert_eq!(refs.branches[0].target_commit, "aaa");
    assert_eq!(refs.tags[0].name, "v1");
    assert_eq!(refs.pull_requests[0].name, "refs/pr/1");
    let refs = repo.refs(false).await.unwrap();
    assert!(refs.pull_requests.is_empty() && refs.tags.is_empty());
    let queries: Vec<_> = hub.seen().into_iter().map(|s| s.query).collect();
    assert_eq!(queries, [Some("include_prs=1".to_owned()), None]);
}

#[tokio::test]
async fn commits_are_paginated() {
    let hub = TestHub::start().await;
    let commits: Vec<_> = hub
        .client()
        .model("org/repo")
        .revision("refs/pr/1")
        .commits()
        .try_collect()
        .await
        .unwrap();
    let ids: Vec<_> = commits.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["c2", "c1"]);
    let authors: Vec<_> = commits[0].authors.iter().map(|a| a.user.as_str()).collect();
    assert_eq!(authors, ["alice", "bob"]);
    assert_eq!(commits[0].message, "body");
    assert_eq!(
        hub.requests_to("/api/models/org/repo/commits/refs%2Fpr%2F1")
            .len(),
        2
    );
}

#[tokio::test]
async fn file_exists_true_and_false() {
    let hub = TestHub::start().await;
    let repo = hub.client().model("org/repo");
    assert!(repo.file_exists("config.json").await.unwrap());
    // A redirect to a CDN counts as present and is not followed.
    assert!(repo.file_exists("dir/a b#c.bin").await.unwrap());
    assert!(!repo.file_exists("missing.txt").await.unwrap());
    let seen = hub.seen();
    assert!(seen.iter().all(|s| s.method == "HEAD"));
    let paths: Vec<_> = seen.iter().map(|s| s.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "/org/repo/resolve/main/config.json",
            "/org/repo/resolve/main/dir/a%20b%23c.bin",
            "/org/repo/resolve/main/missing.txt"
        ]
    );

    let err = hub
        .client()
        .model("org/missing")
        .file_exists("config.json")
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::RepoNotFound { repo, .. } if repo == "models/org/missing"),
        "{err}"
    );
    let err = repo
        .clone()
        .revision("missing-rev")
        .file_exists("config.json")
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::RevisionNotFound { revision, .. } if revision == "missing-rev"),
        "{err}"
    );
}

#[tokio::test]
async fn revision_and_repo_existence() {
    let hub = TestHub::start().await;
    let client = hub.client();
    let repo = client.model("org/repo");
    assert!(
        repo.clone()
            .revision("refs/pr/1")
            .revision_exists()
            .await
            .unwrap()
    );
    assert!(
        !repo
            .clone()
            .revision("missing-rev")
            .revision_exists()
            .await
            .unwrap()
    );
    assert!(
        repo.clone().revision("missing-rev").exists().await.unwrap(),
        "exists() ignores the revision"
    );
    assert!(!client.model("org/missing").exists().await.unwrap());
    assert!(client.model("org/gated").exists().await.unwrap());

    let err = repo
        .clone()
        .revision("missing-rev")
        .info()
        .await
        .unwrap_err();
    match err {
        Error::RevisionNotFound { revision, ctx } => {
            assert_eq!(revision, "missing-rev");
            assert_eq!(ctx.status, 404);
            assert_eq!(ctx.request_id.as_deref(), Some("req-123"));
            assert_eq!(ctx.error_code.as_deref(), Some("RevisionNotFound"));
        }
        other => panic!("unexpected {other:?}"),
    }
    let err = client.model("org/missing").info().await.unwrap_err();
    assert!(
        matches!(&err, Error::RepoNotFound { repo, .. } if repo == "models/org/missing"),
        "{err}"
    );
}

#[tokio::test]
async fn invalid_input_is_rejected_before_any_request() {
    let hub = TestHub::start().await;
    let client = hub.client();
    let bad_id = client.model("bad//id");
    let bad_rev = client.model("org/repo").revision("a/../b");
    let good = client.model("org/repo");

    let is_invalid = |r: hfkit::Result<()>| matches!(r, Err(Error::InvalidInput(_)));
    assert!(is_invalid(bad_id.info().await.map(drop)));
    assert!(is_invalid(bad_id.exists().await.map(drop)));
    assert!(is_invalid(bad_id.refs(true).await.map(drop)));
    assert!(is_invalid(
        bad_id.file_exists("config.json").await.map(drop)
    ));
    assert!(is_invalid(bad_id.paths_info(&["a"], false).await.map(drop)));
    assert!(is_invalid(bad_id.list_files().await.map(drop)));
    assert!(is_invalid(bad_rev.info().await.map(drop)));
    assert!(is_invalid(bad_rev.revision_exists().await.map(drop)));
    assert!(is_invalid(
        good.file_exists("../etc/passwd").await.map(drop)
    ));
    assert!(is_invalid(good.file_exists("/abs").await.map(drop)));
    assert!(is_invalid(
        good.paths_info(&["ok.txt", "a/../../b"], false)
            .await
            .map(drop)
    ));

    let tree: Vec<_> = bad_id.list_tree(TreeOptions::default()).collect().await;
    assert_eq!(tree.len(), 1, "the error is the only item");
    assert!(matches!(tree[0], Err(Error::InvalidInput(_))));
    let tree: Vec<_> = good
        .list_tree(TreeOptions::default().path("C:/x"))
        .collect()
        .await;
    assert!(matches!(tree[..], [Err(Error::InvalidInput(_))]));
    let commits: Vec<_> = bad_rev.commits().collect().await;
    assert!(matches!(commits[..], [Err(Error::InvalidInput(_))]));
    let listed: Vec<_> = client
        .list_models(ListQuery::default().full(true).expand("likes"))
        .collect()
        .await;
    assert!(matches!(listed[..], [Err(Error::InvalidInput(_))]));

    assert_eq!(
        hub.seen().len(),
        0,
        "no request reached the Hub: {:?}",
        hub.seen()
    );
}

#[tokio::test]
async fn whoami_with_a_token() {
    let hub = TestHub::start().await;
    let me = hub.client().whoami().await.unwrap();
    assert_eq!(me.kind.as_deref(), Some("user"));
    assert_eq!(me.name, "tester");
    assert_eq!(me.fullname.as_deref(), Some("Test User"));
    assert_eq!(me.email.as_deref(), Some("t@example.com"));
    assert_eq!(me.orgs[0].name, "acme");
    assert_eq!(me.orgs[0].extra["roleInOrg"], "admin");
    let token = me.auth.access_token.as_ref().unwrap();
    assert_eq!(token.display_name.as_deref(), Some("ci"));
    assert_eq!(token.role.as_deref(), Some("read"));
    assert_eq!(me.extra["isPro"], false);
    let seen = hub.seen();
    assert_eq!(seen[0].path, "/api/whoami-v2");
    assert_eq!(seen[0].auth.as_deref(), Some("Bearer hf_test"));
}

#[tokio::test]
async fn whoami_without_a_token_sends_nothing() {
    let hub = TestHub::start().await;
    let client = hub.builder().settings(|s| s.no_token()).build().unwrap();
    assert!(matches!(client.whoami().await, Err(Error::TokenNotFound)));
    assert!(hub.seen().is_empty());
}

#[tokio::test]
async fn whoami_with_a_bad_token_is_unauthorized() {
    let hub = TestHub::start().await;
    let client = hub.builder().token("hf_wrong").build().unwrap();
    let err = client.whoami().await.unwrap_err();
    match &err {
        Error::Unauthorized(ctx) => {
            assert_eq!(ctx.status, 401);
            assert_eq!(
                ctx.server_message.as_deref(),
                Some("Invalid credentials in Authorization header")
            );
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(
        !err.to_string().contains("hf_wrong"),
        "the token never appears: {err}"
    );
}

#[tokio::test]
async fn search_walks_all_pages_with_the_query() {
    let hub = TestHub::start().await;
    let q = ListQuery::default()
        .search("bert")
        .author("google")
        .filter("text-classification")
        .filter("dataset:imagenet")
        .sort("downloads")
        .direction(-1)
        .full(true);
    let models: Vec<RepoInfo> = hub.client().list_models(q).try_collect().await.unwrap();
    let ids: Vec<_> = models.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(
        ids,
        ["org/m1", "org/m2", "org/m3", "org/m4", "org/m5", "org/m6"]
    );
    assert_eq!(models[0].downloads, Some(1));
    let seen = hub.requests_to("/api/models");
    assert_eq!(seen.len(), 3);
    let first = "filter=text-classification&filter=dataset%3Aimagenet&author=google&search=bert&sort=downloads&direction=-1&full=true";
    assert_eq!(seen[0].query.as_deref(), Some(first));
    assert_eq!(seen[1].query, Some(format!("cursor=2&{first}")));
    assert_eq!(seen[2].query, Some(format!("cursor=3&cursor=2&{first}")));
}

#[tokio::test]
async fn search_limit_stops_without_fetching_more_pages() {
    let hub = TestHub::start().await;
    let client = hub.client();

    let three: Vec<_> = client
        .list_models(ListQuery::default().limit(3))
        .try_collect()
        .await
        .unwrap();
    let ids: Vec<_> = three.iter().map(|m: &RepoInfo| m.id.as_str()).collect();
    assert_eq!(ids, ["org/m1", "org/m2", "org/m3"]);
    let seen = hub.requests_to("/api/models");
    assert_eq!(seen.len(), 2, "page 3 is never requested: {seen:?}");
    assert_eq!(seen[0].query.as_deref(), Some("limit=3"));

    let two: Vec<_> = client
        .list_datasets(ListQuery::default().limit(2))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(two.len(), 2);
    assert_eq!(two[1].id, "org/d2");
    assert_eq!(hub.requests_to("/api/datasets").len(), 1);

    let none: Vec<_> = client
        .list_models(ListQuery::default().limit(0))
        .try_collect()
        .await
        .unwrap();
    assert!(none.is_empty());
    assert_eq!(
        hub.requests_to("/api/models").len(),
        2,
        "limit 0 sends nothing"
    );
}

#[test]
fn link_header_parsing() {
    let h = r#"<https://huggingface.co/api/models?cursor=eyJ%3D>; rel="next""#;
    assert_eq!(
        parse_next_link(h).as_deref(),
        Some("https://huggingface.co/api/models?cursor=eyJ%3D")
    );
    let h = r#"<http://h/a?p=1>; rel="prev", <http://h/a?p=3>; rel="next", <http://h/a?p=9>; rel="last""#;
    assert_eq!(parse_next_link(h).as_deref(), Some("http://h/a?p=3"));
    assert_eq!(parse_next_link(r#"<http://h/a?p=1>; rel="prev""#), None);
}
