//! Scalar quoting parity: for a corpus of short one-line strings built to look like numbers,
//! dates, booleans, nulls and YAML indicators, hfkit's regenerated front matter equals what Python
//! `huggingface_hub` 2.4.0 writes (`ModelCardData(k=s).to_yaml()`, PyYAML) byte for byte, except
//! for strings that a YAML 1.2 reader (the Hub) takes for a number: hfkit single-quotes those
//! where PyYAML leaves them plain (spec S6), and both read them back as the same string.

mod support;

use hfkit::card::{ModelCard, ModelCardData};
use serde_json::{Value, json};
use support::python::run_python;

fn corpus() -> Vec<String> {
    let mut out: Vec<String> = [
        "no",
        "No",
        "on",
        "off",
        "yes",
        "y",
        "n",
        "true",
        "True",
        "null",
        "Null",
        "~",
        "",
        "=",
        "<<",
        "0",
        "00",
        "0123",
        "09",
        "0o17",
        "0x1F",
        "0b101",
        "1_000",
        "1e5",
        "1.0e5",
        "1e-5",
        "1.0e-5",
        "1.0e+5",
        ".5",
        "5.",
        "1.0",
        "-1",
        "+1",
        "1:30",
        "1:2:3",
        "190:20:30",
        "2024-01-01",
        "2024-1-2",
        "2024-01-01 10:00:00",
        "2024-01-01T10:00:00Z",
        "4.0.0",
        "1.2.3",
        "v1.0",
        "1.0.0-rc1",
        ".inf",
        "-.inf",
        ".nan",
        "NaN",
        "nan",
        "inf",
        "Infinity",
        "- x",
        "-x",
        "-",
        "?",
        "? x",
        ":x",
        "a: b",
        "a:b",
        "x #y",
        "x#y",
        "#x",
        "'q'",
        "it's",
        "\"q\"",
        "[a]",
        "{a}",
        "a, b",
        "*x",
        "&x",
        "!x",
        "%x",
        "@x",
        "`x",
        "|",
        ">",
        " x",
        "x ",
        "n<1K",
        "1K<n<10K",
        "finiĝas",
        "日本語",
        "🚀",
        "0.71 ± 0.02",
        "https://x.y/z?a=1#f",
        "---",
        "...",
        "--- x",
        "a\\b",
        "1e",
        "e5",
        "0x",
        "+",
        "+.5",
        "-0",
        "1__0",
        "_1",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    let alphabet: Vec<char> = "0123456789.-+:_eExob #'ab ".chars().collect();
    let mut rng = fastrand::Rng::with_seed(11);
    for _ in 0..600 {
        let len = rng.usize(1..7);
        out.push(
            (0..len)
                .map(|_| alphabet[rng.usize(..alphabet.len())])
                .collect(),
        );
    }
    out.sort();
    out.dedup();
    out
}

/// YAML 1.2 core-schema numbers (what hfkit quotes beyond PyYAML).
fn yaml12_number(s: &str) -> bool {
    let set = regex::RegexSet::new([
        r"^[-+]?[0-9]+$",
        r"^0o[0-7]+$",
        r"^0x[0-9a-fA-F]+$",
        r"^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$",
    ])
    .unwrap();
    set.is_match(s)
}

fn hfkit_yaml(s: &str) -> String {
    let mut data = ModelCardData::new();
    data.set("k", json!(s)).unwrap();
    ModelCard::new(data, "").metadata_yaml()
}

#[test]
fn quoting_matches_pyyaml() {
    let strings = corpus();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("strings.json");
    std::fs::write(&file, serde_json::to_vec(&strings).unwrap()).unwrap();
    let out = run_python(
        r#"
import json, os, sys, yaml
from huggingface_hub import ModelCardData
out = []
for s in json.load(open(os.environ["STRINGS"], encoding="utf-8")):
    text = ModelCardData(k=s).to_yaml()
    back = yaml.safe_load(text)["k"]
    out.append([text, back == s])
sys.stdout.write(json.dumps(out, ensure_ascii=False))
"#,
        &[("STRINGS", file.to_str().unwrap())],
    );
    let python: Vec<(String, bool)> = serde_json::from_str(&out).unwrap();
    let mut identical = 0;
    let mut yaml12_only = 0;
    let mut failures = Vec::new();
    for (s, (py, py_round_trips)) in strings.iter().zip(&python) {
        let ours = hfkit_yaml(s);
        // hfkit's reading of its own output gives the string back.
        let card: ModelCard = format!("---\n{ours}\n---\n").parse().unwrap();
        assert_eq!(
            card.data().get("k"),
            Some(&Value::String(s.clone())),
            "{s:?}"
        );
        if &ours == py {
            identical += 1;
        } else if yaml12_number(s) && ours == format!("k: '{s}'") && *py == format!("k: {s}") {
            yaml12_only += 1;
        } else {
            failures.push(format!(
                "{s:?}: hfkit {ours:?}, Python {py:?} (round trip {py_round_trips})"
            ));
        }
    }
    eprintln!(
        "quoting corpus: {} strings, {identical} identical to PyYAML, {yaml12_only} quoted only by hfkit (YAML 1.2 numbers)",
        strings.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
