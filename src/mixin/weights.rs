//! Writing weights: named tensors → `model.safetensors`, or shards + index above the size limit
//! (spec §4.2), every file staged under a temporary name and renamed only when the whole save
//! succeeded (spec §4.1 step 6).

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use safetensors::{Dtype, View};
use serde_json::{Map, Value};

use super::pyjson::to_python_json;
use crate::error::{Error, Result};

/// The single-file weights name.
pub const SAFETENSORS_SINGLE: &str = "model.safetensors";
/// The index of sharded weights.
pub const SAFETENSORS_INDEX: &str = "model.safetensors.index.json";
/// The config file.
pub const CONFIG_NAME: &str = "config.json";
/// The model card.
pub const README_NAME: &str = "README.md";
/// The legacy PyTorch pickle (resolved on load only when allowed, never parsed).
pub const PYTORCH_BIN: &str = "pytorch_model.bin";

/// `model-{i:05}-of-{n:05}.safetensors` (1-based `i`).
pub fn shard_file_name(i: usize, n: usize) -> String {
    format!("model-{i:05}-of-{n:05}.safetensors")
}

/// Name, dtype and shape of a tensor to write; its bytes come later (see
/// [`WeightsWriter::write_safetensors_lazy`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorSpec {
    /// The tensor's name (dot-separated, as PyTorch state dicts).
    pub name: String,
    /// Element type.
    pub dtype: Dtype,
    /// Shape (empty for a scalar).
    pub shape: Vec<usize>,
}

impl TensorSpec {
    /// A spec.
    pub fn new(name: impl Into<String>, dtype: Dtype, shape: Vec<usize>) -> Self {
        TensorSpec {
            name: name.into(),
            dtype,
            shape,
        }
    }

    /// The number of data bytes (elements × element size), or `InvalidInput` on overflow or a
    /// sub-byte dtype whose bits do not fill whole bytes.
    pub fn byte_len(&self) -> Result<usize> {
        byte_len(&self.name, self.dtype, &self.shape)
    }
}

fn byte_len(name: &str, dtype: Dtype, shape: &[usize]) -> Result<usize> {
    let overflow =
        || Error::InvalidInput(format!("tensor {name:?}: its shape {shape:?} is too large"));
    let elements = shape
        .iter()
        .try_fold(1usize, |acc, d| acc.checked_mul(*d))
        .ok_or_else(overflow)?;
    let bits = elements.checked_mul(dtype.bitsize()).ok_or_else(overflow)?;
    if bits % 8 != 0 {
        return Err(Error::InvalidInput(format!(
            "tensor {name:?}: {elements} elements of {dtype:?} do not fill whole bytes"
        )));
    }
    Ok(bits / 8)
}

/// A tensor as little-endian bytes with its dtype and shape; implements safetensors' [`View`].
#[derive(Debug, Clone, PartialEq)]
pub struct TensorRef<'a> {
    dtype: Dtype,
    shape: Vec<usize>,
    data: Cow<'a, [u8]>,
}

impl<'a> TensorRef<'a> {
    /// A tensor over `data` (little-endian, row-major); `InvalidInput` if its length does not
    /// match `dtype` × `shape`.
    pub fn new(dtype: Dtype, shape: Vec<usize>, data: impl Into<Cow<'a, [u8]>>) -> Result<Self> {
        let data = data.into();
        let want = byte_len("tensor", dtype, &shape)?;
        if data.len() != want {
            return Err(Error::InvalidInput(format!(
                "a {dtype:?} tensor of shape {shape:?} needs {want} bytes, got {}",
                data.len()
            )));
        }
        Ok(TensorRef { dtype, shape, data })
    }

    /// An `F32` tensor from values (copied into little-endian bytes).
    pub fn from_f32(shape: Vec<usize>, values: &[f32]) -> Result<TensorRef<'static>> {
        let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        TensorRef::new(Dtype::F32, shape, bytes)
    }

    /// The element type.
    pub fn dtype(&self) -> Dtype {
        self.dtype
    }

    /// The shape.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// The bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.data
    }
}

impl View for TensorRef<'_> {
    fn dtype(&self) -> Dtype {
        self.dtype
    }
    fn shape(&self) -> &[usize] {
        &self.shape
    }
    fn data(&self) -> Cow<'_, [u8]> {
        Cow::Borrowed(&self.data)
    }
    fn data_len(&self) -> usize {
        self.data.len()
    }
}

/// Groups tensors (already in name order) into shards as Python's `save_torch_state_dict`: a
/// tensor above `max` is its own shard at once (the open shard stays open); any other joins the
/// open shard unless that would pass `max`, which opens a new one.
pub(crate) fn plan_shards(sizes: &[u64], max: u64) -> Vec<Vec<usize>> {
    let mut shards = Vec::new();
    let mut current: Vec<usize> = Vec::new();
    let mut current_size = 0u64;
    for (i, &size) in sizes.iter().enumerate() {
        if size > max {
            shards.push(vec![i]);
            continue;
        }
        if !current.is_empty() && current_size.saturating_add(size) > max {
            shards.push(std::mem::take(&mut current));
            current_size = 0;
        }
        current.push(i);
        current_size += size;
    }
    if !current.is_empty() || shards.is_empty() {
        shards.push(current);
    }
    shards
}

