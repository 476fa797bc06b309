//! Request bodies of the image, audio, multimodal and tabular tasks: the JSON ones validate
//! against `../shared/conformance/task-specs/{task}/input.json` (inference.md §9.2), the
//! Python-parity ones (VQA, tabular) and raw-byte ones are checked byte for byte against
//! inference.md §3.4; parsed outputs round-trip against the output schemas.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::State;
use axum::http::{Request, Response};
use base64::Engine;
use hfkit::Settings;
use hfkit::inference::types::{
    EarlyStopping, ImageSegmentationSubtask, Table, TargetSize, WordBox,
};
use hfkit::inference::{BinaryInput, InferenceClient, Provider};
use serde_json::{Value, json};

#[derive(Debug, Clone)]
struct Seen {
    path: String,
    content_type: Option<String>,
    accept: Option<String>,
    body: Vec<u8>,
}

type Log = Arc<Mutex<Vec<Seen>>>;

fn png(w: u32, h: u32) -> Vec<u8> {
    let mut buf = std::io::Cursor::new(Vec::new());
    image::DynamicImage::new_luma8(w, h)
        .write_to(&mut buf, image::ImageFormat::Png)
        .unwrap();
    buf.into_inner()
}

fn b64(b: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(b)
}

/// Answers each task (the model name ends with the task) with a minimal valid output.
async fn handle(State(log): State<Log>, req: Request<Body>) -> Response<Body> {
    let (parts, body) = req.into_parts();
    let h = |n: &str| {
        parts
            .headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let path = parts.uri.path().to_owned();
    let body = axum::body::to_bytes(body, usize::MAX).await.unwrap();
    log.lock().unwrap().push(Seen {
        path: path.clone(),
        content_type: h("content-type"),
        accept: h("accept"),
        body: body.to_vec(),
    });
    let task = path.rsplit('/').next().unwrap_or_default().to_owned();
    let (ct, answer): (&str, Vec<u8>) = match task.as_str() {
        "text-to-image" | "image-to-image" => ("image/png", png(5, 4)),
        "text-to-speech" => ("audio/flac", b"fLaC\0\0\0\x22".to_vec()),
        "text-to-video" => ("video/mp4", b"\0\0\0\x20ftypisom".to_vec()),
        "image-segmentation" => (
            "application/json",
            json!([{"label": "cat", "score": 0.9, "mask": b64(&png(5, 4))}, {"label": "sky", "mask": b64(&png(5, 4))}])
                .to_string()
                .into_bytes(),
        ),
        "audio-to-audio" => (
            "application/json",
            json!([{"label": "label_0", "content-type": "audio/flac", "blob": b64(b"fLaC1")}])
                .to_string()
                .into_bytes(),
        ),
        "visual-question-answering" => (
            "application/json",
            json!([{"answer": "a cat", "score": 0.9}]).to_string().into_bytes(),
        ),
        "document-question-answering" => (
            "application/json",
            json!([{"answer": "42", "score": 0.9, "start": 1, "end": 1}])
                .to_string()
                .into_bytes(),
        ),
        "tabular-classification" => ("application/json", b"[\"5\",\"6\"]".to_vec()),
        "tabular-regression" => ("application/json", b"[110, 2.5]".to_vec()),
        _ => (
            "application/json",
            json!([{"label": "cat", "score": 0.9}, {"label": "dog", "score": 0.1}])
                .to_string()
                .into_bytes(),
        ),
    };
    Response::builder()
        .header("content-type", ct)
        .body(Body::from(answer))
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

fn validate(file: &str, body: &Value) {
    let common = read_schema("common-definitions.json");
    let registry = jsonschema::Registry::new()
        .add(
            format!("{BASE}/inference/schemas/common-definitions.json"),
            common,
        )
        .unwrap()
        .prepare()
        .unwrap();
    let schema = read_schema(file);
    let validator = jsonschema::options()
        .with_registry(&registry)
        .build(&schema)
        .unwrap_or_else(|e| panic!("{file}: schema does not compile: {e}"));
    let errors: Vec<String> = validator
        .iter_errors(body)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{file}: {body} does not match its schema: {errors:?}"
    );
}

async fn start() -> (String, Log) {
    let log: Log = Default::default();
    let app = axum::Router::new().fallback(handle).with_state(log.clone());
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(l, app).await;
    });
    (url, log)
}

fn client(url: &str) -> InferenceClient {
    builder(url)
        .provider(Provider::HfInference)
        .build()
        .unwrap()
}

