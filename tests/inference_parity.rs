//! Python parity (inference.md §3.4, §9.3 #23): for every case of
//! `tests/parity/inference_calls.py`, Python `huggingface_hub` 2.4.0's `InferenceClient` and
//! hfkit make the same call against the recording server (`support::recorder`), and the
//! recorded requests must be identical — method, path, query, content type, `Accept`,
//! `Authorization`, `X-HF-Bill-To`, a user header, and the body (JSON compared as values, key
//! order aside; raw bodies byte for byte) — or the difference must be listed, with its reason,
//! in `tests/parity_exceptions.md`. A listed difference that no longer occurs fails too.
//!
//! Python's router, Hub and legacy hosts are rewritten to the recorder with path prefixes
//! `/__router`, `/__hub`, `/__legacy`; hfkit gets the same three prefixed base URLs. Retries
//! are off on both sides; hfkit checks the task like Python (`check_task(true)`).

mod support;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use hfkit::Settings;
use hfkit::inference::types::*;
use hfkit::inference::{BinaryInput, InferenceClient, InferenceClientBuilder, Provider};
use serde_json::{Value, json};
use support::python::{python_command, wait_bounded};
use support::recorder::{Recorded, Recorder};

const SCRIPT: &str = include_str!("parity/inference_calls.py");

/// The headers compared besides method, path, query and body.
const HEADERS: &[&str] = &[
    "content-type",
    "accept",
    "authorization",
    "x-hf-bill-to",
    "x-custom",
];

/// Cases both clients refuse after a Hub look-up (asserted separately).
const REFUSED_AFTER_LOOKUP: &[&str] = &["task_check_mismatch"];

struct Files {
    _dir: tempfile::TempDir,
    root: PathBuf,
    img: Vec<u8>,
}

impl Files {
    fn new() -> Files {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        let mut buf = std::io::Cursor::new(Vec::new());
        image::DynamicImage::new_luma8(3, 2)
            .write_to(&mut buf, image::ImageFormat::Png)
            .unwrap();
        let img = buf.into_inner();
        std::fs::write(root.join("img.png"), &img).unwrap();
        std::fs::write(root.join("a.flac"), b"fLaC\0\0\0\x22audio").unwrap();
        std::fs::write(root.join("a.wav"), b"RIFF\0\0\0\0WAVEfmt ").unwrap();
        Files {
            _dir: dir,
            root,
            img,
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }
}

/// Splits a log at the `/__mark/{case}` requests.
fn split(log: Vec<Recorded>) -> BTreeMap<String, Vec<Recorded>> {
    let mut out: BTreeMap<String, Vec<Recorded>> = BTreeMap::new();
    let mut current = None;
    for r in log {
        if let Some(case) = r.path.strip_prefix("/__mark/") {
            current = Some(case.to_owned());
            out.entry(case.to_owned()).or_default();
            continue;
        }
        let case = current.clone().expect("a request before the first marker");
        out.entry(case).or_default().push(r);
    }
    out.remove("__end");
    out
}

fn run_python(base: &str, files: &Files) -> BTreeMap<String, Value> {
    let home = tempfile::tempdir().unwrap();
    let child = python_command(
        SCRIPT,
        &[
            ("PARITY_URL", base),
            ("PARITY_DIR", files.root.to_str().unwrap()),
            ("HF_HOME", home.path().to_str().unwrap()),
        ],
    )
    .spawn()
    .unwrap();
    let done = wait_bounded(
        child,
        support::python::PYTHON_TIMEOUT,
        "python parity calls",
    );
    assert_eq!(done.code, Some(0), "python failed:\n{}", done.stderr);
    done.stdout
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            (v["case"].as_str().unwrap().to_owned(), v)
        })
        .collect()
}

