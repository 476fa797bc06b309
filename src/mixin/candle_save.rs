//! Saving candle tensors: out of a `VarMap` without holding its lock during I/O, to little-endian
//! host bytes without panicking (candle's own `View::data` unwraps), through the mixin's
//! [`WeightsWriter`] (single file or shards, `{"format": "pt"}`).

use std::borrow::Cow;
use std::path::PathBuf;

use candle_core::{CpuStorage, DType, Device, Storage, Tensor};

use super::CandleWeights;
use crate::error::{Error, Result};
use crate::mixin::{Dtype, TensorSpec, WeightsWriter};

/// The named tensors of `weights`, sorted by name. For a `VarMap`, the `Var` handles are cloned
/// out and the lock released at once, so a training thread is never blocked by a save.
pub fn collect_tensors(weights: CandleWeights<'_>) -> Result<Vec<(String, Tensor)>> {
    let mut tensors = match weights {
        CandleWeights::VarMap(varmap) => {
            let guard = varmap.data().lock().map_err(|_| {
                Error::InvalidInput(
                    "the model's VarMap lock is poisoned (a thread panicked while holding it)"
                        .into(),
                )
            })?;
            let vars: Vec<(String, Tensor)> = guard
                .iter()
                .map(|(name, var)| (name.clone(), var.as_tensor().clone()))
                .collect();
            drop(guard);
            vars
        }
        CandleWeights::Tensors(named) => named,
    };
    tensors.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(tensors)
}

/// Writes `tensors` through `writer`, copying each one to host bytes only while its shard is
/// written. Returns the files written.
pub fn write_tensors(
    tensors: &[(String, Tensor)],
    writer: &mut WeightsWriter,
) -> Result<Vec<PathBuf>> {
    let specs = tensors
        .iter()
        .map(|(name, t)| {
            Ok(TensorSpec::new(
                name.clone(),
                safetensors_dtype(name, t.dtype())?,
                t.dims().to_vec(),
            ))
        })
        .collect::<Result<Vec<_>>>()?;
    writer.write_safetensors_lazy(specs, |i, spec| match tensors.get(i) {
        Some((name, t)) => tensor_to_le_bytes(name, t).map(Cow::Owned),
        None => Err(Error::InvalidInput(format!(
            "no tensor for {:?} (index {i})",
            spec.name
        ))),
    })
}

/// The safetensors dtype of a candle dtype; candle's placeholder micro-float dtypes (F6, F4,
/// F8E8M0) have no byte layout hfkit can write.
fn safetensors_dtype(name: &str, dtype: DType) -> Result<Dtype> {
    Ok(match dtype {
        DType::U8 => Dtype::U8,
        DType::U32 => Dtype::U32,
        DType::I16 => Dtype::I16,
        DType::I32 => Dtype::I32,
        DType::I64 => Dtype::I64,
        DType::BF16 => Dtype::BF16,
        DType::F16 => Dtype::F16,
        DType::F32 => Dtype::F32,
        DType::F64 => Dtype::F64,
        DType::F8E4M3 => Dtype::F8_E4M3,
        other => {
            return Err(Error::InvalidInput(format!(
                "tensor {name:?}: candle dtype {other:?} cannot be saved as safetensors"
            )));
        }
    })
}

