//! A loopback server speaking TGI's protocol (`../shared/conformance/openapi/tgi.json`):
//! `POST /generate`, `/generate_stream`, `/` (stream or not by the `stream` flag) and
//! `/v1/chat/completions` (stream or not).
//!
//! Behaviour is chosen by words in the prompt (the last message of a chat):
//! - framing: `crlf`, `cr` (line endings), `nospace` (`data:` without the space), `keepalive`
//!   (`: keep-alive` comments between events), `bom` (leading UTF-8 BOM), `split` (the body goes
//!   out one byte per chunk), `nodone` (chat without `[DONE]`), `afterdone` (a chunk after
//!   `[DONE]`, which must never reach the caller), `noblank` (last event without its blank line);
//! - faults: `error-mid` (a TGI `{"error","error_type"}` event after two tokens),
//!   `error-object` (an OpenAI-style `{"error":{"message","http_status_code"}}` event, then
//!   `[DONE]`), `error-event` (`event: error`), `cut` (the connection is aborted after two
//!   tokens), `slow` (an endless stream, one token every 20 ms), `stall` (one token, then
//!   silence), `status-422` (a 422 before any stream), `json` (a JSON answer to a stream request);
//! - `tools` in a chat body (or the word `tools`) streams two tool calls in pieces.
//!
//! Chat streams end with a usage-only chunk when `stream_options.include_usage` is true.
//!
//! `GET …/info` answers TGI's `Info` object (TEI's when the path starts with `/tei`);
//! `GET …/health` answers 200 with an empty body, or 503 `{"error":"unhealthy"}` after
//! [`TgiServer::set_healthy`]`(false)`. Both are served under any path prefix but `/missing`,
//! which answers 404 `{"error": …}`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tokio::sync::mpsc;

/// The tokens every generation produces: text pieces, then EOS.
pub const TOKENS: [(i64, &str, f64, bool); 5] = [
    (15043, "Hello", -0.25, false),
    (3186, " wor", -0.5, false),
    (430, "ld", -0.125, false),
    (29991, " \u{e9}\u{1F600}!", -1.0, false),
    (2, "</s>", -0.0625, true),
];

/// The generated text (special tokens skipped).
pub fn generated_text() -> String {
    TOKENS
        .iter()
        .filter(|t| !t.3)
        .map(|t| t.1)
        .collect::<String>()
}

/// One request the server saw.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    /// The `Authorization` header, if any.
    pub authorization: Option<String>,
    /// The `X-Amzn-Trace-Id` header, if any.
    pub trace_id: Option<String>,
    pub body: Value,
}

#[derive(Default)]
struct Shared {
    seen: Mutex<Vec<Seen>>,
    /// Streams whose client went away before the server finished.
    dropped: AtomicUsize,
    /// Streams the server finished writing.
    finished: AtomicUsize,
    /// `/health` answers 503 while set.
    unhealthy: std::sync::atomic::AtomicBool,
}

/// A running TGI-protocol server.
pub struct TgiServer {
    pub url: String,
    shared: Arc<Shared>,
    _task: tokio::task::JoinHandle<()>,
}

