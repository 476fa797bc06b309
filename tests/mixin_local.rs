//! ModelHubMixin on local folders: round trips (single file and sharded), the exact bytes of
//! `config.json`, the index and the card metadata, bad input, and blocking twins inside runtimes.

#[allow(dead_code)]
#[path = "support/toy.rs"]
mod toy;

use std::path::Path;

use hfkit::Error;
use hfkit::mixin::{
    CardOptions, Dtype, HubModel, LoadOptions, ModelHubMixin, SafetensorsFile, SaveOptions,
    TensorRef,
};
use toy::{Failing, Toy, ToyConfig, list};

fn read(p: impl AsRef<Path>) -> String {
    std::fs::read_to_string(p).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn single_file_round_trip_writes_python_bytes() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("toy");
    let model = Toy::new(ToyConfig::small(), 7);
    let saved = model.save_pretrained(&dir).await.unwrap();
    assert_eq!(
        list(&dir),
        ["README.md", "config.json", "model.safetensors"]
    );
    assert_eq!(saved.files.len(), 3);
    assert!(saved.commit.is_none());
    // Python's json.dumps(sort_keys=True, indent=2), raw UTF-8 where Python escapes (spec §4.1).
    assert_eq!(
        read(dir.join("config.json")),
        "{\n  \"hidden\": 8,\n  \"layers\": [\n    3,\n    2\n  ],\n  \"name\": \"h\u{e9}llo\",\n  \"scale\": 1e-05\n}"
    );
    let st = SafetensorsFile::open(dir.join("model.safetensors")).unwrap();
    assert_eq!(st.metadata().get("format").map(String::as_str), Some("pt"));
    assert_eq!(
        st.names(),
        ["embed.weight", "layers.0.weight", "layers.1.weight"]
    );
    let loaded = Toy::from_pretrained(dir.to_str().unwrap()).await.unwrap();
    assert_eq!(loaded, model);
}

#[tokio::test(flavor = "current_thread")]
async fn card_carries_declared_metadata() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("toy");
    let model = Toy::new(ToyConfig::small(), 1);
    model.save_pretrained(&dir).await.unwrap();
    let card = read(dir.join("README.md"));
    assert!(
        card.starts_with(
            "---\nlibrary_name: my-lib\nlicense: apache-2.0\npipeline_tag: image-classification\n\
             tags:\n- Zeta\n- hfkit\n- model_hub_mixin\n- vision\n---\n\n"
        ),
        "{card}"
    );
    assert!(card.contains("https://github.com/o/r"), "{card}");
    assert!(card.contains("Toy::from_pretrained"), "{card}");
    // An existing card is kept; per-call values win when the card is regenerated.
    std::fs::write(dir.join("README.md"), "mine").unwrap();
    model.save_pretrained(&dir).await.unwrap();
    assert_eq!(read(dir.join("README.md")), "mine");
    let opts = SaveOptions::default().overwrite_card(true).card(
        CardOptions::default()
            .license("mit")
            .var("model_summary", "A toy."),
    );
    model.save_pretrained_with(&dir, opts).await.unwrap();
    let card = hfkit::card::ModelCard::load(dir.join("README.md")).unwrap();
    assert_eq!(card.data().license(), Some("mit"));
    assert!(card.body().contains("A toy."));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sharded_round_trip_and_stale_shards_removed() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("toy");
    let model = Toy::new(ToyConfig::small(), 3);
    // embed 8×4×4 = 128 bytes, layers.0 3×8×4 = 96, layers.1 2×8×4 = 64.
    let opts = SaveOptions::default()
        .max_shard_size_str("0.2KB")
        .unwrap()
        .metadata("source", "test");
    model.save_pretrained_with(&dir, opts).await.unwrap();
    assert_eq!(
        list(&dir),
        [
            "README.md",
            "config.json",
            "model-00001-of-00002.safetensors",
            "model-00002-of-00002.safetensors",
            "model.safetensors.index.json",
        ]
    );
    assert_eq!(
        read(dir.join("model.safetensors.index.json")),
        "{\n  \"metadata\": {\n    \"source\": \"test\",\n    \"total_size\": 288\n  },\n  \
         \"weight_map\": {\n    \"embed.weight\": \"model-00001-of-00002.safetensors\",\n    \
         \"layers.0.weight\": \"model-00002-of-00002.safetensors\",\n    \
         \"layers.1.weight\": \"model-00002-of-00002.safetensors\"\n  }\n}"
    );
    for shard in [
        "model-00001-of-00002.safetensors",
        "model-00002-of-00002.safetensors",
    ] {
        let st = SafetensorsFile::open(dir.join(shard)).unwrap();
        // Caller metadata goes into the index, shards carry only the format.
        assert_eq!(
            st.metadata().into_iter().collect::<Vec<_>>(),
            [("format".to_owned(), "pt".to_owned())]
        );
    }
    let loaded = Toy::from_pretrained(dir.to_str().unwrap()).await.unwrap();
    assert_eq!(loaded, model);
    // Saving unsharded into the same folder removes the old shards and index.
    model.save_pretrained(&dir).await.unwrap();
    assert_eq!(
        list(&dir),
        ["README.md", "config.json", "model.safetensors"]
    );
    assert_eq!(
        Toy::from_pretrained(dir.to_str().unwrap()).await.unwrap(),
        model
    );
}

