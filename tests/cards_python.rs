//! Parity with Python `huggingface_hub` 2.4.0 on cards: the fixtures plus a generated corpus.
//!
//! One Python process handles a JSON list of cases, so the test stays fast:
//! - `load`: Python `XCard.load(path).data.to_dict()` (or its error) against hfkit's
//!   `to_python_dict()` (or its error), for the fixtures and for cards WRITTEN by hfkit;
//! - `write`: Python writes a card from the same data (`ModelCardData(**d).to_yaml()`), hfkit
//!   reads it back into the same data;
//! - `mi`: `eval_results_to_model_index` on the same `EvalResult` lists.

mod support;

use std::path::{Path, PathBuf};

use hfkit::card::{
    CardData, DatasetCard, EvalResult, ModelCard, ModelCardData, eval_results_to_model_index,
};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use serde_json::{Map, Value, json};

const SCRIPT: &str = r#"
import json, os, sys
from huggingface_hub import ModelCard, DatasetCard, SpaceCard, EvalResult
from huggingface_hub.repocard_data import ModelCardData, eval_results_to_model_index
cards = {"model": ModelCard, "dataset": DatasetCard, "space": SpaceCard}
with open(os.environ["CASES"], encoding="utf-8") as f:
    cases = json.load(f)
out = []
for c in cases:
    try:
        if c["op"] == "load":
            out.append({"ok": cards[c["type"]].load(c["path"]).data.to_dict()})
        elif c["op"] == "mi":
            rs = [EvalResult(**r) for r in c["results"]]
            out.append({"ok": eval_results_to_model_index(c["name"], rs)})
        elif c["op"] == "write":
            data = ModelCardData(**c["data"])
            with open(c["path"], "w", encoding="utf-8", newline="") as f:
                f.write("---\n" + data.to_yaml() + "\n---\n\nbody\n")
            out.append({"ok": data.to_dict()})
    except Exception as e:
        out.append({"err": f"{type(e).__name__}: {e}"})
with open(os.environ["OUT"], "w", encoding="utf-8") as f:
    json.dump(out, f, ensure_ascii=False, default=str)
"#;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/conformance/card-fixtures")
}

/// Runs every case in one Python process; returns one `{"ok": …}` or `{"err": …}` per case.
fn run_cases(dir: &Path, cases: &[Value]) -> Vec<Value> {
    let cases_path = dir.join("cases.json");
    let out_path = dir.join("out.json");
    std::fs::write(&cases_path, serde_json::to_vec(cases).unwrap()).unwrap();
    support::python::run_python(
        SCRIPT,
        &[
            ("CASES", cases_path.to_str().unwrap()),
            ("OUT", out_path.to_str().unwrap()),
            ("PYTHONIOENCODING", "utf-8"),
        ],
    );
    let out: Vec<Value> = serde_json::from_slice(&std::fs::read(&out_path).unwrap()).unwrap();
    assert_eq!(out.len(), cases.len());
    out
}

// ---------------------------------------------------------------------------------------------
// The generated corpus
// ---------------------------------------------------------------------------------------------

const TRAPS: &[&str] = &[
    "no",
    "yes",
    "on",
    "off",
    "No",
    "y",
    "n",
    "null",
    "~",
    "",
    "0123",
    "007",
    "2024-01-01",
    "2001-12-14t21:59:43.10-05:00",
    "1_000",
    "0x1F",
    "0o17",
    "12:30",
    "1:30:00",
    "1.0",
    ".5",
    "+1",
    "-1",
    ".inf",
    ".nan",
    "True",
    "FALSE",
    "=",
    "<<",
    "- x",
    "-x",
    "#tag",
    "x #y",
    "a: b",
    "a:b",
    "ends:",
    "it's",
    "'quoted'",
    "\"dq\"",
    " lead",
    "trail ",
    "tab\there",
    "日本語",
    "émoji 🎉",
    "finiĝas",
    "n<1K",
    "0.71 ± 0.02",
    "https://example.com/a?b=c#d",
    "{not: flow}",
    "[x]",
    "*alias",
    "&anchor",
    "!tag",
    "%pct",
    "@at",
    "`tick",
    "|pipe",
    ">gt",
    "?q",
    "? q",
    "line\nbreak",
    "two\nlines\n",
    "trailing\n\n",
    "\u{2028}sep",
    "bom\u{FEFF}",
    "nel\u{85}x",
    "cr\rlf",
    "ctrl\u{7}",
    "back\\slash",
];

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => proptest::sample::select(TRAPS).prop_map(str::to_owned),
        2 => "[a-zA-Z0-9 ._:#'\"!&*-]{0,12}",
        2 => "\\PC{0,10}",
        1 => "[a-z ]{1,6}\n[a-z ]{0,6}\n?",
    ]
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => text().prop_map(Value::String),
        2 => any::<i32>().prop_map(|i| json!(i)),
        1 => proptest::sample::select(vec![0.5, 1.0, 1e-05, 1e16, -2.25, 0.1, 123456.789, 3e-7])
            .prop_map(|f| json!(f)),
        1 => any::<bool>().prop_map(Value::Bool),
        1 => Just(Value::Null),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::vec(("[a-z]{1,5}", inner), 0..4)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

