//! Loading candle models: a `VarBuilder` over every shard of a checkpoint (mapped, or read with
//! `mmap: false`), served through a recording backend that enforces the loadable dtypes, resolves
//! dropped shared-tensor aliases, turns failures into typed hfkit errors and, in strict mode,
//! collects every missing and every never-requested tensor name.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use candle_core::safetensors::Load;
use candle_core::{DType, Device, Shape, Tensor};
use candle_nn::var_builder::SimpleBackend;
use candle_nn::{Init, VarBuilder, VarMap};

use super::{CandleLoadMode, CandleLoadOptions, model_error};
use crate::error::{Error, Result};
use crate::mixin::{Checkpoint, Dtype, LoadContext, ModelFiles};

/// The safetensors dtypes candle loads (spec §5.3; `U16` is widened to `U32` by candle). A
/// tensor of any other dtype is an [`Error::Safetensors`] naming the tensor and its dtype.
pub const LOADABLE_DTYPES: &[Dtype] = &[
    Dtype::U8,
    Dtype::U16,
    Dtype::U32,
    Dtype::I16,
    Dtype::I32,
    Dtype::I64,
    Dtype::BF16,
    Dtype::F16,
    Dtype::F32,
    Dtype::F64,
    Dtype::F8_E4M3,
];

/// What the backend saw while the model was built.
#[derive(Default)]
struct Record {
    /// File tensor names that were served (alias targets included).
    used: BTreeSet<String>,
    /// Names asked for that the files lack (strict mode only; otherwise the first one fails).
    missing: BTreeSet<String>,
    /// The first typed failure, reported instead of candle's wrapped message.
    error: Option<Error>,
}

/// A [`SimpleBackend`] over a [`Checkpoint`].
struct CheckpointBackend {
    checkpoint: Arc<Checkpoint>,
    aliases: HashMap<String, String>,
    strict: bool,
    record: Arc<Mutex<Record>>,
    files: String,
}

fn lock(record: &Mutex<Record>) -> MutexGuard<'_, Record> {
    // The record holds plain sets; a panic elsewhere cannot leave it inconsistent.
    record.lock().unwrap_or_else(|p| p.into_inner())
}

impl CheckpointBackend {
    /// The file tensor that serves `name`: itself, or the kept tensor its alias points to.
    fn resolve<'a>(&'a self, name: &'a str) -> Option<&'a str> {
        if self.checkpoint.contains(name) {
            return Some(name);
        }
        self.aliases.get(name).map(String::as_str)
    }

    /// Records `err` as the typed cause (the first one wins) and returns it as a candle error.
    fn fail(&self, err: Error) -> candle_core::Error {
        let msg = err.to_string();
        let mut rec = lock(&self.record);
        if rec.error.is_none() {
            rec.error = Some(err);
        }
        candle_core::Error::Msg(msg)
    }

    fn st_error(&self, tensor: &str, message: String) -> Error {
        Error::Safetensors {
            file: self.files.clone(),
            tensor: Some(tensor.to_owned()),
            message,
        }
    }

