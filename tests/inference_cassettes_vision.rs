//! Replays the recorded exchanges of the image, audio, multimodal and tabular tasks of
//! `../shared/conformance/cassettes/{v0.19.0,v0.27.1}` and checks each decoded result against
//! the recorded body: image dimensions, mask count and sizes, audio bytes, answers.

mod support;

use std::collections::HashMap;
use std::path::Path;

use base64::Engine;
use hfkit::Settings;
use hfkit::inference::{BinaryInput, InferenceClient};
use serde_json::{Value, json};
use support::cassette::{Interaction, cassettes_dir, load, serve};

fn client(url: &str) -> InferenceClient {
    let settings = Settings::builder()
        .env_map(HashMap::new())
        .hf_home(std::env::temp_dir().join("hfkit-inference-cassettes-vision-no-home"))
        .build()
        .unwrap();
    InferenceClient::builder()
        .settings(settings)
        .legacy_serverless(true)
        .legacy_inference_url(url)
        .hub_url(url)
        .router_url(url)
        .max_retries(0)
        .build()
        .unwrap()
}

/// The Hub model id of a recorded legacy-API URI.
fn model_of(it: &Interaction) -> String {
    let path = url::Url::parse(&it.uri).unwrap().path().to_owned();
    path.strip_prefix("/models/")
        .unwrap_or_else(|| panic!("unexpected recorded path {path}"))
        .to_owned()
}

fn v<T: serde::Serialize>(x: &T) -> Value {
    serde_json::to_value(x).unwrap()
}

fn b64(s: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD.decode(s).unwrap()
}

/// Width and height from a PNG's IHDR chunk.
fn png_dims(b: &[u8]) -> (u32, u32) {
    assert!(b.starts_with(b"\x89PNG\r\n\x1a\n"), "a PNG");
    let be = |i: usize| u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
    (be(16), be(20))
}

/// Width and height from a JPEG's start-of-frame segment.
fn jpeg_dims(b: &[u8]) -> (u32, u32) {
    assert!(b.starts_with(b"\xff\xd8"), "a JPEG");
    let mut i = 2;
    loop {
        while b[i] == 0xff && b[i + 1] == 0xff {
            i += 1;
        }
        assert_eq!(b[i], 0xff, "JPEG marker at {i}");
        let m = b[i + 1];
        let len = u16::from_be_bytes([b[i + 2], b[i + 3]]) as usize;
        if (0xc0..=0xcf).contains(&m) && !matches!(m, 0xc4 | 0xc8 | 0xcc) {
            let h = u16::from_be_bytes([b[i + 5], b[i + 6]]) as u32;
            let w = u16::from_be_bytes([b[i + 7], b[i + 8]]) as u32;
            return (w, h);
        }
        i += 2 + len;
    }
}

/// `support::cassette::load` keeps `!!binary |` block bodies as their base64 text (its tag
/// check expects the data on the tag's line): decode media bodies here.
fn decode_media(mut its: Vec<Interaction>) -> Vec<Interaction> {
    for it in &mut its {
        let media = it.headers.iter().any(|(k, v)| {
            k.eq_ignore_ascii_case("content-type")
                && (v.starts_with("image/") || v.starts_with("audio/"))
        });
        if media && it.body.iter().all(|b| b.is_ascii()) {
            let text: String = String::from_utf8_lossy(&it.body)
                .split_whitespace()
                .collect();
            it.body = base64::engine::general_purpose::STANDARD
                .decode(text)
                .expect("a base64 media body");
        }
    }
    its
}

/// The tasks this file replays, by cassette stem; `None` for the others.
fn family(stem: &str) -> Option<&'static str> {
    let s = stem.strip_prefix("InferenceClientVCRTest.test_")?;
    Some(match s {
        "text_to_image" | "text_to_image_default" | "text_to_image_with_parameters" => {
            "text_to_image"
        }
        "text_to_speech" => "text_to_speech",
        "audio_to_audio" => "audio_to_audio",
        "image_segmentation" => "image_segmentation",
        "zero_shot_image_classification" => "zero_shot_image_classification",
        "visual_question_answering" => "visual_question_answering",
        "document_question_answering" => "document_question_answering",
        _ => return None,
    })
}

/// A small PNG image input, built in memory.
fn picture() -> image::DynamicImage {
    image::DynamicImage::new_rgb8(8, 6)
}