fn eval_result() -> impl Strategy<Value = EvalResult> {
    let group = (
        proptest::sample::select(vec!["text-classification", "image-classification"]),
        proptest::sample::select(vec!["beans", "imdb"]),
        proptest::option::of(proptest::sample::select(vec!["test", "validation"])),
        proptest::option::of(Just("default")),
    );
    let metric = (
        proptest::sample::select(vec!["accuracy", "f1", "bleu"]),
        prop_oneof![
            text().prop_map(Value::String),
            any::<i16>().prop_map(|i| json!(i)),
            proptest::sample::select(vec![0.9, 0.66, 1.0, 1e-05]).prop_map(|f| json!(f)),
        ],
        proptest::option::of(text()),
        proptest::option::of(any::<bool>()),
        proptest::option::of("[a-f0-9]{8}"),
        proptest::option::of(value()),
    );
    (group, metric).prop_map(
        |((task, ds, split, config), (mt, mv, mn, ver, tok, margs))| {
            // Fields Python takes from a group's first member are derived from the group identity,
            // so every group is consistent.
            let mut r = EvalResult::new(task, ds, ds.to_uppercase(), mt, mv);
            r.dataset_split = split.map(str::to_owned);
            r.dataset_config = config.map(str::to_owned);
            if task == "text-classification" {
                r.task_name = Some("Text Classification".into());
                r.source_url = Some("https://example.com/lb".into());
                r.source_name = Some("LB".into());
            }
            if ds == "imdb" {
                r.dataset_args = Some(json!({"date": 20220120, "lang": "no"}));
            }
            r.metric_name = mn;
            r.verified = ver;
            r.verify_token = tok;
            r.metric_args = margs.filter(|v| !v.is_null());
            r
        },
    )
}

#[derive(Debug, Clone)]
struct Case {
    data: ModelCardData,
    results: Option<(String, Vec<EvalResult>)>,
}

fn case() -> impl Strategy<Value = Case> {
    (
        proptest::option::of(prop_oneof![
            proptest::sample::select(vec!["mit", "apache-2.0", "other"]).prop_map(str::to_owned),
            text()
        ]),
        proptest::option::of(proptest::collection::vec(text(), 0..5)),
        proptest::option::of(prop_oneof![
            text().prop_map(Value::String),
            proptest::collection::vec(text(), 0..3)
                .prop_map(|v| Value::Array(v.into_iter().map(Value::String).collect()))
        ]),
        proptest::option::of(text()),
        proptest::collection::vec(("x_[a-z]{1,6}", value()), 0..4),
        proptest::option::of((text(), proptest::collection::vec(eval_result(), 1..5))),
    )
        .prop_map(|(license, tags, language, pipeline, extras, results)| {
            let mut data = ModelCardData::new();
            data.set_license(license);
            if let Some(mut tags) = tags {
                if let Some(first) = tags.first().cloned() {
                    tags.push(first); // a duplicate, which Python's to_dict removes
                }
                data.set_tags(tags);
            }
            if let Some(l) = language {
                data.set("language", l).unwrap();
            }
            data.set_pipeline_tag(pipeline);
            for (k, v) in extras {
                data.set(k, v).unwrap();
            }
            if let Some((name, rs)) = &results {
                data.set_eval_results(name, rs.clone()).unwrap();
            }
            Case { data, results }
        })
}

fn corpus(n: usize) -> Vec<Case> {
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        TestRng::deterministic_rng(RngAlgorithm::ChaCha),
    );
    let strategy = case();
    (0..n)
        .map(|_| strategy.new_tree(&mut runner).unwrap().current())
        .collect()
}

/// Values PyYAML writes in a way YAML 1.1 and 1.2 readers take differently (spec P6), so the
/// Python-written direction skips cases holding them: strings YAML 1.2 reads as numbers but
/// PyYAML leaves plain (`1e5`), and strings with U+2028, U+2029 or U+0085, which PyYAML writes
/// raw as line breaks (YAML 1.1 breaks; ordinary characters in YAML 1.2).
fn has_yaml12_only_number(v: &Value) -> bool {
    match v {
        Value::String(s) => {
            (s.contains(['e', 'E']) && s.trim().parse::<f64>().is_ok())
                || s.contains(['\u{2028}', '\u{2029}', '\u{85}'])
        }
        Value::Array(a) => a.iter().any(has_yaml12_only_number),
        Value::Object(m) => m.values().any(has_yaml12_only_number),
        _ => false,
    }
}

