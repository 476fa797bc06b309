//! Every JSON body hfkit sends in these calls validates against the task's input schema in
//! `../shared/conformance/task-specs/` (inference.md §9.2).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::State;
use axum::http::{Request, Response};
use hfkit::Settings;
use hfkit::inference::types::{
    AggregationStrategy, ChatMessage, ClassificationOutputTransform, ResponseFormat, Tool,
    ToolChoice, Truncation, TruncationDirection,
};
use hfkit::inference::{BinaryInput, InferenceClient, Provider};
use serde_json::{Value, json};

type Seen = Arc<Mutex<Vec<(String, Vec<u8>)>>>;

/// Answers each task (the model name is the task) with a minimal valid output.
async fn handle(State(seen): State<Seen>, req: Request<Body>) -> Response<Body> {
    let path = req.uri().path().to_owned();
    let body = axum::body::to_bytes(req.into_body(), usize::MAX)
        .await
        .unwrap();
    seen.lock().unwrap().push((path.clone(), body.to_vec()));
    let answer = if path.contains("chat/completions") {
        json!({"id":"1","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}})
    } else if path.contains("feature-extraction") {
        json!([[0.1, 0.2]])
    } else if path.contains("sentence-similarity") {
        json!([0.5])
    } else if path.ends_with("/token-classification") {
        json!([{"entity_group":"PER","score":0.9,"word":"Ann","start":0,"end":3}])
    } else if path.ends_with("/fill-mask") {
        json!([{"score":0.5,"token":1,"token_str":"a","sequence":"a"}])
    } else if path.ends_with("/question-answering") {
        json!({"answer":"42","score":0.1,"start":0,"end":2})
    } else if path.ends_with("/summarization") {
        json!([{"summary_text":"s"}])
    } else if path.ends_with("/translation") {
        json!([{"translation_text":"t"}])
    } else if path.ends_with("/text-generation") {
        json!([{"generated_text":"g"}])
    } else if path.ends_with("/object-detection") {
        json!([{"label":"cat","score":0.9,"box":{"xmin":0,"ymin":0,"xmax":1,"ymax":1}}])
    } else {
        json!([{"label":"a","score":0.5}])
    };
    Response::builder()
        .header("content-type", "application/json")
        .body(Body::from(answer.to_string()))
        .unwrap()
}

fn specs() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/conformance/task-specs")
}

const BASE: &str = "https://hfkit.test";

/// Reads a schema file with its scheme-less `/inference/schemas/…` ids and refs made absolute.
fn read_schema(rel: &str) -> Value {
    let p = specs().join(rel);
    let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    let text = text.replace(
        "\"/inference/schemas/",
        &format!("\"{BASE}/inference/schemas/"),
    );
    serde_json::from_str(&text).unwrap()
}

fn validate(task: &str, body: &Value) {
    let common = read_schema("common-definitions.json");
    let registry = jsonschema::Registry::new()
        .add(
            format!("{BASE}/inference/schemas/common-definitions.json"),
            common,
        )
        .unwrap()
        .prepare()
        .unwrap();
    let schema = read_schema(&format!("{task}/input.json"));
    let validator = jsonschema::options()
        .with_registry(&registry)
        .build(&schema)
        .unwrap_or_else(|e| panic!("{task}: schema does not compile: {e}"));
    let errors: Vec<String> = validator
        .iter_errors(body)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{task}: body {body} does not match its schema: {errors:?}"
    );
}

