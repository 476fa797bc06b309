//! A writable in-process mirror (`Mirror::allow_writes(true)`) on 127.0.0.1 with a request log,
//! for upload round trips.

use std::path::Path;
use std::sync::{Arc, Mutex};

use axum::extract::Request;
use axum::middleware::Next;
use hfkit::HubClient;
use hfkit::mirror::Mirror;

/// The token the mirror requires for writes.
pub const TOKEN: &str = "hf_mirror_write_token";

/// One request the mirror received.
#[derive(Debug, Clone)]
pub struct Logged {
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    pub authorization: Option<String>,
    /// The request body (empty for LFS part and basic uploads, which are not kept).
    pub body: Vec<u8>,
}

/// A running writable mirror.
pub struct WritableHub {
    pub url: String,
    pub root: tempfile::TempDir,
    log: Arc<Mutex<Vec<Logged>>>,
    _task: tokio::task::JoinHandle<()>,
}

impl WritableHub {
    /// Starts a mirror with this LFS threshold and multipart chunk size.
    pub async fn start(lfs_threshold: u64, chunk_size: u64) -> WritableHub {
        let root = tempfile::tempdir().unwrap();
        let log: Arc<Mutex<Vec<Logged>>> = Arc::default();
        let l2 = log.clone();
        let app = Mirror::new(root.path())
            .lfs_threshold(lfs_threshold)
            .multipart_chunk_size(chunk_size)
            .allow_writes(true)
            .token(TOKEN)
            .router()
            .layer(axum::middleware::from_fn(
                move |req: Request, next: Next| {
                    let log = l2.clone();
                    async move {
                        let (parts, body) = req.into_parts();
                        let keep = !(parts.method == axum::http::Method::PUT
                            && parts.uri.path().starts_with("/lfs-upload/"));
                        let (body, kept) = if keep {
                            let bytes = axum::body::to_bytes(body, 1 << 30).await.unwrap();
                            (axum::body::Body::from(bytes.clone()), bytes.to_vec())
                        } else {
                            (body, Vec::new())
                        };
                        log.lock().unwrap().push(Logged {
                            method: parts.method.to_string(),
                            path: parts.uri.path().to_owned(),
                            query: parts.uri.query().map(str::to_owned),
                            authorization: parts
                                .headers
                                .get("authorization")
                                .and_then(|v| v.to_str().ok())
                                .map(str::to_owned),
                            body: kept,
                        });
                        next.run(Request::from_parts(parts, body)).await
                    }
                },
            ));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        WritableHub {
            url,
            root,
            log,
            _task: task,
        }
    }

    /// A client with the write token and its own cache under `cache`.
    pub fn client(&self, cache: &Path) -> HubClient {
        self.client_with(cache, Some(TOKEN))
    }

    /// A client with `token` (or none).
    pub fn client_with(&self, cache: &Path, token: Option<&str>) -> HubClient {
        HubClient::builder()
            .settings(|b| {
                let b = b
                    .env_map(Default::default())
                    .endpoint(self.url.clone())
                    .cache_dir(cache.to_path_buf())
                    .hf_home(cache.join("home"));
                match token {
                    Some(t) => b.token(t),
                    None => b.no_token(),
                }
            })
            .build()
            .unwrap()
    }

    /// Everything received so far.
    pub fn log(&self) -> Vec<Logged> {
        self.log.lock().unwrap().clone()
    }

    /// Forgets the log.
    pub fn clear_log(&self) {
        self.log.lock().unwrap().clear();
    }

    /// Requests with `method` whose path contains `needle`.
    pub fn count(&self, method: &str, needle: &str) -> usize {
        self.log()
            .iter()
            .filter(|l| l.method == method && l.path.contains(needle))
            .count()
    }
}
