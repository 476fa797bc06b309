//! Replays recorded HTTP exchanges (vcrpy YAML cassettes from `../shared/conformance/cassettes/`)
//! on a loopback server, with the recorded hosts rewritten to 127.0.0.1. Requests are matched on
//! method + path + query, as vcrpy does; each recorded answer is served once, the last matching
//! one again if asked more often.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderName, HeaderValue, Request, Response, StatusCode};
use base64::Engine;

/// One recorded exchange.
#[derive(Debug, Clone)]
pub struct Interaction {
    pub method: String,
    pub uri: String,
    pub request_body: Option<String>,
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Interaction {
    /// `path?query` of the recorded URI.
    pub fn path_and_query(&self) -> String {
        let u = url::Url::parse(&self.uri).expect("recorded URI");
        match u.query() {
            Some(q) => format!("{}?{}", u.path(), q),
            None => u.path().to_owned(),
        }
    }
    /// The host of the recorded URI.
    pub fn host(&self) -> String {
        url::Url::parse(&self.uri)
            .expect("recorded URI")
            .host_str()
            .unwrap_or_default()
            .to_owned()
    }
    /// The body as JSON, if it is JSON.
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }
}

/// `../shared/conformance/cassettes` relative to the repository root.
pub fn cassettes_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/conformance/cassettes")
}

fn as_text(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Null => None,
        other => Some(other.to_string()),
    }
}

/// Loads a cassette. Binary bodies (`!!binary`) are decoded from base64.
pub fn load(path: &Path) -> Vec<Interaction> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    // Python-era cassettes wrap non-UTF-8 `!!binary` request bodies in `_io.BytesIO` tags: keep
    // binary scalars as their base64 text (response bodies are decoded below).
    let opts = serde_saphyr::options! { ignore_binary_tag_for_string: true };
    let doc: serde_json::Value = serde_saphyr::from_str_with_options(&text, opts)
        .unwrap_or_else(|e| panic!("{} is not readable YAML: {e}", path.display()));
    let items = doc["interactions"].as_array().cloned().unwrap_or_default();
    items
        .iter()
        .map(|it| {
            let req = &it["request"];
            let resp = &it["response"];
            let mut headers = Vec::new();
            if let Some(h) = resp["headers"].as_object() {
                for (k, vals) in h {
                    for v in vals.as_array().cloned().unwrap_or_default() {
                        if let Some(s) = as_text(&v) {
                            headers.push((k.clone(), s));
                        }
                    }
                }
            }
            let raw = &resp["body"]["string"];
            let body = match raw {
                serde_json::Value::String(s) => {
                    let binary = text_is_binary_tagged(&text, s);
                    if binary {
                        base64::engine::general_purpose::STANDARD
                            .decode(s.split_whitespace().collect::<String>())
                            .unwrap_or_else(|_| s.as_bytes().to_vec())
                    } else {
                        s.as_bytes().to_vec()
                    }
                }
                serde_json::Value::Null => Vec::new(),
                other => other.to_string().into_bytes(),
            };
            Interaction {
                method: req["method"].as_str().unwrap_or("GET").to_owned(),
                uri: req["uri"].as_str().unwrap_or_default().to_owned(),
                request_body: as_text(&req["body"]),
                status: resp["status"]["code"].as_u64().unwrap_or(200) as u16,
                headers,
                body,
            }
        })
        .collect()
}

/// Whether a body string sits behind a `!!binary` tag in the YAML text.
fn text_is_binary_tagged(yaml: &str, value: &str) -> bool {
    let head: String = value.chars().take(24).collect();
    yaml.lines().any(|l| {
        l.contains("!!binary") && (l.contains(&head) || l.trim_end().ends_with("!!binary"))
    }) && !value.contains(' ')
}

/// What the replay server saw.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub path_and_query: String,
    pub authorization: Option<String>,
    /// The request body.
    pub body: Vec<u8>,
}

struct Replay {
    queue: Mutex<HashMap<(String, String), Vec<Interaction>>>,
    last: Mutex<HashMap<(String, String), Interaction>>,
    seen: Mutex<Vec<Seen>>,
    base: Mutex<String>,
}

/// A running replay server.
pub struct ReplayServer {
    pub url: String,
    state: Arc<Replay>,
    _task: tokio::task::JoinHandle<()>,
}

impl ReplayServer {
    /// Everything the server was asked.
    pub fn seen(&self) -> Vec<Seen> {
        self.state.seen.lock().unwrap().clone()
    }
}

/// Serves `interactions` on 127.0.0.1; absolute recorded URLs in `Location` headers are rewritten
/// to the server.
pub async fn serve(interactions: Vec<Interaction>) -> ReplayServer {
    let mut queue: HashMap<(String, String), Vec<Interaction>> = HashMap::new();
    for i in interactions {
        queue
            .entry((i.method.clone(), i.path_and_query()))
            .or_default()
            .push(i);
    }
    let state = Arc::new(Replay {
        queue: Mutex::new(queue),
        last: Mutex::new(HashMap::new()),
        seen: Mutex::new(Vec::new()),
        base: Mutex::new(String::new()),
    });
    let app = axum::Router::new()
        .fallback(handle)
        .with_state(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    *state.base.lock().unwrap() = url.clone();
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    ReplayServer {
        url,
        state,
        _task: task,
    }
}

async fn handle(State(st): State<Arc<Replay>>, req: Request<Body>) -> Response<Body> {
    let method = req.method().to_string();
    let pq = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_default();
    let authorization = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = axum::body::to_bytes(req.into_body(), 64 << 20)
        .await
        .map(|b| b.to_vec())
        .unwrap_or_default();
    st.seen.lock().unwrap().push(Seen {
        method: method.clone(),
        path_and_query: pq.clone(),
        authorization,
        body,
    });
    let key = (method, pq);
    let found = {
        let mut q = st.queue.lock().unwrap();
        match q.get_mut(&key) {
            Some(v) if !v.is_empty() => Some(v.remove(0)),
            _ => None,
        }
    };
    let it = match found {
        Some(i) => {
            st.last.lock().unwrap().insert(key.clone(), i.clone());
            i
        }
        None => match st.last.lock().unwrap().get(&key).cloned() {
            Some(i) => i,
            None => {
                return Response::builder()
                    .status(StatusCode::NOT_IMPLEMENTED)
                    .body(Body::from(format!(
                        "no recorded exchange for {} {}",
                        key.0, key.1
                    )))
                    .unwrap();
            }
        },
    };
    let base = st.base.lock().unwrap().clone();
    let mut b = Response::builder().status(it.status);
    for (k, v) in &it.headers {
        let lk = k.to_ascii_lowercase();
        if matches!(
            lk.as_str(),
            "content-length" | "connection" | "transfer-encoding" | "content-encoding"
        ) {
            continue;
        }
        let mut v = v.clone();
        if lk == "location"
            && v.starts_with("https://")
            && let Ok(u) = url::Url::parse(&v)
        {
            let q = u.query().map(|q| format!("?{q}")).unwrap_or_default();
            v = format!("{base}{}{q}", u.path());
        }
        if let (Ok(n), Ok(val)) = (
            HeaderName::from_bytes(k.as_bytes()),
            HeaderValue::from_str(&v),
        ) {
            b = b.header(n, val);
        }
    }
    b.body(Body::from(it.body.clone())).unwrap()
}
