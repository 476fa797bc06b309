//! `hfkit infer` for the image, audio, multimodal and tabular tasks against a loopback server:
//! media answers go to `--output` and stdout describes the file.

use std::process::Command;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::State;
use axum::http::{Request, Response};
use base64::Engine;
use serde_json::{Value, json};

type Log = Arc<Mutex<Vec<(String, Vec<u8>)>>>;

fn png(w: u32, h: u32) -> Vec<u8> {
    let mut buf = std::io::Cursor::new(Vec::new());
    image::DynamicImage::new_rgb8(w, h)
        .write_to(&mut buf, image::ImageFormat::Png)
        .unwrap();
    buf.into_inner()
}

fn b64(b: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(b)
}

async fn handle(State(log): State<Log>, req: Request<Body>) -> Response<Body> {
    let path = req.uri().path().to_owned();
    let body = axum::body::to_bytes(req.into_body(), usize::MAX)
        .await
        .unwrap();
    log.lock().unwrap().push((path.clone(), body.to_vec()));
    let model = path.trim_start_matches("/hf-inference/models/org/");
    let (ct, body): (&str, Vec<u8>) = match model {
        "t2i" | "i2i" => ("image/png", png(5, 4)),
        "tts" => ("audio/flac", b"fLaC-audio".to_vec()),
        "seg" => (
            "application/json",
            json!([{"label": "cat", "score": 0.5, "mask": b64(&png(5, 4))}])
                .to_string()
                .into_bytes(),
        ),
        "a2a" => (
            "application/json",
            json!([
                {"label": "s0", "content-type": "audio/flac", "blob": b64(b"fLaC0")},
                {"label": "s1", "content-type": "audio/flac", "blob": b64(b"fLaC1")}
            ])
            .to_string()
            .into_bytes(),
        ),
        "vqa" => (
            "application/json",
            json!([{"answer": "a cat", "score": 0.9}])
                .to_string()
                .into_bytes(),
        ),
        "tab" => ("application/json", br#"["1","0"]"#.to_vec()),
        "zsic" => (
            "application/json",
            json!([{"label": "cat", "score": 0.9}, {"label": "dog", "score": 0.1}])
                .to_string()
                .into_bytes(),
        ),
        _ => {
            return Response::builder()
                .status(404)
                .body(Body::from("not found"))
                .unwrap();
        }
    };
    Response::builder()
        .header("content-type", ct)
        .body(Body::from(body))
        .unwrap()
}

fn start() -> (String, Log) {
    let log: Log = Default::default();
    let l2 = log.clone();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async move {
            let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(format!("http://{}", l.local_addr().unwrap()))
                .unwrap();
            let app = axum::Router::new().fallback(handle).with_state(l2);
            let _ = axum::serve(l, app).await;
        });
    });
    (rx.recv().unwrap(), log)
}

fn hfkit(url: &str, home: &std::path::Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_hfkit"));
    c.env_remove("HF_TOKEN")
        .env_remove("HUGGING_FACE_HUB_TOKEN")
        .env("HF_HOME", home)
        .env("HF_ENDPOINT", url)
        .env("HF_ROUTER_URL", url)
        .env("HF_INFERENCE_ENDPOINT", url);
    c
}