/// Where `save_pretrained` puts files: in the target folder, each under a temporary name until
/// the whole save succeeded, then renamed. Dropping a writer that was not committed removes its
/// temporary files, so a failed save leaves nothing under a final name.
#[derive(Debug)]
pub struct WeightsWriter {
    dir: PathBuf,
    max_shard_size: u64,
    metadata: BTreeMap<String, String>,
    /// (temporary path, final name), in write order.
    staged: Vec<(PathBuf, String)>,
}

impl WeightsWriter {
    /// A writer into `dir` (which must exist) with this shard limit and safetensors metadata.
    pub fn new(
        dir: impl Into<PathBuf>,
        max_shard_size: u64,
        metadata: BTreeMap<String, String>,
    ) -> Self {
        WeightsWriter {
            dir: dir.into(),
            max_shard_size,
            metadata,
            staged: Vec::new(),
        }
    }

    /// The target folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The shard size limit in bytes.
    pub fn max_shard_size(&self) -> u64 {
        self.max_shard_size
    }

    /// The caller's safetensors metadata.
    pub fn metadata(&self) -> &BTreeMap<String, String> {
        &self.metadata
    }

    /// Whether a file of this name (relative to the folder) was written through this writer.
    pub fn has_file(&self, name: &str) -> bool {
        self.staged.iter().any(|(_, n)| n == name)
    }

    /// The final paths of everything written so far.
    pub fn files(&self) -> Vec<PathBuf> {
        self.staged.iter().map(|(_, n)| self.dir.join(n)).collect()
    }

    fn temp_path(&self, name: &str) -> PathBuf {
        let flat = name.replace(['/', '\\'], "_");
        self.dir
            .join(format!(".{flat}.{:016x}.tmp", fastrand::u64(..)))
    }

    fn stage(&mut self, name: &str) -> Result<PathBuf> {
        super::paths::validate_relative_name(name, "a file written by save_pretrained")?;
        if self.has_file(name) {
            return Err(Error::InvalidInput(format!(
                "{name} was already written during this save"
            )));
        }
        if let Some(parent) = Path::new(name)
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
        {
            let dir = self.dir.join(parent);
            std::fs::create_dir_all(&dir)
                .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
        }
        Ok(self.temp_path(name))
    }

    /// Writes any file (a custom weight format, a tokenizer, a `config.json` of your own).
    pub fn write_file(&mut self, name: &str, bytes: &[u8]) -> Result<PathBuf> {
        let tmp = self.stage(name)?;
        let write = || -> std::io::Result<()> {
            use std::io::Write;
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(bytes)?;
            f.sync_all()
        };
        if let Err(e) = write() {
            let _ = std::fs::remove_file(&tmp);
            return Err(Error::io(
                format!("writing {}", self.dir.join(name).display()),
                e,
            ));
        }
        self.staged.push((tmp, name.to_owned()));
        Ok(self.dir.join(name))
    }

    /// Writes tensors as safetensors: `model.safetensors`, or shards and
    /// `model.safetensors.index.json` when they pass the limit. Returns the final paths.
    pub fn write_safetensors<S, V, I>(&mut self, tensors: I) -> Result<Vec<PathBuf>>
    where
        S: Into<String>,
        V: View,
        I: IntoIterator<Item = (S, V)>,
    {
        let views: Vec<(String, V)> = tensors.into_iter().map(|(n, v)| (n.into(), v)).collect();
        let specs = views
            .iter()
            .map(|(n, v)| TensorSpec::new(n.clone(), v.dtype(), v.shape().to_vec()))
            .collect();
        self.write_safetensors_lazy(specs, |i, _| match views.get(i) {
            Some((_, v)) => Ok(v.data()),
            None => Err(Error::InvalidInput(format!("no tensor number {i}"))),
        })
    }

