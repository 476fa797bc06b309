//! `get_endpoint_info` and `health_check` (inference.md §1.6, §8) against the TGI-protocol
//! loopback server (`support::tgi`): `GET {url}/info` parsed for TGI and TEI bodies, `GET
//! {url}/health` as a boolean, URL handling (trailing `/`, query), the Hub-id route, the token
//! rules, refusals before any I/O and the blocking twins.

mod support;

use std::collections::HashMap;

use hfkit::inference::{InferenceClient, InferenceClientBuilder, Provider};
use hfkit::{Error, Settings};
use serde_json::json;
use support::tgi;

fn settings(env: &[(&str, &str)]) -> Settings {
    Settings::builder()
        .env_map(
            env.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<HashMap<_, _>>(),
        )
        .hf_home(std::env::temp_dir().join("hfkit-endpoint-info-tests-no-home"))
        .build()
        .unwrap()
}

fn builder() -> InferenceClientBuilder {
    InferenceClient::builder().settings(settings(&[]))
}

#[tokio::test]
async fn tgi_info_is_parsed_with_the_raw_answer() {
    let srv = tgi::start().await;
    let c = builder().base_url(srv.url.clone()).build().unwrap();
    let info = c.get_endpoint_info(None).await.unwrap();
    assert_eq!(info.model_id.as_deref(), Some("org/tiny-llm"));
    assert_eq!(
        info.model_sha.as_deref(),
        Some("e985a63cdc139290c5f700ff1929f0b5942cced2")
    );
    assert_eq!(info.model_pipeline_tag.as_deref(), Some("text-generation"));
    assert_eq!(info.max_input_tokens, Some(1024));
    assert_eq!(info.max_input(), Some(1024));
    assert_eq!(info.max_total_tokens, Some(2048));
    assert_eq!(info.max_client_batch_size, Some(4));
    assert_eq!(info.max_concurrent_requests, Some(128));
    assert_eq!(info.max_best_of, Some(2));
    assert_eq!(info.max_stop_sequences, Some(4));
    assert_eq!(info.validation_workers, Some(2));
    assert_eq!(info.router.as_deref(), Some("text-generation-router"));
    assert_eq!(info.version.as_deref(), Some("3.3.6-dev0"));
    assert_eq!(info.sha, None);
    assert_eq!(info.docker_label, None);
    assert!(info.is_tgi() && !info.is_tei());
    assert_eq!(json!(info.raw), tgi::tgi_info(), "nothing is lost");
    let seen = srv.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(
        (seen[0].method.as_str(), seen[0].path.as_str()),
        ("GET", "/info")
    );
    assert_eq!(seen[0].query, None);
}

#[tokio::test]
async fn tei_info_is_parsed() {
    let srv = tgi::start().await;
    let c = builder().model(format!("{}/tei", srv.url)).build().unwrap();
    let info = c.get_endpoint_info(None).await.unwrap();
    assert_eq!(info.model_id.as_deref(), Some("thenlper/gte-base"));
    assert_eq!(info.model_dtype.as_deref(), Some("float16"));
    assert_eq!(info.served_model_name.as_deref(), Some("thenlper/gte-base"));
    assert_eq!(info.model_kind(), Some("embedding"));
    assert_eq!(
        info.model_type,
        Some(json!({"embedding": {"pooling": "cls"}}))
    );
    assert_eq!(info.max_input_length, Some(512));
    assert_eq!(info.max_input(), Some(512));
    assert_eq!(info.max_input_tokens, None);
    assert_eq!(info.max_batch_tokens, Some(16384));
    assert_eq!(info.max_batch_requests, None);
    assert_eq!(info.max_client_batch_size, Some(32));
    assert_eq!(info.auto_truncate, Some(false));
    assert_eq!(info.tokenization_workers, Some(4));
    assert_eq!(info.docker_label.as_deref(), Some("sha-1f2a3b4"));
    assert!(info.is_tei() && !info.is_tgi());
    assert_eq!(json!(info.raw), tgi::tei_info());
    assert_eq!(srv.seen()[0].path, "/tei/info");
}

#[tokio::test]
async fn trailing_slashes_are_stripped_and_the_query_is_kept() {
    let srv = tgi::start().await;
    let c = builder().build().unwrap();
    let base = &srv.url;
    c.get_endpoint_info(Some(&format!("{base}/")))
        .await
        .unwrap();
    c.get_endpoint_info(Some(&format!("{base}/tei//")))
        .await
        .unwrap();
    c.get_endpoint_info(Some(&format!("{base}/tgi/?api-version=2")))
        .await
        .unwrap();
    assert!(
        c.health_check(Some(&format!("{base}/tgi?x=1")))
            .await
            .unwrap()
    );
    let got: Vec<(String, Option<String>)> =
        srv.seen().into_iter().map(|s| (s.path, s.query)).collect();
    assert_eq!(
        got,
        vec![
            ("/info".to_owned(), None),
            ("/tei/info".to_owned(), None),
            ("/tgi/info".to_owned(), Some("api-version=2".to_owned())),
            ("/tgi/health".to_owned(), Some("x=1".to_owned())),
        ]
    );
}

