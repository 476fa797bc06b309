//! A loopback Hub for the integration tests: the crate's own mirror behind a recording and
//! fault-injecting layer, plus a second "CDN" server on another port that LFS downloads are
//! redirected to, as on the real Hub (hub.md §3.1 "Typical LFS answer").
//!
//! Both servers run on a runtime of their own (two worker threads) so that tests may block the
//! thread they run on (the `blocking` client) without starving the servers.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, Uri};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::Response;
use futures::StreamExt;

/// Which of the two servers saw a request.
pub const HUB: &str = "hub";
/// The CDN server.
pub const CDN: &str = "cdn";

/// One request as a server received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    /// [`HUB`] or [`CDN`].
    pub server: &'static str,
    /// `GET`, `HEAD`, …
    pub method: String,
    /// Path and query, exactly as received (still percent-encoded).
    pub path: String,
    /// The `authorization` header, if any.
    pub authorization: Option<String>,
    /// The `range` header, if any.
    pub range: Option<String>,
}

/// Which requests a fault applies to. Every set field must match.
#[derive(Debug, Clone, Default)]
pub struct Match {
    server: Option<&'static str>,
    method: Option<&'static str>,
    path_contains: Option<String>,
    with_range: bool,
}

impl Match {
    /// Any request on either server.
    pub fn any() -> Self {
        Match::default()
    }
    /// Requests to the hub.
    pub fn hub() -> Self {
        Match {
            server: Some(HUB),
            ..Match::default()
        }
    }
    /// Requests to the CDN.
    pub fn cdn() -> Self {
        Match {
            server: Some(CDN),
            ..Match::default()
        }
    }
    /// Only `GET`s.
    pub fn get(mut self) -> Self {
        self.method = Some("GET");
        self
    }
    /// Only `HEAD`s.
    pub fn head(mut self) -> Self {
        self.method = Some("HEAD");
        self
    }
    /// Only requests whose raw path (and query) contains `s`.
    pub fn path(mut self, s: &str) -> Self {
        self.path_contains = Some(s.to_owned());
        self
    }

    /// Only requests that carry a `Range` header.
    pub fn with_range(mut self) -> Self {
        self.with_range = true;
        self
    }

    fn matches(&self, r: &Recorded) -> bool {
        (!self.with_range || r.range.is_some())
            && self.server.is_none_or(|s| s == r.server)
            && self.method.is_none_or(|m| m == r.method)
            && self
                .path_contains
                .as_deref()
                .is_none_or(|p| r.path.contains(p))
    }
}

#[derive(Debug, Clone)]
enum Action {
    /// Answer with this status (and `Retry-After`) instead of passing through.
    Status {
        status: u16,
        retry_after: Option<String>,
    },
    /// Answer with `X-Error-Code`/`X-Error-Message`/`X-Request-Id` and a `{"error": …}` body.
    Error {
        status: u16,
        code: Option<String>,
        message: String,
        request_id: Option<String>,
    },
    /// Answer 200 with this JSON body.
    Json(String),
    /// Send `bytes` bytes of the body, then break the connection.
    DropAfter(usize),
    /// Announce this size (`X-Linked-Size`, and `Content-Length` on a `HEAD`).
    WrongSize(u64),
    /// Flip one byte of the body.
    Corrupt,
    /// Drop the request's `Range` header (the answer is a 200 with the whole body).
    IgnoreRange,
    /// Wait before passing the request on.
    Delay(Duration),
}

#[derive(Debug)]
struct Rule {
    when: Match,
    action: Action,
    remaining: usize,
}

/// Faults to inject, each for a number of matching requests. Thread-safe.
#[derive(Debug, Default)]
pub struct Faults {
    rules: Mutex<Vec<Rule>>,
    aliases: Mutex<Vec<(String, String)>>,
}

impl Faults {
    fn add(&self, when: Match, action: Action, times: usize) {
        self.rules.lock().unwrap().push(Rule {
            when,
            action,
            remaining: times,
        });
    }

    /// The next `times` matching requests get `status` (with `Retry-After: retry_after`).
    pub fn status(&self, when: Match, times: usize, status: u16, retry_after: Option<&str>) {
        let retry_after = retry_after.map(str::to_owned);
        self.add(
            when,
            Action::Status {
                status,
                retry_after,
            },
            times,
        );
    }

