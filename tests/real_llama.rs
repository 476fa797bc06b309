//! The non-streaming `chat_completion` against a real OpenAI-compatible server: llama.cpp's
//! engine via `llama-cpp-python[server]` 0.3.36 serving a tiny random-weight model on 127.0.0.1
//! (`real-servers.md` §1). Each test starts its own server and kills it when done.
//!
//! The model's output is gibberish by design and almost never ends by itself, so generations run
//! to `max_tokens` (`finish_reason: "length"`); tests check shapes, limits and reproducibility,
//! never the words.

mod support;

use std::time::{Duration, Instant};

use futures::StreamExt;
use hfkit::Error;
use hfkit::inference::InferenceClient;
use hfkit::inference::types::{ChatMessage, ResponseFormat, Tool, ToolChoice};
use serde_json::{Value, json};
use support::llama::{LlamaServer, hello};

/// Bounds every call of a test (the tiny model answers in well under a second).
const CALL_TIMEOUT: Duration = Duration::from_secs(60);

/// A client of `server` (see `LlamaServer::client`).
fn client(server: &LlamaServer) -> InferenceClient {
    server.client(CALL_TIMEOUT)
}

#[tokio::test]
async fn chat_stops_at_max_tokens_with_usage() {
    let server = LlamaServer::start(&[]);
    let out = client(&server)
        .chat_completion(hello())
        .model("tiny")
        .max_tokens(8)
        .seed(1)
        .await
        .unwrap();
    assert_eq!(out.object.as_deref(), Some("chat.completion"));
    assert!(out.id.starts_with("chatcmpl-"), "id {:?}", out.id);
    assert!(out.created.is_some());
    assert_eq!(out.model, "tiny");
    assert_eq!(out.choices.len(), 1);
    let choice = &out.choices[0];
    assert_eq!(choice.index, 0);
    assert_eq!(choice.message.role, "assistant");
    assert_eq!(choice.finish_reason.as_deref(), Some("length"));
    assert!(choice.message.tool_calls.is_none());
    let text = out.text().expect("content");
    assert!(!text.is_empty());
    let usage = out.usage.expect("usage");
    assert_eq!(usage.completion_tokens, 8);
    assert!(usage.prompt_tokens > 0);
    assert_eq!(
        usage.total_tokens,
        usage.prompt_tokens + usage.completion_tokens
    );
}

#[tokio::test]
async fn same_seed_same_text() {
    let server = LlamaServer::start(&[]);
    let c = client(&server);
    let ask = |seed: u64| {
        c.chat_completion(hello())
            .max_tokens(16)
            .temperature(1.0)
            .seed(seed)
    };
    let a = ask(42).await.unwrap();
    let b = ask(42).await.unwrap();
    assert_eq!(a.text(), b.text());
    assert!(!a.text().unwrap_or_default().is_empty());
    // Sampling does depend on the seed: some other seed gives another text (deterministic, as
    // each seed is itself reproducible).
    let mut differs = false;
    for seed in 43..48 {
        if ask(seed).await.unwrap().text() != a.text() {
            differs = true;
            break;
        }
    }
    assert!(differs, "five other seeds all gave {:?}", a.text());
}

#[tokio::test]
async fn stop_sequence_cuts_the_text() {
    let server = LlamaServer::start(&[]);
    let c = client(&server);
    let free = c
        .chat_completion(hello())
        .max_tokens(24)
        .seed(7)
        .await
        .unwrap();
    let text = free.text().unwrap().to_owned();
    // A stop sequence taken from the middle of the free text: the same request with it stops
    // right before its first occurrence.
    let chars: Vec<char> = text.chars().collect();
    assert!(chars.len() >= 4, "text too short to cut: {text:?}");
    let stop: String = chars[chars.len() / 2..chars.len() / 2 + 2].iter().collect();
    let at = text.find(&stop).unwrap();
    let cut = c
        .chat_completion(hello())
        .max_tokens(24)
        .seed(7)
        .stop([stop.as_str()])
        .await
        .unwrap();
    let choice = &cut.choices[0];
    assert_eq!(choice.finish_reason.as_deref(), Some("stop"), "{cut:?}");
    assert_eq!(choice.message.content.as_deref(), Some(&text[..at]));
}

#[tokio::test]
async fn n_is_accepted() {
    let server = LlamaServer::start(&[]);
    let out = client(&server)
        .chat_completion(hello())
        .max_tokens(4)
        .seed(3)
        .n(2)
        .await
        .unwrap();
    // llama-cpp-python accepts `n` but always answers one choice.
    assert_eq!(out.choices.len(), 1, "{out:?}");
    assert_eq!(out.choices[0].finish_reason.as_deref(), Some("length"));
}

/// The schema of the structured-output tests: every value is bounded by the grammar, so the
/// object always closes within `max_tokens`.
fn schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "ok": {"type": "boolean"},
            "mood": {"type": "string", "enum": ["calm", "busy"]},
        },
        "required": ["ok", "mood"],
    })
}