impl TgiServer {
    /// Every request so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.shared.seen.lock().unwrap().clone()
    }

    /// Makes `/health` answer 200 (`true`) or 503 `{"error":"unhealthy"}` (`false`).
    pub fn set_healthy(&self, healthy: bool) {
        self.shared.unhealthy.store(!healthy, Ordering::SeqCst);
    }

    /// How many streams lost their client before the end.
    pub fn dropped(&self) -> usize {
        self.shared.dropped.load(Ordering::SeqCst)
    }

    /// How many streams were written to the end.
    pub fn finished(&self) -> usize {
        self.shared.finished.load(Ordering::SeqCst)
    }

    /// Waits up to `limit` until `dropped() >= n`.
    pub async fn wait_dropped(&self, n: usize, limit: Duration) -> bool {
        let start = std::time::Instant::now();
        while start.elapsed() < limit {
            if self.dropped() >= n {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        false
    }
}

/// Starts the server on 127.0.0.1.
pub async fn start() -> TgiServer {
    let shared = Arc::new(Shared::default());
    let app = axum::Router::new()
        .fallback(handle)
        .with_state(shared.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    TgiServer {
        url,
        shared,
        _task: task,
    }
}

/// What the server writes, piece by piece.
enum Piece {
    Bytes(Vec<u8>),
    Cut,
    Sleep(u64),
    Endless,
}

struct Framing {
    eol: &'static str,
    space: bool,
    keepalive: bool,
    split: bool,
}

impl Framing {
    fn of(words: &str) -> Self {
        Framing {
            eol: if has(words, "crlf") {
                "\r\n"
            } else if has(words, "cr") {
                "\r"
            } else {
                "\n"
            },
            space: !has(words, "nospace"),
            keepalive: has(words, "keepalive"),
            split: has(words, "split"),
        }
    }

    fn event(&self, data: &str) -> Piece {
        let mut s = String::new();
        if self.keepalive {
            s.push_str(": keep-alive");
            s.push_str(self.eol);
            s.push(':');
            s.push_str(self.eol);
        }
        s.push_str(if self.space { "data: " } else { "data:" });
        s.push_str(data);
        s.push_str(self.eol);
        s.push_str(self.eol);
        Piece::Bytes(s.into_bytes())
    }

    fn named(&self, name: &str, data: &str) -> Piece {
        let s = format!("event: {name}{eol}data: {data}{eol}{eol}", eol = self.eol);
        Piece::Bytes(s.into_bytes())
    }
}

fn has(words: &str, w: &str) -> bool {
    words.split_whitespace().any(|x| x == w)
}

/// What the server records of one request.
fn seen(method: &Method, headers: &HeaderMap, uri: &Uri, body: Value) -> Seen {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    Seen {
        method: method.to_string(),
        path: uri.path().to_owned(),
        query: uri.query().map(str::to_owned),
        authorization: header("authorization"),
        trace_id: header("x-amzn-trace-id"),
        body,
    }
}

async fn handle(
    State(sh): State<Arc<Shared>>,
    method: Method,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Response {
    let path = uri.path().to_owned();
    if method == Method::GET {
        sh.seen
            .lock()
            .unwrap()
            .push(seen(&method, &headers, &uri, Value::Null));
        return if path.starts_with("/missing") {
            (
                StatusCode::NOT_FOUND,
                Json(json!({"error": "Model org/missing does not exist"})),
            )
                .into_response()
        } else if path.ends_with("/health") {
            if sh.unhealthy.load(Ordering::SeqCst) {
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    Json(json!({"error": "unhealthy", "error_type": "healthcheck"})),
                )
                    .into_response()
            } else {
                StatusCode::OK.into_response()
            }
        } else if path.ends_with("/info") && path.starts_with("/tei") {
            Json(tei_info()).into_response()
        } else if path.ends_with("/info") {
            Json(tgi_info()).into_response()
        } else {
            (StatusCode::NOT_FOUND, "no such route").into_response()
        };
    }
    let body: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => {
            return (
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("Failed to deserialize the JSON body into the target type: {e}"),
            )
                .into_response();
        }
    };
    sh.seen
        .lock()
        .unwrap()
        .push(seen(&method, &headers, &uri, body.clone()));
    match path.as_str() {
        "/v1/chat/completions" => chat(sh, body).await,
        "/generate" => generate(&body, false),
        "/" if body["stream"] == json!(true) => generate_stream(sh, &body),
        "/" => generate(&body, true),
        "/generate_stream" => generate_stream(sh, &body),
        _ => (StatusCode::NOT_FOUND, "no such route").into_response(),
    }
}

/// TGI's `GET /info` (`openapi/tgi.json` `Info`, 3.x).
pub fn tgi_info() -> Value {
    json!({
        "model_id": "org/tiny-llm",
        "model_sha": "e985a63cdc139290c5f700ff1929f0b5942cced2",
        "model_pipeline_tag": "text-generation",
        "max_concurrent_requests": 128,
        "max_best_of": 2,
        "max_stop_sequences": 4,
        "max_input_tokens": 1024,
        "max_total_tokens": 2048,
        "validation_workers": 2,
        "max_client_batch_size": 4,
        "router": "text-generation-router",
        "version": "3.3.6-dev0",
        "sha": null,
        "docker_label": null
    })
}

/// TEI's `GET /info` (`openapi/tei.json` `Info`, 1.9).
pub fn tei_info() -> Value {
    json!({
        "model_id": "thenlper/gte-base",
        "model_sha": "fca14538aa9956a46526bd1d0d11d69e19b5a101",
        "model_dtype": "float16",
        "served_model_name": "thenlper/gte-base",
        "model_type": {"embedding": {"pooling": "cls"}},
        "max_concurrent_requests": 512,
        "max_input_length": 512,
        "max_batch_tokens": 16384,
        "max_batch_requests": null,
        "max_client_batch_size": 32,
        "auto_truncate": false,
        "tokenization_workers": 4,
        "version": "1.9.3",
        "sha": "1f2a3b4",
        "docker_label": "sha-1f2a3b4"
    })
}

fn token(t: &(i64, &str, f64, bool)) -> Value {
    json!({"id": t.0, "text": t.1, "logprob": t.2, "special": t.3})
}

fn details(body: &Value) -> bool {
    body["parameters"]["details"] == json!(true)
}

fn generate(body: &Value, array: bool) -> Response {
    let words = body["inputs"].as_str().unwrap_or_default();
    if has(words, "status-422") {
        return validation_error();
    }
    let mut out = json!({"generated_text": generated_text()});
    if details(body) {
        out["details"] = json!({
            "finish_reason": "eos_token",
            "generated_tokens": TOKENS.len(),
            "seed": null,
            "prefill": [],
            "tokens": TOKENS.iter().map(token).collect::<Vec<_>>(),
        });
    }
    if array {
        Json(json!([out])).into_response()
    } else {
        Json(out).into_response()
    }
}

fn validation_error() -> Response {
    (
        StatusCode::UNPROCESSABLE_ENTITY,
        Json(json!({"error": "Input validation error: `inputs` must not be empty", "error_type": "validation"})),
    )
        .into_response()
}

fn generate_stream(sh: Arc<Shared>, body: &Value) -> Response {
    let words = body["inputs"].as_str().unwrap_or_default().to_owned();
    if has(&words, "status-422") {
        return validation_error();
    }
    if has(&words, "json") {
        return generate(body, true);
    }
    let f = Framing::of(&words);
    let top_n = body["parameters"]["top_n_tokens"].as_u64().unwrap_or(0) as usize;
    let mut pieces = Vec::new();
    if has(&words, "bom") {
        pieces.push(Piece::Bytes(b"\xEF\xBB\xBF".to_vec()));
    }
    let n = TOKENS.len();
    for (i, t) in TOKENS.iter().enumerate() {
        if i == 2 {
            if has(&words, "error-mid") {
                pieces.push(f.event(
                    r#"{"error":"Request failed during generation: Server error: CUDA out of memory","error_type":"generation"}"#,
                ));
                break;
            }
            if has(&words, "cut") {
                pieces.push(Piece::Cut);
                break;
            }
            if has(&words, "slow") {
                pieces.push(Piece::Endless);
                break;
            }
            if has(&words, "stall") {
                pieces.push(Piece::Sleep(5_000));
            }
        }
        let last = i + 1 == n;
        let mut ev = json!({
            "index": i + 1,
            "token": token(t),
            "generated_text": if last { json!(generated_text()) } else { Value::Null },
            "details": Value::Null,
        });
        if last && details(body) {
            ev["details"] = json!({"finish_reason": "eos_token", "generated_tokens": n, "seed": null, "input_length": 3});
        }
        if top_n > 0 {
            let tops: Vec<Value> = std::iter::once(token(t))
                .chain(std::iter::repeat_n(
                    json!({"id": 0, "text": "<unk>", "logprob": -9.0, "special": true}),
                    top_n - 1,
                ))
                .collect();
            ev["top_tokens"] = Value::Array(tops);
        }
        if last && has(&words, "noblank") {
            let s = format!("data: {ev}{}", f.eol);
            pieces.push(Piece::Bytes(s.into_bytes()));
        } else {
            pieces.push(f.event(&ev.to_string()));
        }
    }
    sse(sh, pieces, f.split, |i| {
        let t = &TOKENS[i % 4];
        json!({"index": i + 3, "token": token(t), "generated_text": null, "details": null})
            .to_string()
    })
}

fn chunk(content: Value, finish: Value) -> Value {
    json!({
        "object": "chat.completion.chunk",
        "id": "",
        "created": 1_754_000_000u64,
        "model": "tgi-tiny",
        "system_fingerprint": "3.3.6-dev0-native",
        "choices": [{"index": 0, "delta": content, "logprobs": null, "finish_reason": finish}],
        "usage": null,
    })
}

fn last_text(body: &Value) -> String {
    body["messages"]
        .as_array()
        .and_then(|m| m.last())
        .and_then(|m| m["content"].as_str())
        .unwrap_or_default()
        .to_owned()
}

async fn chat(sh: Arc<Shared>, body: Value) -> Response {
    let words = last_text(&body);
    if has(&words, "status-422") {
        return (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(json!({"error": "Template error: messages must alternate", "error_type": "template_error"})),
        )
            .into_response();
    }
    let tools = body.get("tools").is_some() || has(&words, "tools");
    let stream = body["stream"] == json!(true);
    let texts: Vec<&str> = TOKENS.iter().filter(|t| !t.3).map(|t| t.1).collect();
    if !stream || has(&words, "json") {
        let message = if tools {
            json!({"role": "assistant", "tool_calls": [
                {"id": "0", "type": "function", "function": {"name": "get_weather", "arguments": "{\"location\":\"Paris\"}"}}]})
        } else {
            json!({"role": "assistant", "content": generated_text()})
        };
        return Json(json!({
            "object": "chat.completion", "id": "", "created": 1_754_000_000u64, "model": "tgi-tiny",
            "system_fingerprint": "3.3.6-dev0-native",
            "choices": [{"index": 0, "message": message, "logprobs": null,
                "finish_reason": if tools { "tool_calls" } else { "stop" }}],
            "usage": {"prompt_tokens": 12, "completion_tokens": 4, "total_tokens": 16},
        }))
        .into_response();
    }
    let f = Framing::of(&words);
    let mut pieces = Vec::new();
    if has(&words, "bom") {
        pieces.push(Piece::Bytes(b"\xEF\xBB\xBF".to_vec()));
    }
    if tools {
        let parts = [
            json!({"role": "assistant", "tool_calls": [{"index": 0, "id": "call_0", "type": "function",
                "function": {"name": "get_weather", "arguments": "{\"loca"}}]}),
            json!({"role": "assistant", "tool_calls": [{"index": 1, "id": "call_1", "type": "function",
                "function": {"name": "get_time", "arguments": ""}}]}),
            json!({"role": "assistant", "tool_calls": [{"index": 0, "id": "", "type": "function",
                "function": {"name": null, "arguments": "tion\":\"Par"}}]}),
            json!({"role": "assistant", "tool_calls": [{"index": 1, "function": {"arguments": "{\"tz\":\"CET\"}"}}]}),
            json!({"role": "assistant", "tool_calls": [{"index": 0, "function": {"arguments": "is\"}"}}]}),
        ];
        for p in parts {
            pieces.push(f.event(&chunk(p, Value::Null).to_string()));
        }
        pieces.push(f.event(&chunk(json!({}), json!("tool_calls")).to_string()));
    } else {
        for (i, t) in texts.iter().enumerate() {
            if i == 2 {
                if has(&words, "error-object") {
                    pieces.push(f.event(
                        r#"{"error":{"message":"Request failed during generation: tool error","http_status_code":422}}"#,
                    ));
                    pieces.push(f.event("[DONE]"));
                    break;
                }
                if has(&words, "error-event") {
                    pieces.push(f.named("error", r#"{"message":"the model crashed"}"#));
                    break;
                }
                if has(&words, "error-mid") {
                    pieces.push(f.event(
                        r#"{"error":"Request failed during generation: boom","error_type":"generation"}"#,
                    ));
                    break;
                }
                if has(&words, "cut") {
                    pieces.push(Piece::Cut);
                    break;
                }
                if has(&words, "slow") {
                    pieces.push(Piece::Endless);
                    break;
                }
                if has(&words, "stall") {
                    pieces.push(Piece::Sleep(5_000));
                }
            }
            let finish = if i + 1 == texts.len() {
                json!("stop")
            } else {
                Value::Null
            };
            let delta = json!({"role": "assistant", "content": t});
            pieces.push(f.event(&chunk(delta, finish).to_string()));
        }
    }
    if body["stream_options"]["include_usage"] == json!(true) {
        let mut u = chunk(json!({}), Value::Null);
        u["choices"] = json!([]);
        u["usage"] = json!({"prompt_tokens": 12, "completion_tokens": 4, "total_tokens": 16});
        pieces.push(f.event(&u.to_string()));
    }
    if !has(&words, "nodone") {
        pieces.push(f.event("[DONE]"));
    }
    if has(&words, "afterdone") {
        pieces.push(f.event(&chunk(json!({"content": "NEVER"}), Value::Null).to_string()));
    }
    sse(sh, pieces, f.split, |_| {
        chunk(
            json!({"role": "assistant", "content": " more"}),
            Value::Null,
        )
        .to_string()
    })
}

/// Streams `pieces` through a channel: when the client goes away the channel closes, which the
/// producer notices (`dropped`).
fn sse(
    sh: Arc<Shared>,
    pieces: Vec<Piece>,
    split: bool,
    endless: impl Fn(usize) -> String + Send + 'static,
) -> Response {
    let (tx, rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(1);
    tokio::spawn(async move {
        let send = |b: Bytes| {
            let tx = tx.clone();
            async move { tx.send(Ok(b)).await.is_ok() }
        };
        for p in pieces {
            match p {
                Piece::Bytes(b) => {
                    let ok = if split {
                        let mut ok = true;
                        for byte in b {
                            if !send(Bytes::from(vec![byte])).await {
                                ok = false;
                                break;
                            }
                        }
                        ok
                    } else {
                        send(Bytes::from(b)).await
                    };
                    if !ok {
                        sh.dropped.fetch_add(1, Ordering::SeqCst);
                        return;
                    }
                }
                Piece::Cut => {
                    // Let the chunks already sent reach the client first: hyper aborts the
                    // connection as soon as the body errors, dropping unflushed bytes.
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    let _ = tx
                        .send(Err(std::io::Error::other("connection cut by the test")))
                        .await;
                    return;
                }
                Piece::Sleep(ms) => tokio::time::sleep(Duration::from_millis(ms)).await,
                Piece::Endless => {
                    let mut i = 0;
                    loop {
                        let ev = format!("data: {}\n\n", endless(i));
                        if !send(Bytes::from(ev)).await {
                            sh.dropped.fetch_add(1, Ordering::SeqCst);
                            return;
                        }
                        i += 1;
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                }
            }
        }
        sh.finished.fetch_add(1, Ordering::SeqCst);
    });
    let stream = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    Response::builder()
        .status(200)
        .header("content-type", "text/event-stream")
        .header("cache-control", "no-cache")
        .body(Body::from_stream(stream))
        .unwrap()
}
