//! Repository cards: the conformance fixtures, front-matter rules, YAML writing and hostile input.

use std::path::{Path, PathBuf};

use hfkit::Error;
use hfkit::card::{
    DatasetCard, EvalResult, LineEnding, LoadOptions, ModelCard, ModelCardData, SpaceCard,
    eval_results_to_model_index,
};
use serde_json::json;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/conformance/card-fixtures")
}

fn fixture(name: &str) -> PathBuf {
    fixtures().join(name)
}

fn card_error(e: Error) -> (Option<usize>, String) {
    match e {
        Error::Card { line, message } => (line, message),
        other => panic!("expected Error::Card, got {other:?}"),
    }
}

const VALID: &[&str] = &[
    "sample_datasetcard_simple.md",
    "sample_datasetcard_template.md",
    "sample_no_metadata.md",
    "sample_simple.md",
    "sample_simple_model_index.md",
    "sample_windows_line_breaks.md",
];

#[test]
fn every_fixture_is_covered() {
    let mut names: Vec<String> = std::fs::read_dir(fixtures())
        .expect("card fixtures (../shared/conformance/card-fixtures)")
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let mut known: Vec<&str> = VALID.to_vec();
    known.extend([
        "sample_invalid_card_data.md",
        "sample_invalid_model_index.md",
        "sample_template.md",
    ]);
    known.sort();
    assert_eq!(names, known);
}