fn builder(base: &str) -> InferenceClientBuilder {
    let settings = Settings::builder()
        .env_map(HashMap::new())
        .hf_home(std::env::temp_dir().join("hfkit-parity-no-home"))
        .build()
        .unwrap();
    InferenceClient::builder()
        .settings(settings)
        .router_url(format!("{base}/__router"))
        .hub_url(format!("{base}/__hub"))
        .legacy_inference_url(format!("{base}/__legacy"))
        .max_retries(0)
        .check_task(true)
}

fn rf() -> ResponseFormat {
    ResponseFormat::JsonSchema {
        name: "x".into(),
        description: None,
        schema: Some(json!({"type": "object"})),
        strict: Some(true),
    }
}

fn msg() -> Vec<ChatMessage> {
    vec![ChatMessage::user("hi")]
}

fn table() -> Table {
    [("a", vec!["1"])].into_iter().collect()
}

/// hfkit's twin of each Python case (one line each, like the Python table); `None` for a case
/// it does not know.
#[rustfmt::skip]
async fn hfkit_case(case: &str, base: &str, f: &Files) -> Option<hfkit::Result<()>> {
    let h = || {
        builder(base)
            .provider(Provider::HfInference)
            .token("hf_test")
    };
    let hc = h().build().unwrap();
    let a = || builder(base).token("hf_test");
    let ac = a().build().unwrap();
    let p = |p: Provider| builder(base).provider(p).token("hf_test").build().unwrap();
    let url = |u: String| builder(base).model(u).build().unwrap();
    let m = |task: &str| format!("{case}/{task}");
    let (img, flac, wav) = (f.path("img.png"), f.path("a.flac"), f.path("a.wav"));
    let u = format!("{base}/u");
    use ClassificationOutputTransform as Cot;
    let r: hfkit::Result<()> = match case {
        "audio_classification_raw" => hc.audio_classification(flac).model(m("audio-classification")).await.map(drop),
        "audio_classification_wav" => hc.audio_classification(wav).model(m("audio-classification")).await.map(drop),
        "audio_classification_params" => hc.audio_classification(flac).model(m("audio-classification")).top_k(2u32).function_to_apply(Cot::Softmax).await.map(drop),
        "audio_to_audio" => hc.audio_to_audio(flac).model(m("audio-to-audio")).await.map(drop),
        "asr_raw" => hc.automatic_speech_recognition(flac).model(m("automatic-speech-recognition")).await.map(drop),
        "asr_extra_body" => hc.automatic_speech_recognition(flac).model(m("automatic-speech-recognition")).parameter("return_timestamps", true).await.map(drop),
        "image_classification_bytes" => hc.image_classification(BinaryInput::bytes(f.img.clone())).model(m("image-classification")).await.map(drop),
        "image_classification_params" => hc.image_classification(img).model(m("image-classification")).top_k(1u32).function_to_apply(Cot::Sigmoid).await.map(drop),
        "image_to_text" => hc.image_to_text(img).model(m("image-to-text")).await.map(drop),
        "image_to_image_raw" => hc.image_to_image(img).model(m("image-to-image")).await.map(drop),
        "image_to_image_params" => hc.image_to_image(img).model(m("image-to-image")).prompt("make it blue").negative_prompt("red").num_inference_steps(10u32).guidance_scale(2.0).await.map(drop),
        "image_segmentation_raw" => hc.image_segmentation(img).model(m("image-segmentation")).await.map(drop),
        "image_segmentation_params" => hc.image_segmentation(img).model(m("image-segmentation")).mask_threshold(0.5).overlap_mask_area_threshold(0.3).subtask(ImageSegmentationSubtask::Panoptic).threshold(0.9).await.map(drop),
        "object_detection_raw" => hc.object_detection(img).model(m("object-detection")).await.map(drop),
        "object_detection_params" => hc.object_detection(img).model(m("object-detection")).threshold(0.5).await.map(drop),
        "document_question_answering" => hc.document_question_answering(img, "what?").model(m("document-question-answering")).top_k(1u32).await.map(drop),
        "visual_question_answering" => hc.visual_question_answering(img, "what?").model(m("visual-question-answering")).top_k(1u32).await.map(drop),
        "zero_shot_image_classification" => hc.zero_shot_image_classification(img, ["cat", "dog"]).model(m("zero-shot-image-classification")).hypothesis_template("A photo of a {}.").await.map(drop),
        "zero_shot_image_classification_one_label" => hc.zero_shot_image_classification(img, ["cat"]).model(m("zero-shot-image-classification")).await.map(drop),
        "feature_extraction" => hc.feature_extraction("hi").model(m("feature-extraction")).normalize(true).await.map(drop),
        "feature_extraction_batch" => hc.feature_extraction(vec!["a", "b"]).model(m("feature-extraction")).truncate(true).truncation_direction(TruncationDirection::Left).prompt_name("query").dimensions(8u32).await.map(drop),
        "sentence_similarity" => hc.sentence_similarity("a", ["b", "c"]).model(m("sentence-similarity")).await.map(drop),
        "fill_mask" => hc.fill_mask("The [MASK].").model(m("fill-mask")).targets(["a"]).top_k(2u32).await.map(drop),
        "question_answering" => hc.question_answering("what?", "ctx").model(m("question-answering")).top_k(1u32).align_to_words(true).doc_stride(16u32).handle_impossible_answer(false).max_answer_len(10u32).max_question_len(10u32).max_seq_len(100u32).await.map(drop),
        "summarization" => {
            let mut gp = serde_json::Map::new();
            gp.insert("max_new_tokens".into(), json!(5));
            gp.insert("x".into(), Value::Null);
            hc.summarization("t").model(m("summarization")).generate_parameters(gp).await.map(drop)
        }
        "summarization_params" => hc.summarization("t").model(m("summarization")).truncation(Truncation::LongestFirst).clean_up_tokenization_spaces(true).await.map(drop),
        "table_question_answering" => hc.table_question_answering(table(), "how many?").model(m("table-question-answering")).padding(Padding::Longest).await.map(drop),
        "tabular_classification" => hc.tabular_classification(table()).model(m("tabular-classification")).await.map(drop),
        "tabular_regression" => hc.tabular_regression(table()).model(m("tabular-regression")).await.map(drop),
        "text_classification" => hc.text_classification("I love this").model(m("text-classification")).await.map(drop),
        "text_classification_params" => hc.text_classification("I love this").model(m("text-classification")).top_k(2u32).function_to_apply(Cot::Softmax).await.map(drop),
        "text_generation" => hc.text_generation("p").model(m("text-generation")).await.map(drop),
        "text_generation_params" => hc.text_generation("p").model(m("text-generation")).max_new_tokens(5u32).details(true).seed(1u64).stop(["\n"]).temperature(0.5).top_k(5u32).top_p(0.9).do_sample(true).grammar(json!({"type": "json", "value": {"type": "object"}})).await.map(drop),
        "text_generation_stream_false" => hc.text_generation("p").model(m("text-generation")).stream_flag(false).decoder_input_details(true).await.map(drop),
        "text_generation_stream" => drain(hc.text_generation("p").model(m("text-generation")).max_new_tokens(5u32).details(true).stream().await).await,
        "text_to_image" => hc.text_to_image("a cat").model(m("text-to-image")).width(64u32).seed(1u64).parameter("foo", 1).await.map(drop),
        "text_to_image_params" => hc.text_to_image("a cat").model(m("text-to-image")).negative_prompt("dogs").height(32u32).num_inference_steps(4u32).guidance_scale(7.5).scheduler("DDIM").await.map(drop),
        "text_to_speech" => hc.text_to_speech("hello").model(m("text-to-speech")).do_sample(true).max_new_tokens(5u32).await.map(drop),
        "text_to_speech_params" => hc.text_to_speech("hello").model(m("text-to-speech")).early_stopping(EarlyStopping::NEVER).num_beams(2u32).temperature(0.7).top_p(0.9).use_cache(false).await.map(drop),
        "text_to_video" => hc.text_to_video("a cat").model(m("text-to-video")).await.map(drop),
        "image_to_video" => hc.image_to_video(img).model(m("image-to-video")).prompt("go").await.map(drop),
        "token_classification" => hc.token_classification("Ann lives here").model(m("token-classification")).await.map(drop),
        "token_classification_params" => hc.token_classification("Ann lives here").model(m("token-classification")).aggregation_strategy(AggregationStrategy::Simple).ignore_labels(["O"]).stride(2u32).await.map(drop),
        "translation" => hc.translation("Hello").model(m("translation")).src_lang("en").tgt_lang("fr").truncation(Truncation::DoNotTruncate).await.map(drop),
        "translation_lone_src_lang" => hc.translation("Hello").model(m("translation")).src_lang("en").await.map(drop),
        "zero_shot_classification" => hc.zero_shot_classification("text", ["a", "b"]).model(m("zero-shot-classification")).await.map(drop),
        "zero_shot_classification_params" => hc.zero_shot_classification("text", ["a", "b"]).model(m("zero-shot-classification")).multi_label(true).hypothesis_template("This is {}.").await.map(drop),
        "chat_h_extra_body" => hc.chat_completion(msg()).model(m("conversational")).parameter("foo", "bar").await.map(drop),
        "chat_h_response_format" => hc.chat_completion(msg()).model(m("conversational")).response_format(rf()).await.map(drop),
        "chat_h_params" => hc.chat_completion(msg()).model(m("conversational")).max_tokens(5u32).temperature(0.5).seed(1u64).stop(["x"]).tools(vec![Tool::function("f", Some("does f"), json!({"type": "object", "properties": {}}))]).tool_choice(ToolChoice::Auto).await.map(drop),
        "chat_h_client_model" => h().model(m("conversational")).build().unwrap().chat_completion(msg()).max_tokens(5u32).await.map(drop),
        "task_check_mismatch" => hc.fill_mask("The [MASK].").model(m("text-classification")).await.map(drop),
        "bill_to_and_headers" => h().bill_to("my-org").header("X-Custom", "1").build().unwrap().fill_mask("The [MASK].").model(m("fill-mask")).await.map(drop),
        "chat_auto" => ac.chat_completion(msg()).model("org/chat").max_tokens(5u32).await.map(drop),
        "chat_auto_suffix" => ac.chat_completion(msg()).model("org/chat:cheapest").await.map(drop),
        "chat_auto_stream" => drain(ac.chat_completion(msg()).model("org/chat").stream_options(StreamOptions { include_usage: true }).stream().await).await,
        "chat_auto_response_format" => ac.chat_completion(msg()).model("org/chat").response_format(rf()).await.map(drop),
        "auto_mapping_fill_mask" => ac.fill_mask("The [MASK].").model(m("fill-mask")).await.map(drop),
        "chat_together_rf" => p(Provider::Together).chat_completion(msg()).model(m("conversational")).response_format(rf()).await.map(drop),
        "chat_cohere_rf" => p(Provider::Cohere).chat_completion(msg()).model(m("conversational")).response_format(rf()).await.map(drop),
        "chat_fireworks_rf" => p(Provider::FireworksAi).chat_completion(msg()).model(m("conversational")).response_format(rf()).await.map(drop),
        "chat_groq_staging" => p(Provider::Groq).chat_completion(msg()).model(m("conversational")).max_tokens(3u32).await.map(drop),
        "provider_task_unsupported" => p(Provider::Together).fill_mask("The [MASK].").model(m("fill-mask")).await.map(drop),
        "url_text_generation_query" => builder(base).model(format!("{u}/text-generation?x=1")).token("hf_test").build().unwrap().text_generation("p").await.map(drop),
        "url_text_classification_call_model" => ac.text_classification("I love this").model(format!("{u}/text-classification")).await.map(drop),
        "url_feature_extraction_trailing_slash" => url(format!("{u}/feature-extraction/")).feature_extraction("hi").await.map(drop),
        "url_image_classification_raw" => builder(base).base_url(format!("{u}/image-classification")).build().unwrap().image_classification(img).await.map(drop),
        "url_tabular_regression" => url(format!("{u}/tabular-regression")).tabular_regression(table()).await.map(drop),
        "url_text_to_video" => url(format!("{u}/text-to-video")).text_to_video("a cat").num_frames(8u32).await.map(drop),
        "url_image_to_video" => url(format!("{u}/image-to-video")).image_to_video(img).prompt("go").await.map(drop),
        "url_chat_v1_slash" => builder(base).base_url(format!("{base}/v1/")).build().unwrap().chat_completion(msg()).await.map(drop),
        "url_chat_root" => builder(base).base_url(base).build().unwrap().chat_completion(msg()).response_format(rf()).await.map(drop),
        "url_chat_root_provider_ignored" => builder(base).base_url(base).provider(Provider::Together).build().unwrap().chat_completion(msg()).model("my-model").await.map(drop),
        "url_chat_query" => builder(base).base_url(format!("{base}/openai/v1?api-version=2")).build().unwrap().chat_completion(msg()).await.map(drop),
        "url_chat_full_path" => builder(base).base_url(format!("{base}/x/chat/completions")).api_key("my-api-key").build().unwrap().chat_completion(msg()).max_tokens(2u32).await.map(drop),
        "endpoint_info_url" => h().model(format!("{u}/tgi/")).build().unwrap().get_endpoint_info(None).await.map(drop),
        "endpoint_info_url_query" => h().model(format!("{u}/tgi?x=1")).build().unwrap().get_endpoint_info(None).await.map(drop),
        "endpoint_info_hub_id" => hc.get_endpoint_info(Some(&m("text-generation"))).await.map(drop),
        "endpoint_info_headers" => h().model(format!("{u}/tgi")).bill_to("my-org").header("X-Custom", "1").build().unwrap().get_endpoint_info(None).await.map(drop),
        "health_check_url" => h().model(format!("{u}/tgi/")).build().unwrap().health_check(None).await.map(drop),
        "health_check_hub_id" => hc.health_check(Some("org/m")).await.map(drop),
        _ => return None,
    };
    Some(r)
}

