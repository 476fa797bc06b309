//! A tiny OpenAI-compatible chat server on 127.0.0.1, so the streaming examples run offline:
//! every `POST …/chat/completions` is answered with the chunks `answer` returns for the request
//! body, as server-sent events ending in `data: [DONE]`.

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Starts the server; returns its base URL (`http://127.0.0.1:PORT/v1`).
pub async fn start(answer: fn(&Value) -> Vec<Value>) -> std::io::Result<String> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/v1", listener.local_addr()?);
    tokio::spawn(async move {
        while let Ok((sock, _)) = listener.accept().await {
            tokio::spawn(async move {
                let _ = serve(sock, answer).await;
            });
        }
    });
    Ok(url)
}

async fn serve(mut sock: TcpStream, answer: fn(&Value) -> Vec<Value>) -> std::io::Result<()> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        let n = sock.read(&mut chunk).await?;
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
    let len: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    while buf.len() < head_end + len {
        let n = sock.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let body: Value = serde_json::from_slice(&buf[head_end..]).unwrap_or(Value::Null);
    sock.write_all(
        b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\nconnection: close\r\n\r\n",
    )
    .await?;
    for c in answer(&body) {
        sock.write_all(format!("data: {c}\n\n").as_bytes()).await?;
        tokio::time::sleep(std::time::Duration::from_millis(30)).await;
    }
    sock.write_all(b"data: [DONE]\n\n").await?;
    sock.shutdown().await
}

/// A chunk of the first choice with `delta` and an optional finish reason.
pub fn chunk(delta: Value, finish: Option<&str>) -> Value {
    json!({
        "id": "chatcmpl-local", "object": "chat.completion.chunk", "created": 0,
        "model": "loopback",
        "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}],
    })
}

/// `text` streamed word by word.
pub fn text_chunks(text: &str) -> Vec<Value> {
    let mut out: Vec<Value> = text
        .split_inclusive(' ')
        .map(|w| chunk(json!({"role": "assistant", "content": w}), None))
        .collect();
    out.push(chunk(json!({}), Some("stop")));
    out
}
