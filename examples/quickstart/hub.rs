//! The Hub round trip of the quickstart: `save_pretrained` → `push_to_hub` → `from_pretrained`.
//!
//! All ModelHubMixin calls sit in [`round_trip`], so that this is the one place to read (or
//! change) to see how a model travels through the Hub.

use std::path::{Path, PathBuf};

use candle_core::{DType, Device};
use candle_nn::VarBuilder;
use hfkit::HubClient;
use hfkit::card::{ModelCard, ModelCardData};
use hfkit::hub::repos::CreateRepo;
use hfkit::hub::upload::UploadFolderOptions;

use super::model::{CharLm, CharLmConfig};

/// Where the round trip happens.
pub struct HubTarget<'a> {
    /// A client of the writable mirror, with the mirror's token (pushes go through it).
    pub writer: &'a HubClient,
    /// A client of the same mirror with a fresh, empty cache (loads go through it).
    pub reader: &'a HubClient,
    /// The repository to push to, `org/name`.
    pub repo_id: &'a str,
}

/// What the round trip produced.
pub struct RoundTrip {
    /// The folder `save_pretrained` wrote.
    pub saved_dir: PathBuf,
    /// The files in it, with their sizes, sorted by name.
    pub saved_files: Vec<(String, u64)>,
    /// The URL of the pushed commit.
    pub commit_url: String,
    /// The snapshot folder in the fresh cache that `from_pretrained` loaded from.
    pub snapshot: PathBuf,
    /// The model loaded back from the Hub.
    pub loaded: CharLm,
    /// The model card as stored on the Hub.
    pub card: ModelCard,
}

/// Saves `model` into `dir`, pushes it to `target.repo_id`, and loads it back by repo id.
pub async fn round_trip(
    model: &CharLm,
    dir: &Path,
    target: &HubTarget<'_>,
) -> anyhow::Result<RoundTrip> {
    // TODO(integrator): replace the three blocks below with the ModelHubMixin calls once the
    // candle adapter lands (cards-and-mixin.md §5.3):
    //   model.save_pretrained(dir).await?;
    //   let commit = model.push_to_hub_with(repo_id, PushOptions::default()…).await?;
    //   let loaded = CharLm::from_pretrained_with(repo_id, LoadOptions::default()…).await?;
    save_pretrained(model, dir)?;

    target
        .writer
        .create_repo(CreateRepo::new(target.repo_id).exist_ok(true))
        .await?;
    let commit = target
        .writer
        .model(target.repo_id)
        .upload_folder(
            dir,
            UploadFolderOptions::default().message("Push model using hfkit."),
        )
        .await?;

    let snapshot = target.reader.model(target.repo_id).snapshot().await?;
    let loaded = load_dir(&snapshot)?;

    let card = ModelCard::load(snapshot.join("README.md"))?;
    Ok(RoundTrip {
        saved_dir: dir.to_path_buf(),
        saved_files: list_files(dir)?,
        commit_url: commit.commit_url,
        snapshot,
        loaded,
        card,
    })
}

fn save_pretrained(model: &CharLm, dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    let tensors: std::collections::HashMap<String, _> =
        model.named_tensors()?.into_iter().collect();
    candle_core::safetensors::save(&tensors, dir.join("model.safetensors"))?;
    std::fs::write(
        dir.join("config.json"),
        serde_json::to_string_pretty(model.config())?,
    )?;
    let mut data = ModelCardData::new();
    data.set_tags(["candle", "hfkit", "model_hub_mixin", "text-generation"]);
    data.set_license(Some("apache-2.0"));
    let card = ModelCard::from_template(data, None, serde_json::json!({}))?;
    card.save(dir.join("README.md"))?;
    Ok(())
}

fn load_dir(dir: &Path) -> anyhow::Result<CharLm> {
    let cfg: CharLmConfig = serde_json::from_slice(&std::fs::read(dir.join("config.json"))?)?;
    // SAFETY: the file is a content-addressed cache blob that hfkit never rewrites.
    let vb = unsafe {
        VarBuilder::from_mmaped_safetensors(
            &[dir.join("model.safetensors")],
            DType::F32,
            &Device::Cpu,
        )?
    };
    Ok(CharLm::build(&cfg, vb)?)
}

fn list_files(dir: &Path) -> anyhow::Result<Vec<(String, u64)>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let meta = entry.metadata()?;
        if meta.is_file() {
            out.push((entry.file_name().to_string_lossy().into_owned(), meta.len()));
        }
    }
    out.sort();
    Ok(out)
}

/// Compares two models tensor by tensor, bit for bit; returns the number of values compared.
pub fn assert_same_weights(a: &CharLm, b: &CharLm) -> anyhow::Result<usize> {
    let (ta, tb) = (a.named_tensors()?, b.named_tensors()?);
    anyhow::ensure!(ta.len() == tb.len(), "different tensor counts");
    let mut values = 0;
    for ((na, xa), (nb, xb)) in ta.iter().zip(&tb) {
        anyhow::ensure!(na == nb, "tensor names differ: {na} vs {nb}");
        anyhow::ensure!(xa.dims() == xb.dims(), "{na}: shapes differ");
        anyhow::ensure!(xa.dtype() == xb.dtype(), "{na}: dtypes differ");
        let va = xa.flatten_all()?.to_vec1::<f32>()?;
        let vb = xb.flatten_all()?.to_vec1::<f32>()?;
        anyhow::ensure!(
            va.iter().zip(&vb).all(|(x, y)| x.to_bits() == y.to_bits()),
            "{na}: values differ"
        );
        values += va.len();
    }
    Ok(values)
}
