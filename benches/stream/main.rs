//! Streaming benchmark (issue 6): prints a comparison table.
//!
//! 1. Throughput: a loopback server sends one chat stream of 100,000 chunks (the shape the
//!    llama-cpp-python server writes, compact JSON, about 19 MB); chunks/s through hfkit's typed
//!    stream, through `async-openai`, through Python `huggingface_hub.InferenceClient
//!    .chat_completion(stream=True)`, and a raw `reqwest` body read (no parsing) as the ceiling.
//!    The clients run interleaved (A, B, C, D, A, …) and each row shows the median of its runs.
//! 2. Memory: 10,000 concurrent streams held open idle (each has received its first chunk) from
//!    a server in a child process; RSS growth per stream of a client process, for hfkit's typed
//!    stream and, for reference, a bare `reqwest::Response` and a bare `bytes_stream()` of one,
//!    each in a fresh process of its own.
//! 3. Time to first token: request → first chunk in hand, hfkit vs a raw TCP socket that writes
//!    the same request and reads until the first event's blank line (fresh connection each time,
//!    interleaved, medians).
//!
//! Run it with `bash benches/stream_throughput.sh` (raises the open-file limit, finds Python).
//! Environment: `HFKIT_TEST_PYTHON` (the Python with huggingface_hub 2.4.0; default
//! `.venv/bin/python`), `BENCH_ROUNDS` (default 15; Python runs in the first three), `BENCH_IDLE_STREAMS` (default 10000),
//! `BENCH_TTFT_SAMPLES` (default 300).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use bytes::Bytes;
use futures::StreamExt;
use hfkit::Settings;
use hfkit::inference::InferenceClient;
use hfkit::inference::types::ChatMessage;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

const CHUNKS: usize = 100_000;
const TOKENS: [&str; 16] = [
    "ing", " I", "e", "s", " the", " of", "^", " and", " to", " model", "ed", " a", " in", "ly",
    " is", ".",
];
const ID: &str = "chatcmpl-8f67b4ed-eccb-481e-8352-55669fb639e5";

fn event(delta: &str, finish: &str) -> String {
    format!(
        "data: {{\"id\":\"{ID}\",\"model\":\"tiny\",\"created\":1796037323,\
         \"object\":\"chat.completion.chunk\",\"choices\":[{{\"index\":0,\"delta\":{delta},\
         \"logprobs\":null,\"finish_reason\":{finish}}}]}}\n\n"
    )
}

