//! `from_pretrained` (spec §4.3): source detection, the config through the cache, overrides,
//! typed decoding, weights, then the implementor's loader on a blocking thread.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::files::{
    LoadContext, Lookup, ModelFiles, ModelSource, Resolver, WeightFormat, join_error,
    resolve_weights,
};
use super::options::LoadOptions;
use super::weights::CONFIG_NAME;
use crate::error::{Error, Result};

fn invalid(path: &Path, e: &serde_json::Error, prefix: &str) -> Error {
    Error::InvalidConfig {
        path: path.to_path_buf(),
        line: e.line(),
        column: e.column(),
        message: format!("{prefix}{e}"),
    }
}

/// Decodes a config (spec §4.3 step 3): `text` (the file's bytes, if any) with `overrides` merged
/// at top level, the caller winning. Bad JSON or a type mismatch → [`Error::InvalidConfig`] with
/// the path, line and column (line and column refer to the file when there are no overrides;
/// with overrides a type mismatch has none, `0`). A missing config tries `null`, then `{}`
/// (plus overrides), else [`Error::MissingConfig`].
pub fn decode_config<C: DeserializeOwned>(
    text: Option<&[u8]>,
    path: &Path,
    overrides: &Map<String, Value>,
    what: &str,
) -> Result<C> {
    let Some(bytes) = text else {
        if overrides.is_empty()
            && let Ok(c) = serde_json::from_value::<C>(Value::Null)
        {
            return Ok(c);
        }
        return match serde_json::from_value::<C>(Value::Object(overrides.clone())) {
            Ok(c) => Ok(c),
            Err(e) if !overrides.is_empty() => Err(Error::InvalidConfig {
                path: PathBuf::from("<config_overrides>"),
                line: 0,
                column: 0,
                message: format!("no config.json, and the overrides alone do not fit: {e}"),
            }),
            Err(_) => Err(Error::MissingConfig {
                what: what.to_owned(),
            }),
        };
    };
    let value: Value = serde_json::from_slice(bytes).map_err(|e| invalid(path, &e, ""))?;
    if overrides.is_empty() {
        // From the bytes again, so a type mismatch reports the file's line and column.
        return serde_json::from_slice::<C>(bytes).map_err(|e| invalid(path, &e, ""));
    }
    let Value::Object(mut map) = value else {
        return Err(Error::InvalidConfig {
            path: path.to_path_buf(),
            line: 1,
            column: 1,
            message: "config overrides need a JSON object, and the file holds another value".into(),
        });
    };
    for (k, v) in overrides {
        map.insert(k.clone(), v.clone());
    }
    serde_json::from_value::<C>(Value::Object(map)).map_err(|e| Error::InvalidConfig {
        path: path.to_path_buf(),
        line: 0,
        column: 0,
        message: format!("with the overrides applied: {e}"),
    })
}

/// Resolves and decodes the config, then the weights and extra files; calls `loader` on a
/// blocking thread. `format` and `extra` see the decoded config.
pub(crate) async fn load_with<C, T, FF, FE, L>(
    source: String,
    opts: LoadOptions,
    format: FF,
    extra: FE,
    loader: L,
) -> Result<T>
where
    C: DeserializeOwned + Send + 'static,
    T: Send + 'static,
    FF: FnOnce(&C) -> WeightFormat,
    FE: FnOnce(&C) -> Vec<String>,
    L: FnOnce(C, &ModelFiles, &LoadContext) -> Result<T> + Send + 'static,
{
    let (resolver, model_source) = Resolver::new(&source, &opts)?;
    let what = model_source.to_string();
    let mut files = ModelFiles {
        source: model_source.clone(),
        config: None,
        weights: Vec::new(),
        index: None,
        weight_map: BTreeMap::new(),
        pytorch_bin: None,
        files: BTreeMap::new(),
    };
    let (text, config_path) = match &opts.config {
        Some(v) => {
            let text = serde_json::to_vec(v).map_err(|e| Error::json("the given config", e))?;
            (Some(text), PathBuf::from("<LoadOptions::config>"))
        }
        None => match resolver.lookup(CONFIG_NAME).await? {
            Lookup::Found(p) => {
                let text = tokio::fs::read(&p)
                    .await
                    .map_err(|e| Error::io(format!("reading {}", p.display()), e))?;
                files.config = Some(p.clone());
                files.files.insert(CONFIG_NAME.into(), p.clone());
                (Some(text), p)
            }
            Lookup::Missing(_) => (None, PathBuf::from(CONFIG_NAME)),
        },
    };
    let config: C = decode_config(text.as_deref(), &config_path, &opts.config_overrides, &what)?;
    let format = format(&config);
    let mut extra_files = extra(&config);
    extra_files.extend(opts.extra_files.iter().cloned());
    resolve_weights(
        &resolver,
        &mut files,
        format,
        &extra_files,
        opts.allow_pytorch_bin,
    )
    .await?;
    let ctx = LoadContext {
        strict: opts.strict,
        framework: opts.framework.clone(),
        source: model_source,
    };
    tokio::task::spawn_blocking(move || loader(config, &files, &ctx))
        .await
        .map_err(|e| join_error(&e))?
}