    /// The next matching request gets `status` with the Hub's error headers and body.
    pub fn error(
        &self,
        when: Match,
        status: u16,
        code: Option<&str>,
        message: &str,
        request_id: Option<&str>,
    ) {
        let action = Action::Error {
            status,
            code: code.map(str::to_owned),
            message: message.to_owned(),
            request_id: request_id.map(str::to_owned),
        };
        self.add(when, action, 1);
    }

    /// Every matching request is answered 200 with `json` (e.g. a forged tree listing).
    pub fn json(&self, when: Match, json: &str) {
        self.add(when, Action::Json(json.to_owned()), usize::MAX);
    }

    /// The next matching answer breaks the connection after `bytes` bytes of its body.
    pub fn drop_after(&self, when: Match, bytes: usize) {
        self.add(when, Action::DropAfter(bytes), 1);
    }

    /// The next matching answer announces `size` (`X-Linked-Size`; `Content-Length` on `HEAD`).
    pub fn wrong_size(&self, when: Match, size: u64) {
        self.add(when, Action::WrongSize(size), 1);
    }

    /// The next matching answer has one byte of its body flipped (same length).
    pub fn corrupt(&self, when: Match) {
        self.add(when, Action::Corrupt, 1);
    }

    /// The next `times` matching requests have their `Range` ignored (200, whole body).
    pub fn ignore_range(&self, when: Match, times: usize) {
        self.add(when, Action::IgnoreRange, times);
    }

    /// Every matching request waits `d` before being answered.
    pub fn delay(&self, when: Match, d: Duration) {
        self.add(when, Action::Delay(d), usize::MAX);
    }

    /// Requests naming the revision segment `from` (raw, e.g. `refs%2Fpr%2F1`) are served as `to`.
    pub fn alias_revision(&self, from: &str, to: &str) {
        self.aliases
            .lock()
            .unwrap()
            .push((from.to_owned(), to.to_owned()));
    }

    /// Removes every fault and alias.
    pub fn clear(&self) {
        self.rules.lock().unwrap().clear();
        self.aliases.lock().unwrap().clear();
    }

    /// The actions that apply to `r`, each use counted.
    fn take(&self, r: &Recorded) -> Vec<Action> {
        let mut rules = self.rules.lock().unwrap();
        let mut out = Vec::new();
        for rule in rules.iter_mut() {
            if rule.remaining > 0 && rule.when.matches(r) {
                if rule.remaining != usize::MAX {
                    rule.remaining -= 1;
                }
                out.push(rule.action.clone());
            }
        }
        rules.retain(|r| r.remaining > 0);
        out
    }

    fn rewrite(&self, path: &str) -> String {
        let aliases = self.aliases.lock().unwrap();
        let mut segs: Vec<String> = path.split('/').map(str::to_owned).collect();
        for s in segs.iter_mut() {
            if let Some((_, to)) = aliases.iter().find(|(from, _)| from == s) {
                *s = to.clone();
            }
        }
        segs.join("/")
    }
}

struct Shared {
    seen: Mutex<Vec<Recorded>>,
    faults: Faults,
    /// sha256 → mirror path of the file, filled when the hub redirects to the CDN.
    blobs: Mutex<HashMap<String, String>>,
    cdn_url: String,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
}

/// A running test Hub and CDN. Stopped on drop.
pub struct TestHub {
    url: String,
    cdn_url: String,
    shared: Arc<Shared>,
    rt: Option<tokio::runtime::Runtime>,
}

