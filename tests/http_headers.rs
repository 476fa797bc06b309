//! Headers every request carries: the user-agent (`hfkit/<version>; rust/<version>`, with the
//! configured prefix and `HF_HUB_USER_AGENT_ORIGIN`, or the bare name when telemetry is off) and a
//! fresh `X-Amzn-Trace-Id` per request.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Request, State};
use axum::response::IntoResponse;
use hfkit::HubClient;
use hfkit::config::Settings;

type Seen = Arc<Mutex<Vec<(String, String)>>>;

/// A server answering every request with `{}` and recording its user-agent and trace id.
async fn recorder(seen: Seen) -> String {
    async fn answer(State(seen): State<Seen>, req: Request) -> impl IntoResponse {
        let get = |k: &str| {
            req.headers()
                .get(k)
                .map(|v| v.to_str().unwrap().to_string())
                .unwrap_or_default()
        };
        seen.lock()
            .unwrap()
            .push((get("user-agent"), get("x-amzn-trace-id")));
        axum::Json(serde_json::json!({"id": "acme/tiny", "sha": "0".repeat(40)}))
    }
    let app = axum::Router::new().fallback(answer).with_state(seen);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

async fn user_agents(env: &[(&str, &str)], prefix: Option<&str>) -> Vec<(String, String)> {
    let seen: Seen = Default::default();
    let url = recorder(seen.clone()).await;
    let env: HashMap<String, String> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let mut b = Settings::builder().env_map(env).endpoint(&url);
    if let Some(p) = prefix {
        b = b.user_agent_prefix(p);
    }
    let hub = HubClient::from_settings(b.build().unwrap()).unwrap();
    for _ in 0..2 {
        let _ = hub.model("acme/tiny").info().await;
    }
    let out = seen.lock().unwrap().clone();
    assert_eq!(out.len(), 2);
    out
}

#[tokio::test]
async fn user_agent_and_trace_id() {
    let version = env!("CARGO_PKG_VERSION");
    let seen = user_agents(&[], None).await;
    let (ua, trace) = &seen[0];
    assert!(ua.starts_with(&format!("hfkit/{version}; rust/")), "{ua}");
    assert_eq!(trace.len(), 36, "{trace}");
    assert_ne!(seen[0].1, seen[1].1, "each request gets its own trace id");

    let seen = user_agents(&[("HF_HUB_USER_AGENT_ORIGIN", "ci")], Some("myapp/1.0")).await;
    let ua = &seen[0].0;
    assert!(
        ua.starts_with(&format!("myapp/1.0; hfkit/{version}; rust/")),
        "{ua}"
    );
    assert!(ua.ends_with("; origin/ci"), "{ua}");

    let seen = user_agents(&[("HF_HUB_DISABLE_TELEMETRY", "1")], Some("myapp/1.0")).await;
    assert_eq!(seen[0].0, format!("hfkit/{version}"));
}