/// The SSE body: a role chunk, content chunks, a finish chunk (`CHUNKS` in all), `[DONE]`.
fn sse_body(chunks: usize) -> Vec<u8> {
    let mut out = String::with_capacity(chunks * 200);
    out.push_str(&event(r#"{"role":"assistant"}"#, "null"));
    for i in 0..chunks.saturating_sub(2) {
        let t = TOKENS[i % TOKENS.len()];
        out.push_str(&event(&format!("{{\"content\":\"{t}\"}}"), "null"));
    }
    out.push_str(&event("{}", "\"length\""));
    out.push_str("data: [DONE]\n\n");
    out.into_bytes()
}

/// A whole HTTP/1.1 response carrying `body` in 16 KiB chunks of chunked encoding; with
/// `finished` false the terminating chunk is left out (the stream stays open).
fn http_response(body: &[u8], finished: bool) -> Bytes {
    let mut out =
        b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\n\
                    transfer-encoding: chunked\r\nconnection: close\r\n\r\n"
            .to_vec();
    for piece in body.chunks(16 * 1024) {
        out.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
        out.extend_from_slice(piece);
        out.extend_from_slice(b"\r\n");
    }
    if finished {
        out.extend_from_slice(b"0\r\n\r\n");
    }
    Bytes::from(out)
}

/// Reads one request (head and `content-length` body); `false` when the peer went away.
async fn read_request<R: AsyncBufReadExt + Unpin>(r: &mut R) -> bool {
    let mut len = 0usize;
    let mut line = String::new();
    loop {
        line.clear();
        match r.read_line(&mut line).await {
            Ok(0) | Err(_) => return false,
            Ok(_) => {}
        }
        let l = line.trim_end().to_ascii_lowercase();
        if l.is_empty() {
            break;
        }
        if let Some(v) = l.strip_prefix("content-length:") {
            len = v.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0u8; len];
    r.read_exact(&mut body).await.is_ok()
}

/// Serves `response` to every request; with `hold`, keeps each connection open until the client
/// closes it.
async fn serve(listener: TcpListener, response: Bytes, hold: bool) {
    while let Ok((sock, _)) = listener.accept().await {
        let response = response.clone();
        tokio::spawn(async move {
            let _ = sock.set_nodelay(true);
            let mut sock = BufReader::new(sock);
            if !read_request(&mut sock).await {
                return;
            }
            if sock.get_mut().write_all(&response).await.is_err() {
                return;
            }
            if hold {
                let mut b = [0u8; 64];
                while matches!(sock.read(&mut b).await, Ok(n) if n > 0) {}
            } else {
                let _ = sock.get_mut().shutdown().await;
            }
        });
    }
}

/// Starts a server on its own thread (one-thread runtime) and returns its address.
fn spawn_server(response: Bytes, hold: bool) -> Result<SocketAddr> {
    let std_listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    std_listener.set_nonblocking(true)?;
    let addr = std_listener.local_addr()?;
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build();
        if let Ok(rt) = rt {
            rt.block_on(async move {
                if let Ok(l) = TcpListener::from_std(std_listener) {
                    serve(l, response, hold).await;
                }
            });
        }
    });
    Ok(addr)
}

fn settings() -> Result<Settings> {
    Ok(Settings::builder()
        .env_map(HashMap::new())
        .hf_home(std::env::temp_dir().join("hfkit-bench-no-home"))
        .build()?)
}

fn hfkit_client(addr: SocketAddr) -> Result<InferenceClient> {
    Ok(InferenceClient::builder()
        .settings(settings()?)
        .base_url(format!("http://{addr}/v1"))
        .max_retries(0)
        .build()?)
}

async fn run_hfkit(c: &InferenceClient) -> Result<(usize, usize)> {
    let mut s = c
        .chat_completion([ChatMessage::user("hi")])
        .stream()
        .await?;
    let (mut n, mut chars) = (0, 0);
    while let Some(chunk) = s.next().await {
        let chunk = chunk?;
        chars += chunk.delta_text().map_or(0, str::len);
        n += 1;
    }
    Ok((n, chars))
}

async fn run_async_openai(
    c: &async_openai::Client<async_openai::config::OpenAIConfig>,
) -> Result<(usize, usize)> {
    let req: async_openai::types::chat::CreateChatCompletionRequest =
        serde_json::from_value(serde_json::json!({
            "model": "tiny",
            "messages": [{"role": "user", "content": "hi"}],
            "stream": true,
        }))?;
    let mut s = c.chat().create_stream(req).await?;
    let (mut n, mut chars) = (0, 0);
    while let Some(chunk) = s.next().await {
        let chunk = chunk?;
        chars += chunk
            .choices
            .first()
            .and_then(|c| c.delta.content.as_deref())
            .map_or(0, str::len);
        n += 1;
    }
    Ok((n, chars))
}

async fn run_reqwest(c: &reqwest::Client, addr: SocketAddr) -> Result<usize> {
    let resp = c
        .post(format!("http://{addr}/v1/chat/completions"))
        .json(&serde_json::json!({"model": "tiny", "messages": [{"role": "user", "content": "hi"}], "stream": true}))
        .send()
        .await?;
    let mut body = resp.bytes_stream();
    let mut bytes = 0;
    while let Some(b) = body.next().await {
        bytes += b?.len();
    }
    Ok(bytes)
}

const PYTHON_SCRIPT: &str = r#"
import json, sys, time
from huggingface_hub import InferenceClient
client = InferenceClient(base_url=sys.argv[1])
start = time.perf_counter()
n = 0
chars = 0
for chunk in client.chat_completion([{"role": "user", "content": "hi"}], stream=True):
    n += 1
    if chunk.choices and chunk.choices[0].delta.content:
        chars += len(chunk.choices[0].delta.content)
print(json.dumps({"n": n, "chars": chars, "secs": time.perf_counter() - start}))
"#;

fn python() -> Option<PathBuf> {
    let p = std::env::var_os("HFKIT_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python"));
    p.exists().then_some(p)
}