impl Drop for TestHub {
    fn drop(&mut self) {
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

/// The default LFS threshold of [`TestHub::start`]: 100 000 bytes.
pub const TEST_LFS_THRESHOLD: u64 = 100_000;

impl TestHub {
    /// Serves the repositories under `root` (LFS from 100 000 bytes, pages of 1000).
    pub async fn start(root: &Path) -> TestHub {
        Self::start_sync(root, TEST_LFS_THRESHOLD, 1000)
    }

    /// Serves `root` with the given LFS threshold and page size.
    pub async fn start_with(root: &Path, lfs_threshold: u64, page_size: usize) -> TestHub {
        Self::start_sync(root, lfs_threshold, page_size)
    }

    /// [`start_with`](Self::start_with) from synchronous code.
    pub fn start_sync(root: &Path, lfs_threshold: u64, page_size: usize) -> TestHub {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let hub_l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let cdn_l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        hub_l.set_nonblocking(true).unwrap();
        cdn_l.set_nonblocking(true).unwrap();
        let url = format!("http://{}", hub_l.local_addr().unwrap());
        let cdn_url = format!("http://{}", cdn_l.local_addr().unwrap());
        let shared = Arc::new(Shared {
            seen: Mutex::new(Vec::new()),
            faults: Faults::default(),
            blobs: Mutex::new(HashMap::new()),
            cdn_url: cdn_url.clone(),
            in_flight: AtomicUsize::new(0),
            max_in_flight: AtomicUsize::new(0),
        });
        let mirror = hfkit::mirror::Mirror::new(root)
            .lfs_threshold(lfs_threshold)
            .page_size(page_size);
        let hub_app = Router::new()
            .fallback_service(mirror.router())
            .layer(from_fn_with_state(shared.clone(), hub_layer));
        let cdn_app = Router::new()
            .fallback_service(mirror.router())
            .layer(from_fn_with_state(shared.clone(), cdn_layer));
        rt.spawn(async move {
            let l = tokio::net::TcpListener::from_std(hub_l).unwrap();
            axum::serve(l, hub_app).await.unwrap();
        });
        rt.spawn(async move {
            let l = tokio::net::TcpListener::from_std(cdn_l).unwrap();
            axum::serve(l, cdn_app).await.unwrap();
        });
        TestHub {
            url,
            cdn_url,
            shared,
            rt: Some(rt),
        }
    }

    /// The Hub endpoint.
    pub fn url(&self) -> String {
        self.url.clone()
    }

    /// The CDN's base URL.
    pub fn cdn_url(&self) -> String {
        self.cdn_url.clone()
    }

    /// Every request seen by the hub and the CDN, in order of arrival.
    pub fn requests(&self) -> Vec<Recorded> {
        self.shared.seen.lock().unwrap().clone()
    }

    /// How many requests both servers saw.
    pub fn request_count(&self) -> usize {
        self.shared.seen.lock().unwrap().len()
    }

    /// Forgets the recorded requests and the concurrency high-water mark.
    pub fn clear(&self) {
        self.shared.seen.lock().unwrap().clear();
        self.shared.max_in_flight.store(0, Ordering::SeqCst);
    }

    /// The fault injector.
    pub fn faults(&self) -> &Faults {
        &self.shared.faults
    }

    /// The most file `GET`s (hub `resolve` and CDN) that were in flight at once.
    pub fn max_in_flight(&self) -> usize {
        self.shared.max_in_flight.load(Ordering::SeqCst)
    }
}

fn record(shared: &Shared, server: &'static str, req: &Request) -> Recorded {
    let header = |n: &str| {
        req.headers()
            .get(n)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let r = Recorded {
        server,
        method: req.method().to_string(),
        path: req
            .uri()
            .path_and_query()
            .map(|p| p.as_str().to_owned())
            .unwrap_or_default(),
        authorization: header("authorization"),
        range: header("range"),
    };
    shared.seen.lock().unwrap().push(r.clone());
    r
}

fn set_path(req: &mut Request, path: &str) {
    let uri: Uri = path.parse().unwrap();
    *req.uri_mut() = uri;
}

fn json_response(status: u16, body: String) -> Response {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Body::from(body))
        .unwrap()
}

async fn hub_layer(State(shared): State<Arc<Shared>>, mut req: Request, next: Next) -> Response {
    let rec = record(&shared, HUB, &req);
    let raw = rec.path.clone();
    let rewritten = shared.faults.rewrite(&raw);
    if rewritten != raw {
        set_path(&mut req, &rewritten);
    }
    let is_file_get = rec.method == "GET" && raw.contains("/resolve/");
    let resp = serve(&shared, &rec, req, next, is_file_get).await;
    // LFS answers become a redirect to the CDN, headers kept, as on the Hub.
    let is_lfs = resp.headers().contains_key("x-linked-etag");
    if is_lfs && resp.status().is_success() && rewritten.contains("/resolve/") {
        let sha = resp
            .headers()
            .get("x-linked-etag")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .trim_matches('"')
            .to_owned();
        let file_path = rewritten.split('?').next().unwrap_or_default().to_owned();
        shared.blobs.lock().unwrap().insert(sha.clone(), file_path);
        let expires = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs()
            + 3600;
        let location = format!(
            "{}/blob/{sha}?X-Amz-Signature=abc&Expires={expires}",
            shared.cdn_url
        );
        let mut out = Response::builder()
            .status(StatusCode::FOUND)
            .header("location", location)
            .body(Body::empty())
            .unwrap();
        for name in ["x-linked-etag", "x-linked-size", "x-repo-commit", "etag"] {
            if let Some(v) = resp.headers().get(name) {
                out.headers_mut().insert(name, v.clone());
            }
        }
        out.headers_mut()
            .insert("content-length", HeaderValue::from_static("0"));
        return out;
    }
    resp
}

async fn cdn_layer(State(shared): State<Arc<Shared>>, mut req: Request, next: Next) -> Response {
    let rec = record(&shared, CDN, &req);
    let path = req.uri().path().to_owned();
    let Some(sha) = path.strip_prefix("/blob/") else {
        return json_response(404, r#"{"error":"no such blob"}"#.into());
    };
    let Some(file_path) = shared.blobs.lock().unwrap().get(sha).cloned() else {
        return json_response(404, r#"{"error":"unknown blob"}"#.into());
    };
    set_path(&mut req, &file_path);
    let is_get = rec.method == "GET";
    let mut resp = serve(&shared, &rec, req, next, is_get).await;
    for name in ["x-linked-etag", "x-linked-size", "x-repo-commit"] {
        resp.headers_mut().remove(name);
    }
    resp
}

/// Applies the faults that match `rec`, passing the request to the mirror unless a fault answers.
async fn serve(
    shared: &Shared,
    rec: &Recorded,
    mut req: Request,
    next: Next,
    count_in_flight: bool,
) -> Response {
    let actions = shared.faults.take(rec);
    for a in &actions {
        match a {
            Action::Status {
                status,
                retry_after,
            } => {
                let mut r = json_response(*status, r#"{"error":"injected failure"}"#.into());
                if let Some(ra) = retry_after {
                    r.headers_mut()
                        .insert("retry-after", HeaderValue::from_str(ra).unwrap());
                }
                return r;
            }
            Action::Error {
                status,
                code,
                message,
                request_id,
            } => {
                let body = serde_json::json!({ "error": message }).to_string();
                let mut r = json_response(*status, body);
                let h = r.headers_mut();
                if let Some(c) = code {
                    h.insert("x-error-code", HeaderValue::from_str(c).unwrap());
                }
                h.insert("x-error-message", HeaderValue::from_str(message).unwrap());
                if let Some(id) = request_id {
                    h.insert("x-request-id", HeaderValue::from_str(id).unwrap());
                }
                return r;
            }
            Action::Json(body) => return json_response(200, body.clone()),
            Action::IgnoreRange => {
                req.headers_mut().remove("range");
            }
            _ => {}
        }
    }
    let in_flight = if count_in_flight {
        let now = shared.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        shared.max_in_flight.fetch_max(now, Ordering::SeqCst);
        true
    } else {
        false
    };
    for a in &actions {
        if let Action::Delay(d) = a {
            tokio::time::sleep(*d).await;
        }
    }
    let resp = next.run(req).await;
    if in_flight {
        shared.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
    let (mut parts, body) = resp.into_parts();
    let mut drop_after = None;
    let mut corrupt = false;
    for a in &actions {
        match a {
            Action::WrongSize(size) => {
                let v = HeaderValue::from(*size);
                if parts.headers.contains_key("x-linked-size") {
                    parts.headers.insert("x-linked-size", v.clone());
                }
                if rec.method == "HEAD" {
                    parts.headers.insert("content-length", v);
                }
            }
            Action::DropAfter(k) => drop_after = Some(*k),
            Action::Corrupt => corrupt = true,
            _ => {}
        }
    }
    if drop_after.is_none() && !corrupt {
        return Response::from_parts(parts, body);
    }
    let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap();
    let mut data = bytes.to_vec();
    if corrupt && !data.is_empty() {
        let i = data.len() / 2;
        data[i] ^= 0xff;
    }
    let body = match drop_after {
        Some(k) => {
            let head = Bytes::from(data[..k.min(data.len())].to_vec());
            // The bytes are sent first; the break comes a moment later, so that the client
            // really holds a partial body (and not a failed response).
            let first = futures::stream::iter([Ok::<_, std::io::Error>(head)]);
            let broken = futures::stream::once(async {
                tokio::time::sleep(Duration::from_millis(200)).await;
                Err(std::io::Error::other("injected connection drop"))
            });
            Body::from_stream(first.chain(broken))
        }
        None => Body::from(data),
    };
    Response::from_parts(parts, body)
}

/// A file whose bytes are deterministic and not compressible by accident: `len` bytes.
pub fn pattern_bytes(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i.wrapping_mul(31) as u8) ^ seed ^ ((i >> 8) as u8))
        .collect()
}

/// Writes `models/org/name` under `root`: `config.json`, `README.md`, `tokenizer.json`
/// (regular files), `onnx/model.onnx` (150 000 bytes, LFS at the default threshold) and
/// `weights.bin` (300 000 bytes, LFS).
pub fn write_fixture(root: &Path) {
    let repo = root.join("models/org/name");
    std::fs::create_dir_all(repo.join("onnx")).unwrap();
    std::fs::write(repo.join("config.json"), br#"{"model_type":"bert"}"#).unwrap();
    std::fs::write(repo.join("README.md"), b"# test model\n").unwrap();
    std::fs::write(repo.join("tokenizer.json"), br#"{"vocab":{}}"#).unwrap();
    std::fs::write(repo.join("onnx/model.onnx"), pattern_bytes(150_000, 7)).unwrap();
    std::fs::write(repo.join("weights.bin"), pattern_bytes(300_000, 42)).unwrap();
}

/// The token the fixture environments use.
pub const TEST_TOKEN: &str = "hf_test_token";

/// A test Hub over the standard fixture (`write_fixture`) and an empty cache, as most download
/// tests need it.
pub struct HubEnv {
    /// The served folder.
    pub root: tempfile::TempDir,
    /// Holds the cache (`cache_dir()`).
    pub cache: tempfile::TempDir,
    /// The Hub and its CDN.
    pub hub: TestHub,
}

impl HubEnv {
    /// Writes the fixture and starts the Hub.
    pub async fn new() -> HubEnv {
        let root = tempfile::tempdir().unwrap();
        write_fixture(root.path());
        let hub = TestHub::start(root.path()).await;
        HubEnv {
            root,
            cache: tempfile::tempdir().unwrap(),
            hub,
        }
    }

    /// The hub cache directory.
    pub fn cache_dir(&self) -> std::path::PathBuf {
        self.cache.path().join("hub")
    }

    /// A client with the test token and 50 ms retry delays.
    pub fn client(&self) -> hfkit::HubClient {
        self.client_with(false)
    }

    /// [`client`](Self::client), online or offline.
    pub fn client_with(&self, offline: bool) -> hfkit::HubClient {
        hfkit::HubClient::builder()
            .endpoint(self.hub.url())
            .cache_dir(self.cache_dir())
            .token(TEST_TOKEN)
            .offline(offline)
            .settings(|s| s.retry_base_delay(Duration::from_millis(50)))
            .build()
            .unwrap()
    }

    /// The cache folder of the fixture repository.
    pub fn repo_dir(&self) -> std::path::PathBuf {
        self.cache_dir().join("models--org--name")
    }

    /// The bytes of a fixture file.
    pub fn file(&self, path: &str) -> Vec<u8> {
        std::fs::read(self.root.path().join("models/org/name").join(path)).unwrap()
    }

    /// The commit `refs/main` names.
    pub fn commit(&self) -> String {
        std::fs::read_to_string(self.repo_dir().join("refs/main")).unwrap()
    }

    /// Names in `blobs/` (empty when the folder does not exist).
    pub fn blob_names(&self) -> Vec<String> {
        match std::fs::read_dir(self.repo_dir().join("blobs")) {
            Ok(rd) => rd
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect(),
            Err(_) => Vec::new(),
        }
    }

    /// Whether no snapshot holds a pointer for `path`.
    pub fn no_pointer(&self, path: &str) -> bool {
        match std::fs::read_dir(self.repo_dir().join("snapshots")) {
            Ok(rd) => rd
                .map(|e| e.unwrap().path().join(path))
                .all(|p| std::fs::symlink_metadata(p).is_err()),
            Err(_) => true,
        }
    }
}
