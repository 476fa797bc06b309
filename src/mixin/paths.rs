//! Lexical checks of file names that come from outside (index `weight_map` values, listed files,
//! `extra_files`) before any of them touches the file system (spec §5.4.3).

use crate::error::{Error, Result};

fn unsafe_path(name: &str, context: &str, reason: &str) -> Error {
    Error::UnsafePath {
        name: name.to_owned(),
        context: context.to_owned(),
        reason: reason.to_owned(),
    }
}

/// Checks that `name` is a relative path inside the model's folder: not empty, no NUL, not
/// starting with `/` or `\` (root, UNC), no drive letter (`C:`), no `..` component (with `/` or
/// `\` as separators). The check is lexical: snapshot folders hold symlinks into `blobs/`, so
/// resolving links would be wrong.
pub fn validate_relative_name(name: &str, context: &str) -> Result<()> {
    if name.is_empty() {
        return Err(unsafe_path(name, context, "the name is empty"));
    }
    if name.contains('\0') {
        return Err(unsafe_path(
            name,
            context,
            "the name contains a NUL character",
        ));
    }
    if name.starts_with('/') || name.starts_with('\\') {
        return Err(unsafe_path(
            name,
            context,
            "absolute paths and UNC prefixes are not allowed",
        ));
    }
    let b = name.as_bytes();
    if b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':' {
        return Err(unsafe_path(name, context, "drive letters are not allowed"));
    }
    if name.split(['/', '\\']).any(|c| c == "..") {
        return Err(unsafe_path(
            name,
            context,
            "`..` would leave the model's folder",
        ));
    }
    if name.split(['/', '\\']).any(|c| c.is_empty() || c == ".") {
        return Err(unsafe_path(
            name,
            context,
            "empty or `.` path components are not allowed",
        ));
    }
    Ok(())
}

/// [`validate_relative_name`], and the name must end in `.safetensors` (a shard of an index).
pub fn validate_shard_name(name: &str, context: &str) -> Result<()> {
    validate_relative_name(name, context)?;
    if !name.ends_with(".safetensors") {
        return Err(unsafe_path(
            name,
            context,
            "a shard of a safetensors index must end in `.safetensors`",
        ));
    }
    Ok(())
}

/// Whether `source` looks like a local path rather than a repo id (spec §4.3 step 1): it starts
/// with `/`, `./`, `../`, `~` or a drive letter, or contains a `\`.
pub fn looks_like_path(source: &str) -> bool {
    let b = source.as_bytes();
    source.starts_with('/')
        || source.starts_with("./")
        || source.starts_with("../")
        || source == "."
        || source == ".."
        || source.starts_with('~')
        || source.contains('\\')
        || (b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsafe_names_are_refused() {
        for bad in [
            "",
            "../x.safetensors",
            "a/../../x.safetensors",
            "/etc/passwd",
            "\\\\server\\share\\x.safetensors",
            "C:x.safetensors",
            "c:\\x.safetensors",
            "a\\..\\x.safetensors",
            "x\0.safetensors",
            "a//b.safetensors",
            "./a.safetensors",
        ] {
            let err = validate_shard_name(bad, "index").unwrap_err();
            assert!(matches!(err, Error::UnsafePath { .. }), "{bad:?}: {err}");
        }
        assert!(matches!(
            validate_shard_name("model.bin", "index"),
            Err(Error::UnsafePath { .. })
        ));
        validate_shard_name("model-00001-of-00002.safetensors", "index").unwrap();
        validate_shard_name("sub/dir/model.safetensors", "index").unwrap();
        validate_relative_name("tokenizer.json", "extra").unwrap();
    }

    #[test]
    fn path_detection() {
        for p in ["/abs", "./rel", "../up", "~/home", "C:\\x", "a\\b", "."] {
            assert!(looks_like_path(p), "{p}");
        }
        for id in ["gpt2", "org/name", "org/name.v2"] {
            assert!(!looks_like_path(id), "{id}");
        }
    }
}
