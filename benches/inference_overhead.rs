//! Client overhead per small JSON inference request (`text_classification`) against a loopback
//! server: hfkit's `InferenceClient` vs a bare `reqwest` call doing the same request (serialise
//! the body, POST it with the same content type and accept headers, read and parse the typed
//! answer), and vs Python `huggingface_hub` 2.4.0's `InferenceClient` (a child process driven
//! batch by batch).
//!
//! The sides are interleaved — hfkit, reqwest, Python, hfkit, … — one batch each per round, and
//! the table reports per-request medians over the rounds plus the median of the per-round
//! ratios. Run: `cargo bench --bench inference_overhead [-- --rounds N --batch N --no-python]`.
//! `--bare-headers` (a diagnostic) makes the bare call also send the two headers hfkit must add
//! to every request (its user-agent and a fresh `X-Amzn-Trace-Id`), to tell their cost apart
//! from the client's own.
//! Python comes from `HFKIT_TEST_PYTHON`, else `.venv/bin/python` (`bash .ci/run` makes it);
//! without one the Python column is left out.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Instant;

use serde::{Deserialize, Serialize};

const ANSWER: &str =
    r#"[[{"label":"POSITIVE","score":0.9998},{"label":"NEGATIVE","score":0.0002}]]"#;

/// The request body, as the bare client builds it.
#[derive(Serialize)]
struct Body<'a> {
    inputs: &'a str,
    parameters: serde_json::Map<String, serde_json::Value>,
}

/// One label of the answer.
#[derive(Deserialize)]
#[allow(dead_code)]
struct Label {
    label: String,
    score: f64,
}

struct Args {
    rounds: usize,
    batch: usize,
    python_batch: usize,
    python: bool,
    bare_headers: bool,
}

fn args() -> Args {
    let mut a = Args {
        rounds: 21,
        batch: 200,
        python_batch: 50,
        python: true,
        bare_headers: false,
    };
    let argv: Vec<String> = std::env::args().collect();
    let mut i = 1;
    while i < argv.len() {
        let next = argv.get(i + 1).and_then(|v| v.parse().ok());
        match argv[i].as_str() {
            "--rounds" => a.rounds = next.unwrap_or(a.rounds),
            "--batch" => a.batch = next.unwrap_or(a.batch),
            "--python-batch" => a.python_batch = next.unwrap_or(a.python_batch),
            "--no-python" => a.python = false,
            "--bare-headers" => a.bare_headers = true,
            _ => {}
        }
        i += 1;
    }
    a
}

/// Starts the loopback server on its own thread and runtime; returns its URL.
fn serve() -> String {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("server runtime");
        rt.block_on(async move {
            let l = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind");
            tx.send(l.local_addr().expect("addr")).expect("send");
            // The body is read before answering, as a real server does (an unread body can
            // make the server close a keep-alive connection).
            let app = axum::Router::new().fallback(|body: axum::body::Bytes| async move {
                assert!(!body.is_empty());
                ([("content-type", "application/json")], ANSWER)
            });
            let _ = axum::serve(l, app).await;
        });
    });
    format!("http://{}", rx.recv().expect("server address"))
}

fn python() -> Option<PathBuf> {
    let p = std::env::var_os("HFKIT_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python"));
    p.exists().then_some(p)
}

const PY: &str = r#"
import sys, time
from huggingface_hub import InferenceClient
c = InferenceClient(model=sys.argv[1])
c.text_classification("I love this")
print("ready", flush=True)
for line in sys.stdin:
    n = int(line)
    t = time.perf_counter()
    for _ in range(n):
        c.text_classification("I love this")
    print((time.perf_counter() - t) / n, flush=True)
"#;

struct Py {
    child: Child,
    out: BufReader<std::process::ChildStdout>,
}

impl Py {
    fn start(exe: &PathBuf, url: &str) -> Py {
        let home = std::env::temp_dir().join("hfkit-bench-python-home");
        let mut child = Command::new(exe)
            .arg("-c")
            .arg(PY)
            .arg(url)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HF_HOME", home)
            .env("HF_HUB_DISABLE_TELEMETRY", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start python");
        let mut out = BufReader::new(child.stdout.take().expect("stdout"));
        let mut line = String::new();
        out.read_line(&mut line).expect("python ready");
        assert_eq!(line.trim(), "ready", "python did not start");
        Py { child, out }
    }

    /// Seconds per request over a batch of `n`.
    fn batch(&mut self, n: usize) -> f64 {
        let stdin = self.child.stdin.as_mut().expect("stdin");
        writeln!(stdin, "{n}").expect("write");
        stdin.flush().expect("flush");
        let mut line = String::new();
        self.out.read_line(&mut line).expect("read");
        line.trim().parse().expect("a number")
    }
}

impl Drop for Py {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// On-CPU time of the calling thread in seconds (Linux `/proc/thread-self/schedstat`), so the
/// client-side cost can be told apart from time spent waiting on a busy machine.
fn thread_cpu() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: f64 = s.split_whitespace().next()?.parse().ok()?;
    Some(ns / 1e9)
}

/// Runs `n` calls of `f`; returns (wall, on-CPU) seconds per call.
fn timed(n: usize, mut f: impl FnMut()) -> (f64, f64) {
    let c0 = thread_cpu().unwrap_or(0.0);
    let t = Instant::now();
    for _ in 0..n {
        f();
    }
    let wall = t.elapsed().as_secs_f64() / n as f64;
    let cpu = (thread_cpu().unwrap_or(0.0) - c0) / n as f64;
    (wall, cpu)
}

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let n = s.len();
    if n % 2 == 1 {
        s[n / 2]
    } else {
        (s[n / 2 - 1] + s[n / 2]) / 2.0
    }
}

