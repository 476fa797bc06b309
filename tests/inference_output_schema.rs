//! Every parsed JSON task output serialises back to JSON that validates against the task's
//! output schema in `../shared/conformance/task-specs/{task}/output.json` (inference.md §9.2;
//! the answers come from `support::recorder`).
//!
//! Two schema errata are patched before validating, each with its evidence: `fill-mask` and
//! `image-to-text` list camelCase names in `required` (`tokenStr`, `generatedText`) while their
//! own `properties`, the recorded traffic (`C27:ICV.fill_mask`, `ICV.image_to_text`) and Python
//! use `token_str` / `generated_text`. A schema whose top level is an array while the answer is
//! one object (table QA) is checked on a one-element list.

mod support;

use std::collections::HashMap;
use std::path::PathBuf;

use hfkit::Settings;
use hfkit::inference::types::{ChatMessage, Table};
use hfkit::inference::{BinaryInput, InferenceClient, Provider};
use serde::Serialize;
use serde_json::Value;
use support::recorder::{Recorder, png};

const BASE: &str = "https://hfkit.test";

fn specs() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/conformance/task-specs")
}

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

/// Replaces a name in every `required` list of a schema.
fn rename_required(v: &mut Value, from: &str, to: &str) -> usize {
    let mut n = 0;
    match v {
        Value::Object(o) => {
            if let Some(Value::Array(req)) = o.get_mut("required") {
                for r in req.iter_mut().filter(|r| r.as_str() == Some(from)) {
                    *r = Value::String(to.into());
                    n += 1;
                }
            }
            for child in o.values_mut() {
                n += rename_required(child, from, to);
            }
        }
        Value::Array(a) => {
            for child in a {
                n += rename_required(child, from, to);
            }
        }
        _ => {}
    }
    n
}