    /// Like [`write_safetensors`](Self::write_safetensors), but the bytes of each tensor are
    /// asked for (`fetch(index into specs, spec)`) only while its shard is written, so at most
    /// one shard is in memory; `fetch` may fail (e.g. a device-to-host copy).
    pub fn write_safetensors_lazy<'a, F>(
        &mut self,
        specs: Vec<TensorSpec>,
        mut fetch: F,
    ) -> Result<Vec<PathBuf>>
    where
        F: FnMut(usize, &TensorSpec) -> Result<Cow<'a, [u8]>>,
    {
        let mut seen = HashSet::new();
        let mut order: Vec<usize> = (0..specs.len()).collect();
        for s in &specs {
            if s.name.is_empty() {
                return Err(Error::InvalidInput("a tensor has an empty name".into()));
            }
            if !seen.insert(s.name.as_str()) {
                return Err(Error::InvalidInput(format!(
                    "two tensors are named {:?}",
                    s.name
                )));
            }
        }
        order.sort_by(|a, b| specs[*a].name.cmp(&specs[*b].name));
        let sizes = order
            .iter()
            .map(|&i| specs[i].byte_len().map(|n| n as u64))
            .collect::<Result<Vec<u64>>>()?;
        let total_size: u64 = sizes.iter().sum();
        let plan = plan_shards(&sizes, self.max_shard_size);
        let n = plan.len();
        let names: Vec<String> = if n == 1 {
            vec![SAFETENSORS_SINGLE.to_owned()]
        } else {
            (1..=n).map(|i| shard_file_name(i, n)).collect()
        };
        for name in names.iter().chain([SAFETENSORS_INDEX.to_owned()].iter()) {
            if self.has_file(name) {
                return Err(Error::InvalidInput(format!(
                    "{name} was already written during this save"
                )));
            }
        }
        let mut header: HashMap<String, String> = HashMap::new();
        header.insert("format".into(), "pt".into());
        if n == 1 {
            header.extend(self.metadata.clone());
        }
        let mut weight_map = BTreeMap::new();
        let mut out = Vec::new();
        for (shard, file) in plan.iter().zip(&names) {
            let mut tensors: Vec<(String, TensorRef<'a>)> = Vec::with_capacity(shard.len());
            for &pos in shard {
                let i = order[pos];
                let spec = &specs[i];
                let data = fetch(i, spec)?;
                let t = TensorRef::new(spec.dtype, spec.shape.clone(), data)
                    .map_err(|e| Error::InvalidInput(format!("tensor {:?}: {e}", spec.name)))?;
                tensors.push((spec.name.clone(), t));
                weight_map.insert(spec.name.clone(), file.clone());
            }
            let tmp = self.stage(file)?;
            let path = self.dir.join(file);
            if let Err(e) = safetensors::serialize_to_file(tensors, Some(header.clone()), &tmp) {
                let _ = std::fs::remove_file(&tmp);
                return Err(Error::Safetensors {
                    file: path.display().to_string(),
                    tensor: None,
                    message: format!("writing failed: {e}"),
                });
            }
            self.staged.push((tmp, file.clone()));
            out.push(path);
        }
        if n > 1 {
            let mut meta = Map::new();
            for (k, v) in &self.metadata {
                meta.insert(k.clone(), Value::String(v.clone()));
            }
            meta.insert("total_size".into(), Value::from(total_size));
            let map: Map<String, Value> = weight_map
                .into_iter()
                .map(|(k, v)| (k, Value::String(v)))
                .collect();
            let mut index = Map::new();
            index.insert("metadata".into(), Value::Object(meta));
            index.insert("weight_map".into(), Value::Object(map));
            let text = to_python_json(&Value::Object(index), false);
            out.push(self.write_file(SAFETENSORS_INDEX, text.as_bytes())?);
        }
        Ok(out)
    }

    /// Renames every staged file to its final name. If a rename fails, the files already renamed
    /// and the remaining temporaries are removed.
    pub(crate) fn commit(mut self) -> Result<Vec<PathBuf>> {
        let staged = std::mem::take(&mut self.staged);
        let mut done: Vec<PathBuf> = Vec::with_capacity(staged.len());
        for (k, (tmp, name)) in staged.iter().enumerate() {
            let dest = self.dir.join(name);
            if let Err(e) = std::fs::rename(tmp, &dest) {
                for d in &done {
                    let _ = std::fs::remove_file(d);
                }
                for (t, _) in &staged[k..] {
                    let _ = std::fs::remove_file(t);
                }
                return Err(Error::io(format!("renaming into {}", dest.display()), e));
            }
            done.push(dest);
        }
        Ok(done)
    }
}

impl Drop for WeightsWriter {
    fn drop(&mut self) {
        for (tmp, _) in self.staged.drain(..) {
            let _ = std::fs::remove_file(tmp);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_plan_follows_python() {
        assert_eq!(plan_shards(&[4, 4, 4], 10), vec![vec![0, 1], vec![2]]);
        // A tensor above the limit is its own shard at once; the open one stays open.
        assert_eq!(plan_shards(&[4, 20, 4], 10), vec![vec![1], vec![0, 2]]);
        assert_eq!(plan_shards(&[10, 1], 10), vec![vec![0], vec![1]]);
        assert_eq!(plan_shards(&[], 10), vec![Vec::<usize>::new()]);
        assert_eq!(plan_shards(&[3, 3], 100), vec![vec![0, 1]]);
    }

    #[test]
    fn tensor_ref_checks_length() {
        assert!(TensorRef::new(Dtype::F32, vec![2], vec![0u8; 8]).is_ok());
        assert!(matches!(
            TensorRef::new(Dtype::F32, vec![3], vec![0u8; 8]),
            Err(Error::InvalidInput(_))
        ));
        assert!(
            TensorSpec::new("x", Dtype::F32, vec![usize::MAX, 2])
                .byte_len()
                .is_err()
        );
    }

    #[test]
    fn uncommitted_files_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        {
            let mut w = WeightsWriter::new(dir.path(), 100, BTreeMap::new());
            w.write_file("config.json", b"{}").unwrap();
            w.write_safetensors([("a", TensorRef::from_f32(vec![2], &[1.0, 2.0]).unwrap())])
                .unwrap();
        }
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
