//! Unit tests of the metadata merge (no network).

use serde_json::{Map, Value, json};

use super::merge_into;
use crate::Error;
use crate::card::{DatasetCard, EvalResult, ModelCard, SpaceCard};

fn patch(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap()
}

#[test]
fn plain_keys_merge_conflict_and_overwrite() {
    let mut card: ModelCard = "---\nlicense: mit\ntags:\n- a\n---\nbody\n"
        .parse()
        .unwrap();
    // Equal value: no conflict, nothing changes.
    merge_into(&mut card, &patch(json!({"license": "mit"})), false, "o/r").unwrap();
    assert_eq!(card.text(), "---\nlicense: mit\ntags:\n- a\n---\nbody\n");
    // Differing value without overwrite.
    let err = merge_into(
        &mut card,
        &patch(json!({"license": "apache-2.0"})),
        false,
        "o/r",
    )
    .unwrap_err();
    match err {
        Error::MetadataConflict { key, message } => {
            assert_eq!(key, "license");
            assert!(
                message.contains("\"mit\"") && message.contains("apache-2.0"),
                "{message}"
            );
        }
        other => panic!("{other:?}"),
    }
    // Removing an existing key needs overwrite.
    assert!(matches!(
        merge_into(&mut card, &patch(json!({"tags": null})), false, "o/r"),
        Err(Error::MetadataConflict { .. })
    ));
    merge_into(
        &mut card,
        &patch(json!({"license": "apache-2.0", "tags": null})),
        true,
        "o/r",
    )
    .unwrap();
    assert_eq!(card.text(), "---\nlicense: apache-2.0\n---\nbody\n");
}

#[test]
fn new_keys_go_in_python_order_before_a_trailing_model_index() {
    let text = "---\nlicense: mit\nmodel-index:\n- name: m\n  results: []\n---\n";
    let mut card: ModelCard = text.parse().unwrap();
    merge_into(
        &mut card,
        &patch(json!({"zzz": 1, "tags": ["x"], "datasets": ["d"]})),
        false,
        "o/r",
    )
    .unwrap();
    let keys: Vec<&String> = card.data().iter().map(|(k, _)| k).collect();
    assert_eq!(keys, ["license", "datasets", "tags", "zzz", "model-index"]);
}

#[test]
fn model_index_into_a_card_without_results() {
    let mut card: ModelCard = "---\nlicense: mit\n---\n".parse().unwrap();
    let mi = json!([{"results": [{"task": {"type": "t"}, "dataset": {"type": "d", "name": "D"},
        "metrics": [{"type": "acc", "value": 0.5}]}]}]);
    merge_into(
        &mut card,
        &patch(json!({"model-index": mi})),
        false,
        "org/repo",
    )
    .unwrap();
    assert_eq!(card.data().model_name(), Some("org/repo"));
    assert_eq!(card.data().eval_results().len(), 1);
}

fn result(metric: &str, value: Value) -> EvalResult {
    EvalResult::new("text-classification", "imdb", "IMDB", metric, value)
}

#[test]
fn model_index_results_merge_by_every_field_but_the_value() {
    let mut card = ModelCard::default();
    let mut data = card.data().clone();
    let mut verified = result("f1", json!(0.8));
    verified.verified = Some(true);
    verified.verify_token = Some("old".into());
    data.set_eval_results("kept-name", vec![result("acc", json!(0.9)), verified])
        .unwrap();
    card.set_data(data);
    let new = |metric: &str, v: Value, token: Option<&str>| {
        let mut r = json!({"type": metric, "value": v});
        if metric == "f1" {
            r["verified"] = json!(true);
        }
        if let Some(t) = token {
            r["verifyToken"] = json!(t);
        }
        json!({"model-index": [{"name": "ignored", "results": [{
            "task": {"type": "text-classification"},
            "dataset": {"type": "imdb", "name": "IMDB"},
            "metrics": [r]}]}]})
    };
    // Same value: accepted without overwrite.
    merge_into(
        &mut card,
        &patch(new("acc", json!(0.9), None)),
        false,
        "o/r",
    )
    .unwrap();
    assert_eq!(card.data().eval_results().len(), 2);
    // Other value: conflict, then replaced with overwrite.
    let err = merge_into(
        &mut card,
        &patch(new("acc", json!(0.95), None)),
        false,
        "o/r",
    );
    assert!(matches!(err, Err(Error::MetadataConflict { ref key, .. }) if key == "model-index"));
    merge_into(
        &mut card,
        &patch(new("acc", json!(0.95), None)),
        true,
        "o/r",
    )
    .unwrap();
    // A verified result also takes the new token.
    merge_into(
        &mut card,
        &patch(new("f1", json!(0.85), Some("new"))),
        true,
        "o/r",
    )
    .unwrap();
    // A new metric is appended (same task and dataset: same results item).
    merge_into(
        &mut card,
        &patch(new("recall", json!(0.7), None)),
        false,
        "o/r",
    )
    .unwrap();
    let results = card.data().eval_results();
    assert_eq!(card.data().model_name(), Some("kept-name"));
    let got: Vec<(&str, &Value, Option<&str>)> = results
        .iter()
        .map(|r| {
            (
                r.metric_type.as_str(),
                &r.metric_value,
                r.verify_token.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("acc", &json!(0.95), None),
            ("f1", &json!(0.85), Some("new")),
            ("recall", &json!(0.7), None)
        ]
    );
    assert_eq!(card.data().model_index()[0].eval_results.len(), 3);
}

#[test]
fn numbers_compare_by_value_as_in_python() {
    let mut card: ModelCard = "---\nlayers: 1.0\n---\n".parse().unwrap();
    merge_into(&mut card, &patch(json!({"layers": 1})), false, "o/r").unwrap();
}

#[test]
fn dataset_and_space_cards_treat_model_index_as_a_plain_key() {
    let mut card: DatasetCard = "---\nmodel-index: x\n---\n".parse().unwrap();
    assert!(matches!(
        merge_into(&mut card, &patch(json!({"model-index": "y"})), false, "o/r"),
        Err(Error::MetadataConflict { .. })
    ));
    let mut card: SpaceCard = "---\ntitle: t\n---\n".parse().unwrap();
    merge_into(&mut card, &patch(json!({"sdk": "gradio"})), false, "o/r").unwrap();
    assert_eq!(card.text(), "---\ntitle: t\nsdk: gradio\n---\n");
}
