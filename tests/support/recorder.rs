//! A recording inference server on 127.0.0.1: it answers every task with a small valid output
//! (the task is read from the path: the last segment of `.../models/{org}/{task}`,
//! `.../pipeline/{task}` or `/u/{task}`; any `.../chat/completions` is chat) and the Hub's
//! `GET /api/models/{id}` with a model info whose `pipeline_tag` is the id's last segment
//! (`conversational` → `text-generation`) and a provider mapping. Every request is recorded
//! (method, path, query, headers, body) for the Python parity test.
//!
//! The server runs on its own thread and runtime, so synchronous code (a Python child
//! process) and async tests can both drive it.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::State;
use axum::http::{Request, Response};
use base64::Engine;
use serde_json::{Value, json};

/// One request as the server saw it.
#[derive(Debug, Clone, PartialEq)]
pub struct Recorded {
    /// `GET`, `POST`, …
    pub method: String,
    /// The path, percent-encoding as sent.
    pub path: String,
    /// The query string, if any.
    pub query: Option<String>,
    /// Every header, names lower-cased; repeated headers joined with `", "`.
    pub headers: BTreeMap<String, String>,
    /// The body.
    pub body: Vec<u8>,
}

impl Recorded {
    /// A header value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }
}

type Log = Arc<Mutex<Vec<Recorded>>>;

