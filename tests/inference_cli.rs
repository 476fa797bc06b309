//! `hfkit infer` against a loopback inference server.

use std::process::Command;

use axum::body::Body;
use axum::http::{Request, Response};

async fn handle(req: Request<Body>) -> Response<Body> {
    let path = req.uri().path().to_owned();
    let body = if path.starts_with("/api/models/") {
        r#"{"id":"org/m","inferenceProviderMapping":{"hf-inference":{"status":"live","providerId":"org/m","task":"text-classification"}}}"#
    } else if path == "/hf-inference/models/org/m" {
        r#"[[{"label":"POSITIVE","score":0.99},{"label":"NEGATIVE","score":0.01}]]"#
    } else {
        return Response::builder()
            .status(404)
            .body(Body::from("not found"))
            .unwrap();
    };
    Response::builder()
        .header("content-type", "application/json")
        .body(Body::from(body))
        .unwrap()
}

fn start() -> String {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async move {
            let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(format!("http://{}", l.local_addr().unwrap()))
                .unwrap();
            let _ = axum::serve(l, axum::Router::new().fallback(handle)).await;
        });
    });
    rx.recv().unwrap()
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

#[test]
fn infer_prints_parsed_labels() {
    let url = start();
    let home = tempfile::tempdir().unwrap();
    for extra in [&[][..], &["--provider", "hf-inference"][..]] {
        let out = hfkit(&url, home.path())
            .args([
                "infer",
                "text-classification",
                "I love this",
                "--model",
                "org/m",
            ])
            .args(extra)
            .args(["--param", "top_k=2"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(
            v,
            serde_json::json!([{"label":"POSITIVE","score":0.99},{"label":"NEGATIVE","score":0.01}])
        );
    }
}

#[test]
fn infer_unknown_task_fails_with_one_line() {
    let home = tempfile::tempdir().unwrap();
    let out = hfkit("http://127.0.0.1:9", home.path())
        .args(["infer", "text-to-banana", "x", "--model", "org/m"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(
        err.contains("unknown inference task \"text-to-banana\""),
        "{err}"
    );
}