#[tokio::test]
async fn a_call_model_replaces_the_clients() {
    let srv = tgi::start().await;
    let c = builder()
        .base_url("http://127.0.0.1:9/unused")
        .build()
        .unwrap();
    let info = c
        .get_endpoint_info(Some(&format!("{}/tei", srv.url)))
        .await
        .unwrap();
    assert_eq!(info.model_kind(), Some("embedding"));
    assert!(c.health_check(Some(&srv.url)).await.unwrap());
    assert_eq!(srv.seen().len(), 2);
}

#[tokio::test]
async fn health_is_true_on_200_and_false_on_503() {
    let srv = tgi::start().await;
    let c = builder().base_url(format!("{}/", srv.url)).build().unwrap();
    assert!(c.health_check(None).await.unwrap());
    srv.set_healthy(false);
    assert!(!c.health_check(None).await.unwrap());
    srv.set_healthy(true);
    assert!(c.health_check(None).await.unwrap());
    // Another error status (404) is not healthy either.
    let missing = builder()
        .base_url(format!("{}/missing", srv.url))
        .build()
        .unwrap();
    assert!(!missing.health_check(None).await.unwrap());
    let seen = srv.seen();
    assert!(
        seen.iter()
            .filter(|s| s.method == "GET")
            .all(|s| s.path.ends_with("/health")),
        "{seen:?}"
    );
    assert_eq!(seen.len(), 4);
}

#[tokio::test]
async fn health_of_an_unreachable_server_is_an_error() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let c = builder()
        .base_url(format!("http://127.0.0.1:{port}"))
        .build()
        .unwrap();
    let err = c.health_check(None).await.unwrap_err();
    assert!(matches!(err, Error::Network { .. }), "{err:?}");
    let err = c.get_endpoint_info(None).await.unwrap_err();
    assert!(matches!(err, Error::Network { .. }), "{err:?}");
}

#[tokio::test]
async fn an_info_error_status_is_a_typed_error() {
    let srv = tgi::start().await;
    let c = builder()
        .base_url(format!("{}/missing/", srv.url))
        .build()
        .unwrap();
    let err = c.get_endpoint_info(None).await.unwrap_err();
    assert_eq!(err.status(), Some(404), "{err:?}");
    assert_eq!(
        err.server_message(),
        Some("Model org/missing does not exist")
    );
    assert!(err.to_string().contains("/missing/info"), "{err}");
    assert_eq!(srv.seen().len(), 1, "an error is not retried");
}

#[tokio::test]
async fn non_url_models_and_missing_models_fail_before_any_request() {
    let srv = tgi::start().await;
    let c = builder()
        .legacy_inference_url(format!("{}/legacy", srv.url))
        .router_url(format!("{}/router", srv.url))
        .hub_url(format!("{}/hub", srv.url))
        .build()
        .unwrap();
    let err = c.health_check(Some("org/model")).await.unwrap_err();
    assert!(matches!(err, Error::InvalidInput(_)), "{err:?}");
    let err = c.health_check(None).await.unwrap_err();
    assert!(matches!(err, Error::InvalidInput(_)), "{err:?}");
    let err = c.get_endpoint_info(None).await.unwrap_err();
    assert!(matches!(err, Error::InvalidInput(_)), "{err:?}");
    let err = c.get_endpoint_info(Some("a/../b")).await.unwrap_err();
    assert!(matches!(err, Error::InvalidInput(_)), "{err:?}");
    // A client model that is a Hub id is refused by health_check too.
    let hub_model = builder().model("org/model").build().unwrap();
    let err = hub_model.health_check(None).await.unwrap_err();
    assert!(matches!(err, Error::InvalidInput(_)), "{err:?}");
    // A third-party provider has no info route for a Hub id.
    let together = builder()
        .provider(Provider::Together)
        .legacy_inference_url(format!("{}/legacy", srv.url))
        .build()
        .unwrap();
    let err = together
        .get_endpoint_info(Some("org/model"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidInput(_)), "{err:?}");
    assert!(srv.seen().is_empty(), "{:?}", srv.seen());
}

