//! `RepoCard::push_to_hub` against the writable mirror (127.0.0.1): validation first, one commit
//! of `README.md`, branches, pull requests, parent commits, the blocking twin, and Python reading
//! the pushed card into the same data.

mod support;

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::IntoResponse;
use hfkit::card::{
    DatasetCard, DatasetCardData, EvalResult, ModelCard, ModelCardData, PushOptions,
};
use hfkit::hub::repos::CreateRepo;
use hfkit::mirror::Mirror;
use hfkit::{Error, HubClient, RepoType};
use serde_json::{Value, json};
use support::python::run_python;
use support::writable::{TOKEN, WritableHub};

fn model_card() -> ModelCard {
    let mut data = ModelCardData::new();
    data.set_license(Some("apache-2.0"));
    data.set_language(["en", "no"]);
    data.set_tags(["vision", "hfkit"]);
    data.set("widget", json!([{"text": "Un café, s'il vous plaît"}]))
        .unwrap();
    let mut r = EvalResult::new(
        "image-classification",
        "beans",
        "Beans",
        "accuracy",
        json!(0.93),
    );
    r.dataset_split = Some("test".into());
    data.set_eval_results("vit-beans", vec![r]).unwrap();
    ModelCard::new(data, "\n# vit-beans\n\nA card pushed by hfkit.\n")
}

async fn setup() -> (WritableHub, tempfile::TempDir, HubClient) {
    let hub = WritableHub::start(1 << 20, 1 << 20).await;
    let cache = tempfile::tempdir().unwrap();
    let client = hub.client(cache.path());
    client
        .create_repo(CreateRepo::new("acme/card"))
        .await
        .unwrap();
    (hub, cache, client)
}