fn assert_valid(content: &str, schema: &Value) {
    let v: Value = serde_json::from_str(content)
        .unwrap_or_else(|e| panic!("content is not JSON ({e}): {content:?}"));
    let validator = jsonschema::validator_for(schema).unwrap();
    let errors: Vec<String> = validator.iter_errors(&v).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{content} breaks the schema: {errors:?}");
}

#[tokio::test]
async fn json_schema_output_validates() {
    let server = LlamaServer::start(&[]);
    let c = client(&server);
    // llama-cpp-python's own form: `{"type":"json_object","schema":…}`, sent as the body key.
    for seed in [1u64, 2, 3] {
        let out = c
            .chat_completion(hello())
            .max_tokens(200)
            .seed(seed)
            .parameter(
                "response_format",
                json!({"type": "json_object", "schema": schema()}),
            )
            .await
            .unwrap();
        let choice = &out.choices[0];
        assert_eq!(choice.finish_reason.as_deref(), Some("stop"), "{out:?}");
        assert_valid(choice.message.content.as_deref().unwrap(), &schema());
    }
}

#[tokio::test]
async fn json_object_output_parses() {
    let server = LlamaServer::start(&[]);
    let out = client(&server)
        .chat_completion(hello())
        .max_tokens(300)
        .seed(5)
        .response_format(ResponseFormat::JsonObject)
        .await
        .unwrap();
    let content = out.text().unwrap();
    // Random weights ramble inside strings, so a free JSON object may not close within the
    // limit; when it does, it is JSON.
    if out.choices[0].finish_reason.as_deref() == Some("stop") {
        let v: Value = serde_json::from_str(content).unwrap();
        assert!(v.is_object() || v.is_array(), "{content}");
    } else {
        assert_eq!(out.choices[0].finish_reason.as_deref(), Some("length"));
        assert!(content.trim_start().starts_with(['{', '[']), "{content:?}");
    }
}

#[tokio::test]
async fn logprobs_and_top_logprobs() {
    let server = LlamaServer::start(&[]);
    let k = 3;
    let out = client(&server)
        .chat_completion(hello())
        .max_tokens(6)
        .seed(11)
        .logprobs(true)
        .top_logprobs(k)
        .await
        .unwrap();
    let usage = out.usage.unwrap();
    let lp = out.choices[0].logprobs.as_ref().expect("logprobs");
    let content = lp["content"].as_array().expect("logprobs.content");
    assert_eq!(content.len() as u64, usage.completion_tokens);
    let mut text = String::new();
    for entry in content {
        let token = entry["token"].as_str().expect("token");
        let logprob = entry["logprob"].as_f64().expect("logprob");
        assert!(logprob <= 0.0, "{entry}");
        // This server sends `bytes: null`.
        assert!(
            entry["bytes"].is_null() || entry["bytes"].is_array(),
            "{entry}"
        );
        text.push_str(token);
        // The k most likely tokens, plus the chosen one when it is not among them.
        let top = entry["top_logprobs"].as_array().expect("top_logprobs");
        assert!(
            top.len() == k as usize || top.len() == k as usize + 1,
            "{entry}"
        );
        for t in top {
            assert!(
                t["token"].is_string() && t["logprob"].as_f64().is_some(),
                "{t}"
            );
        }
        assert!(
            top.iter()
                .any(|t| t["token"] == token && t["logprob"].as_f64() == Some(logprob)),
            "{entry}"
        );
    }
    assert_eq!(text, out.text().unwrap());
}

#[tokio::test]
async fn named_tool_choice_gives_a_tool_call() {
    let server = LlamaServer::start(&["--chat_format", "chatml-function-calling"]);
    let weather = Tool::function(
        "get_weather",
        Some("The weather in a city"),
        json!({
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        }),
    );
    let out = client(&server)
        .chat_completion([ChatMessage::user("What is the weather in Paris?")])
        .max_tokens(24)
        .seed(9)
        .tools(vec![weather])
        .tool_choice(ToolChoice::Function("get_weather".into()))
        .await
        .unwrap();
    let choice = &out.choices[0];
    assert_eq!(
        choice.finish_reason.as_deref(),
        Some("tool_calls"),
        "{out:?}"
    );
    assert_eq!(choice.message.role, "assistant");
    assert_eq!(choice.message.content, None);
    let calls = choice.message.tool_calls.as_ref().expect("tool_calls");
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(calls[0].kind, "function");
    assert!(!calls[0].id.is_empty());
    assert_eq!(calls[0].function.name, "get_weather");
    // The arguments are JSON text that the random weights cut short: only the shape is fixed.
    let args = calls[0].function.arguments_text();
    assert!(calls[0].function.arguments.is_string(), "{:?}", calls[0]);
    assert!(args.trim_start().starts_with('{'), "{args:?}");
}

#[tokio::test]
async fn invalid_request_is_a_typed_error_with_the_server_message() {
    let server = LlamaServer::start(&[]);
    // A body the server's validation rejects: `top_p` must be within [0, 1].
    let err = client(&server)
        .chat_completion(hello())
        .max_tokens(4)
        .top_p(7.0)
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(500), "{err:?}");
    assert!(
        matches!(err, Error::Inference { .. }),
        "not an inference error: {err:?}"
    );
    assert_eq!(err.error_type(), Some("internal_server_error"));
    let message = err.server_message().expect("server message");
    assert!(message.contains("top_p"), "{message}");
    assert!(err.to_string().contains("top_p"), "{err}");
}