#[test]
fn valid_fixtures_round_trip_byte_for_byte() {
    for name in VALID {
        let bytes = std::fs::read(fixture(name)).unwrap();
        let card = ModelCard::load(fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(card.text().as_bytes(), &bytes[..], "{name}");
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("README.md");
        card.save(&out).unwrap();
        assert_eq!(std::fs::read(&out).unwrap(), bytes, "{name} saved");
        // The dataset and space readers accept them too.
        DatasetCard::load(fixture(name)).unwrap();
        SpaceCard::load(fixture(name)).unwrap();
    }
}

#[test]
fn simple_fixture_data() {
    let card = ModelCard::load(fixture("sample_simple.md")).unwrap();
    let d = card.data();
    assert_eq!(d.language(), ["en"]);
    assert_eq!(d.license(), Some("mit"));
    assert_eq!(d.library_name(), Some("pytorch-lightning"));
    assert_eq!(d.tags(), ["pytorch", "image-classification"]);
    assert_eq!(d.datasets(), ["beans"]);
    assert_eq!(d.metrics(), ["acc"]);
    assert!(card.body().starts_with("\n# my-cool-model\n"));
    let keys: Vec<&String> = d.iter().map(|(k, _)| k).collect();
    assert_eq!(
        keys,
        [
            "language",
            "license",
            "library_name",
            "tags",
            "datasets",
            "metrics"
        ]
    );
}

#[test]
fn dataset_fixture_data() {
    let card = DatasetCard::load(fixture("sample_datasetcard_simple.md")).unwrap();
    let d = card.data();
    assert_eq!(d.size_categories(), ["n<1K"]);
    assert_eq!(d.license(), ["bsd-3-clause"]);
    assert_eq!(d.pretty_name(), Some("Sample Segmentation"));
    assert_eq!(
        d.annotations_creators(),
        ["crowdsourced", "expert-generated"]
    );
}

#[test]
fn no_metadata_gives_empty_data_and_whole_body() {
    let text = std::fs::read_to_string(fixture("sample_no_metadata.md")).unwrap();
    let card = ModelCard::load(fixture("sample_no_metadata.md")).unwrap();
    assert!(card.data().is_empty());
    assert_eq!(card.body(), text);
    assert_eq!(card.text(), text);
}

#[test]
fn model_index_fixture_flattens_to_eval_results() {
    let card = ModelCard::load(fixture("sample_simple_model_index.md")).unwrap();
    let d = card.data();
    assert_eq!(d.model_name(), Some("my-cool-model"));
    let r = d.eval_results();
    assert_eq!(r.len(), 2);
    assert_eq!(r[0].metric_type, "accuracy");
    assert_eq!(r[0].metric_value, json!(0.9));
    assert_eq!(r[0].dataset_config, None);
    assert_eq!(r[1].metric_type, "f1");
    assert_eq!(r[1].metric_value, json!(0.66));
    assert_eq!(r[1].dataset_config.as_deref(), Some("default"));
    assert_eq!(r[1].dataset_split.as_deref(), Some("test"));
    assert_eq!(
        r[1].dataset_revision.as_deref(),
        Some("5503434ddd753f426f4b38109466949a1217c2bb")
    );
    assert_eq!(r[1].dataset_args, Some(json!({"date": 20220120})));
    // Written back through the API: two `results` items.
    let mi = eval_results_to_model_index("my-cool-model", &r).unwrap();
    assert_eq!(mi[0]["results"].as_array().unwrap().len(), 2);
    assert_eq!(mi, card.data().get("model-index").cloned().unwrap());
}

#[test]
fn invalid_card_data_is_not_a_mapping_even_lenient() {
    for lenient in [false, true] {
        let opts = LoadOptions {
            ignore_metadata_errors: lenient,
        };
        let e = ModelCard::load_with(fixture("sample_invalid_card_data.md"), opts).unwrap_err();
        let (line, message) = card_error(e);
        assert_eq!(line, Some(2));
        assert!(message.contains("must be a YAML mapping"), "{message}");
        assert!(message.contains("a list"), "{message}");
    }
}

#[test]
fn template_fixture_is_not_a_card() {
    // `{{card_data}}` read as YAML is a mapping used as a key: rejected (Python: ConstructorError).
    let (line, message) = card_error(ModelCard::load(fixture("sample_template.md")).unwrap_err());
    assert_eq!(line, Some(2));
    assert!(message.contains("complex mapping keys"), "{message}");
    // The dataset template's `{card_data}` is a mapping with one null value: empty data.
    let card = DatasetCard::load(fixture("sample_datasetcard_template.md")).unwrap();
    assert!(card.data().is_empty());
}

#[test]
fn invalid_model_index_fails_strict_and_loads_lenient() {
    let e = ModelCard::load(fixture("sample_invalid_model_index.md")).unwrap_err();
    let (_, message) = card_error(e);
    assert!(
        message.contains("model-index[0].results[0].dataset"),
        "{message}"
    );
    let bytes = std::fs::read(fixture("sample_invalid_model_index.md")).unwrap();
    let card = ModelCard::load_with(
        fixture("sample_invalid_model_index.md"),
        LoadOptions {
            ignore_metadata_errors: true,
        },
    )
    .unwrap();
    assert!(card.data().eval_results().is_empty());
    assert_eq!(card.data().model_name(), None);
    assert_eq!(card.data().license(), Some("mit"));
    assert!(card.data().contains_key("model-index"), "raw value kept");
    assert_eq!(card.text().as_bytes(), &bytes[..]);
    // Python's to_dict drops the invalid model-index.
    assert!(!card.to_python_dict().contains_key("model-index"));
}

#[test]
fn windows_line_breaks_are_kept_on_edit() {
    let card = ModelCard::load(fixture("sample_windows_line_breaks.md")).unwrap();
    assert_eq!(card.line_ending(), LineEnding::CrLf);
    let mut edited = card.clone();
    edited.data_mut().set_license(Some("apache-2.0"));
    let text = edited.text();
    let want = "---\r\nlicense: apache-2.0\r\nlanguage: eo\r\nthumbnail: https://huggingface.co/blog/assets/01_how-to-train/EsperBERTo-thumbnail-v2.png\r\nwidget:\r\n- text: Jen la komenco de bela <mask>.\r\n- text: Uno du <mask>\r\n- text: Jen finiĝas bela <mask>.\r\n---\r\n\r\n# Hello old Windows line breaks\r\n";
    assert_eq!(text, want);
    assert_eq!(edited.body(), card.body());
}

#[test]
fn front_matter_edge_cases() {
    let card = ModelCard::parse("---\n\n---\n").unwrap();
    assert!(card.data().is_empty());
    assert_eq!(card.body(), "");
    let card = ModelCard::parse("---\n# only a comment\n---\nbody").unwrap();
    assert!(card.data().is_empty());
    let card = ModelCard::parse("---\n---\n").unwrap();
    assert_eq!(card.body(), "---\n---\n");
    let card = ModelCard::parse("---\r\n---\r\nlanguage: en\r\n---\r\nbody").unwrap();
    assert_eq!(card.data().language(), ["en"]);
    assert_eq!(card.body(), "body");
    let card = ModelCard::parse("\u{FEFF}---\nlicense: mit\n---\nx").unwrap();
    assert_eq!(card.data().license(), Some("mit"));
}

#[test]
fn yaml_1_2_scalars_stay_strings() {
    let card = ModelCard::parse(
        "---\nlanguage: no\na: yes\nb: on\nc: 0123\nd: 2024-01-01\ne: 1_000\nf: True\ng: 0.5\n---\n",
    )
    .unwrap();
    let d = card.data();
    assert_eq!(d.get("language"), Some(&json!("no")));
    assert_eq!(d.get("a"), Some(&json!("yes")));
    assert_eq!(d.get("b"), Some(&json!("on")));
    assert_eq!(d.get("c"), Some(&json!("0123")));
    assert_eq!(d.get("d"), Some(&json!("2024-01-01")));
    assert_eq!(d.get("e"), Some(&json!("1_000")));
    assert_eq!(d.get("f"), Some(&json!(true)));
    assert_eq!(d.get("g"), Some(&json!(0.5)));
}

#[test]
fn invalid_yaml_names_the_card_line() {
    let e = ModelCard::parse("---\nlicense: mit\ntags: [a, b\n---\nbody").unwrap_err();
    let (line, message) = card_error(e);
    assert!(line.is_some_and(|l| (3..=4).contains(&l)), "{line:?}");
    assert!(message.contains("invalid YAML"), "{message}");

    let e = ModelCard::parse("---\nlicense: mit\nlicense: apache-2.0\n---\n").unwrap_err();
    let (line, message) = card_error(e);
    assert!(message.contains("duplicate"), "{message}");
    assert!(line.is_some_and(|l| (2..=3).contains(&l)), "{line:?}");

    let e = ModelCard::parse("---\nx: .inf\n---\n").unwrap_err();
    assert!(card_error(e).1.contains(".inf"));

    let e = ModelCard::parse("---\nplain string\n---\n").unwrap_err();
    assert!(card_error(e).1.contains("a string"));
}

#[test]
fn regenerated_shape_is_pyyaml_like() {
    let mut data = ModelCardData::new();
    data.set_license(Some("test"));
    data.set_datasets(["foo", "bar"]);
    let card = ModelCard::new(data, "\nHello\n");
    assert_eq!(
        card.text(),
        "---\nlicense: test\ndatasets:\n- foo\n- bar\n---\n\nHello\n"
    );
    // Empty data regenerated: `{}`.
    let mut card = ModelCard::parse("---\nlicense: mit\n---\nbody").unwrap();
    card.data_mut().remove("license");
    assert_eq!(card.text(), "---\n{}\n---\nbody");
    // A card without front matter that stays empty is its body alone.
    let card = ModelCard::parse("# Title\n").unwrap();
    assert_eq!(card.text(), "# Title\n");
}

#[test]
fn keys_keep_order_unknown_keys_kept_nulls_dropped() {
    let mut card =
        ModelCard::parse("---\nthumbnail: x.png\nlicense: mit\nempty:\nwidget:\n- text: hi\n---\n")
            .unwrap();
    assert!(!card.data().contains_key("empty"));
    card.data_mut().set_library_name(Some("candle"));
    card.data_mut()
        .set("extra", json!({"a": null, "b": [1, 2.5]}))
        .unwrap();
    assert_eq!(
        card.text(),
        "---\nthumbnail: x.png\nlicense: mit\nwidget:\n- text: hi\nlibrary_name: candle\nextra:\n  a: null\n  b:\n  - 1\n  - 2.5\n---\n"
    );
    card.data_mut().set("license", json!(null)).unwrap();
    assert!(!card.text().contains("license"));
}

#[test]
fn eval_results_group_into_the_spec_example() {
    let mut a = EvalResult::new(
        "image-classification",
        "beans",
        "Beans",
        "accuracy",
        json!(0.7),
    );
    a.task_name = Some("Image Classification".into());
    a.dataset_split = Some("test".into());
    a.source_url = Some("https://example.com/lb".into());
    a.source_name = Some("LB".into());
    let mut b = a.clone();
    b.metric_type = "f1".into();
    b.metric_value = json!(0.65);
    b.verified = Some(false);
    let mut c = EvalResult::new(
        "image-classification",
        "beans",
        "Beans",
        "accuracy",
        json!("0.71 ± 0.02"),
    );
    c.dataset_split = Some("validation".into());
    let mut data = ModelCardData::new();
    data.set_language(["en"]);
    data.set("language", json!("en")).unwrap();
    data.set_license(Some("mit"));
    data.set_tags(["image-classification"]);
    data.set_eval_results("my-cool-model", vec![a.clone(), b, c])
        .unwrap();
    let card = ModelCard::new(data, "");
    let want = "---
language: en
license: mit
tags:
- image-classification
model-index:
- name: my-cool-model
  results:
  - task:
      type: image-classification
      name: Image Classification
    dataset:
      name: Beans
      type: beans
      split: test
    metrics:
    - type: accuracy
      value: 0.7
    - type: f1
      value: 0.65
      verified: false
    source:
      url: https://example.com/lb
      name: LB
  - task:
      type: image-classification
    dataset:
      name: Beans
      type: beans
      split: validation
    metrics:
    - type: accuracy
      value: 0.71 ± 0.02
---
";
    assert_eq!(card.text(), want);
    let back = ModelCard::parse(&card.text()).unwrap();
    assert_eq!(back.data().eval_results().len(), 3);
    assert_eq!(back.data().model_name(), Some("my-cool-model"));

    // A group whose members disagree on the task name is rejected.
    let mut d = a.clone();
    d.task_name = Some("Other".into());
    let e = eval_results_to_model_index("m", &[a, d]).unwrap_err();
    assert!(card_error(e).1.contains("task name"));
}

#[test]
fn invalid_model_index_shapes_name_the_node() {
    for (mi, path) in [
        (json!({"name": "x"}), "model-index"),
        (json!([{"results": []}]), "model-index[0]"),
        (
            json!([{"name": "x", "results": {}}]),
            "model-index[0].results",
        ),
        (
            json!([{"name": "x", "results": [{"task": {"type": "t"}, "dataset": {"type": "d"}, "metrics": []}]}]),
            "model-index[0].results[0].dataset",
        ),
        (
            json!([{"name": "x", "results": [{"task": {"type": "t"}, "dataset": {"type": "d", "name": "D"}, "metrics": [{"type": "acc"}]}]}]),
            "model-index[0].results[0].metrics[0]",
        ),
        (
            json!([{"name": "x", "results": [{"task": {"type": "t"}, "dataset": {"type": "d", "name": "D"}, "metrics": [{"type": "acc", "value": 1, "verified": "yes"}]}]}]),
            "model-index[0].results[0].metrics[0]",
        ),
        (
            json!([{"name": "x", "results": [{"task": {"type": "t"}, "dataset": {"type": "d", "name": "D"}, "metrics": [], "source": {"name": "n"}}]}]),
            "model-index[0].results[0].source",
        ),
    ] {
        let mut data = ModelCardData::new();
        let e = data.set("model-index", mi).unwrap_err();
        let message = card_error(e).1;
        assert!(message.contains(&format!("at {path}:")), "{message}");
    }
    // `[]` is valid: no results, and Python's to_dict drops it.
    let card = ModelCard::parse("---\nmodel-index: []\n---\n").unwrap();
    assert!(card.data().eval_results().is_empty());
    assert!(!card.to_python_dict().contains_key("model-index"));
}

/// The card error of hostile input. Its cost is bounded by the parser's limits (the messages
/// name the limit that stopped it); `benches/card_limits.rs` measures the time it takes.
fn limit_error(text: &str, what: &str) -> String {
    let message = card_error(ModelCard::parse(text).unwrap_err()).1;
    eprintln!("{what}: {message}");
    message
}

#[test]
fn ten_megabyte_front_matter_is_rejected_quickly() {
    let lines: String = (0..200_000)
        .map(|i| format!("key_{i:06}: a value that fills the front matter up\n"))
        .collect();
    assert!(lines.len() >= 10_000_000);
    let text = format!("---\n{lines}---\nbody");
    let message = limit_error(&text, "10 MB front matter");
    assert!(message.contains("bytes"), "{message}");
    assert!(message.contains("1048576"), "{message}");
}

#[test]
fn deep_nesting_is_rejected() {
    let depth = 10_000;
    let text = format!("---\nx: {}{}\n---\n", "[".repeat(depth), "]".repeat(depth));
    let message = limit_error(&text, "deep flow nesting");
    assert!(message.contains("invalid YAML"), "{message}");
    assert!(message.contains("recursion limit"), "{message}");

    let mut block = String::from("---\n");
    for i in 0..500 {
        block.push_str(&" ".repeat(i));
        block.push_str("k:\n");
    }
    block.push_str("---\n");
    let message = limit_error(&block, "deep block nesting");
    assert!(message.contains("invalid YAML"), "{message}");
    // Stopped at the depth limit, not after reading all 500 levels.
    assert!(
        message.contains(&format!(
            "Depth {{ depth: {} }}",
            hfkit::card::MAX_DEPTH + 1
        )),
        "{message}"
    );
}

#[test]
fn billion_laughs_is_rejected() {
    let mut yaml =
        String::from("---\na0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for i in 1..10 {
        let prev = format!("*a{}", i - 1);
        let items = [prev.as_str(); 10].join(", ");
        yaml.push_str(&format!("a{i}: &a{i} [{items}]\n"));
    }
    yaml.push_str("---\n");
    let message = limit_error(&yaml, "billion laughs");
    assert!(message.contains("invalid YAML"), "{message}");
    // Stopped after MAX_EVENTS nodes (of the 10^10 the aliases would expand to).
    assert!(
        message.contains(&format!(
            "Events {{ events: {} }}",
            hfkit::card::MAX_EVENTS + 1
        )),
        "{message}"
    );
}

#[test]
fn small_aliases_still_work() {
    let card = ModelCard::parse("---\nbase: &b [x, y]\nother: *b\n---\n").unwrap();
    assert_eq!(card.data().get("other"), Some(&json!(["x", "y"])));
}

#[test]
fn invalid_utf8_is_a_card_error() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("README.md");
    std::fs::write(&p, b"---\nlicense: \xff\n---\n").unwrap();
    let (_, message) = card_error(ModelCard::load(&p).unwrap_err());
    assert!(message.contains("UTF-8"), "{message}");
    // A directory loads its README.md.
    std::fs::write(&p, "---\nlicense: mit\n---\n").unwrap();
    assert_eq!(
        ModelCard::load(dir.path()).unwrap().data().license(),
        Some("mit")
    );
}
