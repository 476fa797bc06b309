//! Serving the quickstart model through an OpenAI-compatible chat route on 127.0.0.1.
//!
//! `POST /v1/chat/completions` continues the text of the last user message with characters
//! sampled from the model. With `"stream": true` the answer is a server-sent event stream of
//! `chat.completion.chunk` objects (one per generated character, a last chunk with the finish
//! reason, a usage chunk when `stream_options.include_usage` is set) ending with `data: [DONE]`;
//! otherwise one `chat.completion` object. `GET /v1/models` lists the served model.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use tokio::sync::{mpsc, oneshot};

use super::model::CharLm;

/// Longest answer a request may ask for, in characters.
const MAX_TOKENS_LIMIT: u64 = 4096;

struct AppState {
    model: CharLm,
    name: String,
}

/// A chat server running on a background task; stops when dropped or on [`shutdown`](Self::shutdown).
pub struct ChatServer {
    url: String,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl ChatServer {
    /// The OpenAI base URL, `http://127.0.0.1:PORT/v1`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Stops the server and waits for it to finish.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = (&mut self.task).await;
    }
}

impl Drop for ChatServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// The routes, serving `model` under the model id `name`.
pub fn router(model: CharLm, name: &str) -> Router {
    let state = Arc::new(AppState {
        model,
        name: name.to_owned(),
    });
    Router::new()
        .route("/v1/chat/completions", post(chat))
        .route("/v1/models", get(models))
        .with_state(state)
}

/// Serves `model` as `name` on `addr` (port 0 picks a free port).
pub async fn start(model: CharLm, name: &str, addr: SocketAddr) -> std::io::Result<ChatServer> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let url = format!("http://{}/v1", listener.local_addr()?);
    let app = router(model, name);
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let stopped = async {
            let _ = stopped.await;
        };
        if let Err(e) = axum::serve(listener, app)
            .with_graceful_shutdown(stopped)
            .await
        {
            eprintln!("chat server stopped: {e}");
        }
    });
    Ok(ChatServer {
        url,
        stop: Some(stop),
        task,
    })
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    let body = json!({"error": {"message": message.into(), "type": "invalid_request_error"}});
    (status, axum::Json(body)).into_response()
}

async fn models(State(state): State<Arc<AppState>>) -> Response {
    axum::Json(json!({
        "object": "list",
        "data": [{"id": state.name, "object": "model", "created": 0, "owned_by": "hfkit-quickstart"}],
    }))
    .into_response()
}

/// What a request asks for.
struct Ask {
    prompt: String,
    max_tokens: usize,
    temperature: f32,
    seed: u64,
    stop: Vec<String>,
    stream: bool,
    include_usage: bool,
}

/// The text of a message's `content` (a string, or the `text` parts of a list).
fn content_text(content: &Value) -> String {
    match content {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect(),
        _ => String::new(),
    }
}

fn parse_ask(body: &[u8]) -> Result<Ask, String> {
    let v: Value =
        serde_json::from_slice(body).map_err(|e| format!("the body is not JSON: {e}"))?;
    let messages = v
        .get("messages")
        .and_then(Value::as_array)
        .ok_or("`messages` must be a list")?;
    let prompt = messages
        .iter()
        .rev()
        .find(|m| m.get("role").and_then(Value::as_str) == Some("user"))
        .and_then(|m| m.get("content"))
        .map(content_text)
        .ok_or("`messages` holds no user message")?;
    let max_tokens = match v
        .get("max_tokens")
        .or_else(|| v.get("max_completion_tokens"))
    {
        None | Some(Value::Null) => 200,
        Some(n) => n
            .as_u64()
            .filter(|n| *n <= MAX_TOKENS_LIMIT)
            .ok_or(format!(
                "`max_tokens` must be an integer up to {MAX_TOKENS_LIMIT}"
            ))?,
    } as usize;
    let temperature = match v.get("temperature") {
        None | Some(Value::Null) => 0.8,
        Some(t) => t
            .as_f64()
            .filter(|t| (0.0..=10.0).contains(t))
            .ok_or("`temperature` must be a number between 0 and 10")?,
    } as f32;
    let seed = match v.get("seed") {
        None | Some(Value::Null) => fastrand::u64(..),
        Some(s) => s.as_u64().ok_or("`seed` must be a non-negative integer")?,
    };
    let stop = match v.get("stop") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .map(|s| s.as_str().map(str::to_owned))
            .collect::<Option<Vec<_>>>()
            .ok_or("`stop` must be a string or a list of strings")?,
        Some(_) => return Err("`stop` must be a string or a list of strings".into()),
    };
    let stop = stop.into_iter().filter(|s| !s.is_empty()).collect();
    Ok(Ask {
        prompt,
        max_tokens,
        temperature,
        seed,
        stop,
        stream: v.get("stream").and_then(Value::as_bool).unwrap_or(false),
        include_usage: v
            .pointer("/stream_options/include_usage")
            .and_then(Value::as_bool)
            .unwrap_or(false),
    })
}