#[tokio::test]
async fn a_failed_save_leaves_no_file_under_a_final_name() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("failing");
    let err = Failing(ToyConfig::small())
        .save_pretrained(&dir)
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::InvalidInput(ref m) if m.contains("device")),
        "{err}"
    );
    assert_eq!(list(&dir), Vec::<String>::new());
    // Saving into a file is refused.
    let file = tmp.path().join("file");
    std::fs::write(&file, "x").unwrap();
    let err = Toy::new(ToyConfig::small(), 1)
        .save_pretrained(&file)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidInput(_)), "{err}");
}

async fn saved(seed: u32) -> (tempfile::TempDir, std::path::PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("m");
    Toy::new(ToyConfig::small(), seed)
        .save_pretrained(&dir)
        .await
        .unwrap();
    (tmp, dir)
}

fn load_err(dir: &Path) -> Error {
    hfkit::blocking::mixin::from_pretrained::<Toy>(dir.to_str().unwrap()).unwrap_err()
}

#[tokio::test]
async fn truncated_and_lying_safetensors_are_typed_errors() {
    let (_tmp, dir) = saved(2).await;
    let file = dir.join("model.safetensors");
    let bytes = std::fs::read(&file).unwrap();
    std::fs::write(&file, &bytes[..bytes.len() - 10]).unwrap();
    assert!(matches!(load_err(&dir), Error::Safetensors { .. }));
    std::fs::write(&file, &bytes[..5]).unwrap();
    assert!(matches!(load_err(&dir), Error::Safetensors { .. }));
    // A header length larger than the file.
    let mut lying = bytes.clone();
    lying[..8].copy_from_slice(&(bytes.len() as u64 * 4).to_le_bytes());
    std::fs::write(&file, &lying).unwrap();
    assert!(matches!(load_err(&dir), Error::Safetensors { .. }));
    // Data offsets claiming more bytes than present.
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header = String::from_utf8(bytes[8..8 + n].to_vec()).unwrap();
    let bigger = header.replacen("[0,128]", "[0,999]", 1);
    assert_ne!(bigger, header, "{header}");
    let mut out = (bigger.len() as u64).to_le_bytes().to_vec();
    out.extend(bigger.as_bytes());
    out.extend(&bytes[8 + n..]);
    std::fs::write(&file, &out).unwrap();
    let err = load_err(&dir);
    assert!(matches!(err, Error::Safetensors { .. }), "{err}");
}

#[tokio::test]
async fn index_pointing_outside_the_folder_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("m");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("config.json"),
        serde_json::to_string(&ToyConfig::small()).unwrap(),
    )
    .unwrap();
    for target in [
        "../x.safetensors",
        "/etc/x.safetensors",
        "C:\\x.safetensors",
        "a.bin",
    ] {
        let index = serde_json::json!({"metadata": {}, "weight_map": {"embed.weight": target}});
        std::fs::write(dir.join("model.safetensors.index.json"), index.to_string()).unwrap();
        let err = load_err(&dir);
        assert!(matches!(err, Error::UnsafePath { .. }), "{target}: {err}");
    }
}

#[tokio::test]
async fn unacceptable_dtype_names_the_tensor() {
    let (_tmp, dir) = saved(2).await;
    std::fs::remove_file(dir.join("model.safetensors")).unwrap();
    let bytes = safetensors::serialize(
        [(
            "embed.weight",
            TensorRef::new(Dtype::F16, vec![8, 4], vec![0u8; 64]).unwrap(),
        )],
        None,
    )
    .unwrap();
    std::fs::write(dir.join("model.safetensors"), bytes).unwrap();
    match load_err(&dir) {
        Error::Safetensors {
            tensor, message, ..
        } => {
            assert_eq!(tensor.as_deref(), Some("embed.weight"));
            assert!(message.contains("F16"), "{message}");
        }
        e => panic!("{e}"),
    }
}