/// Reads a stream to its end.
async fn drain<S, T>(s: hfkit::Result<S>) -> hfkit::Result<()>
where
    S: futures::Stream<Item = hfkit::Result<T>> + Unpin,
{
    use futures::StreamExt;
    let mut s = s?;
    while let Some(item) = s.next().await {
        item?;
    }
    Ok(())
}

/// The value of one compared field of a request.
fn field(r: &Recorded, name: &str) -> Value {
    match name {
        "method" => json!(r.method),
        "path" => json!(r.path),
        "query" => json!(r.query),
        "body" => {
            let is_json = r
                .header("content-type")
                .is_some_and(|c| c.starts_with("application/json"));
            match serde_json::from_slice::<Value>(&r.body) {
                Ok(v) if is_json => v,
                _ => {
                    json!({"raw bytes": r.body.len(), "sha": format!("{:x?}", &r.body[..r.body.len().min(64)])})
                }
            }
        }
        h => json!(r.header(h)),
    }
}

/// Every difference of a case as (request index or `-`, field, detail).
fn compare(py: &[Recorded], rs: &[Recorded]) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    if py.len() != rs.len() {
        let list = |v: &[Recorded]| {
            v.iter()
                .map(|r| format!("{} {}", r.method, r.path))
                .collect::<Vec<_>>()
        };
        out.push((
            "-".into(),
            "count".into(),
            format!("python {:?}, hfkit {:?}", list(py), list(rs)),
        ));
    }
    for (i, (p, r)) in py.iter().zip(rs).enumerate() {
        for name in ["method", "path", "query", "body"].iter().chain(HEADERS) {
            let (a, b) = (field(p, name), field(r, name));
            if a != b {
                out.push((
                    i.to_string(),
                    name.to_string(),
                    format!("python {a}, hfkit {b}"),
                ));
            }
        }
    }
    out
}

