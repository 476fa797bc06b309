//! Streaming `text_generation` and `chat_completion` through the public API: against the
//! TGI-protocol loopback server (`support::tgi`), the recorded streamed cassettes, the blocking
//! twins and the `hfkit chat` / `hfkit generate` commands.

mod support;

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use futures::StreamExt;
use hfkit::inference::InferenceClient;
use hfkit::inference::types::{
    ChatCompletionAccumulator, ChatCompletionStreamOutput, ChatMessage, StreamOptions,
    TextGenerationStreamOutput, Tool,
};
use hfkit::{Error, Settings};
use serde_json::{Value, json};
use support::cassette::{Interaction, cassettes_dir, load, serve};
use support::tgi::{self, TOKENS, generated_text};

fn settings() -> Settings {
    Settings::builder()
        .env_map(HashMap::new())
        .hf_home(std::env::temp_dir().join("hfkit-streaming-tests-no-home"))
        .build()
        .unwrap()
}

fn client(base: &str) -> InferenceClient {
    InferenceClient::builder()
        .settings(settings())
        .base_url(base)
        .max_retries(3)
        .retry_base_delay(Duration::from_millis(10))
        .build()
        .unwrap()
}

async fn collect_tokens(
    c: &InferenceClient,
    prompt: &str,
) -> hfkit::Result<Vec<TextGenerationStreamOutput>> {
    let mut s = c.text_generation(prompt).stream().await?;
    let mut out = Vec::new();
    while let Some(item) = s.next().await {
        out.push(item?);
    }
    Ok(out)
}

