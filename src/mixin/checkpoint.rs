//! Reading safetensors checkpoints without a framework: memory-mapped files whose headers are
//! validated on open (sizes, offsets, file length), tensors served as borrowed views.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use safetensors::tensor::{Metadata, TensorView};
use safetensors::{Dtype, SafeTensors};

use crate::error::{Error, Result};

/// The bytes of a file: mapped, or read into memory.
#[derive(Debug)]
enum Storage {
    Mapped(memmap2::Mmap),
    Owned(Vec<u8>),
}

impl Storage {
    fn bytes(&self) -> &[u8] {
        match self {
            Storage::Mapped(m) => m,
            Storage::Owned(v) => v,
        }
    }
}

/// Maps `file` read-only.
///
/// SAFETY (the one `unsafe` of hfkit's weight loading): a map stays valid only while nobody
/// truncates or rewrites the file. Cache blobs are content-addressed and never rewritten in
/// place (a new download goes to a new `.incomplete` file, then a rename), so maps of the cache
/// are sound; a local folder changed by someone else while a model is loading is the caller's
/// risk, which [`SafetensorsFile::read`] avoids by reading the file instead.
fn map_file(file: &std::fs::File) -> std::io::Result<memmap2::Mmap> {
    unsafe { memmap2::MmapOptions::new().map(file) }
}

fn st_error(path: &Path, tensor: Option<&str>, message: impl Into<String>) -> Error {
    Error::Safetensors {
        file: path.display().to_string(),
        tensor: tensor.map(str::to_owned),
        message: message.into(),
    }
}

/// One safetensors file with a validated header.
#[derive(Debug)]
pub struct SafetensorsFile {
    path: PathBuf,
    storage: Storage,
    header_len: usize,
    metadata: Metadata,
}

impl SafetensorsFile {
    /// Maps `path` and validates its header: the 8-byte length, the JSON, every tensor's dtype,
    /// shape and offsets, and that the data exactly fills the rest of the file.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let file = std::fs::File::open(path)
            .map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
        let map =
            map_file(&file).map_err(|e| Error::io(format!("mapping {}", path.display()), e))?;
        Self::from_storage(path, Storage::Mapped(map))
    }

    /// Reads `path` into memory (no map) and validates it as [`open`](Self::open) does.
    pub fn read(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let bytes =
            std::fs::read(path).map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
        Self::from_storage(path, Storage::Owned(bytes))
    }

    fn from_storage(path: &Path, storage: Storage) -> Result<Self> {
        let (header_len, metadata) = SafeTensors::read_metadata(storage.bytes())
            .map_err(|e| st_error(path, None, format!("invalid file: {e}")))?;
        Ok(SafetensorsFile {
            path: path.to_path_buf(),
            storage,
            header_len,
            metadata,
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The tensor names, sorted.
    pub fn names(&self) -> Vec<String> {
        let mut names = self.metadata.offset_keys();
        names.sort();
        names
    }

    /// The header's `__metadata__` (e.g. `{"format": "pt"}`).
    pub fn metadata(&self) -> BTreeMap<String, String> {
        self.metadata
            .metadata()
            .as_ref()
            .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default()
    }

    /// A tensor's dtype and shape, if present.
    pub fn info(&self, name: &str) -> Option<(Dtype, &[usize])> {
        self.metadata
            .info(name)
            .map(|i| (i.dtype, i.shape.as_slice()))
    }

    /// A view of one tensor's bytes (no copy).
    pub fn tensor(&self, name: &str) -> Result<TensorView<'_>> {
        let info = self
            .metadata
            .info(name)
            .ok_or_else(|| st_error(&self.path, Some(name), "no such tensor in the file"))?;
        let start = 8 + self.header_len;
        let (a, b) = info.data_offsets;
        let data = self
            .storage
            .bytes()
            .get(start + a..start + b)
            .ok_or_else(|| st_error(&self.path, Some(name), "data offsets outside the file"))?;
        TensorView::new(info.dtype, info.shape.clone(), data)
            .map_err(|e| st_error(&self.path, Some(name), e.to_string()))
    }
}

/// A whole checkpoint: one file, or every shard of an index, with each tensor name mapped to the
/// file holding it.
#[derive(Debug)]
pub struct Checkpoint {
    files: Vec<SafetensorsFile>,
    by_name: HashMap<String, usize>,
}

impl Checkpoint {
    /// Maps every file (see [`SafetensorsFile::open`]); a name present in two files is an error.
    pub fn open<P: AsRef<Path>>(paths: &[P]) -> Result<Self> {
        Self::build(
            paths
                .iter()
                .map(SafetensorsFile::open)
                .collect::<Result<_>>()?,
        )
    }

    /// Reads every file into memory instead of mapping it.
    pub fn read<P: AsRef<Path>>(paths: &[P]) -> Result<Self> {
        Self::build(
            paths
                .iter()
                .map(SafetensorsFile::read)
                .collect::<Result<_>>()?,
        )
    }

    fn build(files: Vec<SafetensorsFile>) -> Result<Self> {
        let mut by_name = HashMap::new();
        for (i, f) in files.iter().enumerate() {
            for name in f.metadata.offset_keys() {
                if let Some(prev) = by_name.insert(name.clone(), i) {
                    return Err(st_error(
                        f.path(),
                        Some(&name),
                        format!("the tensor is also in {}", files[prev].path().display()),
                    ));
                }
            }
        }
        Ok(Checkpoint { files, by_name })
    }

    /// The files.
    pub fn files(&self) -> &[SafetensorsFile] {
        &self.files
    }

    /// Every tensor name, sorted.
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.by_name.keys().cloned().collect();
        names.sort();
        names
    }

    /// Whether the checkpoint has this tensor.
    pub fn contains(&self, name: &str) -> bool {
        self.by_name.contains_key(name)
    }

    /// The merged `__metadata__` of the files (the first file's value wins).
    pub fn metadata(&self) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        for f in self.files.iter().rev() {
            out.extend(f.metadata());
        }
        out
    }

    fn file_of(&self, name: &str) -> Result<&SafetensorsFile> {
        let missing = || Error::Safetensors {
            file: self
                .files
                .iter()
                .map(|f| f.path().display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
            tensor: Some(name.to_owned()),
            message: "the checkpoint has no such tensor".into(),
        };
        let i = *self.by_name.get(name).ok_or_else(missing)?;
        self.files.get(i).ok_or_else(missing)
    }

    /// A view of one tensor (no copy).
    pub fn tensor(&self, name: &str) -> Result<TensorView<'_>> {
        self.file_of(name)?.tensor(name)
    }

    /// One tensor's values, which must be `F32`: another dtype is an [`Error::Safetensors`]
    /// naming the tensor and both dtypes.
    pub fn tensor_f32(&self, name: &str) -> Result<(Vec<usize>, Vec<f32>)> {
        let file = self.file_of(name)?;
        let view = file.tensor(name)?;
        if view.dtype() != Dtype::F32 {
            return Err(st_error(
                file.path(),
                Some(name),
                format!("dtype {:?} is not accepted (expected F32)", view.dtype()),
            ));
        }
        let values = view
            .data()
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        Ok((view.shape().to_vec(), values))
    }
}