/// Runs `hfkit infer ARGS… --provider hf-inference` and parses stdout as JSON.
fn infer(url: &str, home: &std::path::Path, args: &[&str]) -> Value {
    let out = hfkit(url, home)
        .arg("infer")
        .args(args)
        .args(["--provider", "hf-inference"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{args:?}: stdout is not JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

#[test]
fn media_answers_go_to_the_output_file() {
    let (url, log) = start();
    let home = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("cat.png");
    let o = out.to_str().unwrap();
    let v = infer(
        &url,
        home.path(),
        &[
            "text-to-image",
            "a cat",
            "--model",
            "org/t2i",
            "--param",
            "width=64",
            "--output",
            o,
        ],
    );
    assert_eq!(
        v,
        json!({"output": o, "bytes": png(5, 4).len(), "content_type": "image/png", "width": 5, "height": 4})
    );
    assert_eq!(std::fs::read(&out).unwrap(), png(5, 4));
    let sent: Value = serde_json::from_slice(&log.lock().unwrap()[0].1).unwrap();
    assert_eq!(
        sent,
        json!({"inputs": "a cat", "parameters": {"width": 64}})
    );

    let input = dir.path().join("in.png");
    std::fs::write(&input, png(2, 2)).unwrap();
    let out2 = dir.path().join("blue.png");
    let v = infer(
        &url,
        home.path(),
        &[
            "image-to-image",
            input.to_str().unwrap(),
            "--model",
            "org/i2i",
            "--output",
            out2.to_str().unwrap(),
        ],
    );
    assert_eq!(v["width"], json!(5));
    assert_eq!(log.lock().unwrap()[1].1, png(2, 2), "raw file bytes sent");

    let wav = dir.path().join("hello.flac");
    let v = infer(
        &url,
        home.path(),
        &[
            "text-to-speech",
            "hello",
            "--model",
            "org/tts",
            "--output",
            wav.to_str().unwrap(),
        ],
    );
    assert_eq!(v["content_type"], json!("audio/flac"));
    assert_eq!(std::fs::read(&wav).unwrap(), b"fLaC-audio");

    let clips = dir.path().join("sources.flac");
    let v = infer(
        &url,
        home.path(),
        &[
            "audio-to-audio",
            wav.to_str().unwrap(),
            "--model",
            "org/a2a",
            "--output",
            clips.to_str().unwrap(),
        ],
    );
    assert_eq!(v.as_array().unwrap().len(), 2);
    assert_eq!(v[1]["label"], json!("s1"));
    assert_eq!(
        std::fs::read(dir.path().join("sources-1.flac")).unwrap(),
        b"fLaC1"
    );
}

#[test]
fn json_answers_of_image_and_table_tasks() {
    let (url, _) = start();
    let home = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let img = dir.path().join("cat.png");
    std::fs::write(&img, png(2, 2)).unwrap();
    let i = img.to_str().unwrap();

    let v = infer(
        &url,
        home.path(),
        &["image-segmentation", i, "--model", "org/seg"],
    );
    assert_eq!(v[0]["label"], json!("cat"));
    assert_eq!(v[0]["mask"], json!(b64(&png(5, 4))));

    let v = infer(
        &url,
        home.path(),
        &[
            "zero-shot-image-classification",
            "--image",
            i,
            "--labels",
            "cat,dog",
            "--model",
            "org/zsic",
        ],
    );
    assert_eq!(v[0]["label"], json!("cat"));

    let v = infer(
        &url,
        home.path(),
        &[
            "visual-question-answering",
            "--image",
            i,
            "--question",
            "what?",
            "--model",
            "org/vqa",
        ],
    );
    assert_eq!(v, json!([{"answer": "a cat", "score": 0.9}]));

    let table = dir.path().join("t.json");
    std::fs::write(&table, r#"{"a": ["1", "2"], "b": [3, 4]}"#).unwrap();
    let v = infer(
        &url,
        home.path(),
        &[
            "tabular-classification",
            "--table",
            table.to_str().unwrap(),
            "--model",
            "org/tab",
        ],
    );
    assert_eq!(v, json!(["1", "0"]));
}

#[test]
fn media_task_without_output_fails_before_sending() {
    let (url, log) = start();
    let home = tempfile::tempdir().unwrap();
    let out = hfkit(&url, home.path())
        .args(["infer", "text-to-image", "a cat", "--model", "org/t2i"])
        .args(["--provider", "hf-inference"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("--output FILE"), "{err}");
    assert!(log.lock().unwrap().is_empty());
}
