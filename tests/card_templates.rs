//! Card templates: hfkit's default model card, Python-Jinja idioms, errors.

use std::path::{Path, PathBuf};

use hfkit::Error;
use hfkit::card::{DatasetCard, DatasetCardData, EvalResult, ModelCard, ModelCardData};
use serde_json::json;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/conformance/card-fixtures")
        .join(name)
}

/// Pins the version shown by the default template so snapshots do not move with releases.
fn pinned(mut vars: serde_json::Value) -> serde_json::Value {
    vars["hfkit_version"] = json!("0.0.0-test");
    vars
}

#[test]
fn default_template_minimal() {
    let card = ModelCard::from_template(ModelCardData::new(), None, pinned(json!({}))).unwrap();
    assert!(card.data().is_empty());
    let text = card.text();
    assert!(text.starts_with("---\n{}\n---\n\n# Model card\n"), "{text}");
    assert!(!text.contains("## Training details"));
    assert!(!text.contains("## Evaluation"));
    assert!(!text.contains("features = [\"candle\"]"));
    insta::assert_snapshot!("default_template_minimal", text);
}

#[test]
fn default_template_full() {
    let mut data = ModelCardData::new();
    data.set_license(Some("apache-2.0"));
    data.set_library_name(Some("candle"));
    data.set_pipeline_tag(Some("image-classification"));
    data.set_tags(["vision", "hfkit"]);
    data.set_base_model(["google/vit-base-patch16-224"]);
    let mut r = EvalResult::new(
        "image-classification",
        "beans",
        "Beans",
        "accuracy",
        json!(0.95),
    );
    r.dataset_split = Some("test".into());
    let mut f1 = r.clone();
    f1.metric_type = "f1".into();
    f1.metric_name = Some("F1".into());
    f1.metric_value = json!("0.93 ± 0.01");
    data.set_eval_results("vit-beans", vec![r, f1]).unwrap();
    let vars = pinned(json!({
        "model_id": "vit-beans",
        "model_summary": "A ViT fine-tuned on beans.",
        "model_description": "Classifies bean leaf diseases.",
        "developers": "The hfkit authors",
        "model_type": "Vision transformer",
        "repo_url": "https://github.com/example/vit-beans",
        "docs_url": "https://example.com/docs",
        "paper_url": "https://arxiv.org/abs/2010.11929",
        "model_type_name": "VitBeans",
        "repo_id": "example/vit-beans",
        "intended_uses": "Leaf disease triage.",
        "limitations": "Only three classes.",
        "training_data": "The beans dataset.",
        "training_procedure": "Fine-tuned for 5 epochs.",
        "hyperparameters": {"learning_rate": "2e-5", "epochs": 5, "batch_size": 32},
        "citation_bibtex": "@misc{vitbeans,\n  title={ViT beans}\n}",
    }));
    let card = ModelCard::from_template(data.clone(), None, vars).unwrap();
    assert_eq!(card.data(), &data, "rendered metadata is the front matter");
    let text = card.text();
    for needle in [
        "# vit-beans",
        "- **License:** apache-2.0",
        "- **Base model:** google/vit-base-patch16-224",
        "features = [\"candle\"]",
        "VitBeans::from_pretrained(\"example/vit-beans\")",
        "## Training details",
        "| learning_rate | 2e-5 |",
        "| image-classification | Beans | test | F1 | 0.93 ± 0.01 |",
        "```bibtex\n@misc{vitbeans,",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in\n{text}");
    }
    insta::assert_snapshot!("default_template_full", text);
}

#[test]
fn python_fixture_template_renders_like_python() {
    let template = std::fs::read_to_string(fixture("sample_template.md")).unwrap();
    let mut data = ModelCardData::new();
    data.set("language", json!("en")).unwrap();
    data.set_license(Some("mit"));
    let card =
        ModelCard::from_template(data, Some(&template), json!({"some_data": "asdf"})).unwrap();
    // Python: ---\nlanguage: en\nlicense: mit\n---\n\n# MyModelName\n\nasdf
    assert_eq!(
        card.text(),
        "---\nlanguage: en\nlicense: mit\n---\n\n# MyModelName\n\nasdf"
    );
    assert_eq!(card.data().license(), Some("mit"));
}

