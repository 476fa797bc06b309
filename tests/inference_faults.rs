//! Faults and token scoping of the inference client, against scripted loopback servers.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{Request, Response};
use hfkit::inference::{BinaryInput, InferenceClient, Provider, Task};
use hfkit::{Error, Settings};

/// One scripted answer: status, headers, body.
type Answer = (u16, Vec<(&'static str, &'static str)>, Vec<u8>);

#[derive(Debug, Clone)]
struct Seen {
    path: String,
    authorization: Option<String>,
    content_type: Option<String>,
    wait_header: Option<String>,
    body: Vec<u8>,
}

#[derive(Clone, Default)]
struct Script {
    answers: Arc<Mutex<Vec<Answer>>>,
    seen: Arc<Mutex<Vec<Seen>>>,
}

async fn handle(State(s): State<Script>, req: Request<Body>) -> Response<Body> {
    let (parts, body) = req.into_parts();
    let h = |n: &str| {
        parts
            .headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let body: Bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap();
    s.seen.lock().unwrap().push(Seen {
        path: parts.uri.path().to_owned(),
        authorization: h("authorization"),
        content_type: h("content-type"),
        wait_header: h("x-wait-for-model"),
        body: body.to_vec(),
    });
    let next = {
        let mut a = s.answers.lock().unwrap();
        if a.len() > 1 {
            a.remove(0)
        } else {
            a[0].clone()
        }
    };
    let mut b = Response::builder().status(next.0);
    for (k, v) in next.1 {
        b = b.header(k, v);
    }
    b.body(Body::from(next.2)).unwrap()
}

async fn server(answers: Vec<Answer>) -> (String, Script) {
    let script = Script {
        answers: Arc::new(Mutex::new(answers)),
        seen: Default::default(),
    };
    let app = axum::Router::new()
        .fallback(handle)
        .with_state(script.clone());
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(l, app).await;
    });
    (url, script)
}

fn json(status: u16, body: &str) -> Answer {
    (
        status,
        vec![("content-type", "application/json")],
        body.as_bytes().to_vec(),
    )
}

fn settings(env_token: Option<&str>) -> Settings {
    let mut env = HashMap::new();
    if let Some(t) = env_token {
        env.insert("HF_TOKEN".to_owned(), t.to_owned());
    }
    Settings::builder()
        .env_map(env)
        .hf_home(std::env::temp_dir().join("hfkit-inference-faults-no-home"))
        .build()
        .unwrap()
}

fn client(url: &str) -> hfkit::inference::InferenceClientBuilder {
    InferenceClient::builder()
        .settings(settings(None))
        .provider(Provider::HfInference)
        .router_url(url)
        .hub_url(url)
        .legacy_inference_url(url)
        .retry_base_delay(Duration::from_millis(50))
}

const LABELS: &str = r#"[[{"label":"POSITIVE","score":0.9}]]"#;

#[tokio::test]
async fn loading_model_is_waited_for() {
    let (url, s) = server(vec![
        json(
            503,
            r#"{"error":"Model m is currently loading","estimated_time":0.3}"#,
        ),
        json(200, LABELS),
    ])
    .await;
    let c = client(&url).build().unwrap();
    let t = Instant::now();
    let got = c.text_classification("hi").model("org/m").await.unwrap();
    assert_eq!(got[0].label, "POSITIVE");
    assert!(
        t.elapsed() >= Duration::from_millis(300),
        "waited estimated_time"
    );
    let seen = s.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].path, "/hf-inference/models/org/m");
    assert_eq!(seen[0].content_type.as_deref(), Some("application/json"));
    assert_eq!(seen[0].body, br#"{"inputs":"hi","parameters":{}}"#);
}

#[tokio::test]
async fn loading_model_without_waiting_is_a_typed_error() {
    let (url, s) = server(vec![json(
        503,
        r#"{"error":"Model m is currently loading","estimated_time":20.0}"#,
    )])
    .await;
    let c = client(&url).wait_for_model(false).build().unwrap();
    let err = c
        .text_classification("hi")
        .model("org/m")
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::ModelLoading { estimated_time: Some(t), .. } if t == 20.0),
        "{err:?}"
    );
    assert_eq!(err.status(), Some(503));
    let seen = s.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].wait_header, None, "explicit false sends no header");
}

