//! `ApiRepo::metadata_update` against the writable mirror (127.0.0.1), compared byte for byte
//! with Python `huggingface_hub` 2.4.0's `metadata_update` run on an identical mirror with the
//! same starting card and patch.

mod support;

use hfkit::card::{MetadataUpdateOptions, ModelCard};
use hfkit::hub::repos::CreateRepo;
use hfkit::hub::upload::UploadOptions;
use hfkit::{Error, HubClient, RepoType};
use serde_json::{Map, Value, json};
use support::python::run_python;
use support::writable::{TOKEN, WritableHub};

/// One merge: a starting card (`None`: no README.md), a patch and the options.
struct Case {
    name: &'static str,
    repo_type: RepoType,
    readme: Option<&'static str>,
    patch: Value,
    overwrite: bool,
}

const MODEL_INDEX_CARD: &str = "---
language: en
license: mit
tags:
- text-classification
model-index:
- name: my-model
  results:
  - task:
      type: text-classification
      name: Text Classification
    dataset:
      name: IMDB
      type: imdb
      split: test
    metrics:
    - type: accuracy
      value: 0.9
    - type: f1
      value: 0.88
      verified: true
      verifyToken: tok-1
---

# my-model

Fine-tuned on IMDB.
";

fn cases() -> Vec<Case> {
    let same_dataset = |metrics: Value| {
        json!({"task": {"type": "text-classification", "name": "Text Classification"},
               "dataset": {"name": "IMDB", "type": "imdb", "split": "test"}, "metrics": metrics})
    };
    vec![
        Case {
            name: "new_keys",
            repo_type: RepoType::Model,
            readme: Some("---\nlanguage: en\nlicense: mit\ntags:\n- a\n---\n# Title\n\nText ✓\n"),
            patch: json!({"zeta_extra": {"nested": [1, 2.5, "x"], "flag": true},
                          "pipeline_tag": "text-classification", "datasets": ["imdb", "sst2"],
                          "license": "mit", "base_model": "org/base"}),
            overwrite: false,
        },
        Case {
            name: "quoting_and_unicode",
            repo_type: RepoType::Model,
            readme: Some("---\nlicense: mit\n---\nbody\n"),
            patch: json!({"language": ["no", "fr", "on"], "widget": [{"text": "Ça va? #1"},
                          {"text": "x: y"}], "thumbnail": "", "version": "1.0",
                          "date": "2024-01-01", "tags": ["ünïcødé", "- dash", "'quoted'"]}),
            overwrite: false,
        },
        Case {
            name: "model_index_merge",
            repo_type: RepoType::Model,
            readme: Some(MODEL_INDEX_CARD),
            patch: json!({"model-index": [{"name": "other-name", "results": [
                same_dataset(json!([{"type": "accuracy", "value": 0.9},
                                    {"type": "recall", "value": 0.8, "name": "Recall"}])),
                {"task": {"type": "text-classification"},
                 "dataset": {"name": "SST-2", "type": "sst2", "split": "validation",
                             "args": {"date": 20220120}},
                 "metrics": [{"type": "accuracy", "value": "91.2 ± 0.3"}],
                 "source": {"url": "https://example.com/lb", "name": "LB"}}]}]}),
            overwrite: false,
        },
        Case {
            name: "overwrite",
            repo_type: RepoType::Model,
            readme: Some(MODEL_INDEX_CARD),
            patch: json!({"license": "apache-2.0", "tags": null, "model-index": [{"results": [
                same_dataset(json!([{"type": "accuracy", "value": 0.95},
                                    {"type": "f1", "value": 0.9, "verified": true,
                                     "verifyToken": "tok-2"}]))]}]}),
            overwrite: true,
        },
        Case {
            name: "nameless_model_index_into_card_without_results",
            repo_type: RepoType::Model,
            readme: Some("---\r\nlicense: mit\r\n---\r\n# CRLF card\r\n"),
            patch: json!({"model-index": [{"results": [{"task": {"type": "fill-mask"},
                "dataset": {"name": "Wiki", "type": "wikitext", "config": "wikitext-2"},
                "metrics": [{"type": "perplexity", "value": 12}]}]}], "tags": ["crlf"]}),
            overwrite: false,
        },
        Case {
            name: "dataset_card",
            repo_type: RepoType::Dataset,
            readme: Some("---\nlicense: cc-by-4.0\npretty_name: Café\n---\n# Data\n"),
            patch: json!({"task_categories": ["text-classification"], "size_categories": ["n<1K"],
                          "language": "en", "configs": [{"config_name": "default",
                          "data_files": [{"split": "train", "path": "train.csv"}]}]}),
            overwrite: false,
        },
        Case {
            name: "space_card",
            repo_type: RepoType::Space,
            readme: Some("---\ntitle: Demo\nsdk: gradio\n---\n# Demo\n"),
            patch: json!({"sdk_version": "4.0.0", "app_file": "app.py", "emoji": "🚀"}),
            overwrite: false,
        },
    ]
}