/// Calls the hfkit method of `stem` against a replay of `its` and checks the result and the
/// requests the server saw.
async fn run_case(stem: &str, its: &[Interaction]) {
    let rec = &its[0];
    let model = model_of(rec);
    let s = stem.trim_start_matches("InferenceClientVCRTest.test_");
    let server = serve(its.to_vec()).await;
    let c = client(&server.url);
    match s {
        "text_to_image" | "text_to_image_default" | "text_to_image_with_parameters" => {
            let call = || {
                let b = c
                    .text_to_image("An astronaut riding a horse on the moon.")
                    .model(&model);
                if s.ends_with("with_parameters") {
                    b.height(256u32).width(256u32)
                } else {
                    b
                }
            };
            let img = call().await.unwrap();
            assert_eq!(
                (img.width(), img.height()),
                jpeg_dims(&rec.body),
                "decoded size = the recorded JPEG's"
            );
            // Raw bytes on request: a second replay of the same exchange.
            let again = serve(its.to_vec()).await;
            let raw = client(&again.url)
                .text_to_image("An astronaut riding a horse on the moon.")
                .model(&model);
            let raw = if s.ends_with("with_parameters") {
                raw.height(256u32).width(256u32)
            } else {
                raw
            };
            let out = raw.bytes().await.unwrap();
            assert_eq!(&out.bytes[..], &rec.body[..]);
            assert_eq!(out.content_type.as_deref(), Some("image/jpeg"));
            assert_eq!(out.extension(), Some("jpg"));
            assert_eq!(again.seen().len(), 1);
        }
        "text_to_speech" => {
            let out = c.text_to_speech("Hello world").model(&model).await.unwrap();
            assert_eq!(&out.bytes[..], &rec.body[..], "audio bytes as recorded");
            assert!(out.bytes.starts_with(b"fLaC"));
            assert_eq!(out.content_type.as_deref(), Some("audio/flac"));
        }
        "audio_to_audio" => {
            let got = c
                .audio_to_audio(BinaryInput::bytes(&b"fLaC\0\0\0\x22"[..]))
                .model(&model)
                .await
                .unwrap();
            let r = rec.json().unwrap();
            let clips = r.as_array().unwrap();
            assert_eq!(got.len(), clips.len());
            for (g, w) in got.iter().zip(clips) {
                assert_eq!(g.label, w["label"].as_str().unwrap());
                assert_eq!(g.content_type, w["content-type"].as_str().unwrap());
                assert_eq!(&g.blob[..], &b64(w["blob"].as_str().unwrap())[..]);
                assert!(!g.blob.is_empty());
            }
            assert_eq!(v(&got), r, "serialised back to the wire form");
        }
        "image_segmentation" => {
            let got = c.image_segmentation(picture()).model(&model).await.unwrap();
            let r = rec.json().unwrap();
            let segs = r.as_array().unwrap();
            assert_eq!(got.len(), segs.len(), "mask count");
            assert!(got.len() > 1);
            for (g, w) in got.iter().zip(segs) {
                assert_eq!(g.label, w["label"].as_str().unwrap());
                assert_eq!(g.score, w["score"].as_f64());
                let png = b64(w["mask"].as_str().unwrap());
                assert_eq!(&g.mask_bytes[..], &png[..]);
                assert_eq!(
                    (g.mask.width(), g.mask.height()),
                    png_dims(&png),
                    "decoded mask size = the recorded PNG's"
                );
            }
            assert_eq!(v(&got), r, "serialised back to the wire form");
        }
        "zero_shot_image_classification" => {
            let got = c
                .zero_shot_image_classification(picture(), ["tree", "woman", "cat"])
                .model(&model)
                .await
                .unwrap();
            assert_eq!(v(&got), rec.json().unwrap());
        }
        "visual_question_answering" => {
            let got = c
                .visual_question_answering(picture(), "Who's in the picture?")
                .model(&model)
                .await
                .unwrap();
            assert_eq!(v(&got), rec.json().unwrap());
        }
        "document_question_answering" => {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("invoice.png");
            picture().save(&path).unwrap();
            let got = c
                .document_question_answering(path.as_path(), "What is the purchase amount?")
                .model(&model)
                .await
                .unwrap();
            assert_eq!(v(&got), rec.json().unwrap());
            assert_eq!(got[0].answer, "$1,000,000,000");
        }
        other => panic!("no case for {other}"),
    }
    let seen = server.seen();
    assert_eq!(
        seen.len(),
        its.len(),
        "{stem}: every recorded exchange is used once: {seen:?}"
    );
    for s in &seen {
        assert_eq!(s.method, "POST");
        assert_eq!(s.path_and_query, format!("/models/{model}"));
        assert_eq!(s.authorization, None, "anonymous client");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_vision_audio_multimodal_cassettes() {
    let mut replayed = 0;
    let mut total = 0;
    for folder in ["v0.19.0", "v0.27.1"] {
        let dir = cassettes_dir().join(folder);
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
            .collect();
        files.sort();
        for path in files {
            let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
            let Some(fam) = family(&stem) else { continue };
            total += 1;
            let its = decode_media(load(Path::new(&path)));
            eprintln!("replaying {folder}/{stem} ({fam})");
            run_case(&stem, &its).await;
            replayed += 1;
        }
    }
    println!(
        "replayed {replayed} of {total} cassettes of the image, audio and multimodal tasks \
         (tabular, image-to-image and text-to-video have none)"
    );
    assert_eq!(replayed, total);
    assert_eq!(total, 17, "8 in v0.19.0, 9 in v0.27.1");
}

#[test]
fn recorded_media_is_what_the_index_says() {
    // Guards the helpers above against a silently different cassette.
    let its = decode_media(load(&cassettes_dir().join(
        "v0.27.1/InferenceClientVCRTest.test_text_to_image_with_parameters.yaml",
    )));
    assert_eq!(its[0].body.len(), 1651, "INDEX.md: 1651 B");
    assert_eq!(jpeg_dims(&its[0].body), (256, 256), "asked for 256×256");
    let tts = decode_media(load(
        &cassettes_dir().join("v0.19.0/InferenceClientVCRTest.test_text_to_speech.yaml"),
    ));
    assert_eq!(tts[0].body.len(), 52801, "INDEX.md: 52801 B");
    let seg =
        load(&cassettes_dir().join("v0.27.1/InferenceClientVCRTest.test_image_segmentation.yaml"));
    let masks = seg[0].json().unwrap();
    assert_eq!(masks[0]["label"], json!("LABEL_199"));
}
