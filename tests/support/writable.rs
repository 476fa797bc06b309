//! A writable in-process mirror (`Mirror::allow_writes(true)`) on 127.0.0.1 with a request log,
//! for upload round trips.

use std::path::Path;
use std::sync::atomic::{AtomicU16, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

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

/// A hook run once, before the first request whose path contains its needle is handled.
type Hook = (String, Box<dyn FnOnce() + Send>);

/// Faults applied to LFS `PUT`s (`/lfs-upload/…`) and one-shot hooks.
#[derive(Default)]
struct Faults {
    /// Milliseconds each LFS `PUT` waits before it is handled.
    put_delay_ms: AtomicU64,
    /// When non-zero, every LFS `PUT` is answered with this status.
    put_status: AtomicU16,
    hooks: Mutex<Vec<Hook>>,
}

/// A running writable mirror.
pub struct WritableHub {
    pub url: String,
    pub root: tempfile::TempDir,
    log: Arc<Mutex<Vec<Logged>>>,
    faults: Arc<Faults>,
    _task: tokio::task::JoinHandle<()>,
}

impl WritableHub {
    /// Starts a mirror with this LFS threshold and multipart chunk size.
    pub async fn start(lfs_threshold: u64, chunk_size: u64) -> WritableHub {
        let root = tempfile::tempdir().unwrap();
        let log: Arc<Mutex<Vec<Logged>>> = Arc::default();
        let l2 = log.clone();
        let faults: Arc<Faults> = Arc::default();
        let f2 = faults.clone();
        let app = Mirror::new(root.path())
            .lfs_threshold(lfs_threshold)
            .multipart_chunk_size(chunk_size)
            .allow_writes(true)
            .token(TOKEN)
            .router()
            .layer(axum::middleware::from_fn(
                move |req: Request, next: Next| {
                    let log = l2.clone();
                    let faults = f2.clone();
                    async move {
                        let (parts, body) = req.into_parts();
                        let lfs_put = parts.method == axum::http::Method::PUT
                            && parts.uri.path().starts_with("/lfs-upload/");
                        let keep = !lfs_put;
                        let due: Vec<Box<dyn FnOnce() + Send>> = {
                            let mut hooks = faults.hooks.lock().unwrap();
                            let (now, later): (Vec<Hook>, Vec<Hook>) =
                                hooks.drain(..).partition(|(needle, _)| {
                                    parts.uri.path().contains(needle.as_str())
                                });
                            *hooks = later;
                            now.into_iter().map(|(_, f)| f).collect()
                        };
                        for f in due {
                            f();
                        }
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
                        if lfs_put {
                            let ms = faults.put_delay_ms.load(Ordering::SeqCst);
                            if ms > 0 {
                                tokio::time::sleep(Duration::from_millis(ms)).await;
                            }
                            let status = faults.put_status.load(Ordering::SeqCst);
                            if status != 0 {
                                use axum::response::IntoResponse;
                                return (
                                    axum::http::StatusCode::from_u16(status).unwrap(),
                                    "refused by the test",
                                )
                                    .into_response();
                            }
                        }
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
            faults,
            _task: task,
        }
    }

    /// Every LFS `PUT` waits `d` before it is handled (from now on).
    pub fn set_put_delay(&self, d: Duration) {
        self.faults
            .put_delay_ms
            .store(d.as_millis() as u64, Ordering::SeqCst);
    }

    /// Every LFS `PUT` is answered with `status` (0 = handled normally).
    pub fn set_put_status(&self, status: u16) {
        self.faults.put_status.store(status, Ordering::SeqCst);
    }

    /// Runs `f` once, before the first request whose path contains `needle` is handled.
    pub fn on_request(&self, needle: &str, f: impl FnOnce() + Send + 'static) {
        self.faults
            .hooks
            .lock()
            .unwrap()
            .push((needle.to_owned(), Box::new(f)));
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

/// The model repository the upload tests write to.
pub const UP_REPO: &str = "acme/up";

/// A writable hub (LFS from `lfs_threshold` bytes, multipart parts of `chunk_size`) with
/// [`UP_REPO`] created, and a client of it whose cache is the returned folder.
pub async fn with_up_repo(
    lfs_threshold: u64,
    chunk_size: u64,
) -> (WritableHub, tempfile::TempDir, HubClient) {
    let hub = WritableHub::start(lfs_threshold, chunk_size).await;
    let cache = tempfile::tempdir().unwrap();
    let client = hub.client(cache.path());
    client
        .create_repo(hfkit::hub::repos::CreateRepo::new(UP_REPO))
        .await
        .unwrap();
    (hub, cache, client)
}

/// The bytes of `path` at `rev` of [`UP_REPO`], downloaded through `client`.
pub async fn read_remote(client: &HubClient, rev: &str, path: &str) -> Vec<u8> {
    let p = client
        .model(UP_REPO)
        .revision(rev)
        .download(path)
        .await
        .unwrap();
    std::fs::read(p).unwrap()
}

/// Writes `bytes` to `dir/rel`, creating its folders.
pub fn write_file(dir: &Path, rel: &str, bytes: &[u8]) {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, bytes).unwrap();
}