fn repo_id(c: &Case) -> String {
    format!("acme/{}", c.name.replace('_', "-"))
}

async fn seed(client: &HubClient, c: &Case) {
    let id = repo_id(c);
    let mut req = CreateRepo::new(id.clone()).repo_type(c.repo_type);
    if c.repo_type == RepoType::Space {
        req = req.space_sdk("gradio");
    }
    client.create_repo(req).await.unwrap();
    if let Some(text) = c.readme {
        client
            .typed(id, c.repo_type)
            .upload_file(
                text.as_bytes().to_vec(),
                "README.md",
                UploadOptions::default(),
            )
            .await
            .unwrap();
    }
}

async fn readme(client: &HubClient, c: &Case, revision: &str) -> String {
    let p = client
        .typed(repo_id(c), c.repo_type)
        .revision(revision)
        .download("README.md")
        .await
        .unwrap();
    std::fs::read_to_string(p).unwrap()
}

const PY_UPDATE: &str = r#"
import json, os, sys
from huggingface_hub import metadata_update
for case in json.loads(os.environ["CASES"]):
    try:
        metadata_update(case["repo_id"], case["patch"], repo_type=case["repo_type"],
                        overwrite=case["overwrite"])
        print(json.dumps({"ok": True}))
    except Exception as e:
        print(json.dumps({"ok": False, "error": type(e).__name__, "message": str(e)}))
"#;