    /// Loads `name` onto `dev` as `dtype`, checking the shape when one is expected.
    fn fetch(
        &self,
        name: &str,
        shape: Option<&Shape>,
        dtype: DType,
        dev: &Device,
    ) -> candle_core::Result<Option<Tensor>> {
        let Some(real) = self.resolve(name) else {
            return Ok(None);
        };
        let view = self.checkpoint.tensor(real).map_err(|e| self.fail(e))?;
        if !LOADABLE_DTYPES.contains(&view.dtype()) {
            return Err(self.fail(self.st_error(
                real,
                format!(
                    "dtype {:?} cannot be loaded into candle (loadable: {})",
                    view.dtype(),
                    LOADABLE_DTYPES
                        .iter()
                        .map(|d| format!("{d:?}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )));
        }
        if let Some(want) = shape
            && view.shape() != want.dims()
        {
            return Err(self.fail(self.st_error(
                name,
                format!(
                    "the file holds shape {:?}, the model expects {:?}",
                    view.shape(),
                    want.dims()
                ),
            )));
        }
        let tensor = view.load(dev)?.to_dtype(dtype)?;
        lock(&self.record).used.insert(real.to_owned());
        Ok(Some(tensor))
    }

    fn missing(&self, name: &str) -> candle_core::Error {
        self.fail(self.st_error(name, "the checkpoint has no such tensor".into()))
    }
}

impl SimpleBackend for CheckpointBackend {
    fn get(
        &self,
        s: Shape,
        name: &str,
        _: Init,
        dtype: DType,
        dev: &Device,
    ) -> candle_core::Result<Tensor> {
        match self.fetch(name, Some(&s), dtype, dev)? {
            Some(t) => Ok(t),
            None if self.strict => {
                // Keep building so that every missing name is reported at once.
                lock(&self.record).missing.insert(name.to_owned());
                Tensor::zeros(s, dtype, dev)
            }
            None => Err(self.missing(name)),
        }
    }

    fn get_unchecked(&self, name: &str, dtype: DType, dev: &Device) -> candle_core::Result<Tensor> {
        match self.fetch(name, None, dtype, dev)? {
            Some(t) => Ok(t),
            None => Err(self.missing(name)),
        }
    }

    fn contains_tensor(&self, name: &str) -> bool {
        self.resolve(name).is_some()
    }
}

/// Opens the checkpoint of `files` (mapped or read) and the aliases of dropped shared tensors
/// recorded in its `__metadata__` (`{"dropped.name": "kept.name"}`).
fn open(files: &ModelFiles, mmap: bool) -> Result<(Arc<Checkpoint>, HashMap<String, String>)> {
    let checkpoint = if mmap {
        files.checkpoint()?
    } else {
        files.checkpoint_buffered()?
    };
    let aliases = checkpoint
        .metadata()
        .into_iter()
        .filter(|(dropped, kept)| !checkpoint.contains(dropped) && checkpoint.contains(kept))
        .collect();
    Ok((Arc::new(checkpoint), aliases))
}

fn describe_files(files: &ModelFiles) -> String {
    files
        .weight_files()
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The strict-mode verdict: every missing and every unused tensor name, or nothing.
fn strict_report(files: &str, checkpoint: &Checkpoint, record: &Record) -> Result<()> {
    let unexpected: Vec<String> = checkpoint
        .names()
        .into_iter()
        .filter(|n| !record.used.contains(n))
        .collect();
    if record.missing.is_empty() && unexpected.is_empty() {
        return Ok(());
    }
    let list = |names: &mut dyn Iterator<Item = &String>| {
        let v: Vec<&str> = names.map(String::as_str).collect();
        if v.is_empty() {
            "none".to_owned()
        } else {
            v.join(", ")
        }
    };
    Err(Error::Safetensors {
        file: files.to_owned(),
        tensor: None,
        message: format!(
            "strict load: missing tensors: {}; unexpected tensors: {}",
            list(&mut record.missing.iter()),
            list(&mut unexpected.iter())
        ),
    })
}

/// Builds a model with `build` from a `VarBuilder` over the weights of `files`, on the device and
/// dtype of `opts`, honouring [`LoadContext::strict`]. This is what the blanket `HubModel` impl
/// does for a [`CandleModel`](super::CandleModel); use it directly with
/// [`load_pretrained`](crate::mixin::load_pretrained) for candle models of other crates:
///
/// ```no_run
/// # async fn demo() -> hfkit::Result<()> {
/// use hfkit::mixin::candle::{CandleLoadOptions, load_with_var_builder};
/// use hfkit::mixin::{LoadOptions, load_pretrained};
/// #[derive(serde::Deserialize)]
/// struct Cfg { hidden: usize }
/// let layer = load_pretrained("org/model", LoadOptions::default(), |cfg: Cfg, files, ctx| {
///     load_with_var_builder(files, ctx, &CandleLoadOptions::default(), |vb| {
///         candle_nn::linear(cfg.hidden, cfg.hidden, vb.pp("proj"))
///     })
/// })
/// .await?;
/// # let _ = layer; Ok(()) }
/// ```
pub fn load_with_var_builder<M>(
    files: &ModelFiles,
    ctx: &LoadContext,
    opts: &CandleLoadOptions,
    build: impl FnOnce(VarBuilder<'static>) -> candle_core::Result<M>,
) -> Result<M> {
    let (checkpoint, aliases) = open(files, opts.mmap)?;
    let described = describe_files(files);
    let record = Arc::new(Mutex::new(Record::default()));
    let backend = CheckpointBackend {
        checkpoint: Arc::clone(&checkpoint),
        aliases,
        strict: ctx.strict(),
        record: Arc::clone(&record),
        files: described.clone(),
    };
    let vb = VarBuilder::from_backend(Box::new(backend), opts.dtype, opts.device.clone());
    let built = build(vb);
    let mut rec = lock(&record);
    let model = match built {
        Ok(m) => m,
        Err(e) => {
            return Err(rec
                .error
                .take()
                .unwrap_or_else(|| model_error(&described, &e)));
        }
    };
    if ctx.strict() {
        strict_report(&described, &checkpoint, &rec)?;
    }
    Ok(model)
}

/// Loads into a fresh `VarMap` through `build`, then sets every variable from the checkpoint.
fn load_trainable<M>(
    files: &ModelFiles,
    ctx: &LoadContext,
    opts: &CandleLoadOptions,
    build: impl FnOnce(&VarMap, VarBuilder<'static>) -> candle_core::Result<M>,
) -> Result<M> {
    let (checkpoint, aliases) = open(files, opts.mmap)?;
    let described = describe_files(files);
    let varmap = VarMap::new();
    let vb = VarBuilder::from_varmap(&varmap, opts.dtype, &opts.device);
    let model = build(&varmap, vb).map_err(|e| model_error(&described, &e))?;
    let vars: Vec<(String, candle_core::Var)> = {
        let guard = varmap
            .data()
            .lock()
            .map_err(|_| Error::InvalidInput("the model's VarMap lock is poisoned".into()))?;
        guard.iter().map(|(n, v)| (n.clone(), v.clone())).collect()
    };
    let backend = CheckpointBackend {
        checkpoint: Arc::clone(&checkpoint),
        aliases,
        strict: ctx.strict(),
        record: Arc::new(Mutex::new(Record::default())),
        files: described.clone(),
    };
    for (name, var) in &vars {
        let fetched = backend
            .fetch(name, Some(var.shape()), var.dtype(), var.device())
            .map_err(|e| e.to_string());
        let value = match fetched {
            Ok(Some(t)) => t,
            Ok(None) if ctx.strict() => {
                lock(&backend.record).missing.insert(name.clone());
                continue;
            }
            Ok(None) => {
                let _ = backend.missing(name);
                return Err(backend_error(&backend, &described, "missing tensor"));
            }
            Err(msg) => return Err(backend_error(&backend, &described, &msg)),
        };
        var.set(&value).map_err(|e| model_error(&described, &e))?;
    }
    if ctx.strict() {
        strict_report(&described, &checkpoint, &lock(&backend.record))?;
    }
    Ok(model)
}

fn backend_error(backend: &CheckpointBackend, files: &str, fallback: &str) -> Error {
    lock(&backend.record)
        .error
        .take()
        .unwrap_or_else(|| Error::Safetensors {
            file: files.to_owned(),
            tensor: None,
            message: fallback.to_owned(),
        })
}

/// The blanket `HubModel::load` of a candle model: inference or trainable, per `opts.mode`.
pub(crate) fn load_model<C, M>(
    cfg: &C,
    files: &ModelFiles,
    ctx: &LoadContext,
    opts: &CandleLoadOptions,
    load: fn(&C, VarBuilder) -> candle_core::Result<M>,
    load_trainable_fn: fn(&C, &VarMap, VarBuilder) -> candle_core::Result<M>,
) -> Result<M> {
    match opts.mode {
        CandleLoadMode::Inference => load_with_var_builder(files, ctx, opts, |vb| load(cfg, vb)),
        CandleLoadMode::Trainable => {
            load_trainable(files, ctx, opts, |vm, vb| load_trainable_fn(cfg, vm, vb))
        }
    }
}
