//! `hfkit chat` and `hfkit generate` against the TGI-protocol loopback server: only the
//! generated text on stdout, JSON chunks with `--json`, an interactive chat that keeps its
//! history, images attached with `--image`, and errors on stderr.

mod support;

use serde_json::{Value, json};
use support::tgi::{self, generated_text};

fn hfkit(args: &[&str], stdin: &str) -> std::process::Output {
    use std::io::Write;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_hfkit"))
        .args(args)
        .env(
            "HF_HOME",
            std::env::temp_dir().join("hfkit-streaming-cli-home"),
        )
        .env_remove("HF_TOKEN")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_chat_and_generate_print_only_the_generated_text() {
    let srv = tgi::start().await;
    let base = format!("{}/v1", srv.url);
    let url = srv.url.clone();
    let (one, json_out, interactive, gen_stream, gen_plain, bad) =
        tokio::task::spawn_blocking(move || {
            (
                hfkit(
                    &[
                        "chat",
                        "Hello",
                        "--base-url",
                        &base,
                        "--model",
                        "tiny",
                        "--system",
                        "be brief",
                        "--max-tokens",
                        "8",
                        "--temperature",
                        "0.5",
                    ],
                    "",
                ),
                hfkit(
                    &[
                        "chat",
                        "Hello",
                        "--base-url",
                        &base,
                        "--model",
                        "tiny",
                        "--json",
                    ],
                    "",
                ),
                hfkit(
                    &["chat", "--base-url", &base, "--model", "tiny"],
                    "first question\nsecond question\n",
                ),
                hfkit(
                    &[
                        "generate",
                        "Hello",
                        "--base-url",
                        &url,
                        "--max-new-tokens",
                        "5",
                        "--stream",
                    ],
                    "",
                ),
                hfkit(&["generate", "Hello", "--base-url", &url], ""),
                hfkit(
                    &["chat", "error-mid", "--base-url", &base, "--model", "tiny"],
                    "",
                ),
            )
        })
        .await
        .unwrap();
    let text = generated_text();
    assert!(
        one.status.success(),
        "{}",
        String::from_utf8_lossy(&one.stderr)
    );
    assert_eq!(String::from_utf8(one.stdout).unwrap(), format!("{text}\n"));
    let lines: Vec<Value> = String::from_utf8(json_out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 4);
    assert_eq!(lines[3]["choices"][0]["finish_reason"], "stop");
    assert_eq!(lines[0]["choices"][0]["delta"]["content"], "Hello");
    assert!(interactive.status.success());
    assert_eq!(
        String::from_utf8(interactive.stdout).unwrap(),
        format!("{text}\n{text}\n")
    );
    assert!(gen_stream.status.success());
    // Special tokens are not printed.
    assert_eq!(
        String::from_utf8(gen_stream.stdout).unwrap(),
        format!("{text}\n")
    );
    assert_eq!(
        String::from_utf8(gen_plain.stdout).unwrap(),
        format!("{text}\n")
    );
    assert!(!bad.status.success());
    let err = String::from_utf8(bad.stderr).unwrap();
    assert!(err.contains("boom"), "{err}");
    assert_eq!(String::from_utf8(bad.stdout).unwrap(), "Hello wor\n");

    let seen = srv.seen();
    let chat: Vec<_> = seen
        .iter()
        .filter(|s| s.path == "/v1/chat/completions")
        .collect();
    assert_eq!(
        chat[0].body,
        json!({"model": "tiny", "messages": [{"role": "system", "content": "be brief"},
            {"role": "user", "content": "Hello"}], "max_tokens": 8, "stream": true, "temperature": 0.5})
    );
    // The interactive chat keeps the history.
    let second = &chat[3].body["messages"];
    assert_eq!(
        second,
        &json!([{"role": "user", "content": "first question"},
            {"role": "assistant", "content": text},
            {"role": "user", "content": "second question"}])
    );
    let generate: Vec<_> = seen.iter().filter(|s| s.path == "/").collect();
    assert_eq!(generate[0].body["stream"], true);
    assert_eq!(generate[0].body["parameters"]["max_new_tokens"], 5);
    assert!(generate[1].body.get("stream").is_none());
}

/// `--image` attaches local files (as `data:` URLs) and URLs to the first message only; a file
/// that is not an image fails before any request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_chat_attaches_images_to_the_first_message() {
    use base64::Engine as _;
    let srv = tgi::start().await;
    let base = format!("{}/v1", srv.url);
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("dot.png");
    let mut bytes = Vec::new();
    image::DynamicImage::new_rgb8(1, 1)
        .write_to(
            &mut std::io::Cursor::new(&mut bytes),
            image::ImageFormat::Png,
        )
        .unwrap();
    std::fs::write(&png, &bytes).unwrap();
    let notes = dir.path().join("notes.txt");
    std::fs::write(&notes, "not an image").unwrap();
    let (png_arg, notes_arg) = (
        png.to_string_lossy().into_owned(),
        notes.to_string_lossy().into_owned(),
    );
    let (ok, bad) = tokio::task::spawn_blocking(move || {
        let common = ["--base-url", base.as_str(), "--model", "tiny"];
        let mut ok_args = vec!["chat", "--image", &png_arg];
        ok_args.extend(["--image", "https://example.test/cat.jpg"]);
        ok_args.extend(common);
        let mut bad_args = vec!["chat", "Hello", "--image", &notes_arg];
        bad_args.extend(common);
        (
            hfkit(&ok_args, "what is this?\nand now?\n"),
            hfkit(&bad_args, ""),
        )
    })
    .await
    .unwrap();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let text = generated_text();
    assert_eq!(
        String::from_utf8(ok.stdout).unwrap(),
        format!("{text}\n{text}\n")
    );
    let b64 = base64::engine::general_purpose::STANDARD.encode(&bytes);
    let chat: Vec<_> = srv
        .seen()
        .into_iter()
        .filter(|s| s.path == "/v1/chat/completions")
        .collect();
    assert_eq!(chat.len(), 2, "the bad image made no request");
    let first = json!({"role": "user", "content": [
        {"type": "text", "text": "what is this?"},
        {"type": "image_url", "image_url": {"url": format!("data:image/png;base64,{b64}")}},
        {"type": "image_url", "image_url": {"url": "https://example.test/cat.jpg"}},
    ]});
    assert_eq!(chat[0].body["messages"], json!([first]));
    assert_eq!(
        chat[1].body["messages"],
        json!([first, {"role": "assistant", "content": text},
            {"role": "user", "content": "and now?"}])
    );
    assert!(!bad.status.success());
    let err = String::from_utf8(bad.stderr).unwrap();
    assert!(
        err.contains("notes.txt") && err.contains("not an image"),
        "{err}"
    );
}
