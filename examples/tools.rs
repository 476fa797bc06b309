//! Tool calling, round trip: the model asks for a tool call (streamed in pieces), the program
//! runs the tool, sends the result back, and streams the model's final answer.
//!
//! ```text
//! cargo run --example tools -- [--base-url URL] [--model NAME]
//! ```
//!
//! Without `--base-url` (or `HFKIT_BASE_URL`) the example answers itself from a loopback server,
//! so it runs offline.

#[path = "support/loopback.rs"]
mod loopback;

use std::io::Write;

use futures::StreamExt;
use hfkit::inference::InferenceClient;
use hfkit::inference::types::{ChatCompletionAccumulator, ChatMessage, Tool, ToolCall, ToolChoice};
use serde_json::{Value, json};

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

/// The loopback model: asks for the weather tool, then answers from the tool's result.
fn answer(request: &Value) -> Vec<Value> {
    let messages = request["messages"].as_array().cloned().unwrap_or_default();
    if let Some(result) = messages.iter().rev().find(|m| m["role"] == "tool") {
        let r: Value =
            serde_json::from_str(result["content"].as_str().unwrap_or("{}")).unwrap_or_default();
        return loopback::text_chunks(&format!(
            "It is {} °C and {} in {}.",
            r["temperature_c"],
            r["sky"].as_str().unwrap_or("?"),
            r["location"].as_str().unwrap_or("?")
        ));
    }
    // The call arrives in pieces: id and name first, the arguments in fragments.
    let piece = |v: Value| loopback::chunk(json!({"role": "assistant", "tool_calls": [v]}), None);
    vec![
        piece(json!({"index": 0, "id": "call_1", "type": "function",
            "function": {"name": "get_weather", "arguments": "{\"loca"}})),
        piece(json!({"index": 0, "function": {"arguments": "tion\": \"Par"}})),
        piece(json!({"index": 0, "function": {"arguments": "is\"}"}})),
        loopback::chunk(json!({}), Some("tool_calls")),
    ]
}

/// The tool itself.
fn get_weather(args: &Value) -> Value {
    let location = args["location"].as_str().unwrap_or("nowhere");
    json!({"location": location, "temperature_c": 18, "sky": "sunny"})
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
    let client = InferenceClient::builder().base_url(&base_url).build()?;
    let tools = vec![Tool::function(
        "get_weather",
        Some("The current weather of a city"),
        json!({
            "type": "object",
            "properties": {"location": {"type": "string", "description": "The city"}},
            "required": ["location"],
        }),
    )];
    let mut history = vec![ChatMessage::user("What is the weather in Paris?")];

    // 1. The model asks for tool calls; the accumulator puts the pieces back together.
    let first = client
        .chat_completion(history.clone())
        .model(&model)
        .tools(tools.clone())
        .tool_choice(ToolChoice::Auto)
        .stream()
        .await?
        .collect_message()
        .await?;
    let calls: Vec<ToolCall> = first
        .choices
        .first()
        .and_then(|c| c.message.tool_calls.clone())
        .unwrap_or_default();
    if calls.is_empty() {
        println!("{}", first.text().unwrap_or_default());
        return Ok(());
    }

    // 2. Run each tool and answer with its result.
    history.push(ChatMessage {
        role: "assistant".into(),
        content: None,
        name: None,
        tool_calls: Some(calls.clone()),
        tool_call_id: None,
    });
    for call in &calls {
        let args = call.function.arguments_json()?;
        eprintln!("tool call {}: {}({args})", call.id, call.function.name);
        let result = match call.function.name.as_str() {
            "get_weather" => get_weather(&args),
            other => json!({"error": format!("no tool named {other}")}),
        };
        history.push(ChatMessage::tool(call.id.clone(), result.to_string()));
    }

    // 3. The final answer, streamed.
    let mut stream = client
        .chat_completion(history)
        .model(&model)
        .tools(tools)
        .stream()
        .await?;
    let mut acc = ChatCompletionAccumulator::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        print!("{}", chunk.delta_text().unwrap_or_default());
        let _ = std::io::stdout().flush();
        acc.push(&chunk);
    }
    println!();
    Ok(())
}
