//! How long an inference call may wait on a silent server (inference.md §5.3): task requests have
//! no per-read timeout (a model may think for long before its first byte or between tokens), so
//! the Hub download timeout (`HF_HUB_DOWNLOAD_TIMEOUT`) never cuts them; the client's `timeout`
//! bounds a call up to its response headers, and `stream_idle_timeout` (default: the `timeout`)
//! bounds each silence inside a stream, keep-alive comments counting as activity.
//!
//! The server is a scripted HTTP/1.1 responder on 127.0.0.1: it reads one request, then writes
//! the response pieces of its script with the given pauses.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use futures::StreamExt;
use hfkit::inference::InferenceClient;
use hfkit::inference::types::ChatMessage;
use hfkit::{Error, Settings};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// The Hub download timeout of every client here: shorter than every pause the server makes.
const READ_TIMEOUT_SECS: &str = "1";
/// A pause longer than [`READ_TIMEOUT_SECS`].
const LONG_PAUSE: Duration = Duration::from_millis(1600);

fn chunk(text: &str) -> String {
    format!(
        "data: {{\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"tiny\",\
         \"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"{text}\"}},\"finish_reason\":null}}]}}\n\n"
    )
}

/// One step of a scripted answer: wait, then write.
type Script = Vec<(Duration, String)>;

/// Serves every connection with `script` (as the body of a `200 text/event-stream`, or as a whole
/// response when it starts with `HTTP/`), closing the connection at its end.
async fn serve(script: Script) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let script = script.clone();
            tokio::spawn(async move {
                if read_request(&mut sock).await.is_none() {
                    return;
                }
                let raw = script.first().is_some_and(|s| s.1.starts_with("HTTP/"));
                if !raw {
                    let head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n\
                                cache-control: no-cache\r\nconnection: close\r\n\r\n";
                    if sock.write_all(head.as_bytes()).await.is_err() {
                        return;
                    }
                }
                for (pause, piece) in script {
                    tokio::time::sleep(pause).await;
                    if sock.write_all(piece.as_bytes()).await.is_err() {
                        return;
                    }
                }
                let _ = sock.shutdown().await;
            });
        }
    });
    format!("http://{addr}/v1")
}

/// Reads the request head and its `content-length` body.
async fn read_request(sock: &mut tokio::net::TcpStream) -> Option<()> {
    let mut buf = Vec::new();
    let mut tmp = [0u8; 4096];
    loop {
        let n = sock.read(&mut tmp).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&tmp[..n]);
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let len: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            while buf.len() < end + 4 + len {
                let n = sock.read(&mut tmp).await.ok()?;
                if n == 0 {
                    return None;
                }
                buf.extend_from_slice(&tmp[..n]);
            }
            return Some(());
        }
    }
}

fn builder(base: &str) -> hfkit::inference::InferenceClientBuilder {
    let settings = Settings::builder()
        .env_map(HashMap::from([(
            "HF_HUB_DOWNLOAD_TIMEOUT".to_owned(),
            READ_TIMEOUT_SECS.to_owned(),
        )]))
        .hf_home(std::env::temp_dir().join("hfkit-stream-timeouts-no-home"))
        .build()
        .unwrap();
    assert_eq!(settings.download_timeout(), Duration::from_secs(1));
    InferenceClient::builder()
        .settings(settings)
        .base_url(base)
        .max_retries(0)
}

async fn texts(c: &InferenceClient) -> Result<Vec<String>, Error> {
    let mut s = c
        .chat_completion([ChatMessage::user("hi")])
        .stream()
        .await?;
    let mut out = Vec::new();
    while let Some(item) = s.next().await {
        out.push(item?.delta_text().unwrap_or_default().to_owned());
    }
    Ok(out)
}

#[tokio::test]
async fn a_slow_first_answer_is_not_cut_by_the_download_timeout() {
    let body = r#"{"id":"c","object":"chat.completion","created":1,"model":"tiny","choices":[{"index":0,"message":{"role":"assistant","content":"late"},"finish_reason":"stop"}]}"#;
    let response = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
         connection: close\r\n\r\n{body}",
        body.len()
    );
    let url = serve(vec![(LONG_PAUSE, response)]).await;
    let c = builder(&url).build().unwrap();
    let out = c.chat_completion([ChatMessage::user("hi")]).await.unwrap();
    assert_eq!(out.text(), Some("late"));
}

#[tokio::test]
async fn a_long_pause_between_tokens_is_not_cut_without_an_idle_timeout() {
    let url = serve(vec![
        (Duration::ZERO, chunk("a")),
        (LONG_PAUSE, chunk("b")),
        (Duration::ZERO, "data: [DONE]\n\n".into()),
    ])
    .await;
    // No timeout at all, and a generous call timeout: both let the pause through.
    for c in [
        builder(&url).build().unwrap(),
        builder(&url)
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap(),
    ] {
        assert_eq!(texts(&c).await.unwrap(), ["a", "b"]);
    }
}

#[tokio::test]
async fn the_idle_timeout_cuts_a_silent_stream_and_says_so() {
    let url = serve(vec![
        (Duration::ZERO, chunk("a")),
        (Duration::from_secs(20), chunk("b")),
    ])
    .await;
    let c = builder(&url)
        .timeout(Duration::from_secs(30))
        .stream_idle_timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let started = Instant::now();
    let mut s = c
        .chat_completion([ChatMessage::user("hi")])
        .stream()
        .await
        .unwrap();
    assert_eq!(s.next().await.unwrap().unwrap().delta_text(), Some("a"));
    let err = s.next().await.unwrap().unwrap_err();
    match &err {
        Error::Timeout { elapsed, url, .. } => {
            assert_eq!(*elapsed, Duration::from_millis(300));
            assert!(url.ends_with("/v1/chat/completions"), "{url}");
        }
        other => panic!("expected a timeout, got {other:?}"),
    }
    // It is the idle timeout that fired, not the 20 s pause ending.
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(s.next().await.is_none());
}

#[tokio::test]
async fn keep_alive_comments_keep_a_stream_open() {
    // 1.6 s without a token, but a comment every 200 ms: no silence reaches the 500 ms limit.
    let mut script = vec![(Duration::ZERO, chunk("a"))];
    for _ in 0..8 {
        script.push((Duration::from_millis(200), ": keep-alive\n\n".into()));
    }
    script.push((Duration::ZERO, chunk("b")));
    script.push((Duration::ZERO, "data: [DONE]\n\n".into()));
    let url = serve(script).await;
    let c = builder(&url)
        .stream_idle_timeout(Duration::from_millis(500))
        .build()
        .unwrap();
    assert_eq!(texts(&c).await.unwrap(), ["a", "b"]);
}

#[tokio::test]
async fn the_call_timeout_is_the_default_idle_timeout() {
    let url = serve(vec![(Duration::ZERO, chunk("a")), (LONG_PAUSE, chunk("b"))]).await;
    let c = builder(&url)
        .timeout(Duration::from_millis(400))
        .build()
        .unwrap();
    let err = texts(&c).await.unwrap_err();
    assert!(
        matches!(err, Error::Timeout { elapsed, .. } if elapsed == Duration::from_millis(400)),
        "{err:?}"
    );
}
