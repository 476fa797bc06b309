//! The quickstart example's steps, run offline against 127.0.0.1 only: the whole run (train →
//! save → push → load → card → serve → stream) with its printed output, and the example's
//! OpenAI-compatible chat route on its own (SSE framing, whole answers, seeds, bad requests).
#![cfg(feature = "server")]

#[allow(dead_code)]
#[path = "../examples/quickstart/mod.rs"]
mod app;

use std::net::SocketAddr;

use app::model::{CharLm, CharLmConfig};
use app::train::Budget;
use serde_json::{Value, json};

fn loopback() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

/// The lines of `text` must contain each of `needles`, in this order.
fn assert_in_order(text: &str, needles: &[&str]) {
    let mut rest = text;
    for n in needles {
        match rest.find(n) {
            Some(i) => rest = &rest[i + n.len()..],
            None => panic!("{n:?} missing (or out of order) in the output:\n{text}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_step_runs_offline_and_prints_its_result() {
    let opts = app::Options {
        train: Budget::Steps(30),
        prompt: "The river".into(),
        max_tokens: 50,
        temperature: 0.5,
        seed: 11,
        router_model: None,
        hf_token: None,
    };
    let mut out = Vec::new();
    let summary = app::run(&opts, &mut out).await.unwrap();
    let text = String::from_utf8(out).unwrap();

    assert_in_order(
        &text,
        &[
            "1. Training a character-level language model (",
            "for 30 steps",
            "   trained: 30 steps",
            "2. save_pretrained -> ",
            "   README.md (",
            "   config.json (",
            "   model.safetensors (",
            "3. push_to_hub quickstart/char-lm -> hfkit mirror with writes on at http://127.0.0.1:",
            "   commit http://127.0.0.1:",
            "4. from_pretrained(\"quickstart/char-lm\") into a fresh cache: ",
            "models--quickstart--char-lm",
            "the loaded tensors equal the saved ones (5 tensors, ",
            "5. The model card's metadata (README.md):",
            "   library_name: candle",
            "   license: apache-2.0",
            "   pipeline_tag: text-generation",
            "   tags:",
            "   - candle",
            "   - char-lm",
            "   - hfkit",
            "   - model_hub_mixin",
            "   - text-generation",
            "6. Serving the model at http://127.0.0.1:",
            "/v1 (OpenAI-compatible POST /chat/completions, streaming)",
            "7. InferenceClient(base_url) streams a chat; prompt: \"The river\"",
            "   The river",
            "   53 chunks, 50 characters, finish reason \"length\"",
            "8. (With HF_TOKEN set and --model M",
            "Done in ",
        ],
    );
    // The streamed text is printed right after the prompt, as it arrived.
    let shown = summary.streamed.replace('\n', "\n   ");
    assert!(text.contains(&format!("   The river{shown}\n")), "{text}");

    assert_eq!(summary.steps, 30);
    let cfg = CharLmConfig::for_text(app::CORPUS);
    let (v, e, c, h) = (
        cfg.chars().len(),
        cfg.embed_dim,
        cfg.context,
        cfg.hidden_dim,
    );
    assert_eq!(summary.values_compared, v * e + c * e * h + h + h * v + v);
    // An untrained model scores about ln(alphabet); 30 steps must already do better.
    let (first, last) = summary.loss;
    assert!((first - (v as f32).ln()).abs() < 1.0, "{first}");
    assert!(last < first - 0.5, "loss {first} -> {last}");
    assert_eq!(summary.streamed.chars().count(), 50);
    // 1 role chunk + 50 characters + 1 finish chunk + 1 usage chunk.
    assert_eq!(summary.chunks, 53);
    // Every streamed character comes from the model's alphabet.
    assert!(summary.streamed.chars().all(|ch| cfg.alphabet.contains(ch)));
}

fn fresh_model() -> CharLm {
    CharLm::new_trainable(&CharLmConfig::for_text(app::CORPUS)).unwrap()
}

async fn post(url: &str, body: Value) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{url}/chat/completions"))
        .json(&body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn chat_route_streams_openai_chunks_ending_with_done() {
    let server = app::serve::start(fresh_model(), "quickstart/char-lm", loopback())
        .await
        .unwrap();
    let resp = post(
        server.url(),
        json!({"model": "x", "stream": true, "max_tokens": 7, "seed": 3,
               "stream_options": {"include_usage": true},
               "messages": [{"role": "system", "content": "ignored"},
                            {"role": "user", "content": [{"type": "text", "text": "Hello"}]}]}),
    )
    .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    let body = resp.text().await.unwrap();
    let events: Vec<&str> = body.split_terminator("\n\n").collect();
    assert_eq!(events.last(), Some(&"data: [DONE]"));
    let chunks: Vec<Value> = events[..events.len() - 1]
        .iter()
        .map(|e| serde_json::from_str(e.strip_prefix("data: ").unwrap()).unwrap())
        .collect();
    // Role, 7 characters, finish, usage.
    assert_eq!(chunks.len(), 10);
    let id = chunks[0]["id"].as_str().unwrap();
    assert!(id.starts_with("chatcmpl-"));
    for c in &chunks {
        assert_eq!(c["object"], "chat.completion.chunk");
        assert_eq!(c["model"], "quickstart/char-lm");
        assert_eq!(c["id"], id);
    }
    assert_eq!(
        chunks[0]["choices"][0]["delta"],
        json!({"role": "assistant", "content": ""})
    );
    let text: String = chunks[1..8]
        .iter()
        .map(|c| {
            assert_eq!(c["choices"][0]["finish_reason"], Value::Null);
            let piece = c["choices"][0]["delta"]["content"].as_str().unwrap();
            assert_eq!(piece.chars().count(), 1);
            piece.to_owned()
        })
        .collect();
    assert_eq!(chunks[8]["choices"][0]["finish_reason"], "length");
    assert_eq!(chunks[8]["choices"][0]["delta"], json!({}));
    assert_eq!(chunks[9]["choices"], json!([]));
    assert_eq!(
        chunks[9]["usage"],
        json!({"prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12})
    );

    // The same seed gives the same characters, whole or streamed.
    let whole = post(
        server.url(),
        json!({"model": "x", "max_tokens": 7, "seed": 3,
               "messages": [{"role": "user", "content": "Hello"}]}),
    )
    .await;
    assert_eq!(whole.status(), 200);
    let whole: Value = whole.json().await.unwrap();
    assert_eq!(whole["object"], "chat.completion");
    assert_eq!(whole["choices"][0]["message"]["role"], "assistant");
    assert_eq!(whole["choices"][0]["message"]["content"], text.as_str());
    assert_eq!(whole["choices"][0]["finish_reason"], "length");
    assert_eq!(whole["usage"]["completion_tokens"], 7);
    server.shutdown().await;
}

#[tokio::test]
async fn chat_route_stops_at_a_stop_sequence_and_greedy_is_deterministic() {
    let server = app::serve::start(fresh_model(), "m", loopback())
        .await
        .unwrap();
    let ask = |stop: Value| {
        json!({"model": "m", "max_tokens": 300, "temperature": 0, "stop": stop,
               "messages": [{"role": "user", "content": "The lamp"}]})
    };
    let a: Value = post(server.url(), ask(Value::Null))
        .await
        .json()
        .await
        .unwrap();
    let b: Value = post(server.url(), ask(Value::Null))
        .await
        .json()
        .await
        .unwrap();
    let full = a["choices"][0]["message"]["content"].as_str().unwrap();
    assert_eq!(full.chars().count(), 300);
    assert_eq!(a["choices"][0]["message"], b["choices"][0]["message"]);
    // Stop right after the 3rd generated character: the answer ends with the stop sequence.
    let stop: String = full.chars().skip(1).take(2).collect();
    let first_at = full.find(&stop).unwrap() + stop.len();
    let c: Value = post(server.url(), ask(json!([stop])))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(c["choices"][0]["finish_reason"], "stop");
    assert_eq!(c["choices"][0]["message"]["content"], &full[..first_at]);
    server.shutdown().await;
}

#[tokio::test]
async fn chat_route_rejects_bad_requests_with_openai_errors() {
    let server = app::serve::start(fresh_model(), "m", loopback())
        .await
        .unwrap();
    for (body, needle) in [
        (json!({"messages": "hi"}), "`messages` must be a list"),
        (
            json!({"messages": [{"role": "system", "content": "x"}]}),
            "no user message",
        ),
        (
            json!({"messages": [{"role": "user", "content": "x"}], "max_tokens": 100000}),
            "`max_tokens`",
        ),
        (
            json!({"messages": [{"role": "user", "content": "x"}], "temperature": -1}),
            "`temperature`",
        ),
        (
            json!({"messages": [{"role": "user", "content": "x"}], "stop": 3}),
            "`stop`",
        ),
    ] {
        let resp = post(server.url(), body).await;
        assert_eq!(resp.status(), 400);
        let err: Value = resp.json().await.unwrap();
        let msg = err["error"]["message"].as_str().unwrap();
        assert!(msg.contains(needle), "{msg}");
    }
    let resp = reqwest::Client::new()
        .post(format!("{}/chat/completions", server.url()))
        .body("not json")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let models: Value = reqwest::get(format!("{}/models", server.url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(models["data"][0]["id"], "m");
    server.shutdown().await;
}