#[tokio::test]
async fn loading_model_longer_than_the_timeout_fails_in_time() {
    let (url, _s) = server(vec![json(
        503,
        r#"{"error":"loading","estimated_time":60.0}"#,
    )])
    .await;
    let c = client(&url)
        .timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    let t = Instant::now();
    let err = c
        .text_classification("hi")
        .model("org/m")
        .await
        .unwrap_err();
    assert!(matches!(err, Error::ModelLoading { .. }), "{err:?}");
    assert!(t.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn rate_limit_honours_retry_after_then_succeeds() {
    let (url, s) = server(vec![
        (
            429,
            vec![("content-type", "application/json"), ("retry-after", "0")],
            br#"{"error":"Rate limit reached. Please log in or use a HF access token"}"#.to_vec(),
        ),
        json(200, LABELS),
    ])
    .await;
    let c = client(&url).build().unwrap();
    let got = c.text_classification("hi").model("org/m").await.unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(s.seen.lock().unwrap().len(), 2);

    // Without retries: the typed error with the server's delay and message.
    let (url, _s) = server(vec![(
        429,
        vec![
            ("content-type", "application/json"),
            ("retry-after", "7"),
            ("x-request-id", "req-42"),
        ],
        br#"{"error":"Rate limit reached"}"#.to_vec(),
    )])
    .await;
    let c = client(&url).max_retries(0).build().unwrap();
    let err = c
        .text_classification("hi")
        .model("org/m")
        .await
        .unwrap_err();
    match &err {
        Error::RateLimited { retry_after, ctx } => {
            assert!(retry_after.is_some_and(|d| d >= Duration::from_secs(7)));
            assert_eq!(ctx.request_id.as_deref(), Some("req-42"));
            assert_eq!(ctx.server_message.as_deref(), Some("Rate limit reached"));
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn html_500_is_a_typed_error_without_retry() {
    let (url, s) = server(vec![(
        500,
        vec![("content-type", "text/html")],
        b"<html><body><h1>500 Internal Server Error</h1></body></html>".to_vec(),
    )])
    .await;
    let c = client(&url).build().unwrap();
    let err = c.fill_mask("a [MASK]").model("org/m").await.unwrap_err();
    assert!(
        matches!(&err, Error::Http(ctx) if ctx.status == 500),
        "{err:?}"
    );
    assert!(
        err.server_message()
            .unwrap()
            .contains("500 Internal Server Error")
    );
    assert_eq!(s.seen.lock().unwrap().len(), 1, "500 is not retried");
}

#[tokio::test]
async fn truncated_or_wrong_json_is_a_typed_error() {
    let (url, _s) = server(vec![json(200, r#"[[{"label":"POSITIVE","sco"#)]).await;
    let c = client(&url).build().unwrap();
    let err = c
        .text_classification("hi")
        .model("org/m")
        .await
        .unwrap_err();
    assert!(matches!(err, Error::MalformedResponse { .. }), "{err:?}");

    let (url, _s) = server(vec![json(200, r#"{"unexpected":true}"#)]).await;
    let c = client(&url).build().unwrap();
    let err = c.summarization("hi").model("org/m").await.unwrap_err();
    assert!(matches!(err, Error::MalformedResponse { .. }), "{err:?}");
}

#[tokio::test]
async fn tgi_validation_error_keeps_error_type() {
    let (url, _s) = server(vec![json(
        422,
        r#"{"error":"Input validation error: `temperature` must be strictly positive","error_type":"validation"}"#,
    )])
    .await;
    let c = client(&url).build().unwrap();
    let err = c
        .text_generation("p")
        .model("org/m")
        .temperature(0.0)
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), Some("validation"));
    assert!(err.to_string().contains("strictly positive"), "{err}");
}

#[tokio::test]
async fn bad_input_fails_before_any_request() {
    let (url, s) = server(vec![json(200, LABELS)]).await;
    assert!("no-such-provider".parse::<Provider>().is_err());
    assert!("no-such-task".parse::<Task>().is_err());
    // A provider that cannot serve the task.
    let c = client(&url).provider(Provider::Together).build().unwrap();
    let err = c.fill_mask("a [MASK]").model("org/m").await.unwrap_err();
    assert!(matches!(err, Error::InvalidInput(_)), "{err:?}");
    // No model and no recommended models.
    let c = client(&url).build().unwrap();
    let err = c.text_classification("hi").await.unwrap_err();
    assert!(matches!(err, Error::InvalidInput(_)), "{err:?}");
    // Chat through the auto-router without an hf_ token.
    let c = client(&url).provider(Provider::Auto).build().unwrap();
    let err = c
        .chat_completion([hfkit::inference::types::ChatMessage::user("hi")])
        .model("org/m")
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidInput(_)), "{err:?}");
    // Lone src_lang, empty labels, empty chat, unreadable file, empty bytes.
    let c = client(&url).build().unwrap();
    assert!(matches!(
        c.translation("x").model("m").src_lang("en").await,
        Err(Error::InvalidInput(_))
    ));
    assert!(matches!(
        c.zero_shot_classification("x", Vec::<String>::new())
            .model("m")
            .await,
        Err(Error::InvalidInput(_))
    ));
    assert!(matches!(
        c.chat_completion(Vec::new()).model("m").await,
        Err(Error::InvalidInput(_))
    ));
    assert!(matches!(
        c.image_classification(BinaryInput::path("/nonexistent/img.png"))
            .model("m")
            .await,
        Err(Error::Io { .. })
    ));
    assert!(matches!(
        c.image_classification(Vec::new()).model("m").await,
        Err(Error::InvalidInput(_))
    ));
    assert!(matches!(
        c.text_classification("x").model("a/../b").await,
        Err(Error::InvalidInput(_))
    ));
    // Model and base_url on one client.
    assert!(
        InferenceClient::builder()
            .settings(settings(None))
            .model("m")
            .base_url("http://127.0.0.1:1")
            .build()
            .is_err()
    );
    assert!(s.seen.lock().unwrap().is_empty(), "nothing was sent");
}

#[tokio::test]
async fn auto_provider_uses_the_first_mapping_entry() {
    let (url, s) = server(vec![
        json(
            200,
            r#"{"id":"org/m","inferenceProviderMapping":{"hf-inference":{"status":"live","providerId":"org/m","task":"text-classification"}}}"#,
        ),
        json(200, LABELS),
    ])
    .await;
    let c = client(&url).provider(Provider::Auto).build().unwrap();
    c.text_classification("hi").model("org/m").await.unwrap();
    c.text_classification("hi").model("org/m").await.unwrap();
    let seen = s.seen.lock().unwrap().clone();
    let paths: Vec<&str> = seen.iter().map(|s| s.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "/api/models/org/m",
            "/hf-inference/models/org/m",
            "/hf-inference/models/org/m"
        ],
        "the mapping is fetched once per client"
    );
}

#[tokio::test]
async fn token_goes_to_the_router_but_not_to_a_foreign_input_url() {
    let (router, rs) = server(vec![json(200, r#"[{"label":"cat","score":1.0}]"#)]).await;
    let (other, os) = server(vec![(
        200,
        vec![("content-type", "image/png")],
        b"\x89PNG\r\n\x1a\nrest".to_vec(),
    )])
    .await;
    let c = client(&router).token("hf_secret").build().unwrap();
    let got = c
        .image_classification(BinaryInput::url(format!("{other}/cat.png")))
        .model("org/m")
        .await
        .unwrap();
    assert_eq!(got[0].label, "cat");
    let o = os.seen.lock().unwrap().clone();
    assert_eq!(o.len(), 1);
    assert_eq!(o[0].authorization, None, "no token to a foreign input URL");
    let r = rs.seen.lock().unwrap().clone();
    assert_eq!(r[0].authorization.as_deref(), Some("Bearer hf_secret"));
    assert_eq!(r[0].content_type.as_deref(), Some("image/png"));
    assert_eq!(
        r[0].body, b"\x89PNG\r\n\x1a\nrest",
        "raw bytes without parameters"
    );
}

#[tokio::test]
async fn url_models_get_only_an_explicit_token() {
    let (url, s) = server(vec![json(200, LABELS)]).await;
    // Implicit (environment) token: never to a user-supplied URL.
    let c = InferenceClient::builder()
        .settings(settings(Some("hf_implicit")))
        .build()
        .unwrap();
    c.text_classification("hi")
        .model(format!("{url}/tei"))
        .await
        .unwrap();
    // Explicit token: sent.
    let c = InferenceClient::builder()
        .settings(settings(None))
        .token("my-key")
        .model(format!("{url}/tei/"))
        .build()
        .unwrap();
    c.text_classification("hi").await.unwrap();
    let seen = s.seen.lock().unwrap().clone();
    assert_eq!(seen[0].path, "/tei");
    assert_eq!(seen[0].authorization, None);
    assert_eq!(seen[1].path, "/tei/", "URL called verbatim");
    assert_eq!(seen[1].authorization.as_deref(), Some("Bearer my-key"));
}

#[tokio::test]
async fn binary_input_with_parameters_is_base64_json() {
    let (url, s) = server(vec![json(200, r#"[{"label":"a","score":0.5}]"#)]).await;
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("a.wav");
    std::fs::write(&p, b"RIFF0000WAVE").unwrap();
    let c = client(&url).build().unwrap();
    c.audio_classification(BinaryInput::path(&p))
        .model("org/m")
        .await
        .unwrap();
    c.audio_classification(BinaryInput::path(&p))
        .model("org/m")
        .top_k(2u32)
        .await
        .unwrap();
    let seen = s.seen.lock().unwrap().clone();
    assert_eq!(seen[0].content_type.as_deref(), Some("audio/x-wav"));
    assert_eq!(seen[0].body, b"RIFF0000WAVE");
    assert_eq!(seen[1].content_type.as_deref(), Some("application/json"));
    let v: serde_json::Value = serde_json::from_slice(&seen[1].body).unwrap();
    assert_eq!(
        v,
        serde_json::json!({"inputs": "UklGRjAwMDBXQVZF", "parameters": {"top_k": 2}})
    );
}

#[test]
fn blocking_twin_works_from_plain_main() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (url, s) = rt.block_on(server(vec![json(200, LABELS)]));
    let c = hfkit::blocking::InferenceClient::from_async(client(&url).build().unwrap()).unwrap();
    let got = c
        .text_classification("hi")
        .model("org/m")
        .top_k(1u32)
        .send()
        .unwrap();
    assert_eq!(got[0].label, "POSITIVE");
    assert_eq!(
        s.seen.lock().unwrap()[0].body,
        br#"{"inputs":"hi","parameters":{"top_k":1}}"#
    );
}