/// One Python run; its own timing (interpreter start and import excluded).
fn run_python(py: &Path, addr: SocketAddr) -> Result<(usize, usize, Duration)> {
    let home = std::env::temp_dir().join("hfkit-bench-python-home");
    let out = Command::new(py)
        .arg("-c")
        .arg(PYTHON_SCRIPT)
        .arg(format!("http://{addr}/v1"))
        .env("HF_HOME", &home)
        .env("HF_HUB_DISABLE_TELEMETRY", "1")
        .env("HF_HUB_DISABLE_XET", "1")
        .env_remove("HF_TOKEN")
        .stderr(Stdio::inherit())
        .output()?;
    if !out.status.success() {
        bail!("python failed: {}", out.status);
    }
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    let n = v["n"].as_u64().context("n")? as usize;
    let chars = v["chars"].as_u64().context("chars")? as usize;
    let secs = v["secs"].as_f64().context("secs")?;
    Ok((n, chars, Duration::from_secs_f64(secs)))
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        return f64::NAN;
    }
    v[v.len() / 2]
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

async fn throughput(rounds: usize) -> Result<Vec<(String, f64, usize)>> {
    let body = sse_body(CHUNKS);
    let body_len = body.len();
    let expected_chars: usize = (0..CHUNKS - 2)
        .map(|i| TOKENS[i % TOKENS.len()].len())
        .sum();
    let addr = spawn_server(http_response(&body, true), false)?;
    eprintln!(
        "stream: {CHUNKS} chunks, {body_len} bytes of SSE ({:.1} MB)",
        body_len as f64 / 1e6
    );
    let hf = hfkit_client(addr)?;
    let oai = async_openai::Client::with_config(
        async_openai::config::OpenAIConfig::new()
            .with_api_base(format!("http://{addr}/v1"))
            .with_api_key("bench"),
    );
    let raw = reqwest::Client::builder().build()?;
    let py = python();
    if py.is_none() {
        eprintln!("no Python with huggingface_hub (set HFKIT_TEST_PYTHON): its row is skipped");
    }
    let mut rates: Vec<(String, Vec<f64>)> = vec![
        ("raw reqwest body read (ceiling, no parsing)".into(), vec![]),
        ("hfkit typed stream".into(), vec![]),
        ("async-openai 0.43 create_stream".into(), vec![]),
        (
            "Python huggingface_hub 2.4.0 chat_completion(stream=True)".into(),
            vec![],
        ),
    ];
    // BENCH_ONLY=hfkit runs hfkit's row alone (for profiling).
    let only_hfkit = std::env::var("BENCH_ONLY").is_ok_and(|v| v == "hfkit");
    for round in 0..rounds {
        if only_hfkit {
            let t = Instant::now();
            let (n, _) = run_hfkit(&hf).await?;
            rates[1].1.push(n as f64 / t.elapsed().as_secs_f64());
            continue;
        }
        let t = Instant::now();
        let bytes = run_reqwest(&raw, addr).await?;
        rates[0].1.push(CHUNKS as f64 / t.elapsed().as_secs_f64());
        if bytes != body_len {
            bail!("reqwest read {bytes} bytes, expected {body_len}");
        }
        let t = Instant::now();
        let (n, chars) = run_hfkit(&hf).await?;
        rates[1].1.push(n as f64 / t.elapsed().as_secs_f64());
        if n != CHUNKS || chars != expected_chars {
            bail!("hfkit got {n} chunks / {chars} chars");
        }
        let t = Instant::now();
        let (n, chars) = run_async_openai(&oai).await?;
        rates[2].1.push(n as f64 / t.elapsed().as_secs_f64());
        if n != CHUNKS || chars != expected_chars {
            bail!("async-openai got {n} chunks / {chars} chars");
        }
        // Python is slow: it runs in the first three rounds only.
        if let Some(py) = py.as_ref().filter(|_| round < 3) {
            let (n, chars, d) = run_python(py, addr)?;
            rates[3].1.push(n as f64 / d.as_secs_f64());
            if n != CHUNKS || chars != expected_chars {
                bail!("python got {n} chunks / {chars} chars");
            }
        }
        eprintln!("round {} of {rounds} done", round + 1);
    }
    Ok(rates
        .into_iter()
        .map(|(name, mut v)| {
            let runs = v.len();
            (name, median(&mut v), runs)
        })
        .collect())
}