#[tokio::test]
async fn context_overflow_is_a_typed_400() {
    let server = LlamaServer::start(&[]);
    let long = "hello there ".repeat(400);
    let err = client(&server)
        .chat_completion([ChatMessage::user(long)])
        .max_tokens(4)
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(400), "{err:?}");
    assert_eq!(err.error_type(), Some("invalid_request_error"), "{err:?}");
    let message = err.server_message().expect("server message");
    assert!(
        message.contains("maximum context length is 512 tokens"),
        "{message}"
    );
}

#[tokio::test]
async fn blocking_client_inside_a_runtime() {
    let server = LlamaServer::start(&[]);
    let expected = client(&server)
        .chat_completion(hello())
        .max_tokens(10)
        .seed(21)
        .await
        .unwrap();
    // A blocking call from a thread that runs a tokio runtime (this test's own).
    let blocking = hfkit::blocking::InferenceClient::from_async(client(&server)).unwrap();
    let started = Instant::now();
    let out = blocking
        .chat_completion(hello())
        .max_tokens(10)
        .seed(21)
        .send()
        .unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(out.choices[0].finish_reason.as_deref(), Some("length"));
    assert_eq!(out.text(), expected.text());
    assert_eq!(out.usage, expected.usage);
}

/// A blocking twin wrapped around an async client whose connections were opened on this (now
/// blocked) runtime must not reuse them: their driver tasks live on the blocked runtime. It gets a
/// pool of its own, so the call answers at once.
#[tokio::test]
async fn blocking_twin_of_a_used_async_client() {
    let server = LlamaServer::start(&[]);
    let async_client = client(&server);
    let expected = async_client
        .chat_completion(hello())
        .max_tokens(10)
        .seed(21)
        .await
        .unwrap();
    let blocking = hfkit::blocking::InferenceClient::from_async(async_client).unwrap();
    let started = Instant::now();
    let out = blocking
        .chat_completion(hello())
        .max_tokens(10)
        .seed(21)
        .send()
        .unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(out.text(), expected.text());
}

/// The real server's SSE framing, read raw (for the streaming client): `data: {json}` events
/// separated by blank lines (LF line ends), a role chunk first, one content chunk per token, a
/// finish chunk with an empty delta, then `data: [DONE]`; no usage chunk.
#[tokio::test]
async fn raw_stream_framing() {
    let server = LlamaServer::start(&[]);
    let http = reqwest::Client::builder()
        .timeout(CALL_TIMEOUT)
        .build()
        .unwrap();
    let resp = http
        .post(format!("{}/chat/completions", server.base_url()))
        .json(&json!({
            "model": "tiny",
            "messages": hello(),
            "max_tokens": 6,
            "seed": 4,
            "stream": true,
            "stream_options": {"include_usage": true},
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let ct = resp.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(ct.starts_with("text/event-stream"), "{ct}");
    let mut body = Vec::new();
    let mut chunks = resp.bytes_stream();
    while let Some(chunk) = chunks.next().await {
        body.extend_from_slice(&chunk.unwrap());
        assert!(body.len() < 1 << 20, "stream too long");
    }
    let body = String::from_utf8(body).unwrap();
    let lines: Vec<&str> = body.split(['\r', '\n']).filter(|l| !l.is_empty()).collect();
    assert!(lines.iter().all(|l| l.starts_with("data: ")), "{lines:?}");
    assert_eq!(lines.last(), Some(&"data: [DONE]"));
    let events: Vec<Value> = lines[..lines.len() - 1]
        .iter()
        .map(|l| serde_json::from_str(&l["data: ".len()..]).unwrap())
        .collect();
    assert!(
        events
            .iter()
            .all(|e| e["object"] == "chat.completion.chunk")
    );
    assert_eq!(events[0]["choices"][0]["delta"]["role"], "assistant");
    let last = events.last().unwrap();
    assert_eq!(last["choices"][0]["finish_reason"], "length");
    assert_eq!(last["choices"][0]["delta"], json!({}));
    let contents = events[1..events.len() - 1]
        .iter()
        .filter(|e| e["choices"][0]["delta"]["content"].is_string())
        .count();
    assert_eq!(contents, 6);
    let streamed: String = events
        .iter()
        .filter_map(|e| e["choices"][0]["delta"]["content"].as_str())
        .collect();
    // The same request without streaming gives the same text.
    let whole = client(&server)
        .chat_completion(hello())
        .model("tiny")
        .max_tokens(6)
        .seed(4)
        .await
        .unwrap();
    assert_eq!(whole.text(), Some(streamed.as_str()));
    // `include_usage` is accepted, but this server sends no usage chunk.
    assert!(
        events
            .iter()
            .all(|e| e.get("usage").is_none_or(Value::is_null))
    );
}