fn main() {
    let a = args();
    let url = serve();
    let model_url = format!("{url}/models/org/text-classification");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let settings = hfkit::Settings::builder()
        .env_map(HashMap::new())
        .hf_home(std::env::temp_dir().join("hfkit-bench-no-home"))
        .build()
        .expect("settings");
    let client = hfkit::inference::InferenceClient::builder()
        .settings(settings)
        .model(&model_url)
        .max_retries(0)
        .build()
        .expect("client");
    let bare = reqwest::Client::builder().build().expect("reqwest");
    let user_agent = client.http().user_agent().to_owned();

    let hfkit_call = || {
        rt.block_on(async {
            let labels = client
                .text_classification("I love this")
                .await
                .expect("hfkit call");
            assert_eq!(labels.len(), 2);
        })
    };
    let bare_call = || {
        rt.block_on(async {
            let body = serde_json::to_vec(&Body {
                inputs: "I love this",
                parameters: serde_json::Map::new(),
            })
            .expect("body");
            let mut rb = bare
                .post(&model_url)
                .header("accept", "*/*")
                .header("content-type", "application/json");
            if a.bare_headers {
                rb = rb
                    .header("x-amzn-trace-id", uuid::Uuid::new_v4().to_string())
                    .header("user-agent", &user_agent);
            }
            let resp = rb.body(body).send().await.expect("send");
            assert!(resp.status().is_success());
            let bytes = resp.bytes().await.expect("body");
            let mut v: Vec<Vec<Label>> = serde_json::from_slice(&bytes).expect("parse");
            let labels = v.swap_remove(0);
            assert_eq!(labels.len(), 2);
        })
    };
    let hfkit_batch = |n: usize| timed(n, hfkit_call);
    let bare_batch = |n: usize| timed(n, bare_call);
    let mut py = if a.python {
        python().map(|p| Py::start(&p, &model_url))
    } else {
        None
    };
    if a.python && py.is_none() {
        eprintln!(
            "no Python (set HFKIT_TEST_PYTHON or run `bash .ci/run`): Python column left out"
        );
    }

    // Warm-up: connections, allocator, caches.
    hfkit_batch(a.batch);
    bare_batch(a.batch);
    if let Some(p) = py.as_mut() {
        p.batch(a.python_batch);
    }
    let (mut h, mut b, mut p) = (Vec::new(), Vec::new(), Vec::new());
    let (mut hc, mut bc) = (Vec::new(), Vec::new());
    let (mut hb, mut hbc, mut ph) = (Vec::new(), Vec::new(), Vec::new());
    let started = Instant::now();
    for round in 0..a.rounds {
        // Alternate which Rust side goes first, so neither always follows Python.
        let ((th, thc), (tb, tbc)) = if round % 2 == 0 {
            let x = hfkit_batch(a.batch);
            (x, bare_batch(a.batch))
        } else {
            let y = bare_batch(a.batch);
            (hfkit_batch(a.batch), y)
        };
        h.push(th);
        b.push(tb);
        hc.push(thc);
        bc.push(tbc);
        hb.push(th / tb);
        hbc.push(thc / tbc);
        if let Some(pp) = py.as_mut() {
            let tp = pp.batch(a.python_batch);
            p.push(tp);
            ph.push(tp / th);
        }
    }
    let us = |s: f64| s * 1e6;
    println!(
        "\ninference overhead: text_classification over loopback, {} rounds x {} requests (Python {} per round), {:.1} s\n",
        a.rounds,
        a.batch,
        a.python_batch,
        started.elapsed().as_secs_f64()
    );
    println!(
        "| client | wall µs/request, median | min | max | client-thread CPU µs/request, median |"
    );
    println!("|---|---|---|---|---|");
    let row = |name: &str, v: &[f64], cpu: Option<&[f64]>| {
        let min = v.iter().copied().fold(f64::INFINITY, f64::min);
        let max = v.iter().copied().fold(0.0, f64::max);
        let cpu = cpu.map_or("n/a (other process)".to_owned(), |c| {
            format!("{:.1}", us(median(c)))
        });
        println!(
            "| {name} | {:.1} | {:.1} | {:.1} | {cpu} |",
            us(median(v)),
            us(min),
            us(max)
        );
    };
    let bare_name = if a.bare_headers {
        "bare reqwest + hfkit's user-agent and trace id"
    } else {
        "bare reqwest"
    };
    row(bare_name, &b, Some(&bc));
    row("hfkit InferenceClient", &h, Some(&hc));
    if !p.is_empty() {
        row("Python InferenceClient 2.4.0", &p, None);
    }
    println!();
    let verdict = |r: f64| if r <= 1.10 { "ok" } else { "OVER" };
    println!(
        "hfkit / bare reqwest, wall, median of per-round ratios: {:.3}x (target <= 1.10x) {}",
        median(&hb),
        verdict(median(&hb))
    );
    println!(
        "hfkit / bare reqwest, client CPU, median of per-round ratios: {:.3}x {}",
        median(&hbc),
        verdict(median(&hbc))
    );
    if !ph.is_empty() {
        println!(
            "Python / hfkit, wall, median of per-round ratios: {:.2}x",
            median(&ph)
        );
    }
}