/// Loads a model of a type you cannot implement [`HubModel`](super::HubModel) for (orphan rule,
/// e.g. candle-transformers models): the config is decoded as `C`, the safetensors weights are
/// resolved (see [`WeightFormat::Safetensors`]), then `loader` runs on a blocking thread.
///
/// ```no_run
/// # async fn demo() -> hfkit::Result<()> {
/// use hfkit::mixin::{LoadOptions, load_pretrained};
/// #[derive(serde::Deserialize)]
/// struct Cfg { hidden_size: usize }
/// let names = load_pretrained("org/model", LoadOptions::default(), |cfg: Cfg, files, _ctx| {
///     let ckpt = files.checkpoint()?;
///     Ok((cfg.hidden_size, ckpt.names()))
/// })
/// .await?;
/// # let _ = names; Ok(()) }
/// ```
pub async fn load_pretrained<C, T, L>(
    source: impl Into<String>,
    opts: LoadOptions,
    loader: L,
) -> Result<T>
where
    C: DeserializeOwned + Send + 'static,
    T: Send + 'static,
    L: FnOnce(C, &ModelFiles, &LoadContext) -> Result<T> + Send + 'static,
{
    load_with(
        source.into(),
        opts,
        |_: &C| WeightFormat::Safetensors,
        |_: &C| Vec::new(),
        loader,
    )
    .await
}

/// The [`ModelSource`] a string names, without touching the network (spec §4.3 step 1).
pub fn detect_source(source: &str) -> Result<ModelSource> {
    let path = Path::new(source);
    if !source.is_empty() && path.is_dir() {
        return Ok(ModelSource::Local(path.to_path_buf()));
    }
    if super::paths::looks_like_path(source) {
        return Err(Error::LocalPathNotFound {
            path: path.to_path_buf(),
        });
    }
    Ok(ModelSource::Hub {
        repo_id: source.to_owned(),
        revision: "main".to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, PartialEq, Default)]
    #[serde(default)]
    struct Cfg {
        hidden: u32,
        name: String,
    }

    #[test]
    fn invalid_json_names_file_line_and_column() {
        let err = decode_config::<Cfg>(
            Some(b"{\n  \"hidden\": 8,\n  oops\n}"),
            Path::new("/m/config.json"),
            &Map::new(),
            "m",
        )
        .unwrap_err();
        match err {
            Error::InvalidConfig { path, line, .. } => {
                assert_eq!(path, Path::new("/m/config.json"));
                assert_eq!(line, 3);
            }
            e => panic!("{e}"),
        }
        let err = decode_config::<Cfg>(
            Some(b"{\n  \"hidden\": \"eight\"\n}"),
            Path::new("c.json"),
            &Map::new(),
            "m",
        )
        .unwrap_err();
        assert!(matches!(err, Error::InvalidConfig { line: 2, .. }), "{err}");
    }

    #[test]
    fn overrides_win_and_missing_configs_default() {
        let mut o = Map::new();
        o.insert("hidden".into(), Value::from(16));
        let c: Cfg = decode_config(
            Some(br#"{"hidden": 8, "name": "x"}"#),
            Path::new("c"),
            &o,
            "m",
        )
        .unwrap();
        assert_eq!(
            c,
            Cfg {
                hidden: 16,
                name: "x".into()
            }
        );
        let c: Cfg = decode_config(None, Path::new("c"), &Map::new(), "m").unwrap();
        assert_eq!(c, Cfg::default());
        decode_config::<()>(None, Path::new("c"), &Map::new(), "m").unwrap();
        #[derive(Debug, Deserialize)]
        struct Needs {
            #[allow(dead_code)]
            hidden: u32,
        }
        let err = decode_config::<Needs>(None, Path::new("c"), &Map::new(), "m").unwrap_err();
        assert!(matches!(err, Error::MissingConfig { .. }), "{err}");
    }
}