/// Runs Python's `metadata_update` for `cases` against `hub`; one JSON answer per case.
async fn python_updates(hub: &WritableHub, cases: &[(String, &str, Value, bool)]) -> Vec<Value> {
    let home = tempfile::tempdir().unwrap();
    let list: Vec<Value> = cases
        .iter()
        .map(|(id, t, p, o)| json!({"repo_id": id, "repo_type": t, "patch": p, "overwrite": o}))
        .collect();
    let env = [
        ("HF_ENDPOINT".to_owned(), hub.url.clone()),
        ("HF_HOME".to_owned(), home.path().display().to_string()),
        ("HF_TOKEN".to_owned(), TOKEN.to_owned()),
        ("CASES".to_owned(), Value::Array(list).to_string()),
    ];
    let out = tokio::task::spawn_blocking(move || {
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        run_python(PY_UPDATE, &env)
    })
    .await
    .unwrap();
    out.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn obj(v: &Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap()
}

/// Everything up to and including the closing fence's line.
fn front_matter(text: &str) -> &str {
    let end = text[3..].find("\n---\n").unwrap() + 3 + 5;
    &text[..end]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn merges_are_byte_identical_to_python() {
    let ours = WritableHub::start(1 << 20, 1 << 20).await;
    let theirs = WritableHub::start(1 << 20, 1 << 20).await;
    let (c1, c2) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (rs, py) = (ours.client(c1.path()), theirs.client(c2.path()));
    let cases = cases();
    for c in &cases {
        seed(&rs, c).await;
        seed(&py, c).await;
    }
    let mut for_python = Vec::new();
    for c in &cases {
        let opts = MetadataUpdateOptions::default().overwrite(c.overwrite);
        let info = rs
            .typed(repo_id(c), c.repo_type)
            .metadata_update(obj(&c.patch), opts)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", c.name));
        assert_eq!(info.oid.len(), 40, "{}", c.name);
        for_python.push((
            repo_id(c),
            c.repo_type.as_str(),
            c.patch.clone(),
            c.overwrite,
        ));
    }
    let answers = python_updates(&theirs, &for_python).await;
    assert_eq!(answers.len(), cases.len());
    for (c, a) in cases.iter().zip(&answers) {
        assert_eq!(a["ok"], true, "{}: Python failed: {a}", c.name);
        let (mine, python) = (readme(&rs, c, "main").await, readme(&py, c, "main").await);
        assert_eq!(mine, python, "{}: README differs from Python's", c.name);
    }
    // The commit carries the default message.
    let commits: Vec<_> =
        futures::TryStreamExt::try_collect::<Vec<_>>(rs.model("acme/new-keys").commits())
            .await
            .unwrap();
    assert_eq!(commits[0].title, "Update metadata with hfkit");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn new_cards_have_python_s_metadata_and_hfkit_s_template() {
    let ours = WritableHub::start(1 << 20, 1 << 20).await;
    let theirs = WritableHub::start(1 << 20, 1 << 20).await;
    let (c1, c2) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (rs, py) = (ours.client(c1.path()), theirs.client(c2.path()));
    let model = Case {
        name: "fresh_model",
        repo_type: RepoType::Model,
        readme: None,
        patch: json!({"license": "mit", "tags": ["x"], "model-index": [{"results": [
            {"task": {"type": "t"}, "dataset": {"name": "D", "type": "d"},
             "metrics": [{"type": "acc", "value": 0.5}]}]}]}),
        overwrite: false,
    };
    let dataset = Case {
        name: "fresh_dataset",
        repo_type: RepoType::Dataset,
        readme: None,
        patch: json!({"license": "mit", "pretty_name": "Fresh"}),
        overwrite: false,
    };
    let mut for_python = Vec::new();
    for c in [&model, &dataset] {
        seed(&rs, c).await;
        seed(&py, c).await;
        rs.typed(repo_id(c), c.repo_type)
            .metadata_update(obj(&c.patch), MetadataUpdateOptions::default())
            .await
            .unwrap();
        for_python.push((repo_id(c), c.repo_type.as_str(), c.patch.clone(), false));
    }
    let answers = python_updates(&theirs, &for_python).await;
    for (c, a) in [&model, &dataset].into_iter().zip(&answers) {
        assert_eq!(a["ok"], true, "{}: {a}", c.name);
        let (mine, python) = (readme(&rs, c, "main").await, readme(&py, c, "main").await);
        assert_eq!(front_matter(&mine), front_matter(&python), "{}", c.name);
        assert!(mine.contains("generated with [hfkit]"), "{mine}");
    }
    let card: ModelCard = readme(&rs, &model, "main").await.parse().unwrap();
    assert_eq!(card.data().model_name(), Some("acme/fresh-model"));
    assert!(
        card.body().starts_with("\n# acme/fresh-model\n"),
        "{}",
        card.body()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn conflicts_are_refused_like_python_and_commit_nothing() {
    let ours = WritableHub::start(1 << 20, 1 << 20).await;
    let theirs = WritableHub::start(1 << 20, 1 << 20).await;
    let (c1, c2) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (rs, py) = (ours.client(c1.path()), theirs.client(c2.path()));
    let c = Case {
        name: "conflict",
        repo_type: RepoType::Model,
        readme: Some(MODEL_INDEX_CARD),
        patch: Value::Null,
        overwrite: false,
    };
    seed(&rs, &c).await;
    seed(&py, &c).await;
    let metric = |v: Value| {
        json!({"model-index": [{"name": "my-model", "results": [{
            "task": {"type": "text-classification", "name": "Text Classification"},
            "dataset": {"name": "IMDB", "type": "imdb", "split": "test"},
            "metrics": [{"type": "accuracy", "value": v}]}]}]})
    };
    let patches = [
        json!({"license": "apache-2.0"}),
        json!({"tags": null}),
        metric(json!(0.91)),
    ];
    let keys = ["license", "tags", "model-index"];
    let repo = rs.model(repo_id(&c));
    let head = repo.info().await.unwrap().sha;
    ours.clear_log();
    for (p, key) in patches.iter().zip(keys) {
        match repo
            .metadata_update(obj(p), MetadataUpdateOptions::default())
            .await
        {
            Err(Error::MetadataConflict { key: k, message }) => {
                assert_eq!(k, key);
                assert!(!message.is_empty());
            }
            other => panic!("{key}: {other:?}"),
        }
    }
    assert_eq!(ours.count("POST", "/commit/"), 0, "no commit on a conflict");
    assert_eq!(repo.info().await.unwrap().sha, head);
    assert_eq!(readme(&rs, &c, "main").await, MODEL_INDEX_CARD);
    // Python refuses the same patches.
    let list: Vec<_> = patches
        .iter()
        .map(|p| (repo_id(&c), "model", p.clone(), false))
        .collect();
    for a in python_updates(&theirs, &list).await {
        assert_eq!(a["ok"], false, "{a}");
        assert_eq!(a["error"], "ValueError", "{a}");
    }
    // The same value is no conflict.
    repo.metadata_update(obj(&metric(json!(0.9))), MetadataUpdateOptions::default())
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn create_pr_leaves_main_alone_and_options_reach_the_commit() {
    let hub = WritableHub::start(1 << 20, 1 << 20).await;
    let cache = tempfile::tempdir().unwrap();
    let client = hub.client(cache.path());
    let c = Case {
        name: "pr",
        repo_type: RepoType::Model,
        readme: Some("---\nlicense: mit\n---\n# PR\n"),
        patch: Value::Null,
        overwrite: false,
    };
    seed(&client, &c).await;
    hub.clear_log();
    let repo = client.model("acme/pr");
    let info = repo
        .metadata_update(
            obj(&json!({"tags": ["new"]})),
            MetadataUpdateOptions::default()
                .create_pr(true)
                .commit_message("Add tags")
                .commit_description("via a PR"),
        )
        .await
        .unwrap();
    assert_eq!(info.pr_num, Some(1));
    assert_eq!(
        info.pr_url.as_deref(),
        Some(format!("{}/acme/pr/discussions/1", hub.url).as_str())
    );
    assert_eq!(
        readme(&client, &c, "main").await,
        "---\nlicense: mit\n---\n# PR\n"
    );
    assert_eq!(
        readme(&client, &c, "refs/pr/1").await,
        "---\nlicense: mit\ntags:\n- new\n---\n# PR\n"
    );
    let commit = hub
        .log()
        .into_iter()
        .find(|l| l.method == "POST" && l.path.contains("/commit/"))
        .unwrap();
    assert_eq!(commit.query.as_deref(), Some("create_pr=1"));
    let header: Value = serde_json::from_str(
        String::from_utf8_lossy(&commit.body)
            .lines()
            .next()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(header["value"]["summary"], "Add tags");
    assert_eq!(header["value"]["description"], "via a PR");
    // A wrong parent commit is a conflict; the right one commits.
    let head = repo.info().await.unwrap().sha.unwrap();
    let err = repo
        .metadata_update(
            obj(&json!({"library_name": "hfkit"})),
            MetadataUpdateOptions::default()
                .parent_commit("0000000000000000000000000000000000000000"),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::CommitConflict(_)), "{err:?}");
    repo.metadata_update(
        obj(&json!({"library_name": "hfkit"})),
        MetadataUpdateOptions::default().parent_commit(head),
    )
    .await
    .unwrap();
    // The blocking twin.
    let blocking = hfkit::blocking::HubClient::from_async(client.clone()).unwrap();
    let t = std::thread::spawn(move || {
        blocking
            .model("acme/pr")
            .metadata_update(
                obj(&json!({"pipeline_tag": "fill-mask"})),
                MetadataUpdateOptions::default(),
            )
            .unwrap()
    });
    t.join().unwrap();
    assert_eq!(
        readme(&client, &c, "main").await,
        "---\nlicense: mit\nlibrary_name: hfkit\npipeline_tag: fill-mask\n---\n# PR\n"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_space_without_readme_is_an_error() {
    let hub = WritableHub::start(1 << 20, 1 << 20).await;
    let cache = tempfile::tempdir().unwrap();
    let client = hub.client(cache.path());
    let c = Case {
        name: "bare_space",
        repo_type: RepoType::Space,
        readme: None,
        patch: Value::Null,
        overwrite: false,
    };
    seed(&client, &c).await;
    let err = client
        .space("acme/bare-space")
        .metadata_update(
            obj(&json!({"title": "x"})),
            MetadataUpdateOptions::default(),
        )
        .await
        .unwrap_err();
    match err {
        Error::Card { message, .. } => assert!(message.contains("no README.md"), "{message}"),
        other => panic!("{other:?}"),
    }
    // A bad patch fails before any commit: an invalid model-index.
    let c = Case {
        name: "bad_index",
        repo_type: RepoType::Model,
        readme: Some("---\nlicense: mit\n---\n"),
        patch: Value::Null,
        overwrite: false,
    };
    seed(&client, &c).await;
    let err = client
        .model("acme/bad-index")
        .metadata_update(
            obj(&json!({"model-index": [{"name": "m", "results": [{"task": {"type": "t"}}]}]})),
            MetadataUpdateOptions::default(),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Card { .. }), "{err:?}");
}
