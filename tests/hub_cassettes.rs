//! Replays the repo-info lookups recorded against the real Hub
//! (`../shared/conformance/cassettes/v0.27.1/InferenceApiTest.*.yaml`: `GET /api/models/{id}`, one
//! of them answered with a relative `307` to the renamed repository) and checks that hfkit follows
//! the redirect on the same origin, keeps the token, and parses every recorded body into the same
//! data.
//!
//! The `hub_api_examples/` cassettes record repository creation, preupload, commits and Space
//! runtime calls: they belong to the upload and Space APIs, not to the read side tested here.
#![cfg(feature = "server")]

mod support;

use hfkit::HubClient;
use support::cassette;

fn info_cassettes() -> Vec<std::path::PathBuf> {
    let dir = cassette::cassettes_dir().join("v0.27.1");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| {
            panic!(
                "{}: {e} (the conformance folder must sit beside the repo)",
                dir.display()
            )
        })
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("InferenceApiTest."))
        })
        .collect();
    files.sort();
    files
}

#[tokio::test]
async fn recorded_repo_info_lookups_replay() {
    let mut replayed = 0;
    let mut redirects = 0;
    for file in info_cassettes() {
        let all = cassette::load(&file);
        let hub_calls: Vec<_> = all
            .into_iter()
            .filter(|i| i.host() == "huggingface.co" && i.method == "GET")
            .collect();
        // The first lookup of each cassette names the repository the test asked for.
        let Some(first) = hub_calls.first().cloned() else {
            continue;
        };
        let asked = first
            .path_and_query()
            .trim_start_matches("/api/models/")
            .to_owned();
        let final_body = hub_calls
            .iter()
            .rev()
            .find(|i| i.status == 200)
            .and_then(|i| i.json())
            .unwrap_or_else(|| panic!("{}: no 200 body", file.display()));
        let was_redirected = first.status == 307;
        let server = cassette::serve(hub_calls).await;
        let hub = HubClient::builder()
            .endpoint(&server.url)
            .cache_dir(std::env::temp_dir().join("hfkit-unused-cache"))
            .token("hf_cassette_token")
            .build()
            .unwrap();
        let info = hub
            .model(asked.clone())
            .info()
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        assert_eq!(
            info.id,
            final_body["id"].as_str().unwrap(),
            "{}",
            file.display()
        );
        assert_eq!(info.sha.as_deref(), final_body["sha"].as_str());
        assert_eq!(
            info.pipeline_tag.as_deref(),
            final_body["pipeline_tag"].as_str()
        );
        assert_eq!(
            info.library_name.as_deref(),
            final_body["library_name"].as_str()
        );
        let recorded: Vec<&str> = final_body["siblings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["rfilename"].as_str().unwrap())
            .collect();
        let parsed: Vec<&str> = info.siblings.iter().map(|s| s.rfilename.as_str()).collect();
        assert_eq!(parsed, recorded, "{}", file.display());
        let tags: Vec<&str> = final_body["tags"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap())
            .collect();
        assert_eq!(
            info.tags.iter().map(String::as_str).collect::<Vec<_>>(),
            tags
        );
        let seen = server.seen();
        if was_redirected {
            redirects += 1;
            assert_eq!(seen.len(), 2, "the relative 307 is followed once: {seen:?}");
            assert_eq!(seen[0].path_and_query, format!("/api/models/{asked}"));
            assert_ne!(seen[1].path_and_query, seen[0].path_and_query);
        }
        for s in &seen {
            assert_eq!(s.authorization.as_deref(), Some("Bearer hf_cassette_token"));
        }
        replayed += 1;
    }
    println!(
        "replayed {replayed} recorded repo-info lookups ({redirects} through a rename redirect)"
    );
    assert!(
        replayed >= 6,
        "expected the 6 InferenceApiTest cassettes, replayed {replayed}"
    );
    assert!(redirects >= 1);
}