/// Provider `auto`: a model URL is called directly for every task (with `hf-inference` named,
/// the tasks it does not serve fail before sending, as in Python).
fn url_client(url: &str) -> InferenceClient {
    builder(url).build().unwrap()
}

fn builder(url: &str) -> hfkit::inference::InferenceClientBuilder {
    let settings = Settings::builder()
        .env_map(HashMap::new())
        .hf_home(std::env::temp_dir().join("hfkit-inference-schema-vision-no-home"))
        .build()
        .unwrap();
    InferenceClient::builder()
        .settings(settings)
        .router_url(url)
        .hub_url(url)
        .max_retries(0)
}

#[tokio::test]
async fn request_bodies_match_schemas_and_python() {
    let (url, log) = start().await;
    let c = client(&url);
    let dir = tempfile::tempdir().unwrap();
    let img_path = dir.path().join("img.png");
    let img_bytes = png(3, 2);
    std::fs::write(&img_path, &img_bytes).unwrap();
    let flac_path = dir.path().join("a.flac");
    std::fs::write(&flac_path, b"fLaC\0\0\0\x22audio").unwrap();
    let img_b64 = b64(&img_bytes);

    // 0: §3.4 text_to_image("a cat", width=64, seed=1, extra_body={"foo":1})
    let got = c
        .text_to_image("a cat")
        .model("t/text-to-image")
        .width(64u32)
        .seed(1u64)
        .parameter("foo", 1)
        .await
        .unwrap();
    assert_eq!((got.width(), got.height()), (5, 4));
    // 1: every option
    let raw = c
        .text_to_image("a cat")
        .model("t/text-to-image")
        .negative_prompt("dogs")
        .height(32u32)
        .width(64u32)
        .num_inference_steps(4u32)
        .guidance_scale(7.5)
        .scheduler("DDIM")
        .seed(3u64)
        .bytes()
        .await
        .unwrap();
    assert_eq!(raw.content_type.as_deref(), Some("image/png"));
    assert_eq!(raw.bytes, png(5, 4));
    // 2: image_to_image("img.png"): raw bytes, image/png
    let got = c
        .image_to_image(img_path.as_path())
        .model("t/image-to-image")
        .await
        .unwrap();
    assert_eq!((got.width(), got.height()), (5, 4));
    // 3: image_to_image with parameters: JSON
    c.image_to_image(img_path.as_path())
        .model("t/image-to-image")
        .prompt("make it blue")
        .negative_prompt("red")
        .target_size(TargetSize::new(64, 32))
        .num_inference_steps(10u32)
        .guidance_scale(2.0)
        .await
        .unwrap();
    // 4: image_segmentation, a DynamicImage input, raw PNG bytes
    let segs = c
        .image_segmentation(image::DynamicImage::new_rgb8(3, 2))
        .model("t/image-segmentation")
        .await
        .unwrap();
    assert_eq!(segs.len(), 2);
    assert_eq!((segs[0].mask.width(), segs[0].mask.height()), (5, 4));
    assert_eq!(segs[1].score, None);
    validate(
        "image-segmentation/output.json",
        &serde_json::to_value(&segs).unwrap(),
    );
    // 5: image_segmentation with parameters
    c.image_segmentation(img_path.as_path())
        .model("t/image-segmentation")
        .mask_threshold(0.5)
        .overlap_mask_area_threshold(0.3)
        .subtask(ImageSegmentationSubtask::Panoptic)
        .threshold(0.9)
        .await
        .unwrap();
    // 6: zero-shot image classification
    let labels = c
        .zero_shot_image_classification(img_path.as_path(), ["cat", "dog"])
        .model("t/zero-shot-image-classification")
        .hypothesis_template("A photo of a {}.")
        .await
        .unwrap();
    validate(
        "zero-shot-image-classification/output.json",
        &serde_json::to_value(&labels).unwrap(),
    );
    // 7: §3.4 visual_question_answering("img.png", "what?", top_k=1)
    let answers = c
        .visual_question_answering(img_path.as_path(), "what?")
        .model("t/visual-question-answering")
        .top_k(1u32)
        .await
        .unwrap();
    validate(
        "visual-question-answering/output.json",
        &serde_json::to_value(&answers).unwrap(),
    );
    // 8: §3.4 document_question_answering("img.png", "what?", top_k=1)
    let answers = c
        .document_question_answering(img_path.as_path(), "what?")
        .model("t/document-question-answering")
        .top_k(1u32)
        .await
        .unwrap();
    validate(
        "document-question-answering/output.json",
        &serde_json::to_value(&answers).unwrap(),
    );
    // 9: document QA with every option
    c.document_question_answering(img_path.as_path(), "what?")
        .model("t/document-question-answering")
        .doc_stride(8u32)
        .handle_impossible_answer(true)
        .lang("en")
        .max_answer_len(5u32)
        .max_question_len(10u32)
        .max_seq_len(100u32)
        .word_boxes([
            WordBox::Word("total".into()),
            WordBox::Box([1.0, 2.0, 3.0, 4.0]),
        ])
        .await
        .unwrap();
    // 10: §3.4 text_to_speech("hello", do_sample=True, max_new_tokens=5)
    let audio = c
        .text_to_speech("hello")
        .model("t/text-to-speech")
        .do_sample(true)
        .max_new_tokens(5u32)
        .await
        .unwrap();
    assert_eq!(audio.content_type.as_deref(), Some("audio/flac"));
    assert_eq!(&audio.bytes[..], b"fLaC\0\0\0\x22");
    // 11: text_to_speech with other generation options
    c.text_to_speech("hello")
        .model("t/text-to-speech")
        .early_stopping(EarlyStopping::NEVER)
        .num_beams(2u32)
        .temperature(0.7)
        .top_p(0.9)
        .use_cache(false)
        .await
        .unwrap();
    // 12: §3.4 audio_to_audio("a.flac"): raw, audio/flac
    let clips = c
        .audio_to_audio(flac_path.as_path())
        .model("t/audio-to-audio")
        .await
        .unwrap();
    assert_eq!(&clips[0].blob[..], b"fLaC1");
    // 13: §3.4 tabular_classification({"a":["1"]})
    let table: Table = [("a", vec!["1"])].into_iter().collect();
    let got = c
        .tabular_classification(table.clone())
        .model("t/tabular-classification")
        .await
        .unwrap();
    assert_eq!(got, ["5", "6"]);
    // 14, 15: tasks hf-inference does not serve, through a model URL
    let u = url_client(&url);
    let got = u
        .tabular_regression(table)
        .model(format!("{url}/u/tabular-regression"))
        .await
        .unwrap();
    assert_eq!(got, [110.0, 2.5]);
    let video = u
        .text_to_video("a cat running")
        .model(format!("{url}/u/text-to-video"))
        .num_frames(8u32)
        .negative_prompt(["blurry"])
        .seed(2u64)
        .guidance_scale(3.0)
        .num_inference_steps(5u32)
        .await
        .unwrap();
    assert_eq!(video.content_type.as_deref(), Some("video/mp4"));

    let seen = log.lock().unwrap().clone();
    assert_eq!(seen.len(), 16);
    let text = |i: usize| String::from_utf8(seen[i].body.clone()).unwrap();
    let body = |i: usize| serde_json::from_slice::<Value>(&seen[i].body).unwrap();

    // Exact §3.4 bodies (byte for byte: key order too).
    assert_eq!(
        text(0),
        r#"{"inputs":"a cat","parameters":{"width":64,"seed":1,"foo":1}}"#
    );
    assert_eq!(seen[0].accept.as_deref(), Some("image/png"));
    assert_eq!(seen[2].body, img_bytes, "raw file bytes");
    assert_eq!(seen[2].content_type.as_deref(), Some("image/png"));
    assert_eq!(seen[2].accept.as_deref(), Some("image/png"));
    assert!(
        seen[4].body.starts_with(b"\x89PNG\r\n\x1a\n"),
        "PNG-encoded"
    );
    assert_eq!(seen[4].content_type.as_deref(), Some("image/png"));
    assert_eq!(
        image::load_from_memory(&seen[4].body).unwrap().width(),
        3,
        "the DynamicImage as sent"
    );
    assert_eq!(
        text(7),
        format!(
            r#"{{"inputs":"{img_b64}","parameters":{{"top_k":1}},"question":"what?","image":"{img_b64}"}}"#
        )
    );
    assert_eq!(
        text(8),
        format!(
            r#"{{"inputs":{{"question":"what?","image":"{img_b64}"}},"parameters":{{"top_k":1}}}}"#
        )
    );
    assert_eq!(
        text(10),
        r#"{"inputs":"hello","parameters":{"do_sample":true,"max_new_tokens":5}}"#
    );
    assert_eq!(seen[12].body, b"fLaC\0\0\0\x22audio");
    assert_eq!(seen[12].content_type.as_deref(), Some("audio/flac"));
    assert_eq!(text(13), r#"{"parameters":{},"table":{"a":["1"]}}"#);
    assert_eq!(text(14), r#"{"parameters":{},"table":{"a":["1"]}}"#);
    assert_eq!(seen[14].path, "/u/tabular-regression");
    assert_eq!(
        body(6),
        json!({"inputs": img_b64, "parameters": {"candidate_labels": ["cat", "dog"], "hypothesis_template": "A photo of a {}."}})
    );
    assert_eq!(
        body(3)["parameters"]["target_size"],
        json!({"width": 64, "height": 32})
    );
    assert_eq!(body(11)["parameters"]["early_stopping"], json!("never"));
    assert_eq!(
        body(9)["parameters"]["word_boxes"],
        json!(["total", [1.0, 2.0, 3.0, 4.0]])
    );

    // Schema validation of every JSON body that has a schema (VQA's hybrid and the tabular
    // shape are Python-parity exceptions, inference.md §9.2; raw bodies have none).
    let mut validated = 0;
    for (i, s) in seen.iter().enumerate() {
        let task = s.path.rsplit('/').next().unwrap();
        let is_json = s.content_type.as_deref() == Some("application/json");
        if [2, 4, 12].contains(&i) {
            assert!(!is_json, "{i}: raw bytes without parameters");
            continue;
        }
        assert!(is_json, "{i} ({task}): JSON");
        let v = body(i);
        assert!(!v.to_string().contains("null"), "{i}: no nulls: {v}");
        if matches!(
            task,
            "visual-question-answering" | "tabular-classification" | "tabular-regression"
        ) {
            continue;
        }
        validate(&format!("{task}/input.json"), &v);
        validated += 1;
    }
    assert_eq!(validated, 10);
    println!("validated {validated} request bodies against their task schemas");
}

#[test]
fn blocking_twins_send_the_same_requests() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (url, log) = rt.block_on(start());
    let c = hfkit::blocking::InferenceClient::from_async(client(&url)).unwrap();
    let u = hfkit::blocking::InferenceClient::from_async(url_client(&url)).unwrap();
    let img = c
        .text_to_image("a cat")
        .model("t/text-to-image")
        .width(64u32)
        .send()
        .unwrap();
    assert_eq!((img.width(), img.height()), (5, 4));
    let raw = c
        .image_to_image(BinaryInput::bytes(png(2, 2)))
        .model("t/image-to-image")
        .prompt("p")
        .bytes()
        .unwrap();
    assert_eq!(raw.bytes, png(5, 4));
    let segs = c
        .image_segmentation(BinaryInput::bytes(png(2, 2)))
        .model("t/image-segmentation")
        .send()
        .unwrap();
    assert_eq!(segs.len(), 2);
    let labels = c
        .zero_shot_image_classification(BinaryInput::bytes(png(2, 2)), ["a", "b"])
        .model("t/zero-shot-image-classification")
        .send()
        .unwrap();
    assert_eq!(labels[0].label, "cat");
    let a = c
        .visual_question_answering(BinaryInput::bytes(png(2, 2)), "q?")
        .model("t/visual-question-answering")
        .send()
        .unwrap();
    assert_eq!(a[0].answer.as_deref(), Some("a cat"));
    let a = c
        .document_question_answering(BinaryInput::bytes(png(2, 2)), "q?")
        .model("t/document-question-answering")
        .word_boxes([WordBox::Word("x".into())])
        .send()
        .unwrap();
    assert_eq!(a[0].answer, "42");
    let audio = c
        .text_to_speech("hi")
        .model("t/text-to-speech")
        .send()
        .unwrap();
    assert_eq!(audio.content_type.as_deref(), Some("audio/flac"));
    let clips = c
        .audio_to_audio(BinaryInput::bytes(&b"fLaC"[..]))
        .model("t/audio-to-audio")
        .send()
        .unwrap();
    assert_eq!(clips[0].label, "label_0");
    let table: Table = [("a", vec!["1", "2"])].into_iter().collect();
    assert_eq!(
        c.tabular_classification(table.clone())
            .model("t/tabular-classification")
            .send()
            .unwrap(),
        ["5", "6"]
    );
    assert_eq!(
        u.tabular_regression(table)
            .model(format!("{url}/u/tabular-regression"))
            .send()
            .unwrap(),
        [110.0, 2.5]
    );
    let video = u
        .text_to_video("a cat")
        .model(format!("{url}/u/text-to-video"))
        .send()
        .unwrap();
    assert!(video.bytes.starts_with(b"\0\0\0\x20ftyp"));
    assert_eq!(video.extension(), Some("mp4"));
    assert_eq!(log.lock().unwrap().len(), 11);
}