/// Validates `output` (serialised) against `{task}/output.json`; returns the JSON checked.
fn check<T: Serialize>(task: &str, output: &T) -> Value {
    let mut schema = read_schema(&format!("{task}/output.json"));
    match task {
        "fill-mask" => assert_eq!(rename_required(&mut schema, "tokenStr", "token_str"), 1),
        "image-to-text" => assert_eq!(
            rename_required(&mut schema, "generatedText", "generated_text"),
            1
        ),
        _ => {}
    }
    let mut value = serde_json::to_value(output).unwrap();
    if schema["type"] == "array" && !value.is_array() {
        value = Value::Array(vec![value]);
    }
    let registry = jsonschema::Registry::new()
        .add(
            format!("{BASE}/inference/schemas/common-definitions.json"),
            read_schema("common-definitions.json"),
        )
        .unwrap()
        .prepare()
        .unwrap();
    let validator = jsonschema::options()
        .with_registry(&registry)
        .build(&schema)
        .unwrap_or_else(|e| panic!("{task}: schema does not compile: {e}"));
    let errors: Vec<String> = validator
        .iter_errors(&value)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{task}: parsed output {value} does not match its output schema: {errors:?}"
    );
    value
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parsed_outputs_round_trip_against_the_output_schemas() {
    let rec = Recorder::start();
    let settings = Settings::builder()
        .env_map(HashMap::new())
        .hf_home(std::env::temp_dir().join("hfkit-output-schema-no-home"))
        .build()
        .unwrap();
    let c = InferenceClient::builder()
        .settings(settings)
        .provider(Provider::HfInference)
        .router_url(rec.url())
        .hub_url(rec.url())
        .max_retries(0)
        .build()
        .unwrap();
    let img = || BinaryInput::bytes(png());
    let audio = || BinaryInput::bytes(&b"fLaC\0\0\0\x22"[..]);
    let m = |t: &str| format!("t/{t}");
    let table: Table = [("a", vec!["1"])].into_iter().collect();
    let mut checked = Vec::new();
    let mut ok = |task: &str, v: Value| {
        assert!(!v.is_null(), "{task}");
        checked.push(task.to_owned());
    };

    let t = "audio-classification";
    ok(
        t,
        check(
            t,
            &c.audio_classification(audio()).model(m(t)).await.unwrap(),
        ),
    );
    let t = "automatic-speech-recognition";
    let asr = c
        .automatic_speech_recognition(audio())
        .model(m(t))
        .await
        .unwrap();
    assert_eq!(asr.text, "hello");
    ok(t, check(t, &asr));
    let t = "chat-completion";
    let chat = c
        .chat_completion([ChatMessage::user("hi")])
        .model(m("conversational"))
        .await
        .unwrap();
    assert_eq!(chat.text(), Some("hi"));
    ok(t, check(t, &chat));
    let t = "document-question-answering";
    ok(
        t,
        check(
            t,
            &c.document_question_answering(img(), "what?")
                .model(m(t))
                .await
                .unwrap(),
        ),
    );
    let t = "feature-extraction";
    let emb = c.feature_extraction("hi").model(m(t)).await.unwrap();
    let rows: Vec<Vec<f32>> = emb.rows().map(<[f32]>::to_vec).collect();
    assert_eq!(rows, vec![vec![0.25, 0.5]]);
    ok(t, check(t, &rows));
    let t = "fill-mask";
    let fm = c.fill_mask("The [MASK].").model(m(t)).await.unwrap();
    assert_eq!(fm[0].token_str.as_deref(), Some("a"));
    ok(t, check(t, &fm));
    let t = "image-classification";
    ok(
        t,
        check(t, &c.image_classification(img()).model(m(t)).await.unwrap()),
    );
    let t = "image-segmentation";
    ok(
        t,
        check(t, &c.image_segmentation(img()).model(m(t)).await.unwrap()),
    );
    let t = "image-to-text";
    let itt = c.image_to_text(img()).model(m(t)).await.unwrap();
    ok(t, check(t, &itt));
    let t = "object-detection";
    ok(
        t,
        check(t, &c.object_detection(img()).model(m(t)).await.unwrap()),
    );
    let t = "question-answering";
    let qa = c
        .question_answering("what?", "ctx")
        .model(m(t))
        .await
        .unwrap();
    assert_eq!(qa[0].answer, "42");
    ok(t, check(t, &qa));
    let t = "sentence-similarity";
    let sim = c
        .sentence_similarity("a", ["b", "c"])
        .model(m(t))
        .await
        .unwrap();
    assert_eq!(sim, [0.5, 0.25]);
    ok(t, check(t, &sim));
    let t = "summarization";
    ok(
        t,
        check(t, &c.summarization("t").model(m(t)).await.unwrap()),
    );
    let t = "table-question-answering";
    let tqa = c
        .table_question_answering(table, "how many?")
        .model(m(t))
        .await
        .unwrap();
    assert_eq!(tqa.answer, "1");
    ok(t, check(t, &tqa));
    let t = "text-classification";
    let tc = c
        .text_classification("I love this")
        .model(m(t))
        .await
        .unwrap();
    assert_eq!(tc[0].label, "POSITIVE");
    ok(t, check(t, &tc));
    let t = "text-generation";
    ok(
        t,
        check(t, &c.text_generation("p").model(m(t)).await.unwrap()),
    );
    let with_details = c
        .text_generation("p")
        .model(m(t))
        .details(true)
        .await
        .unwrap();
    assert!(with_details.details.is_some());
    ok(t, check(t, &with_details));
    let t = "token-classification";
    ok(
        t,
        check(t, &c.token_classification("Ann").model(m(t)).await.unwrap()),
    );
    let t = "translation";
    ok(
        t,
        check(t, &c.translation("Hello").model(m(t)).await.unwrap()),
    );
    let t = "visual-question-answering";
    ok(
        t,
        check(
            t,
            &c.visual_question_answering(img(), "what?")
                .model(m(t))
                .await
                .unwrap(),
        ),
    );
    let t = "zero-shot-classification";
    ok(
        t,
        check(
            t,
            &c.zero_shot_classification("text", ["a", "b"])
                .model(m(t))
                .await
                .unwrap(),
        ),
    );
    let t = "zero-shot-image-classification";
    ok(
        t,
        check(
            t,
            &c.zero_shot_image_classification(img(), ["a", "b"])
                .model(m(t))
                .await
                .unwrap(),
        ),
    );

    checked.dedup();
    println!(
        "{} task outputs round-tripped against their output schemas: {}",
        checked.len(),
        checked.join(", ")
    );
    assert_eq!(checked.len(), 21);
}