#[tokio::test]
async fn missing_or_invalid_config_names_the_file() {
    let (_tmp, dir) = saved(4).await;
    std::fs::write(
        dir.join("config.json"),
        "{\n  \"hidden\": 8,\n  \"layers\": [3, 2],\n}",
    )
    .unwrap();
    match load_err(&dir) {
        Error::InvalidConfig { path, line, .. } => {
            assert_eq!(path, dir.join("config.json"));
            assert_eq!(line, 4);
        }
        e => panic!("{e}"),
    }
    std::fs::write(dir.join("config.json"), "{\"hidden\": \"eight\"}").unwrap();
    assert!(matches!(
        load_err(&dir),
        Error::InvalidConfig { line: 1, .. }
    ));
    std::fs::remove_file(dir.join("config.json")).unwrap();
    let err = load_err(&dir);
    assert!(matches!(err, Error::MissingConfig { .. }), "{err}");
    // Overrides and an explicit config.
    let cfg = serde_json::to_value(ToyConfig::small()).unwrap();
    let m = Toy::from_pretrained_with(
        dir.to_str().unwrap(),
        LoadOptions::default()
            .config(cfg)
            .config_override("name", "other".into()),
    )
    .await
    .unwrap();
    assert_eq!(m.config.name, "other");
    // A path that does not exist is never taken for a repo id.
    let err = Toy::from_pretrained("./no/such/dir").await.unwrap_err();
    assert!(matches!(err, Error::LocalPathNotFound { .. }), "{err}");
    // No weights at all.
    std::fs::remove_file(dir.join("model.safetensors")).unwrap();
    let err = Toy::from_pretrained_with(
        dir.to_str().unwrap(),
        LoadOptions::default().config(serde_json::to_value(ToyConfig::small()).unwrap()),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, Error::LocalEntryNotFound { ref reason, .. } if reason.contains("model.safetensors.index.json")),
        "{err}"
    );
}

#[tokio::test]
async fn strict_mode_reports_unexpected_tensors() {
    let (_tmp, dir) = saved(5).await;
    let mut model = Toy::new(ToyConfig::small(), 5);
    model
        .tensors
        .insert("extra.bias".into(), (vec![2], vec![1.0, 2.0]));
    model.save_pretrained(&dir).await.unwrap();
    let lenient = Toy::from_pretrained(dir.to_str().unwrap()).await.unwrap();
    assert!(!lenient.tensors.contains_key("extra.bias"));
    let err = Toy::from_pretrained_with(dir.to_str().unwrap(), LoadOptions::default().strict(true))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("extra.bias"), "{err}");
}

#[test]
fn blocking_twins_work_everywhere() {
    let tmp = tempfile::tempdir().unwrap();
    let model = Toy::new(ToyConfig::small(), 9);
    // A plain thread.
    let dir = tmp.path().join("plain");
    hfkit::blocking::mixin::save_pretrained(&model, &dir).unwrap();
    let back: Toy = hfkit::blocking::mixin::from_pretrained(dir.to_str().unwrap()).unwrap();
    assert_eq!(back, model);
    // Inside both runtime flavours, and inside spawn_blocking.
    for multi in [false, true] {
        let rt = if multi {
            tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .unwrap()
        } else {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
        };
        let d = tmp.path().join(format!("rt-{multi}"));
        let m = model.clone();
        rt.block_on(async move {
            hfkit::blocking::mixin::save_pretrained(&m, &d).unwrap();
            let back: Toy = hfkit::blocking::mixin::from_pretrained(d.to_str().unwrap()).unwrap();
            assert_eq!(back, m);
            let d2 = d.clone();
            let inner = tokio::task::spawn_blocking(move || {
                hfkit::blocking::mixin::from_pretrained::<Toy>(d2.to_str().unwrap())
            })
            .await
            .unwrap()
            .unwrap();
            assert_eq!(inner, m);
            // The async forms on this runtime flavour too.
            m.save_pretrained(d.join("async")).await.unwrap();
            let again = Toy::from_pretrained(d.join("async").to_str().unwrap())
                .await
                .unwrap();
            assert_eq!(again, m);
        });
    }
}

#[tokio::test]
async fn load_pretrained_serves_foreign_types() {
    let (_tmp, dir) = saved(6).await;
    let (hidden, names) = hfkit::mixin::load_pretrained(
        dir.to_str().unwrap(),
        LoadOptions::default(),
        |cfg: ToyConfig, files, _ctx| Ok((cfg.hidden, files.checkpoint()?.names())),
    )
    .await
    .unwrap();
    assert_eq!(hidden, 8);
    assert_eq!(
        names,
        ["embed.weight", "layers.0.weight", "layers.1.weight"]
    );
}