fn rss_kib() -> Result<u64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let line = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .context("no VmRSS")?;
    Ok(line
        .split_whitespace()
        .nth(1)
        .context("VmRSS value")?
        .parse()?)
}

/// The idle-stream server, in a child process (so its memory is not counted): prints its
/// address, then serves until killed.
fn idle_server_main() -> Result<()> {
    let body = event(r#"{"role":"assistant","content":"hi"}"#, "null");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let l = TcpListener::bind("127.0.0.1:0").await?;
        println!("{}", l.local_addr()?);
        serve(l, http_response(body.as_bytes(), false), true).await;
        Ok::<(), anyhow::Error>(())
    })
}

struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn idle_memory(streams: usize) -> Result<Vec<(String, f64)>> {
    let mut server = Child(
        Command::new(std::env::current_exe()?)
            .arg("--idle-server")
            .stdout(Stdio::piped())
            .spawn()?,
    );
    let stdout = server.0.stdout.take().context("child stdout")?;
    let mut line = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line)?;
    let addr: SocketAddr = line.trim().parse()?;
    // Each client in a process of its own, so that neither inherits the other's freed memory.
    let mut out = Vec::new();
    for (kind, name) in [
        ("hfkit", "hfkit typed stream"),
        ("reqwest", "bare reqwest::Response (reference)"),
        ("reqwest-stream", "bare reqwest bytes_stream() (reference)"),
    ] {
        let o = Command::new(std::env::current_exe()?)
            .args([
                "--idle-client",
                kind,
                &addr.to_string(),
                &streams.to_string(),
            ])
            .stderr(Stdio::inherit())
            .output()?;
        if !o.status.success() {
            bail!("the {kind} idle client failed ({})", o.status);
        }
        let per_stream: f64 = String::from_utf8(o.stdout)?.trim().parse()?;
        out.push((name.to_owned(), per_stream));
    }
    drop(server);
    Ok(out)
}

/// Holds `streams` idle streams of one client (`hfkit`, `reqwest` or `reqwest-stream`), each with its first chunk
/// read, after one warm-up stream; prints the RSS growth per stream in bytes.
fn idle_client_main(kind: &str, addr: SocketAddr, streams: usize) -> Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    let per_stream = rt.block_on(rt.spawn(idle_client(kind.to_owned(), addr, streams)))??;
    println!("{per_stream}");
    Ok(())
}

async fn idle_client(kind: String, addr: SocketAddr, streams: usize) -> Result<f64> {
    let hf = hfkit_client(addr)?;
    let raw = reqwest::Client::builder().build()?;
    let url = format!("http://{addr}/v1/chat/completions");
    let open = move |kind: &'static str| {
        let (hf, raw, url) = (hf.clone(), raw.clone(), url.clone());
        async move {
            if kind == "reqwest-stream" {
                let r = raw.post(&url).body("{}").send().await?;
                let mut s = Box::pin(r.bytes_stream());
                s.next().await.context("first chunk")??;
                return anyhow::Ok(Held::Body(s));
            }
            if kind == "hfkit" {
                let mut s = hf
                    .chat_completion([ChatMessage::user("hi")])
                    .stream()
                    .await?;
                s.next().await.context("first chunk")??;
                anyhow::Ok(Held::Hfkit(Box::new(s)))
            } else {
                let mut r = raw.post(&url).body("{}").send().await?;
                r.chunk().await?;
                anyhow::Ok(Held::Reqwest(r))
            }
        }
    };
    let kind: &'static str = match kind.as_str() {
        "hfkit" => "hfkit",
        "reqwest" => "reqwest",
        _ => "reqwest-stream",
    };
    drop(open(kind).await?);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let before = rss_kib()?;
    let held: Vec<_> = futures::stream::iter(0..streams)
        .map(|_| open(kind))
        .buffer_unordered(256)
        .collect()
        .await;
    let held: Vec<_> = held.into_iter().collect::<Result<_>>()?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = rss_kib()?;
    let per_stream = after.saturating_sub(before) as f64 * 1024.0 / held.len() as f64;
    drop(held);
    Ok(per_stream)
}