#[test]
fn dataset_template_trap_gives_empty_data() {
    let template = std::fs::read_to_string(fixture("sample_datasetcard_template.md")).unwrap();
    let mut data = DatasetCardData::new();
    data.set_pretty_name(Some("Beans"));
    let card = DatasetCard::from_template_str(&data, &template, json!({"some_data": "x"})).unwrap();
    assert!(card.data().is_empty());
    assert!(card.body().contains("# Beans"), "{}", card.body());
}

#[test]
fn python_jinja_idioms() {
    let template = r#"---
{{ card_data }}
---
{%- set title = name | default("Untitled", true) %}
# {{ title.strip().upper() }}
{% for key, value in params.items() %}
- {{ key }} = {{ value }}
{%- endfor %}

Keys: {{ params.keys() | list | join(", ") }}
JSON: {{ params | tojson }}
Tags: {{ tags | join(" ") }}
Missing: [{{ missing }}]{% if missing %} never{% endif %}
Split: {{ "a,b,c".split(",") | length }}
Replace: {{ "hello world".replace("world", "hub") }}
Startswith: {{ "hfkit".startswith("hf") }}
Get: {{ params.get("lr", "none") }} {{ params.get("nope", "none") }}
Truncate: {{ "a long sentence here" | truncate(length=9) }}
Escape: {{ "<b>&</b>" }}
"#;
    let mut data = ModelCardData::new();
    data.set_tags(["a", "b"]);
    let vars = json!({"name": "  my model  ", "params": {"lr": 0.001, "epochs": 3, "note": "<x>"}});
    let card = ModelCard::from_template(data, Some(template), vars).unwrap();
    let text = card.text();
    let want = r#"---
tags:
- a
- b
---
# MY MODEL

- lr = 0.001
- epochs = 3
- note = <x>

Keys: lr, epochs, note
JSON: {"lr": 0.001, "epochs": 3, "note": "\u003cx\u003e"}
Tags: a b
Missing: []
Split: 3
Replace: hello hub
Startswith: True
Get: 0.001 none
Truncate: a...
Escape: <b>&</b>"#;
    // What Jinja2 prints for the same template and context, except the key order of `tojson`
    // (Jinja2 sorts keys; hfkit keeps insertion order — use `|dictsort` for identical output).
    assert_eq!(text, want);
    insta::assert_snapshot!("python_jinja_idioms", text);
}

#[test]
fn template_syntax_error_names_the_line() {
    let template = "---\n{{ card_data }}\n---\n\n# Title\n{% if x %}\nunclosed\n";
    let e = ModelCard::from_template(ModelCardData::new(), Some(template), json!({})).unwrap_err();
    match e {
        Error::Card { line, message } => {
            assert!(line.is_some_and(|l| l >= 6), "{line:?}");
            assert!(message.contains("syntax error"), "{message}");
        }
        other => panic!("expected Error::Card, got {other:?}"),
    }
    let e = ModelCard::from_template(
        ModelCardData::new(),
        Some("---\n{{ card_data }}\n---\n{{ x.y.z }}"),
        json!({}),
    )
    .unwrap_err();
    assert!(matches!(e, Error::Card { line: Some(4), .. }), "{e:?}");
    insta::assert_snapshot!("template_syntax_error", e.to_string());
}

#[test]
fn card_data_is_reserved_and_vars_must_be_an_object() {
    let e = ModelCard::from_template(ModelCardData::new(), None, json!({"card_data": "x"}))
        .unwrap_err();
    assert!(matches!(e, Error::InvalidInput(_)), "{e:?}");
    let e = ModelCard::from_template(ModelCardData::new(), None, json!([1])).unwrap_err();
    assert!(matches!(e, Error::InvalidInput(_)), "{e:?}");
}

#[test]
fn caller_variables_win_over_metadata() {
    let mut data = ModelCardData::new();
    data.set_license(Some("mit"));
    let card = ModelCard::from_template(
        data,
        Some("---\n{{ card_data }}\n---\n{{ license }}"),
        json!({"license": "shown"}),
    )
    .unwrap();
    assert_eq!(card.body(), "shown");
    assert_eq!(card.data().license(), Some("mit"));
}