async fn remote_readme(client: &HubClient, t: RepoType, id: &str, rev: &str) -> String {
    let p = client
        .typed(id, t)
        .revision(rev)
        .download("README.md")
        .await
        .unwrap();
    std::fs::read_to_string(p).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn push_validates_then_commits_the_card() {
    let (hub, _cache, client) = setup().await;
    hub.clear_log();
    let card = model_card();
    let info = card
        .push_to_hub(&client, "acme/card", PushOptions::default())
        .await
        .unwrap();
    assert_eq!(info.oid.len(), 40);
    assert!(info.pr_url.is_none() && info.pr_num.is_none());
    assert_eq!(
        remote_readme(&client, RepoType::Model, "acme/card", "main").await,
        card.text()
    );
    // Validation (with the whole card) comes before the commit's own requests.
    let log = hub.log();
    let first = &log[0];
    assert_eq!(
        (first.method.as_str(), first.path.as_str()),
        ("POST", "/api/validate-yaml")
    );
    let body: Value = serde_json::from_slice(&first.body).unwrap();
    assert_eq!(body, json!({"repoType": "model", "content": card.text()}));
    assert!(
        log.iter()
            .any(|l| l.method == "POST" && l.path == "/api/models/acme/card/commit/main")
    );
    let commits: Vec<_> =
        futures::TryStreamExt::try_collect::<Vec<_>>(client.model("acme/card").commits())
            .await
            .unwrap();
    assert_eq!(commits[0].title, "Upload README.md with hfkit");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pull_requests_branches_and_parent_commits() {
    let (hub, _cache, client) = setup().await;
    let card = model_card();
    // A pull request: the PR URL and number come back; main is untouched.
    let info = card
        .push_to_hub(
            &client,
            "acme/card",
            PushOptions::default()
                .create_pr(true)
                .commit_message("Card via PR")
                .commit_description("please review"),
        )
        .await
        .unwrap();
    assert_eq!(info.pr_num, Some(1));
    assert_eq!(
        info.pr_url.as_deref(),
        Some(format!("{}/acme/card/discussions/1", hub.url).as_str())
    );
    assert_eq!(info.revision(), "refs/pr/1");
    assert_eq!(
        remote_readme(&client, RepoType::Model, "acme/card", "refs/pr/1").await,
        card.text()
    );
    let main_files = client.model("acme/card").list_files().await.unwrap();
    assert!(
        !main_files.iter().any(|f| f == "README.md"),
        "{main_files:?}"
    );

    // A branch.
    let repo = client.model("acme/card");
    repo.create_branch("dev", None, false).await.unwrap();
    card.push_to_hub(&client, "acme/card", PushOptions::default().revision("dev"))
        .await
        .unwrap();
    assert_eq!(
        remote_readme(&client, RepoType::Model, "acme/card", "dev").await,
        card.text()
    );

    // A stale parent commit is refused; the current head is accepted.
    let head = repo.info().await.unwrap().sha.unwrap();
    let err = card
        .push_to_hub(
            &client,
            "acme/card",
            PushOptions::default().parent_commit("0123456789abcdef0123456789abcdef01234567"),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::CommitConflict(_)), "{err:?}");
    card.push_to_hub(
        &client,
        "acme/card",
        PushOptions::default().parent_commit(head),
    )
    .await
    .unwrap();

    // Bad input fails before any request.
    hub.clear_log();
    let err = card
        .push_to_hub(&client, "not a repo id", PushOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidInput(_)), "{err:?}");
    assert!(hub.log().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn python_reads_pushed_cards_into_the_same_data() {
    let (hub, _cache, client) = setup().await;
    client
        .create_repo(CreateRepo::new("acme/data").repo_type(RepoType::Dataset))
        .await
        .unwrap();
    let model = model_card();
    model
        .push_to_hub(&client, "acme/card", PushOptions::default())
        .await
        .unwrap();
    let mut data = DatasetCardData::new();
    data.set_pretty_name(Some("Ünïcode data"));
    data.set_size_categories(["n<1K"]);
    data.set_task_categories(["text-classification"]);
    data.set(
        "configs",
        json!([{"config_name": "default", "data_files": "train.csv"}]),
    );
    let dataset = DatasetCard::new(data, "# data\n");
    // The blocking twin.
    let blocking = hfkit::blocking::HubClient::from_async(client.clone()).unwrap();
    let d2 = dataset.clone();
    std::thread::spawn(move || {
        d2.push_to_hub_blocking(&blocking, "acme/data", PushOptions::default())
            .unwrap()
    })
    .join()
    .unwrap();
    assert_eq!(
        remote_readme(&client, RepoType::Dataset, "acme/data", "main").await,
        dataset.text()
    );

    let home = tempfile::tempdir().unwrap();
    let env = [
        ("HF_ENDPOINT".to_owned(), hub.url.clone()),
        ("HF_HOME".to_owned(), home.path().display().to_string()),
        ("HF_TOKEN".to_owned(), TOKEN.to_owned()),
    ];
    let out = tokio::task::spawn_blocking(move || {
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        run_python(
            r#"
import json
from huggingface_hub import DatasetCard, ModelCard
print(json.dumps(ModelCard.load("acme/card").data.to_dict()))
print(json.dumps(DatasetCard.load("acme/data", repo_type="dataset").data.to_dict()))
"#,
            &env,
        )
    })
    .await
    .unwrap();
    let mut lines = out.lines();
    let py_model: Value = serde_json::from_str(lines.next().unwrap()).unwrap();
    let py_dataset: Value = serde_json::from_str(lines.next().unwrap()).unwrap();
    assert_eq!(py_model, Value::Object(model.to_python_dict()));
    assert_eq!(py_dataset, Value::Object(dataset.to_python_dict()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_rejected_card_is_never_committed() {
    let root = tempfile::tempdir().unwrap();
    let seen: std::sync::Arc<std::sync::Mutex<Vec<String>>> = Default::default();
    let s2 = seen.clone();
    let app = Mirror::new(root.path())
        .allow_writes(true)
        .token(TOKEN)
        .router()
        .layer(axum::middleware::from_fn(
            move |req: Request, next: Next| {
                let seen = s2.clone();
                async move {
                    seen.lock()
                        .unwrap()
                        .push(format!("{} {}", req.method(), req.uri().path()));
                    if req.uri().path() == "/api/validate-yaml" {
                        let body = json!({"errors": [{"message": "\"license\" must be a string"}],
                                      "warnings": [{"message": "empty model card"}]});
                        return (axum::http::StatusCode::BAD_REQUEST, axum::Json(body))
                            .into_response();
                    }
                    next.run(req).await
                }
            },
        ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let cache = tempfile::tempdir().unwrap();
    let client = HubClient::builder()
        .settings(|b| {
            b.env_map(Default::default())
                .endpoint(url.clone())
                .cache_dir(cache.path().to_path_buf())
                .hf_home(cache.path().join("home"))
                .token(TOKEN)
        })
        .build()
        .unwrap();
    client
        .create_repo(CreateRepo::new("acme/card"))
        .await
        .unwrap();
    seen.lock().unwrap().clear();
    let err = model_card()
        .push_to_hub(&client, "acme/card", PushOptions::default())
        .await
        .unwrap_err();
    match err {
        Error::Card { message, .. } => {
            assert!(
                message.contains("\"license\" must be a string"),
                "{message}"
            );
            assert!(message.contains("empty model card"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(*seen.lock().unwrap(), ["POST /api/validate-yaml"]);
}