#[tokio::test]
async fn offline_mode_refuses_both() {
    let srv = tgi::start().await;
    let c = InferenceClient::builder()
        .settings(settings(&[("HF_HUB_OFFLINE", "1")]))
        .base_url(srv.url.clone())
        .build()
        .unwrap();
    let err = c.health_check(None).await.unwrap_err();
    assert!(matches!(err, Error::Offline { .. }), "{err:?}");
    let err = c.get_endpoint_info(None).await.unwrap_err();
    assert!(matches!(err, Error::Offline { .. }), "{err:?}");
    assert!(srv.seen().is_empty());
}

#[tokio::test]
async fn a_hub_id_asks_the_legacy_api_as_python_does() {
    let srv = tgi::start().await;
    let c = InferenceClient::builder()
        .settings(settings(&[("HF_TOKEN", "hf_implicit")]))
        .legacy_inference_url(format!("{}/legacy/", srv.url))
        .router_url(format!("{}/router", srv.url))
        .provider(Provider::HfInference)
        .model("org/tiny-llm")
        .build()
        .unwrap();
    let info = c.get_endpoint_info(None).await.unwrap();
    assert_eq!(info.model_id.as_deref(), Some("org/tiny-llm"));
    let seen = srv.seen();
    assert_eq!(seen[0].path, "/legacy/models/org/tiny-llm/info");
    // The legacy API is a Hugging Face host: the implicit token goes there.
    assert_eq!(seen[0].authorization.as_deref(), Some("Bearer hf_implicit"));
}

#[tokio::test]
async fn tokens_follow_the_url_rules() {
    let srv = tgi::start().await;
    // An implicit (environment) token never goes to a foreign URL.
    let implicit = InferenceClient::builder()
        .settings(settings(&[("HF_TOKEN", "hf_implicit")]))
        .base_url(srv.url.clone())
        .build()
        .unwrap();
    implicit.get_endpoint_info(None).await.unwrap();
    assert!(implicit.health_check(None).await.unwrap());
    // An explicit one does.
    let explicit = builder()
        .base_url(srv.url.clone())
        .api_key("my-api-key")
        .header("X-Custom", "1")
        .build()
        .unwrap();
    explicit.get_endpoint_info(None).await.unwrap();
    assert!(explicit.health_check(None).await.unwrap());
    let auth: Vec<Option<String>> = srv.seen().into_iter().map(|s| s.authorization).collect();
    assert_eq!(
        auth,
        vec![
            None,
            None,
            Some("Bearer my-api-key".to_owned()),
            Some("Bearer my-api-key".to_owned()),
        ]
    );
}

/// The blocking twins, called directly from a thread of a multi-thread runtime (whose other
/// worker serves the loopback server).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocking_twins_inside_a_runtime() {
    let srv = tgi::start().await;
    let c = hfkit::blocking::InferenceClient::from_async(
        builder().base_url(srv.url.clone()).build().unwrap(),
    )
    .unwrap();
    let info = c.get_endpoint_info(None).unwrap();
    assert_eq!(info.max_total_tokens, Some(2048));
    let tei = c
        .get_endpoint_info(Some(&format!("{}/tei/", srv.url)))
        .unwrap();
    assert_eq!(tei.model_kind(), Some("embedding"));
    assert!(c.health_check(None).unwrap());
    srv.set_healthy(false);
    assert!(!c.health_check(None).unwrap());
    let err = c.health_check(Some("org/model")).unwrap_err();
    assert!(matches!(err, Error::InvalidInput(_)), "{err:?}");
    assert_eq!(srv.seen().len(), 4);
}

/// `X-Amzn-Trace-Id` as Python sets it (inference.md §2.3): fresh per request, the caller's
/// `X-Request-Id` when it names one, the caller's own `X-Amzn-Trace-Id` above both.
#[tokio::test]
async fn trace_ids_follow_python() {
    let srv = tgi::start().await;
    let plain = builder().base_url(srv.url.clone()).build().unwrap();
    plain.health_check(None).await.unwrap();
    plain.health_check(None).await.unwrap();
    let with_request_id = builder()
        .base_url(srv.url.clone())
        .header("X-Request-Id", "req-42")
        .build()
        .unwrap();
    with_request_id.get_endpoint_info(None).await.unwrap();
    with_request_id.text_generation("hi").await.unwrap();
    let with_trace = builder()
        .base_url(srv.url.clone())
        .header("X-Request-Id", "req-42")
        .header("X-Amzn-Trace-Id", "trace-7")
        .build()
        .unwrap();
    with_trace.health_check(None).await.unwrap();
    let ids: Vec<String> = srv
        .seen()
        .into_iter()
        .map(|s| s.trace_id.unwrap_or_default())
        .collect();
    assert_eq!(ids[0].len(), 36, "{ids:?}");
    assert_ne!(ids[0], ids[1], "a fresh id per request");
    assert_eq!(ids[2..], ["req-42", "req-42", "trace-7"]);
}
