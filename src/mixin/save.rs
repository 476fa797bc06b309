//! `save_pretrained` (spec §4.1): folder, stale weights removed, the implementor's weights, the
//! config as Python writes it, the card, every file staged and renamed only at the end.

use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::Value;

use super::ModelHubMixin;
use super::card::CardOptions;
use super::options::SaveOptions;
use super::pyjson::to_python_json;
use super::weights::{CONFIG_NAME, README_NAME, WeightsWriter};
use crate::card::ModelCard;
use crate::error::{Error, Result};

/// What `save_pretrained` returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedModel {
    /// Every file written (final paths), in write order.
    pub files: Vec<PathBuf>,
    /// The commit, when the save was followed by a push.
    pub commit: Option<crate::hub::commit::CommitInfo>,
}

/// What happens to `README.md` during a save.
pub(crate) enum CardWrite<'a> {
    /// Render the model's card (unless one exists and `overwrite_card` is off).
    Generate,
    /// Write no card.
    Skip,
    /// Write this card.
    Provided(&'a ModelCard),
}

/// Whether `name` is a weights file the mixin manages:
/// `model(-\d{5}-of-\d{5})?\.safetensors(\.index\.json)?`.
pub fn is_managed_weight_file(name: &str) -> bool {
    let Some(rest) = name.strip_prefix("model") else {
        return false;
    };
    let rest = match rest.strip_prefix('-') {
        Some(r) => {
            let b = r.as_bytes();
            let ok = b.len() >= 14
                && b[..5].iter().all(u8::is_ascii_digit)
                && &b[5..9] == b"-of-"
                && b[9..14].iter().all(u8::is_ascii_digit);
            if !ok {
                return false;
            }
            &r[14..]
        }
        None => rest,
    };
    rest == ".safetensors" || rest == ".safetensors.index.json"
}

/// The config as a JSON value. Serialising to text and reading it back spells `f32` fields with
/// their shortest digits (`1e-5`, not `9.999999747378752e-06`).
pub fn config_to_json<C: Serialize + ?Sized>(config: &C) -> Result<Value> {
    let text =
        serde_json::to_vec(config).map_err(|e| Error::json("serialising the model config", e))?;
    serde_json::from_slice(&text).map_err(|e| Error::json("serialising the model config", e))
}

/// `config.json`'s bytes, or `None` for a `null` or `{}` config (no file, spec §4.1 step 4).
pub fn config_json_bytes<C: Serialize + ?Sized>(config: &C) -> Result<Option<String>> {
    let value = config_to_json(config)?;
    match &value {
        Value::Null => Ok(None),
        Value::Object(m) if m.is_empty() => Ok(None),
        v => Ok(Some(to_python_json(v, true))),
    }
}

fn remove_stale(dir: &Path) -> Result<()> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| Error::io(format!("listing {}", dir.display()), e))?;
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(format!("listing {}", dir.display()), e))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if is_managed_weight_file(name) || name == CONFIG_NAME {
            let p = entry.path();
            if p.is_file() || p.is_symlink() {
                std::fs::remove_file(&p)
                    .map_err(|e| Error::io(format!("removing the stale {}", p.display()), e))?;
            }
        }
    }
    Ok(())
}

/// The blocking part of `save_pretrained`: everything but the optional push.
pub(crate) fn save_sync<M: ModelHubMixin>(
    model: &M,
    dir: &Path,
    opts: &SaveOptions,
    card_vars: &CardOptions,
    card: CardWrite<'_>,
) -> Result<Vec<PathBuf>> {
    if dir.exists() && !dir.is_dir() {
        return Err(Error::InvalidInput(format!(
            "cannot save a model into {}: it is a file, not a folder",
            dir.display()
        )));
    }
    std::fs::create_dir_all(dir)
        .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
    remove_stale(dir)?;
    let mut writer = WeightsWriter::new(dir, opts.max_shard_size, opts.metadata.clone());
    model.save_weights(dir, &mut writer)?;
    if !writer.has_file(CONFIG_NAME)
        && let Some(text) = config_json_bytes(model.config())?
    {
        writer.write_file(CONFIG_NAME, text.as_bytes())?;
    }
    let readme_exists = dir.join(README_NAME).exists();
    if !writer.has_file(README_NAME) && (opts.overwrite_card || !readme_exists) {
        match card {
            CardWrite::Skip => {}
            CardWrite::Provided(c) => {
                writer.write_file(README_NAME, c.text().as_bytes())?;
            }
            CardWrite::Generate => {
                let c = model.model_card(card_vars)?;
                writer.write_file(README_NAME, c.text().as_bytes())?;
            }
        }
    }
    writer.commit()
}

/// Runs blocking work from async code: on a multi-thread runtime through `block_in_place` (the
/// worker hands its other tasks over first), elsewhere inline.
pub(crate) fn blocking_section<T>(f: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(f)
        }
        _ => f(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn managed_names() {
        for yes in [
            "model.safetensors",
            "model.safetensors.index.json",
            "model-00001-of-00002.safetensors",
        ] {
            assert!(is_managed_weight_file(yes), "{yes}");
        }
        for no in [
            "model.bin",
            "model-1-of-2.safetensors",
            "model-00001-of-00002.safetensors.bak",
            "mymodel.safetensors",
            "config.json",
            "model-0000a-of-00002.safetensors",
        ] {
            assert!(!is_managed_weight_file(no), "{no}");
        }
    }

    #[test]
    fn empty_configs_write_no_file() {
        assert_eq!(config_json_bytes(&()).unwrap(), None);
        assert_eq!(config_json_bytes(&serde_json::json!({})).unwrap(), None);
        #[derive(Serialize)]
        struct F {
            eps: f32,
        }
        assert_eq!(
            config_json_bytes(&F { eps: 1e-5 }).unwrap().unwrap(),
            "{\n  \"eps\": 1e-05\n}"
        );
    }
}