/// A running recorder; dropping it stops the server.
pub struct Recorder {
    url: String,
    log: Log,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Recorder {
    /// Starts the server on an ephemeral port.
    pub fn start() -> Recorder {
        let log: Log = Default::default();
        let (tx, rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let state = log.clone();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                tx.send(l.local_addr().unwrap()).unwrap();
                let app = axum::Router::new().fallback(handle).with_state(state);
                let _ = axum::serve(l, app)
                    .with_graceful_shutdown(async {
                        let _ = stop_rx.await;
                    })
                    .await;
            });
        });
        let addr = rx.recv().unwrap();
        Recorder {
            url: format!("http://{addr}"),
            log,
            stop: Some(stop_tx),
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Every request so far, in arrival order.
    pub fn requests(&self) -> Vec<Recorded> {
        self.log.lock().unwrap().clone()
    }

    /// Takes (and clears) the requests so far.
    pub fn take(&self) -> Vec<Recorded> {
        std::mem::take(&mut *self.log.lock().unwrap())
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A 5×4 grey PNG.
pub fn png() -> Vec<u8> {
    let mut buf = std::io::Cursor::new(Vec::new());
    image::DynamicImage::new_luma8(5, 4)
        .write_to(&mut buf, image::ImageFormat::Png)
        .unwrap();
    buf.into_inner()
}

fn b64(b: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(b)
}

async fn handle(State(log): State<Log>, req: Request<Body>) -> Response<Body> {
    let (parts, body) = req.into_parts();
    let mut headers = BTreeMap::<String, String>::new();
    for (k, v) in &parts.headers {
        let v = String::from_utf8_lossy(v.as_bytes()).into_owned();
        headers
            .entry(k.as_str().to_ascii_lowercase())
            .and_modify(|e| {
                e.push_str(", ");
                e.push_str(&v);
            })
            .or_insert(v);
    }
    let body = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default()
        .to_vec();
    let rec = Recorded {
        method: parts.method.as_str().to_owned(),
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().map(str::to_owned),
        headers,
        body,
    };
    let (status, ct, answer) = answer(&rec);
    log.lock().unwrap().push(rec);
    Response::builder()
        .status(status)
        .header("content-type", ct)
        .body(Body::from(answer))
        .unwrap()
}

fn json_answer(v: Value) -> (u16, &'static str, Vec<u8>) {
    (200, "application/json", v.to_string().into_bytes())
}

/// The canned answer of a request.
pub fn answer(rec: &Recorded) -> (u16, &'static str, Vec<u8>) {
    let path = rec.path.as_str();
    if path.starts_with("/__mark/") {
        return (200, "text/plain", b"ok".to_vec());
    }
    if rec.method == "GET"
        && let Some((_, id)) = path.split_once("/api/models/")
    {
        return json_answer(model_info(id));
    }
    let body: Value = serde_json::from_slice(&rec.body).unwrap_or(Value::Null);
    let streaming = body.get("stream") == Some(&Value::Bool(true));
    if path.contains("/chat/completions") {
        if streaming {
            let chunk = |delta: Value, finish: Value| json!({"id":"1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":delta,"finish_reason":finish}]});
            let sse = format!(
                "data: {}\n\ndata: {}\n\ndata: [DONE]\n\n",
                chunk(json!({"role":"assistant","content":"hi"}), Value::Null),
                chunk(json!({}), json!("stop"))
            );
            return (200, "text/event-stream", sse.into_bytes());
        }
        return json_answer(
            json!({"id":"1","object":"chat.completion","created":1,"model":"m","system_fingerprint":"3.0.0-native","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}),
        );
    }
    let task = path.rsplit('/').find(|s| !s.is_empty()).unwrap_or_default();
    let details = body.pointer("/parameters/details") == Some(&Value::Bool(true));
    let v = match task {
        "text-generation" if streaming => {
            let ev = json!({"index":1,"token":{"id":1,"text":"g","logprob":-0.5,"special":false},"generated_text":"g","details":{"finish_reason":"length","generated_tokens":1,"seed":null}});
            return (
                200,
                "text/event-stream",
                format!("data:{ev}\n\n").into_bytes(),
            );
        }
        "text-generation" if details => {
            json!([{"generated_text":"g","details":{"finish_reason":"length","generated_tokens":1,"seed":1,"prefill":[],"tokens":[{"id":1,"text":"g","logprob":-0.5,"special":false}]}}])
        }
        "text-generation" => json!([{"generated_text":"g"}]),
        "info" if rec.method == "GET" => {
            json!({"model_id":"m","max_input_tokens":1024,"max_total_tokens":2048,"max_client_batch_size":4,"router":"text-generation-router","version":"3.3.6"})
        }
        "health" if rec.method == "GET" => return (200, "text/plain", Vec::new()),
        "text-to-image" | "image-to-image" => return (200, "image/png", png()),
        "text-to-speech" => return (200, "audio/flac", b"fLaC\0\0\0\x22".to_vec()),
        "text-to-video" | "image-to-video" => {
            return (200, "video/mp4", b"\0\0\0\x20ftypisom".to_vec());
        }
        "text-classification" => {
            json!([[{"label":"POSITIVE","score":0.9},{"label":"NEGATIVE","score":0.1}]])
        }
        "audio-to-audio" => {
            json!([{"label":"label_0","content-type":"audio/flac","blob":b64(b"fLaC1")}])
        }
        "automatic-speech-recognition" => json!({"text":"hello"}),
        "image-to-text" => json!([{"generated_text":"a cat"}]),
        "image-segmentation" => json!([{"label":"cat","score":0.9,"mask":b64(&png())}]),
        "object-detection" => {
            json!([{"label":"cat","score":0.9,"box":{"xmin":0,"ymin":0,"xmax":1,"ymax":1}}])
        }
        "document-question-answering" => json!([{"answer":"42","score":0.9,"start":1,"end":1}]),
        "visual-question-answering" => json!([{"answer":"a cat","score":0.9}]),
        "feature-extraction" => json!([[0.25, 0.5]]),
        "sentence-similarity" => json!([0.5, 0.25]),
        "fill-mask" => json!([{"score":0.5,"token":1,"token_str":"a","sequence":"The a."}]),
        "question-answering" => json!({"answer":"42","score":0.5,"start":0,"end":2}),
        "summarization" => json!([{"summary_text":"s"}]),
        "translation" => json!([{"translation_text":"t"}]),
        "table-question-answering" => {
            json!({"answer":"1","coordinates":[[0,0]],"cells":["1"],"aggregator":"NONE"})
        }
        "tabular-classification" => json!(["5"]),
        "tabular-regression" => json!([1.5]),
        "token-classification" => {
            json!([{"entity_group":"PER","score":0.9,"word":"Ann","start":0,"end":3}])
        }
        "audio-classification"
        | "image-classification"
        | "zero-shot-classification"
        | "zero-shot-image-classification" => {
            json!([{"label":"a","score":0.75},{"label":"b","score":0.25}])
        }
        _ => {
            return (
                404,
                "application/json",
                br#"{"error":"unknown route"}"#.to_vec(),
            );
        }
    };
    json_answer(v)
}

/// The Hub's model info of `id` (the path after `/api/models/`).
fn model_info(id: &str) -> Value {
    let last = id.rsplit('/').next().unwrap_or_default();
    let (tag, mapping) = if last == "conversational" {
        (
            "text-generation",
            json!({
                "together": {"status":"live","providerId":format!("{id}-together"),"task":"conversational"},
                "cohere": {"status":"live","providerId":format!("{id}-cohere"),"task":"conversational"},
                "fireworks-ai": {"status":"live","providerId":format!("{id}-fireworks"),"task":"conversational"},
                "groq": {"status":"staging","providerId":format!("{id}-groq"),"task":"conversational"},
            }),
        )
    } else {
        (
            last,
            json!({"hf-inference": {"status":"live","providerId":id,"task":last}}),
        )
    };
    json!({
        "id": id,
        "modelId": id,
        "pipeline_tag": tag,
        "tags": [tag],
        "inferenceProviderMapping": mapping,
    })
}