/// One held stream (held only to be kept open).
#[allow(dead_code)]
enum Held {
    // Boxed, so that every variant pays for its own size only.
    Hfkit(Box<hfkit::inference::ChatCompletionStream>),
    Reqwest(reqwest::Response),
    Body(std::pin::Pin<Box<dyn futures::Stream<Item = reqwest::Result<Bytes>> + Send>>),
}

/// Request → first event over a fresh raw TCP connection.
async fn raw_first_event(addr: SocketAddr, request: &[u8]) -> Result<Duration> {
    let t = Instant::now();
    let mut sock = TcpStream::connect(addr).await?;
    sock.set_nodelay(true)?;
    sock.write_all(request).await?;
    let mut buf = Vec::with_capacity(1024);
    let mut tmp = [0u8; 1024];
    loop {
        let n = sock.read(&mut tmp).await?;
        if n == 0 {
            bail!("closed before the first event");
        }
        buf.extend_from_slice(&tmp[..n]);
        if let Some(start) = memchr::memmem::find(&buf, b"data: ")
            && memchr::memmem::find(&buf[start..], b"\n\n").is_some()
        {
            return Ok(t.elapsed());
        }
    }
}

async fn ttft(samples: usize) -> Result<(f64, f64)> {
    let body = format!(
        "{}data: [DONE]\n\n",
        event(r#"{"role":"assistant","content":"hi"}"#, "null")
    );
    let addr = spawn_server(http_response(body.as_bytes(), true), false)?;
    let hf = hfkit_client(addr)?;
    let json = br#"{"model":"dummy","messages":[{"role":"user","content":"hi"}],"stream":true}"#;
    let mut request = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\n\
         accept: */*\r\ncontent-length: {}\r\n\r\n",
        json.len()
    )
    .into_bytes();
    request.extend_from_slice(json);
    let (mut raw, mut ours) = (Vec::new(), Vec::new());
    for _ in 0..samples {
        raw.push(raw_first_event(addr, &request).await?.as_secs_f64() * 1e6);
        let t = Instant::now();
        let mut s = hf
            .chat_completion([ChatMessage::user("hi")])
            .stream()
            .await?;
        s.next().await.context("first chunk")??;
        ours.push(t.elapsed().as_secs_f64() * 1e6);
        drop(s);
    }
    Ok((median(&mut raw), median(&mut ours)))
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--idle-server") {
        return idle_server_main();
    }
    if let [_, flag, kind, addr, n] = args.as_slice()
        && flag == "--idle-client"
    {
        return idle_client_main(kind, addr.parse()?, n.parse()?);
    }
    let rounds = env_usize("BENCH_ROUNDS", 15);
    let idle = env_usize("BENCH_IDLE_STREAMS", 10_000);
    let samples = env_usize("BENCH_TTFT_SAMPLES", 300);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    // The clients run in a task on the runtime's worker thread, where a service's code runs, and
    // not in `block_on` on the main thread (every wake-up would then cross threads).
    let rates = rt.block_on(rt.spawn(throughput(rounds)))??;
    let (raw_us, ours_us) = rt.block_on(rt.spawn(ttft(samples)))??;
    let mem = rt.block_on(rt.spawn(idle_memory(idle)))??;
    let hfkit_rate = rates[1].1;
    println!("\n### Streaming throughput ({CHUNKS} chat chunks, median of interleaved runs)\n");
    println!("| client | chunks/s | hfkit is | runs |");
    println!("|---|---:|---:|---:|");
    for (name, rate, runs) in &rates {
        if *runs == 0 {
            println!("| {name} | not run | | 0 |");
        } else {
            println!(
                "| {name} | {rate:.0} | {:.2}× | {runs} |",
                hfkit_rate / rate
            );
        }
    }
    println!("\n### {idle} concurrent idle streams (RSS growth per stream)\n");
    println!("| client | bytes per stream |");
    println!("|---|---:|");
    for (name, b) in &mem {
        println!("| {name} | {b:.0} ({:.1} KiB) |", b / 1024.0);
    }
    println!("\n### Time to first chunk ({samples} fresh connections each, median)\n");
    println!("| path | µs |");
    println!("|---|---:|");
    println!("| raw TCP socket: write request, read to the first event | {raw_us:.0} |");
    println!("| hfkit `chat_completion().stream()` + first `next()` | {ours_us:.0} |");
    println!("| overhead | {:.0} |", ours_us - raw_us);
    Ok(())
}