/// One generation event.
enum Event {
    Text(char),
    Done {
        finish: &'static str,
        completion: usize,
    },
    Failed(String),
}

/// Generates on a blocking thread, sending each character as soon as it is sampled. Stops at
/// `max_tokens`, at a stop sequence, or when the receiver is gone (the client hung up).
fn generate(state: Arc<AppState>, ask: &Ask, tx: mpsc::Sender<Event>) {
    let mut history = state.model.vocab().encode(&ask.prompt);
    let (max, temperature, seed, stop) =
        (ask.max_tokens, ask.temperature, ask.seed, ask.stop.clone());
    tokio::task::spawn_blocking(move || {
        let mut rng = fastrand::Rng::with_seed(seed);
        let mut text = String::new();
        let mut finish = "length";
        for _ in 0..max {
            let id = match state.model.sample_next(&history, temperature, &mut rng) {
                Ok(id) => id,
                Err(e) => {
                    let _ = tx.blocking_send(Event::Failed(e.to_string()));
                    return;
                }
            };
            history.push(id);
            let c = state.model.vocab().char(id);
            text.push(c);
            if tx.blocking_send(Event::Text(c)).is_err() {
                return;
            }
            if stop.iter().any(|s| text.ends_with(s.as_str())) {
                finish = "stop";
                break;
            }
        }
        let completion = text.chars().count();
        let _ = tx.blocking_send(Event::Done { finish, completion });
    });
}

fn chunk(id: &str, model: &str, created: u64, delta: Value, finish: Option<&str>) -> Value {
    json!({
        "id": id, "object": "chat.completion.chunk", "created": created, "model": model,
        "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}],
    })
}

fn sse(v: &Value) -> Bytes {
    Bytes::from(format!("data: {v}\n\n"))
}

async fn chat(State(state): State<Arc<AppState>>, body: Bytes) -> Response {
    let ask = match parse_ask(&body) {
        Ok(a) => a,
        Err(msg) => return error(StatusCode::BAD_REQUEST, msg),
    };
    let id = format!("chatcmpl-{:016x}", fastrand::u64(..));
    let created = now();
    let model = state.name.clone();
    let prompt_tokens = ask.prompt.chars().count();
    let (tx, mut rx) = mpsc::channel::<Event>(64);
    generate(state, &ask, tx);

    if !ask.stream {
        let mut text = String::new();
        while let Some(ev) = rx.recv().await {
            match ev {
                Event::Text(c) => text.push(c),
                Event::Failed(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, e),
                Event::Done { finish, completion } => {
                    return axum::Json(json!({
                        "id": id, "object": "chat.completion", "created": created, "model": model,
                        "choices": [{"index": 0, "finish_reason": finish, "logprobs": null,
                            "message": {"role": "assistant", "content": text}}],
                        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion,
                            "total_tokens": prompt_tokens + completion},
                    }))
                    .into_response();
                }
            }
        }
        return error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "generation stopped early",
        );
    }

    let include_usage = ask.include_usage;
    let events = async_stream(move |out| async move {
        let first = chunk(
            &id,
            &model,
            created,
            json!({"role": "assistant", "content": ""}),
            None,
        );
        if out.send(sse(&first)).await.is_err() {
            return;
        }
        while let Some(ev) = rx.recv().await {
            let piece = match ev {
                Event::Text(c) => chunk(
                    &id,
                    &model,
                    created,
                    json!({"content": c.to_string()}),
                    None,
                ),
                Event::Failed(e) => json!({"error": {"message": e}}),
                Event::Done { finish, completion } => {
                    let last = chunk(&id, &model, created, json!({}), Some(finish));
                    if out.send(sse(&last)).await.is_err() {
                        return;
                    }
                    if include_usage {
                        let usage = json!({
                            "id": id, "object": "chat.completion.chunk", "created": created,
                            "model": model, "choices": [],
                            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion,
                                "total_tokens": prompt_tokens + completion},
                        });
                        if out.send(sse(&usage)).await.is_err() {
                            return;
                        }
                    }
                    break;
                }
            };
            if out.send(sse(&piece)).await.is_err() {
                return;
            }
        }
        let _ = out.send(Bytes::from_static(b"data: [DONE]\n\n")).await;
    });
    Response::builder()
        .header(header::CONTENT_TYPE, "text/event-stream")
        .header(header::CACHE_CONTROL, "no-cache")
        .body(Body::from_stream(events))
        .unwrap_or_else(|e| error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))
}

/// A byte stream fed by `produce` through a channel (the producer runs on its own task and
/// stops when the client hangs up).
fn async_stream<F, Fut>(produce: F) -> impl futures::Stream<Item = Result<Bytes, Infallible>>
where
    F: FnOnce(mpsc::Sender<Bytes>) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let (tx, rx) = mpsc::channel::<Bytes>(64);
    tokio::spawn(produce(tx));
    futures::stream::unfold(
        rx,
        |mut rx| async move { rx.recv().await.map(|b| (Ok(b), rx)) },
    )
}