#[tokio::test]
async fn request_bodies_match_the_task_schemas() {
    let seen: Seen = Default::default();
    let app = axum::Router::new()
        .fallback(handle)
        .with_state(seen.clone());
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(l, app).await;
    });
    let settings = Settings::builder()
        .env_map(HashMap::new())
        .hf_home(std::env::temp_dir().join("hfkit-inference-schema-no-home"))
        .build()
        .unwrap();
    let c = InferenceClient::builder()
        .settings(settings)
        .provider(Provider::HfInference)
        .router_url(&url)
        .hub_url(&url)
        .max_retries(0)
        .build()
        .unwrap();

    c.text_classification("I love this")
        .model("t/text-classification")
        .await
        .unwrap();
    c.text_classification("I love this")
        .model("t/text-classification")
        .function_to_apply(ClassificationOutputTransform::Softmax)
        .top_k(2u32)
        .await
        .unwrap();
    c.token_classification("Ann lives here")
        .model("t/token-classification")
        .aggregation_strategy(AggregationStrategy::Simple)
        .ignore_labels(["O"])
        .stride(2u32)
        .await
        .unwrap();
    c.fill_mask("The [MASK].")
        .model("t/fill-mask")
        .targets(["a"])
        .top_k(2u32)
        .await
        .unwrap();
    c.question_answering("what?", "42")
        .model("t/question-answering")
        .align_to_words(true)
        .doc_stride(16u32)
        .handle_impossible_answer(false)
        .max_answer_len(10u32)
        .max_question_len(10u32)
        .max_seq_len(100u32)
        .top_k(1u32)
        .await
        .unwrap();
    let mut gp = serde_json::Map::new();
    gp.insert("max_new_tokens".into(), json!(5));
    gp.insert("x".into(), Value::Null);
    c.summarization("t")
        .model("t/summarization")
        .generate_parameters(gp)
        .truncation(Truncation::LongestFirst)
        .clean_up_tokenization_spaces(true)
        .await
        .unwrap();
    c.translation("Hello")
        .model("t/translation")
        .src_lang("en")
        .tgt_lang("fr")
        .truncation(Truncation::DoNotTruncate)
        .await
        .unwrap();
    c.zero_shot_classification("text", ["a", "b"])
        .model("t/zero-shot-classification")
        .hypothesis_template("This is {}.")
        .await
        .unwrap();
    c.sentence_similarity("a", ["b", "c"])
        .model("t/sentence-similarity")
        .await
        .unwrap();
    c.feature_extraction("hi")
        .model("t/feature-extraction")
        .normalize(true)
        .truncate(true)
        .truncation_direction(TruncationDirection::Left)
        .prompt_name("query")
        .await
        .unwrap();
    c.feature_extraction(vec!["a", "b"])
        .model("t/feature-extraction")
        .await
        .unwrap();
    c.text_generation("p")
        .model("t/text-generation")
        .await
        .unwrap();
    c.text_generation("p")
        .model("t/text-generation")
        .max_new_tokens(5u32)
        .details(true)
        .decoder_input_details(true)
        .do_sample(true)
        .seed(1u64)
        .temperature(0.5)
        .top_k(5u32)
        .top_p(0.9)
        .stop(["\n"])
        .grammar(json!({"type": "json", "value": {"type": "object"}}))
        .await
        .unwrap();
    c.chat_completion([ChatMessage::system("be brief"), ChatMessage::user("hi")])
        .model("t/chat-completion")
        .max_tokens(5u32)
        .seed(1u64)
        .stop(["x"])
        .tools(vec![Tool::function(
            "f",
            Some("does f"),
            json!({"type": "object", "properties": {}}),
        )])
        .tool_choice(ToolChoice::Function("f".into()))
        .await
        .unwrap();
    c.chat_completion([ChatMessage::user("hi")])
        .model("t/chat-completion")
        .response_format(ResponseFormat::JsonSchema {
            name: "x".into(),
            description: None,
            schema: Some(json!({"type": "object"})),
            strict: Some(true),
        })
        .await
        .unwrap();
    c.audio_classification(BinaryInput::bytes(&b"fLaC0000"[..]))
        .model("t/audio-classification")
        .top_k(2u32)
        .function_to_apply(ClassificationOutputTransform::Softmax)
        .await
        .unwrap();
    c.image_classification(BinaryInput::bytes(&b"\x89PNG\r\n\x1a\n"[..]))
        .model("t/image-classification")
        .top_k(1u32)
        .await
        .unwrap();
    c.object_detection(BinaryInput::bytes(&b"\x89PNG\r\n\x1a\n"[..]))
        .model("t/object-detection")
        .threshold(0.5)
        .await
        .unwrap();

    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 18);
    let mut checked = 0;
    for (path, body) in &seen {
        let task = if path.ends_with("/v1/chat/completions") {
            "chat-completion"
        } else if let Some((_, t)) = path.rsplit_once("/pipeline/") {
            t
        } else {
            path.rsplit('/').next().unwrap()
        };
        let v: Value = serde_json::from_slice(body)
            .unwrap_or_else(|e| panic!("{path}: body is not JSON: {e}"));
        validate(task, &v);
        checked += 1;
    }
    println!("validated {checked} request bodies against their task schemas");
    // Bodies the rules of inference.md §3.4 fix exactly.
    let body_of = |i: usize| serde_json::from_slice::<Value>(&seen[i].1).unwrap();
    assert_eq!(
        body_of(0),
        json!({"inputs": "I love this", "parameters": {}})
    );
    assert_eq!(
        body_of(5),
        json!({"inputs": "t", "parameters": {"clean_up_tokenization_spaces": true, "generate_parameters": {"max_new_tokens": 5}, "truncation": "longest_first"}})
    );
    assert_eq!(
        body_of(7),
        json!({"inputs": "text", "parameters": {"candidate_labels": ["a", "b"], "multi_label": false, "hypothesis_template": "This is {}."}})
    );
    assert_eq!(
        body_of(8),
        json!({"inputs": {"source_sentence": "a", "sentences": ["b", "c"]}, "parameters": {}})
    );
    assert_eq!(
        body_of(9),
        json!({"inputs": "hi", "normalize": true, "prompt_name": "query", "truncate": true, "truncation_direction": "left"})
    );
    assert_eq!(body_of(11), json!({"inputs": "p", "parameters": {}}));
    let chat = String::from_utf8(seen[13].1.clone()).unwrap();
    assert!(
        chat.starts_with(r#"{"model":"t/chat-completion","messages":"#),
        "model first, then messages: {chat}"
    );
    assert_eq!(body_of(13)["stream"], json!(false), "stream always sent");
    assert_eq!(
        body_of(14)["response_format"],
        json!({"type": "json_object", "value": {"type": "object"}}),
        "json_schema rewritten for hf-inference"
    );
}