/// The exceptions table: (case, request, field) → reason.
fn exceptions() -> BTreeMap<(String, String, String), String> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/parity_exceptions.md");
    let text = std::fs::read_to_string(&p).unwrap();
    let mut out = BTreeMap::new();
    for line in text.lines().filter(|l| l.starts_with("| `")) {
        let cols: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
        assert_eq!(cols.len(), 4, "exception rows have 4 columns: {line}");
        let unquote = |s: &str| s.trim_matches('`').to_owned();
        assert!(!cols[3].is_empty(), "an exception without a reason: {line}");
        out.insert(
            (unquote(cols[0]), unquote(cols[1]), unquote(cols[2])),
            cols[3].to_owned(),
        );
    }
    out
}

#[test]
fn python_and_hfkit_send_the_same_requests() {
    let files = Files::new();
    let rec = Recorder::start();
    let base = rec.url().to_owned();
    let outcomes = run_python(&base, &files);
    let py = split(rec.take());
    assert!(py.len() >= 70, "python ran {} cases", py.len());

    let rt = tokio::runtime::Runtime::new().unwrap();
    let marker = reqwest::Client::new();
    let mut rs_outcomes = BTreeMap::new();
    for case in py.keys() {
        rt.block_on(async {
            marker
                .get(format!("{base}/__mark/{case}"))
                .send()
                .await
                .unwrap();
            let r = hfkit_case(case, &base, &files)
                .await
                .unwrap_or_else(|| panic!("no hfkit twin for the Python case {case}"));
            rs_outcomes.insert(case.clone(), r.map_err(|e| e.to_string()));
        });
    }
    let rs = split(rec.take());

    let mut found: BTreeMap<(String, String, String), String> = BTreeMap::new();
    for (case, py_reqs) in &py {
        let rs_reqs = &rs[case];
        if py_reqs.is_empty() && rs_reqs.is_empty() {
            // Both refuse before sending anything.
            assert_eq!(
                outcomes[case]["ok"],
                json!(false),
                "{case}: python sent nothing"
            );
            assert!(
                rs_outcomes[case].is_err(),
                "{case}: hfkit sent nothing but succeeded"
            );
        }
        if !py_reqs.is_empty()
            && !REFUSED_AFTER_LOOKUP.contains(&case.as_str())
            && let Err(e) = &rs_outcomes[case]
        {
            // hfkit must parse the recorder's valid answers (Python may lack numpy/Pillow).
            found.insert((case.clone(), "-".into(), "outcome".into()), e.clone());
        }
        for (idx, name, detail) in compare(py_reqs, rs_reqs) {
            found.insert((case.clone(), idx, name), detail);
        }
    }
    let listed = exceptions();
    let unlisted: Vec<String> = found
        .iter()
        .filter(|(k, _)| !listed.contains_key(*k))
        .map(|((c, i, f), d)| format!("| `{c}` | `{i}` | `{f}` | {d} |"))
        .collect();
    let stale: Vec<_> = listed.keys().filter(|k| !found.contains_key(*k)).collect();
    println!(
        "parity: {} cases, {} requests from Python, {} from hfkit, {} differences, all listed",
        py.len(),
        py.values().map(Vec::len).sum::<usize>(),
        rs.values().map(Vec::len).sum::<usize>(),
        found.len() - unlisted.len()
    );
    assert!(
        unlisted.is_empty(),
        "differences not listed in tests/parity_exceptions.md:\n{}",
        unlisted.join("\n")
    );
    assert!(
        stale.is_empty(),
        "listed exceptions that no longer occur: {stale:?}"
    );
    // The Hub task check: one anonymous look-up, then a refusal before any inference request.
    let tc = &py["task_check_mismatch"];
    assert_eq!(tc.len(), 1, "python: {tc:?}");
    assert_eq!(tc[0].method, "GET");
    assert_eq!(outcomes["task_check_mismatch"]["ok"], json!(false));
    let err = rs_outcomes["task_check_mismatch"].as_ref().unwrap_err();
    assert!(
        err.contains("pipeline tag is \"text-classification\""),
        "{err}"
    );
    section_3_4_facts(&py, &base, &files);
}