fn assert_tokens(got: &[TextGenerationStreamOutput], details: bool) {
    assert_eq!(got.len(), TOKENS.len());
    for (i, (g, t)) in got.iter().zip(TOKENS.iter()).enumerate() {
        assert_eq!(g.index, Some(i as u64 + 1));
        assert_eq!(g.token.id, t.0);
        assert_eq!(g.token.text, t.1);
        assert_eq!(g.token.logprob, Some(t.2));
        assert_eq!(g.token.special, t.3);
        let last = i + 1 == TOKENS.len();
        assert_eq!(g.generated_text.is_some(), last);
        assert_eq!(g.details.is_some(), last && details);
    }
    assert_eq!(
        got.last().unwrap().generated_text.as_deref(),
        Some(generated_text().as_str())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_generation_stream_tokens_details_and_top_tokens() {
    let srv = tgi::start().await;
    let c = client(&srv.url);
    let mut s = c
        .text_generation("hello")
        .details(true)
        .top_n_tokens(2)
        .max_new_tokens(5)
        .stream()
        .await
        .unwrap();
    let mut got = Vec::new();
    while let Some(item) = s.next().await {
        got.push(item.unwrap());
    }
    assert_eq!(s.delivered(), TOKENS.len() as u64);
    assert_tokens(&got, true);
    let d = got.last().unwrap().details.as_ref().unwrap();
    assert_eq!(d.finish_reason, "eos_token");
    assert_eq!(d.generated_tokens, TOKENS.len() as u64);
    assert_eq!(d.input_length, Some(3));
    assert_eq!(d.seed, None);
    for (g, t) in got.iter().zip(TOKENS.iter()) {
        let tops = g.top_tokens.as_ref().unwrap();
        assert_eq!(tops.len(), 2);
        assert_eq!(tops[0].id, t.0);
        assert_eq!(tops[1].text, "<unk>");
    }
    // TGI `/`: the body carries `stream: true` and only the set parameters.
    let seen = srv.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].path, "/");
    assert_eq!(
        seen[0].body,
        json!({"inputs": "hello", "parameters": {"details": true, "max_new_tokens": 5, "top_n_tokens": 2}, "stream": true})
    );
    // The `.text()` adapter yields every token's text, special ones included.
    let text: Vec<String> = c
        .text_generation("hello")
        .stream()
        .await
        .unwrap()
        .text()
        .map(|r| r.unwrap())
        .collect()
        .await;
    assert_eq!(text, TOKENS.iter().map(|t| t.1).collect::<Vec<_>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generate_stream_route_takes_no_stream_flag_and_generate_is_unchanged() {
    let srv = tgi::start().await;
    let c = client(&format!("{}/generate_stream", srv.url));
    let got = collect_tokens(&c, "hello").await.unwrap();
    assert_tokens(&got, false);
    let seen = srv.seen();
    assert_eq!(seen[0].path, "/generate_stream");
    assert!(seen[0].body.get("stream").is_none(), "{:?}", seen[0].body);
    // Non-streaming `/generate` and `/` still work.
    let c = client(&format!("{}/generate", srv.url));
    let out = c.text_generation("hello").details(true).await.unwrap();
    assert_eq!(out.generated_text, generated_text());
    assert_eq!(out.details.unwrap().tokens.len(), TOKENS.len());
    let c = client(&srv.url);
    assert_eq!(
        c.text_generation("hello").await.unwrap().generated_text,
        generated_text()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_framing_gives_the_same_tokens() {
    let srv = tgi::start().await;
    let c = client(&srv.url);
    for words in [
        "plain",
        "crlf",
        "cr",
        "nospace",
        "keepalive",
        "bom",
        "split",
        "noblank",
        "cr noblank",
        "crlf split keepalive nospace bom",
        "cr split keepalive",
    ] {
        let got = collect_tokens(&c, words)
            .await
            .unwrap_or_else(|e| panic!("{words}: {e}"));
        assert_tokens(&got, false);
    }
    // Chat too.
    for words in ["crlf split keepalive nospace bom", "cr split", "nodone"] {
        let s = c
            .chat_completion([ChatMessage::user(words)])
            .stream()
            .await
            .unwrap();
        let out = s.collect_message().await.unwrap();
        assert_eq!(out.text(), Some(generated_text().as_str()), "{words}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_event_mid_stream_is_a_stream_error_with_the_server_message() {
    let srv = tgi::start().await;
    let c = client(&srv.url);
    // TGI `{"error", "error_type"}`.
    let mut s = c.text_generation("error-mid").stream().await.unwrap();
    assert_eq!(s.next().await.unwrap().unwrap().token.text, "Hello");
    assert_eq!(s.next().await.unwrap().unwrap().token.text, " wor");
    match s.next().await.unwrap() {
        Err(Error::Stream {
            message,
            error_type,
            status_hint,
        }) => {
            assert!(message.contains("CUDA out of memory"), "{message}");
            assert_eq!(error_type.as_deref(), Some("generation"));
            assert_eq!(status_hint, None);
        }
        other => panic!("expected a stream error, got {other:?}"),
    }
    assert!(s.next().await.is_none());
    // OpenAI `{"error": {"message", "http_status_code"}}`, then `[DONE]`.
    let mut s = c
        .chat_completion([ChatMessage::user("error-object")])
        .stream()
        .await
        .unwrap();
    let mut texts = Vec::new();
    let err = loop {
        match s.next().await.unwrap() {
            Ok(c) => texts.push(c.delta_text().unwrap().to_owned()),
            Err(e) => break e,
        }
    };
    assert_eq!(texts, ["Hello", " wor"]);
    assert!(
        matches!(&err, Error::Stream { message, status_hint: Some(422), .. } if message.contains("tool error")),
        "{err}"
    );
    assert!(s.next().await.is_none());
    // `event: error`.
    let s = c
        .chat_completion([ChatMessage::user("error-event")])
        .stream()
        .await
        .unwrap();
    let err = s.collect_message().await.unwrap_err();
    assert!(
        matches!(&err, Error::Stream { message, .. } if message.contains("the model crashed")),
        "{err}"
    );
    // Never retried: one request per stream.
    assert_eq!(srv.seen().len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_connection_is_an_error_never_a_silent_end_and_is_not_retried() {
    let srv = tgi::start().await;
    let c = client(&srv.url);
    let mut s = c.text_generation("cut").stream().await.unwrap();
    assert!(s.next().await.unwrap().is_ok());
    assert!(s.next().await.unwrap().is_ok());
    match s.next().await {
        Some(Err(Error::Stream {
            message,
            error_type: None,
            status_hint: None,
        })) => assert!(message.contains("broke after 2 chunks"), "{message}"),
        other => panic!("expected an error, got {other:?}"),
    }
    assert!(s.next().await.is_none());
    let s = c
        .chat_completion([ChatMessage::user("cut")])
        .stream()
        .await
        .unwrap();
    assert!(s.collect_message().await.is_err());
    // max_retries(3), yet one request each: nothing is resent once the stream was handed over.
    assert_eq!(srv.seen().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_before_the_stream_are_typed_http_errors() {
    let srv = tgi::start().await;
    let c = client(&srv.url);
    let err = c.text_generation("status-422").stream().await.unwrap_err();
    assert_eq!(err.status(), Some(422));
    assert_eq!(err.error_type(), Some("validation"));
    let err = c
        .chat_completion([ChatMessage::user("status-422")])
        .stream()
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), Some("template_error"));
    assert_eq!(srv.seen().len(), 2, "a 422 is not retried");
    // A JSON answer to a streaming request is one result, never a hang.
    let got = collect_tokens(&c, "json").await.unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(
        got[0].generated_text.as_deref(),
        Some(generated_text().as_str())
    );
    let s = c
        .chat_completion([ChatMessage::user("json")])
        .stream()
        .await
        .unwrap();
    let out = s.collect_message().await.unwrap();
    assert_eq!(out.text(), Some(generated_text().as_str()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_stream_done_usage_and_deltas() {
    let srv = tgi::start().await;
    let c = client(&srv.url);
    // `[DONE]` ends the stream: the chunk written after it never arrives.
    let mut s = c
        .chat_completion([
            ChatMessage::system("be brief"),
            ChatMessage::user("afterdone"),
        ])
        .model("tiny")
        .max_tokens(16)
        .stream_options(StreamOptions {
            include_usage: true,
        })
        .stream()
        .await
        .unwrap();
    let mut chunks: Vec<ChatCompletionStreamOutput> = Vec::new();
    while let Some(c) = s.next().await {
        chunks.push(c.unwrap());
    }
    let texts: Vec<&str> = chunks.iter().filter_map(|c| c.delta_text()).collect();
    assert_eq!(texts.concat(), generated_text());
    assert!(!texts.contains(&"NEVER"));
    let last = chunks.last().unwrap();
    assert!(last.choices.is_empty());
    assert_eq!(last.usage.unwrap().total_tokens, 16);
    assert_eq!(chunks[chunks.len() - 2].finish_reason(), Some("stop"));
    assert_eq!(chunks[0].object.as_deref(), Some("chat.completion.chunk"));
    assert_eq!(chunks[0].model, "tgi-tiny");
    let mut acc = ChatCompletionAccumulator::new();
    for c in &chunks {
        acc.push(c);
    }
    let out = acc.finish();
    assert_eq!(out.usage.unwrap().prompt_tokens, 12);
    assert_eq!(out.choices[0].message.role, "assistant");
    // The body: `model` first, `stream: true`, `stream_options` passed through.
    let seen = srv.seen();
    assert_eq!(seen[0].path, "/v1/chat/completions");
    let body = &seen[0].body;
    assert_eq!(body.as_object().unwrap().keys().next().unwrap(), "model");
    assert_eq!(body["model"], "tiny");
    assert_eq!(body["stream"], true);
    assert_eq!(body["stream_options"], json!({"include_usage": true}));
    assert_eq!(body["max_tokens"], 16);
    // Without include_usage no usage chunk comes and none is required.
    let out = c
        .chat_completion([ChatMessage::user("hi")])
        .stream()
        .await
        .unwrap()
        .collect_message()
        .await
        .unwrap();
    assert_eq!(out.usage, None);
    assert_eq!(out.choices[0].finish_reason.as_deref(), Some("stop"));
    assert!(srv.seen()[1].body.get("stream_options").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streamed_tool_calls_are_accumulated_by_index() {
    let srv = tgi::start().await;
    let c = client(&srv.url);
    let tools = vec![Tool::function(
        "get_weather",
        Some("The weather of a place"),
        json!({"type": "object", "properties": {"location": {"type": "string"}}}),
    )];
    let out = c
        .chat_completion([ChatMessage::user("weather in Paris?")])
        .tools(tools)
        .stream()
        .await
        .unwrap()
        .collect_message()
        .await
        .unwrap();
    let choice = &out.choices[0];
    assert_eq!(choice.finish_reason.as_deref(), Some("tool_calls"));
    let calls = choice.message.tool_calls.as_ref().unwrap();
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0].id, "call_0");
    assert_eq!(calls[0].function.name, "get_weather");
    assert_eq!(
        calls[0].function.arguments_json().unwrap(),
        json!({"location": "Paris"})
    );
    assert_eq!(calls[1].id, "call_1");
    assert_eq!(calls[1].function.name, "get_time");
    assert_eq!(
        calls[1].function.arguments_json().unwrap(),
        json!({"tz": "CET"})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_a_stream_cancels_the_request() {
    let srv = tgi::start().await;
    let c = client(&srv.url);
    let mut s = c.text_generation("slow").stream().await.unwrap();
    for _ in 0..4 {
        s.next().await.unwrap().unwrap();
    }
    drop(s);
    assert!(
        srv.wait_dropped(1, Duration::from_secs(3)).await,
        "the server did not see the connection close"
    );
    let mut s = c
        .chat_completion([ChatMessage::user("slow")])
        .stream()
        .await
        .unwrap();
    for _ in 0..4 {
        s.next().await.unwrap().unwrap();
    }
    drop(s);
    assert!(srv.wait_dropped(2, Duration::from_secs(3)).await);
    // A following request is answered at once.
    let t = Instant::now();
    let got = collect_tokens(&c, "hello").await.unwrap();
    assert_eq!(got.len(), TOKENS.len());
    assert!(t.elapsed() < Duration::from_secs(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_server_hits_the_idle_timeout() {
    let srv = tgi::start().await;
    let c = InferenceClient::builder()
        .settings(settings())
        .base_url(&srv.url)
        .timeout(Duration::from_millis(400))
        .build()
        .unwrap();
    let t = Instant::now();
    let mut s = c.text_generation("stall").stream().await.unwrap();
    assert!(s.next().await.unwrap().is_ok());
    assert!(s.next().await.unwrap().is_ok());
    let e = s.next().await.unwrap().unwrap_err();
    assert!(matches!(e, Error::Timeout { .. }), "{e}");
    assert!(t.elapsed() < Duration::from_secs(3));
    assert!(s.next().await.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocking_iterators_work_inside_a_runtime_and_cancel_on_drop() {
    let srv = tgi::start().await;
    let c = hfkit::blocking::InferenceClient::from_async(client(&srv.url)).unwrap();
    // Called straight from an async test (a tokio worker thread).
    let items: Vec<_> = c
        .text_generation("hello")
        .details(true)
        .stream()
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    assert_tokens(&items, true);
    let chunks: Vec<ChatCompletionStreamOutput> = c
        .chat_completion([ChatMessage::user("hi")])
        .stream()
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    let text: String = chunks.iter().filter_map(|c| c.delta_text()).collect();
    assert_eq!(text, generated_text());
    let out = c
        .chat_completion([ChatMessage::user("hi")])
        .collect_message()
        .unwrap();
    assert_eq!(out.text(), Some(generated_text().as_str()));
    // Errors inside the stream are items; then the iterator ends.
    let items: Vec<_> = c.text_generation("error-mid").stream().unwrap().collect();
    assert_eq!(items.len(), 3);
    assert!(matches!(items[2], Err(Error::Stream { .. })));
    // Dropping a blocking iterator mid-way closes the connection.
    let mut it = c
        .chat_completion([ChatMessage::user("slow")])
        .stream()
        .unwrap();
    for _ in 0..3 {
        it.next().unwrap().unwrap();
    }
    drop(it);
    assert!(srv.wait_dropped(1, Duration::from_secs(3)).await);
}

// ---- recorded cassettes ----------------------------------------------------------------------

/// The events of a recorded SSE body, the way Python reads them (one `data:` line = one event).
fn recorded_events(it: &Interaction) -> Vec<Value> {
    let text = String::from_utf8(it.body.clone()).unwrap();
    text.lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .map(|d| d.strip_prefix(' ').unwrap_or(d))
        .filter(|d| d.trim() != "[DONE]")
        .map(|d| serde_json::from_str(d).unwrap())
        .collect()
}

fn model_of(it: &Interaction) -> String {
    let path = url::Url::parse(&it.uri).unwrap().path().to_owned();
    path.strip_prefix("/models/")
        .unwrap()
        .trim_end_matches("/v1/chat/completions")
        .to_owned()
}

fn legacy_client(url: &str) -> InferenceClient {
    InferenceClient::builder()
        .settings(settings())
        .legacy_serverless(true)
        .legacy_inference_url(url)
        .hub_url(url)
        .router_url(url)
        .max_retries(0)
        .build()
        .unwrap()
}

fn assert_token_event(g: &TextGenerationStreamOutput, r: &Value) {
    assert_eq!(g.index, r["index"].as_u64());
    assert_eq!(g.token.id, r["token"]["id"].as_i64().unwrap());
    assert_eq!(g.token.text, r["token"]["text"].as_str().unwrap());
    assert_eq!(g.token.logprob, r["token"]["logprob"].as_f64());
    assert_eq!(g.token.special, r["token"]["special"].as_bool().unwrap());
    assert_eq!(g.generated_text.as_deref(), r["generated_text"].as_str());
    match (&g.details, &r["details"]) {
        (None, Value::Null) => {}
        (Some(d), rd) => {
            assert_eq!(d.finish_reason, rd["finish_reason"].as_str().unwrap());
            assert_eq!(d.generated_tokens, rd["generated_tokens"].as_u64().unwrap());
            assert_eq!(d.seed, rd["seed"].as_u64());
        }
        (None, other) => panic!("details {other} not parsed"),
    }
}

fn assert_chunk(g: &ChatCompletionStreamOutput, r: &Value) {
    assert_eq!(g.id, r["id"].as_str().unwrap());
    assert_eq!(g.object.as_deref(), r["object"].as_str());
    assert_eq!(g.created, r["created"].as_u64());
    assert_eq!(g.model, r["model"].as_str().unwrap());
    assert_eq!(
        g.system_fingerprint.as_deref(),
        r["system_fingerprint"].as_str()
    );
    let rc = r["choices"].as_array().unwrap();
    assert_eq!(g.choices.len(), rc.len());
    for (gc, rc) in g.choices.iter().zip(rc) {
        assert_eq!(u64::from(gc.index), rc["index"].as_u64().unwrap());
        assert_eq!(gc.delta.role.as_deref(), rc["delta"]["role"].as_str());
        assert_eq!(gc.delta.content.as_deref(), rc["delta"]["content"].as_str());
        assert_eq!(gc.finish_reason.as_deref(), rc["finish_reason"].as_str());
        assert_eq!(gc.logprobs, None);
    }
}

async fn replay_stream_case(stem: &str, its: &[Interaction], url: &str) {
    let client = legacy_client(url);
    let model = model_of(&its[0]);
    if stem.contains("generate_stream") || stem.contains("http_session_correctly_closed") {
        for it in its {
            let mut call = client.text_generation("test").model(&model);
            if stem.contains("generate_stream") {
                call = call.max_new_tokens(1);
            }
            if stem.contains("with_details") {
                call = call.details(true);
            }
            let mut s = call.stream().await.unwrap();
            let mut got = Vec::new();
            while let Some(item) = s.next().await {
                got.push(item.unwrap());
            }
            let rec = recorded_events(it);
            assert_eq!(got.len(), rec.len(), "{stem}");
            for (g, r) in got.iter().zip(&rec) {
                assert_token_event(g, r);
            }
        }
    } else {
        let it = &its[0];
        let messages = if stem.contains("with_stream_true") {
            vec![
                ChatMessage::system("You are a helpful assistant."),
                ChatMessage::user("Count to 10"),
            ]
        } else {
            vec![
                ChatMessage::system("You are a helpful assistant."),
                ChatMessage::user("What is deep learning?"),
            ]
        };
        let s = client
            .chat_completion(messages)
            .model(&model)
            .max_tokens(20)
            .stream()
            .await
            .unwrap();
        let got: Vec<ChatCompletionStreamOutput> = s.map(|r| r.unwrap()).collect().await;
        let rec = recorded_events(it);
        assert_eq!(got.len(), rec.len(), "{stem}");
        for (g, r) in got.iter().zip(&rec) {
            assert_chunk(g, r);
        }
        let mut acc = ChatCompletionAccumulator::new();
        for c in &got {
            acc.push(c);
        }
        let out = acc.finish();
        let want: String = rec
            .iter()
            .filter_map(|r| r["choices"][0]["delta"]["content"].as_str())
            .collect();
        assert_eq!(out.text(), Some(want.as_str()));
        assert_eq!(
            out.choices[0].finish_reason.as_deref(),
            rec.last().unwrap()["choices"][0]["finish_reason"].as_str()
        );
    }
}

fn is_streamed(stem: &str) -> bool {
    stem.contains("generate_stream")
        || stem.contains("chat_completion_with_stream")
        || stem.contains("with_stream_true")
        || stem.contains("http_session_correctly_closed")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_streamed_cassettes() {
    let mut total = 0;
    let mut replayed = 0;
    for folder in ["v0.19.0", "v0.27.1"] {
        let dir = cassettes_dir().join(folder);
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
            .collect();
        files.sort();
        for path in files {
            let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
            if !is_streamed(&stem) {
                continue;
            }
            total += 1;
            let its = load(Path::new(&path));
            let server = serve(its.clone()).await;
            eprintln!("replaying {folder}/{stem}");
            replay_stream_case(&stem, &its, &server.url).await;
            assert_eq!(
                server.seen().len(),
                its.len(),
                "{folder}/{stem}: every recorded exchange is used once"
            );
            replayed += 1;
        }
    }
    println!("replayed {replayed} of {total} streamed cassettes");
    assert_eq!(replayed, total);
    assert_eq!(total, 13, "the streamed cassettes of v0.19.0 and v0.27.1");
}

// ---- CLI ---------------------------------------------------------------------------------------