fn python_kwargs(data: &ModelCardData) -> Value {
    Value::Object(data.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
}

const CORPUS_SIZE: usize = 64;

/// A case index, a description, and hfkit's answer (data or error text).
type Expected = (usize, String, Result<Map<String, Value>, String>);

#[test]
fn python_reads_the_same_data() {
    let dir = tempfile::tempdir().unwrap();
    let mut cases = Vec::new();
    // (what, hfkit's answer) per case, in order.
    let mut expected: Vec<Expected> = Vec::new();

    // 1. The fixtures, as model cards (and dataset cards for the dataset ones).
    let mut names: Vec<String> = std::fs::read_dir(fixtures())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    for name in &names {
        let path = fixtures().join(name);
        let kinds: &[&str] = if name.starts_with("sample_datasetcard") {
            &["model", "dataset"]
        } else {
            &["model"]
        };
        for kind in kinds {
            cases.push(json!({"op": "load", "type": kind, "path": path}));
            let ours = if *kind == "model" {
                ModelCard::load(&path).map(|c| c.to_python_dict())
            } else {
                DatasetCard::load(&path).map(|c| c.to_python_dict())
            };
            expected.push((
                cases.len() - 1,
                format!("{name} as {kind}"),
                ours.map_err(|e| e.to_string()),
            ));
        }
    }
    let n_fixture_cases = cases.len();

    // 2. Generated cards written by hfkit, read by both; and the same data written by Python,
    //    read by hfkit; and the eval results grouped by both.
    let corpus = corpus(CORPUS_SIZE);
    let mut python_written = Vec::new();
    let mut mi_cases = Vec::new();
    for (i, c) in corpus.iter().enumerate() {
        let card = ModelCard::new(c.data.clone(), format!("\n# Card {i}\n"));
        let path = dir.path().join(format!("hfkit_{i}.md"));
        card.save(&path).unwrap();
        // hfkit reads back what it wrote.
        let back =
            ModelCard::load(&path).unwrap_or_else(|e| panic!("case {i}: {e}\n{}", card.text()));
        assert_eq!(
            back.data(),
            &c.data,
            "case {i} self round trip:\n{}",
            card.text()
        );
        cases.push(json!({"op": "load", "type": "model", "path": path}));
        expected.push((
            cases.len() - 1,
            format!("generated card {i}:\n{}", card.text()),
            Ok(c.data.to_python_dict()),
        ));
        if !has_yaml12_only_number(&python_kwargs(&c.data)) {
            let ppath = dir.path().join(format!("python_{i}.md"));
            cases.push(json!({"op": "write", "path": ppath, "data": python_kwargs(&c.data)}));
            python_written.push((cases.len() - 1, i, ppath));
        }
        if let Some((name, rs)) = &c.results {
            cases.push(json!({"op": "mi", "name": name, "results": rs}));
            mi_cases.push((
                cases.len() - 1,
                i,
                eval_results_to_model_index(name, rs).unwrap(),
            ));
        }
    }

    let out = run_cases(dir.path(), &cases);

    let mut agreed = 0;
    for (idx, what, ours) in &expected {
        let theirs = &out[*idx];
        match ours {
            Ok(map) => {
                let py = theirs
                    .get("ok")
                    .unwrap_or_else(|| panic!("{what}: Python failed: {theirs}"));
                assert_eq!(&Value::Object(map.clone()), py, "{what}");
            }
            Err(e) => assert!(
                theirs.get("err").is_some(),
                "{what}: hfkit failed ({e}) but Python read {theirs}"
            ),
        }
        agreed += 1;
    }

    for (idx, i, path) in &python_written {
        let py = out[*idx]
            .get("ok")
            .unwrap_or_else(|| panic!("case {i}: Python could not write: {}", out[*idx]));
        let text = std::fs::read_to_string(path).unwrap();
        let ours = ModelCard::parse(&text)
            .unwrap_or_else(|e| panic!("case {i}: hfkit cannot read Python's card: {e}\n{text}"));
        assert_eq!(
            &Value::Object(ours.to_python_dict()),
            py,
            "case {i}, card written by Python:\n{text}"
        );
    }

    for (idx, i, ours) in &mi_cases {
        let py = out[*idx]
            .get("ok")
            .unwrap_or_else(|| panic!("case {i}: Python model-index failed: {}", out[*idx]));
        assert_eq!(ours, py, "case {i}: eval_results_to_model_index");
    }

    assert!(corpus.len() >= 50);
    assert!(python_written.len() >= 40, "{}", python_written.len());
    assert!(mi_cases.len() >= 10, "{}", mi_cases.len());
    eprintln!(
        "parity: {} fixture loads, {} hfkit-written cards, {} Python-written cards, {} model-index conversions — {} load comparisons agreed",
        n_fixture_cases,
        corpus.len(),
        python_written.len(),
        mi_cases.len(),
        agreed
    );
}

#[test]
fn written_cards_reload_with_the_same_python_dict() {
    // The typed view round-trips too (no Python needed): eval results survive a write.
    for (i, c) in corpus(CORPUS_SIZE).into_iter().enumerate() {
        let text = ModelCard::new(c.data.clone(), "").text();
        let back = ModelCard::parse(&text).unwrap();
        assert_eq!(back.to_python_dict(), c.data.to_python_dict(), "case {i}");
        if let Some((name, rs)) = c.results {
            assert_eq!(back.data().model_name(), Some(name.as_str()));
            assert_eq!(
                back.data().eval_results(),
                c.data.eval_results(),
                "case {i}"
            );
            assert_eq!(back.data().eval_results().len(), rs.len(), "case {i}");
        }
        let _ = back.data().map();
    }
}