/// Rows of inference.md §3.4 checked on Python's own requests (the spec's claims).
fn section_3_4_facts(py: &BTreeMap<String, Vec<Recorded>>, base: &str, f: &Files) {
    let b64 = |b: &[u8]| {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(b)
    };
    let img = b64(&f.img);
    let last = |case: &str| py[case].last().unwrap().clone();
    let body = |case: &str| field(&last(case), "body");
    // Each model's first hf-inference call is preceded by an anonymous Hub look-up.
    let first = &py["fill_mask"][0];
    assert_eq!(
        (first.method.as_str(), first.path.as_str()),
        ("GET", "/__hub/api/models/fill_mask/fill-mask")
    );
    assert_eq!(first.header("authorization"), None);
    let fm = last("fill_mask");
    assert_eq!(fm.path, "/__router/hf-inference/models/fill_mask/fill-mask");
    assert_eq!(fm.header("authorization"), Some("Bearer hf_test"));
    assert_eq!(fm.header("accept"), Some("*/*"));
    assert_eq!(
        body("fill_mask"),
        json!({"inputs":"The [MASK].","parameters":{"targets":["a"],"top_k":2}})
    );
    let raw = last("audio_classification_raw");
    assert_eq!(raw.header("content-type"), Some("audio/flac"));
    assert_eq!(raw.body, std::fs::read(f.path("a.flac")).unwrap());
    assert_eq!(
        last("audio_classification_wav").header("content-type"),
        Some("audio/x-wav")
    );
    assert_eq!(
        last("image_classification_bytes").header("content-type"),
        None
    );
    assert_eq!(
        last("image_to_text").header("content-type"),
        Some("image/png")
    );
    assert_eq!(
        last("image_to_image_raw").header("accept"),
        Some("image/png")
    );
    assert_eq!(
        body("audio_classification_params"),
        json!({"inputs": b64(b"fLaC\0\0\0\x22audio"), "parameters": {"function_to_apply":"softmax","top_k":2}})
    );
    assert_eq!(
        body("asr_extra_body")["parameters"],
        json!({"return_timestamps": true})
    );
    assert_eq!(
        body("document_question_answering"),
        json!({"inputs":{"question":"what?","image":img},"parameters":{"top_k":1}})
    );
    assert_eq!(
        body("visual_question_answering"),
        json!({"inputs":img,"parameters":{"top_k":1},"question":"what?","image":img})
    );
    assert!(
        last("feature_extraction")
            .path
            .ends_with("/pipeline/feature-extraction")
    );
    assert_eq!(
        body("feature_extraction"),
        json!({"inputs":"hi","normalize":true})
    );
    assert_eq!(
        body("sentence_similarity"),
        json!({"inputs":{"source_sentence":"a","sentences":["b","c"]},"parameters":{}})
    );
    assert_eq!(
        body("summarization"),
        json!({"inputs":"t","parameters":{"generate_parameters":{"max_new_tokens":5}}})
    );
    assert_eq!(
        body("table_question_answering"),
        json!({"inputs":{"query":"how many?","table":{"a":["1"]}},"parameters":{"model":"table_question_answering/table-question-answering","padding":"longest"}})
    );
    assert_eq!(
        body("tabular_classification"),
        json!({"parameters":{},"table":{"a":["1"]}})
    );
    assert!(py["tabular_regression"].is_empty());
    assert_eq!(
        body("text_generation"),
        json!({"inputs":"p","parameters":{}})
    );
    assert_eq!(
        body("text_generation_stream"),
        json!({"inputs":"p","parameters":{"details":true,"max_new_tokens":5},"stream":true})
    );
    assert_eq!(
        body("text_generation_stream_false"),
        json!({"inputs":"p","parameters":{"decoder_input_details":false},"stream":false})
    );
    assert_eq!(
        body("text_to_image"),
        json!({"inputs":"a cat","parameters":{"width":64,"seed":1,"foo":1}})
    );
    assert_eq!(
        body("text_to_speech"),
        json!({"inputs":"hello","parameters":{"do_sample":true,"max_new_tokens":5}})
    );
    assert_eq!(
        body("zero_shot_classification"),
        json!({"inputs":"text","parameters":{"candidate_labels":["a","b"],"multi_label":false}})
    );
    let tg = last("url_text_generation_query");
    assert_eq!(
        (tg.path.as_str(), tg.query.as_deref()),
        ("/u/text-generation", Some("x=1"))
    );
    // Chat rows.
    let chat = last("chat_auto");
    assert_eq!(chat.path, "/__router/v1/chat/completions");
    assert!(String::from_utf8_lossy(&chat.body).starts_with(r#"{"model":"org/chat","messages":"#));
    assert_eq!(body("chat_auto")["stream"], json!(false));
    assert_eq!(
        body("chat_auto_suffix")["model"],
        json!("org/chat:cheapest")
    );
    assert_eq!(
        body("chat_auto_stream")["stream_options"],
        json!({"include_usage": true})
    );
    assert_eq!(
        body("chat_auto_response_format")["response_format"]["type"],
        json!("json_schema")
    );
    assert_eq!(body("chat_h_extra_body")["foo"], json!("bar"));
    assert_eq!(
        body("chat_h_response_format")["response_format"],
        json!({"type":"json_object","value":{"type":"object"}})
    );
    assert_eq!(last("url_chat_v1_slash").path, "/v1/chat/completions");
    assert_eq!(body("url_chat_root")["model"], json!("dummy"));
    assert_eq!(
        body("url_chat_root_provider_ignored")["model"],
        json!("my-model")
    );
    let q = last("url_chat_query");
    assert_eq!(
        (q.path.as_str(), q.query.as_deref()),
        ("/openai/v1/chat/completions", Some("api-version=2"))
    );
    assert_eq!(last("url_chat_full_path").path, "/x/chat/completions");
    assert_eq!(
        last("chat_together_rf").path,
        "/__router/together/v1/chat/completions"
    );
    assert_eq!(
        body("chat_together_rf")["response_format"],
        json!({"type":"json_schema","schema":{"type":"object"}})
    );
    assert_eq!(
        body("chat_together_rf")["model"],
        json!("chat_together_rf/conversational-together")
    );
    assert_eq!(
        last("chat_cohere_rf").path,
        "/__router/cohere/compatibility/v1/chat/completions"
    );
    assert_eq!(
        body("chat_cohere_rf")["response_format"],
        json!({"type":"json_object","schema":{"type":"object"}})
    );
    assert_eq!(
        last("chat_fireworks_rf").path,
        "/__router/fireworks-ai/inference/v1/chat/completions"
    );
    // Server questions: `{url}/info` and `{url}/health` with the trailing `/` stripped; a Hub
    // id's info on the legacy API; the explicit token on both.
    let info = last("endpoint_info_url");
    assert_eq!(
        (info.method.as_str(), info.path.as_str()),
        ("GET", "/u/tgi/info")
    );
    assert_eq!(info.header("authorization"), Some("Bearer hf_test"));
    assert_eq!(
        last("endpoint_info_hub_id").path,
        "/__legacy/models/endpoint_info_hub_id/text-generation/info"
    );
    let health = last("health_check_url");
    assert_eq!(
        (health.method.as_str(), health.path.as_str()),
        ("GET", "/u/tgi/health")
    );
    assert!(py["health_check_hub_id"].is_empty());
    let _ = base;
}
