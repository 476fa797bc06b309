//! `hfkit card show` / `hfkit card validate`.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;
use support::hub::{Match, TestHub};
use support::python::{Finished, run_python, wait_bounded};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/conformance/card-fixtures")
        .join(name)
}

fn hfkit(args: &[&str], env: &[(&str, String)]) -> Finished {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hfkit"));
    cmd.args(args)
        .env_clear()
        .env("HF_HUB_DISABLE_TELEMETRY", "1")
        .envs(env.iter().map(|(k, v)| (*k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    wait_bounded(cmd.spawn().unwrap(), Duration::from_secs(60), "hfkit")
}

#[test]
fn show_json_matches_python_to_dict() {
    let names = [
        "sample_simple.md",
        "sample_simple_model_index.md",
        "sample_windows_line_breaks.md",
        "sample_no_metadata.md",
    ];
    let paths: Vec<String> = names
        .iter()
        .map(|n| fixture(n).display().to_string())
        .collect();
    let script = format!(
        "import json\nfrom huggingface_hub import ModelCard\nfor p in {:?}:\n    print(json.dumps(ModelCard.load(p).data.to_dict(), ensure_ascii=False))\n",
        paths
    );
    let py = run_python(&script, &[("PYTHONIOENCODING", "utf-8")]);
    for (path, py_line) in paths.iter().zip(py.lines()) {
        let out = hfkit(&["card", "show", path, "--json"], &[]);
        assert_eq!(out.code, Some(0), "{}", out.stderr);
        assert_eq!(
            out.stdout.lines().count(),
            1,
            "one JSON object: {}",
            out.stdout
        );
        let ours: Value = serde_json::from_str(&out.stdout).unwrap();
        let theirs: Value = serde_json::from_str(py_line).unwrap();
        assert_eq!(ours, theirs, "{path}");
    }
}

#[test]
fn show_prints_yaml_and_reads_a_repo_through_the_cache() {
    let out = hfkit(
        &[
            "card",
            "show",
            fixture("sample_simple.md").to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(
        out.stdout.starts_with("language:\n- en\nlicense: mit\n"),
        "{}",
        out.stdout
    );

    let root = tempfile::tempdir().unwrap();
    let repo = root.path().join("models/org/card-model");
    std::fs::create_dir_all(&repo).unwrap();
    std::fs::copy(
        fixture("sample_simple_model_index.md"),
        repo.join("README.md"),
    )
    .unwrap();
    let hub = TestHub::start_sync(root.path(), 10 * 1024 * 1024, 1000);
    let home = tempfile::tempdir().unwrap();
    let env = [
        ("HF_ENDPOINT", hub.url()),
        ("HF_HOME", home.path().display().to_string()),
    ];
    let out = hfkit(&["card", "show", "org/card-model", "--json"], &env);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["model-index"][0]["name"], "my-cool-model");
    assert_eq!(v["library_name"], "timm");
    // The README landed in the shared cache.
    assert!(
        home.path()
            .join("hub/models--org--card-model/refs/main")
            .exists()
    );
    let out = hfkit(&["card", "show", "org/missing", "--json"], &env);
    assert_ne!(out.code, Some(0));
    assert!(out.stderr.contains("not found"), "{}", out.stderr);
}

#[test]
fn validate_checks_locally() {
    let ok = hfkit(
        &[
            "card",
            "validate",
            fixture("sample_simple.md").to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(ok.code, Some(0), "{}", ok.stderr);
    assert!(ok.stdout.contains("valid model card"), "{}", ok.stdout);

    let bad = hfkit(
        &[
            "card",
            "validate",
            fixture("sample_invalid_model_index.md").to_str().unwrap(),
        ],
        &[],
    );
    assert_ne!(bad.code, Some(0));
    assert!(
        bad.stderr.contains("model-index[0].results[0].dataset"),
        "{}",
        bad.stderr
    );
    let bad = hfkit(
        &[
            "card",
            "validate",
            fixture("sample_invalid_card_data.md").to_str().unwrap(),
        ],
        &[],
    );
    assert_ne!(bad.code, Some(0));
    assert!(bad.stderr.contains("(line 2)"), "{}", bad.stderr);
}

#[test]
fn validate_remote_asks_the_hub() {
    let root = tempfile::tempdir().unwrap();
    let hub = TestHub::start_sync(root.path(), 10 * 1024 * 1024, 1000);
    let home = tempfile::tempdir().unwrap();
    let env = [
        ("HF_ENDPOINT", hub.url()),
        ("HF_HOME", home.path().display().to_string()),
    ];
    let card = fixture("sample_simple.md");
    let card = card.to_str().unwrap();

    hub.faults().error(
        Match::hub().path("/api/validate-yaml"),
        400,
        None,
        "\"license\" must be one of [apache-2.0, mit, …]",
        None,
    );
    let out = hfkit(&["card", "validate", card, "--remote"], &env);
    assert_ne!(out.code, Some(0));
    assert!(
        out.stderr.contains("the Hub rejected the card"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("must be one of"), "{}", out.stderr);

    hub.faults().json(
        Match::hub().path("/api/validate-yaml"),
        r#"{"errors": [], "warnings": [{"message": "empty metadata"}]}"#,
    );
    let out = hfkit(&["card", "validate", card, "--remote"], &env);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(out.stdout.contains("accepted by the Hub"), "{}", out.stdout);
    assert!(out.stderr.contains("empty metadata"), "{}", out.stderr);

    let posts: Vec<_> = hub
        .requests()
        .into_iter()
        .filter(|r| r.path.contains("/api/validate-yaml"))
        .collect();
    assert_eq!(posts.len(), 2);
    assert_eq!(posts[0].method, "POST");
}