/// The tensor's data as little-endian bytes in row-major order (what safetensors stores), copied
/// once from host memory; a device tensor is first copied to the host. Errors (a failed device
/// copy, an unsupported dtype) are returned, never panics.
pub fn tensor_to_le_bytes(name: &str, tensor: &Tensor) -> Result<Vec<u8>> {
    let fail = |e: candle_core::Error| {
        Error::InvalidInput(format!("tensor {name:?}: reading its data failed: {e}"))
    };
    let host = tensor
        .to_device(&Device::Cpu)
        .and_then(|t| t.contiguous())
        .map_err(fail)?;
    let (storage, layout) = host.storage_and_layout();
    let Storage::Cpu(cpu) = &*storage else {
        return Err(Error::InvalidInput(format!(
            "tensor {name:?}: not in host memory after a copy to the CPU"
        )));
    };
    let Some((start, end)) = layout.contiguous_offsets() else {
        return Err(Error::InvalidInput(format!(
            "tensor {name:?}: not contiguous after `contiguous()`"
        )));
    };
    let range = |len: usize| {
        if start <= end && end <= len {
            Ok(start..end)
        } else {
            Err(Error::InvalidInput(format!(
                "tensor {name:?}: its layout {start}..{end} lies outside its storage of {len} elements"
            )))
        }
    };
    macro_rules! le {
        ($v:expr, $n:literal) => {{
            let values = &$v[range($v.len())?];
            let mut out = vec![0u8; values.len() * $n];
            for (chunk, x) in out.chunks_exact_mut($n).zip(values) {
                chunk.copy_from_slice(&x.to_le_bytes());
            }
            Ok(out)
        }};
    }
    match cpu {
        CpuStorage::U8(v) => Ok(v[range(v.len())?].to_vec()),
        CpuStorage::U32(v) => le!(v, 4),
        CpuStorage::I16(v) => le!(v, 2),
        CpuStorage::I32(v) => le!(v, 4),
        CpuStorage::I64(v) => le!(v, 8),
        CpuStorage::BF16(v) => le!(v, 2),
        CpuStorage::F16(v) => le!(v, 2),
        CpuStorage::F32(v) => le!(v, 4),
        CpuStorage::F64(v) => le!(v, 8),
        CpuStorage::F8E4M3(v) => Ok(v[range(v.len())?].iter().map(|x| x.to_bits()).collect()),
        _ => Err(Error::InvalidInput(format!(
            "tensor {name:?}: candle dtype {:?} cannot be saved as safetensors",
            tensor.dtype()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_are_little_endian_row_major() {
        let t = Tensor::new(&[[1.0f32, 2.0], [3.0, 4.0]], &Device::Cpu).unwrap();
        let bytes = tensor_to_le_bytes("t", &t).unwrap();
        let want: Vec<u8> = [1.0f32, 2.0, 3.0, 4.0]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        assert_eq!(bytes, want);
        // A transposed (strided) view is written in its own row-major order.
        let tt = t.t().unwrap();
        let want: Vec<u8> = [1.0f32, 3.0, 2.0, 4.0]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        assert_eq!(tensor_to_le_bytes("tt", &tt).unwrap(), want);
        // A narrowed view starts at an offset into its storage.
        let row = t.narrow(0, 1, 1).unwrap();
        let want: Vec<u8> = [3.0f32, 4.0].iter().flat_map(|v| v.to_le_bytes()).collect();
        assert_eq!(tensor_to_le_bytes("row", &row).unwrap(), want);
    }

    #[test]
    fn half_types_keep_their_bits() {
        let t = Tensor::new(&[1.5f32, -2.0], &Device::Cpu).unwrap();
        let h = t.to_dtype(DType::F16).unwrap();
        // f16: 1.5 = 0x3E00, -2.0 = 0xC000.
        assert_eq!(
            tensor_to_le_bytes("h", &h).unwrap(),
            [0x00, 0x3E, 0x00, 0xC0]
        );
        let b = t.to_dtype(DType::BF16).unwrap();
        // bf16: 1.5 = 0x3FC0, -2.0 = 0xC000.
        assert_eq!(
            tensor_to_le_bytes("b", &b).unwrap(),
            [0xC0, 0x3F, 0x00, 0xC0]
        );
    }

    #[test]
    fn placeholder_dtypes_are_refused() {
        assert!(safetensors_dtype("x", DType::F4).is_err());
        assert_eq!(
            safetensors_dtype("x", DType::F8E4M3).unwrap(),
            Dtype::F8_E4M3
        );
    }
}
