//! Streaming chat: prints the answer token by token as the server sends it.
//!
//! ```text
//! cargo run --example chat_stream -- [--base-url URL] [--model NAME] [PROMPT]
//! ```
//!
//! The server is `--base-url` (or `HFKIT_BASE_URL`): any OpenAI-compatible server (TGI,
//! llama.cpp, vLLM, …). Without one, the example starts a small loopback server of its own, so it
//! runs offline. The model name defaults to `HFKIT_MODEL`, else `tiny`.

#[path = "support/loopback.rs"]
mod loopback;

use std::io::Write;

use futures::StreamExt;
use hfkit::inference::InferenceClient;
use hfkit::inference::types::{ChatCompletionAccumulator, ChatMessage, StreamOptions};

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn answer(_request: &serde_json::Value) -> Vec<serde_json::Value> {
    loopback::text_chunks(
        "Rust is a systems programming language focused on safety, speed and concurrency.",
    )
}

#[tokio::main]
async fn main() -> hfkit::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let base_url = match arg(&args, "--base-url").or_else(|| std::env::var("HFKIT_BASE_URL").ok()) {
        Some(u) => u,
        None => loopback::start(answer)
            .await
            .map_err(|e| hfkit::Error::io("starting the loopback server", e))?,
    };
    let model = arg(&args, "--model")
        .or_else(|| std::env::var("HFKIT_MODEL").ok())
        .unwrap_or_else(|| "tiny".into());
    let prompt = args
        .iter()
        .enumerate()
        .filter(|(i, a)| !a.starts_with("--") && (*i == 0 || !args[i - 1].starts_with("--")))
        .map(|(_, a)| a.clone())
        .next()
        .unwrap_or_else(|| "What is Rust, in one sentence?".into());

    let client = InferenceClient::builder().base_url(&base_url).build()?;
    eprintln!("asking {model} at {base_url}: {prompt}");
    let mut stream = client
        .chat_completion([
            ChatMessage::system("You are a helpful assistant."),
            ChatMessage::user(prompt),
        ])
        .model(&model)
        .max_tokens(128)
        .stream_options(StreamOptions {
            include_usage: true,
        })
        .stream()
        .await?;

    // Print each piece as it arrives, and fold the chunks into the final message as well.
    let mut acc = ChatCompletionAccumulator::new();
    let mut stdout = std::io::stdout();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        if let Some(text) = chunk.delta_text() {
            print!("{text}");
            let _ = stdout.flush();
        }
        acc.push(&chunk);
    }
    println!();
    let done = acc.finish();
    let finish = done
        .choices
        .first()
        .and_then(|c| c.finish_reason.clone())
        .unwrap_or_default();
    eprintln!("finish reason: {finish}");
    match done.usage {
        Some(u) => eprintln!(
            "tokens: {} prompt + {} completion",
            u.prompt_tokens, u.completion_tokens
        ),
        None => eprintln!("the server sent no usage"),
    }
    Ok(())
}
