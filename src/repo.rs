//! Repository identifiers, types and revisions, validated before any request (hub.md §2.1).

use std::fmt;
use std::str::FromStr;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use crate::error::{Error, Result};

/// The kind of a Hub repository.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub enum RepoType {
    /// A model repository (the default).
    #[default]
    Model,
    /// A dataset repository.
    Dataset,
    /// A Space.
    Space,
}

impl RepoType {
    /// Singular name as used in the `type` fields of the Hub API: `model`, `dataset`, `space`.
    pub fn as_str(self) -> &'static str {
        match self {
            RepoType::Model => "model",
            RepoType::Dataset => "dataset",
            RepoType::Space => "space",
        }
    }

    /// Plural name as used in API paths and cache folders: `models`, `datasets`, `spaces`.
    pub fn plural(self) -> &'static str {
        match self {
            RepoType::Model => "models",
            RepoType::Dataset => "datasets",
            RepoType::Space => "spaces",
        }
    }

    /// Prefix of file URLs: `""` for models, `datasets/`, `spaces/`.
    pub fn url_prefix(self) -> &'static str {
        match self {
            RepoType::Model => "",
            RepoType::Dataset => "datasets/",
            RepoType::Space => "spaces/",
        }
    }
}

impl fmt::Display for RepoType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RepoType {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "model" | "models" => Ok(RepoType::Model),
            "dataset" | "datasets" => Ok(RepoType::Dataset),
            "space" | "spaces" => Ok(RepoType::Space),
            other => Err(Error::InvalidInput(format!(
                "unknown repo type {other:?}: expected `model`, `dataset` or `space`"
            ))),
        }
    }
}

/// A validated repository id: `name` or `namespace/name`.
///
/// ```
/// use hfkit::RepoId;
/// let id: RepoId = "openai-community/gpt2".parse()?;
/// assert_eq!(id.namespace(), Some("openai-community"));
/// assert_eq!(id.name(), "gpt2");
/// assert!("../etc".parse::<RepoId>().is_err());
/// # Ok::<(), hfkit::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RepoId(String);

impl RepoId {
    /// Validates `id` (each part ≤ 96 of `[A-Za-z0-9_.-]`, not starting or ending with `-` or `.`,
    /// no `--` or `..`, no `.git` suffix, at most one `/`).
    pub fn new(id: impl Into<String>) -> Result<Self> {
        let id = id.into();
        validate_repo_id(&id)?;
        Ok(RepoId(id))
    }

    /// The id as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The namespace (user or organisation), if any.
    pub fn namespace(&self) -> Option<&str> {
        self.0.split_once('/').map(|(ns, _)| ns)
    }

    /// The repository name without namespace.
    pub fn name(&self) -> &str {
        self.0.split_once('/').map_or(&self.0, |(_, n)| n)
    }
}

impl fmt::Display for RepoId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for RepoId {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        RepoId::new(s)
    }
}

impl AsRef<str> for RepoId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

fn validate_repo_id(id: &str) -> Result<()> {
    let bad = |why: &str| {
        Err(Error::InvalidInput(format!(
            "invalid repo id {id:?}: {why} (expected `name` or `namespace/name` of letters, digits, `-`, `_`, `.`)"
        )))
    };
    if id.is_empty() {
        return bad("it is empty");
    }
    let parts: Vec<&str> = id.split('/').collect();
    if parts.len() > 2 {
        return bad("more than one `/`");
    }
    for part in &parts {
        if part.is_empty() {
            return bad("empty part");
        }
        if part.len() > 96 {
            return bad("a part is longer than 96 characters");
        }
        if !part
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        {
            return bad("forbidden character");
        }
        if part.starts_with(['-', '.']) || part.ends_with(['-', '.']) {
            return bad("a part starts or ends with `-` or `.`");
        }
        if part.contains("--") || part.contains("..") {
            return bad("`--` and `..` are not allowed");
        }
    }
    if id.ends_with(".git") {
        return bad("ends with `.git`");
    }
    Ok(())
}

/// Characters left as they are in an encoded revision: `A-Za-z0-9_.-~`.
const REVISION_SET: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'_')
    .remove(b'.')
    .remove(b'-')
    .remove(b'~');

/// Characters left as they are in an encoded file path: `A-Za-z0-9_.-~/`.
const PATH_SET: &AsciiSet = &REVISION_SET.remove(b'/');

/// Percent-encodes a revision for use as one URL path segment (`refs/pr/1` → `refs%2Fpr%2F1`).
pub fn encode_revision(revision: &str) -> String {
    utf8_percent_encode(revision, REVISION_SET).to_string()
}

/// Percent-encodes a repository file path for `resolve` URLs (`/` kept).
pub fn encode_path(path: &str) -> String {
    utf8_percent_encode(path, PATH_SET).to_string()
}

/// Percent-encodes a path with `/` encoded too (as `tree/{rev}/{path}` wants).
pub fn encode_segment(path: &str) -> String {
    utf8_percent_encode(path, REVISION_SET).to_string()
}

/// Validates a revision: non-empty, no control characters, no `..` segment, at most 255 bytes.
pub fn validate_revision(revision: &str) -> Result<()> {
    let bad = |why: &str| {
        Err(Error::InvalidInput(format!(
            "invalid revision {revision:?}: {why}"
        )))
    };
    if revision.is_empty() {
        return bad("it is empty");
    }
    if revision.len() > 255 {
        return bad("longer than 255 bytes");
    }
    if revision.chars().any(|c| c.is_control()) {
        return bad("contains control characters");
    }
    if revision
        .split('/')
        .any(|s| s == ".." || s == "." || s.is_empty())
    {
        return bad("contains an empty, `.` or `..` segment");
    }
    if revision.contains('\\') {
        return bad("contains a backslash");
    }
    Ok(())
}

/// Whether `revision` is a full commit id (40 lowercase hex characters).
pub fn is_commit_id(revision: &str) -> bool {
    revision.len() == 40
        && revision
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Validates a repository-relative file path before it touches the file system: rejects absolute
/// paths, drive letters, UNC paths, backslashes, empty, `.` and `..` segments and NUL bytes.
pub fn validate_repo_path(path: &str) -> Result<()> {
    let bad = |why: &str| {
        Err(Error::InvalidInput(format!(
            "refusing remote file name {path:?}: {why}"
        )))
    };
    if path.is_empty() {
        return bad("it is empty");
    }
    if path.contains('\0') || path.chars().any(|c| c.is_control()) {
        return bad("contains control characters");
    }
    if path.starts_with('/') || path.starts_with('\\') {
        return bad("it is absolute");
    }
    if path.contains('\\') {
        return bad("contains a backslash");
    }
    let b = path.as_bytes();
    if b.len() >= 2 && b[1] == b':' && b[0].is_ascii_alphabetic() {
        return bad("it names a drive");
    }
    for seg in path.split('/') {
        if seg == ".." {
            return bad("it contains a `..` segment");
        }
        if seg.is_empty() || seg == "." {
            return bad("it contains an empty or `.` segment");
        }
    }
    Ok(())
}

/// A repository on the Hub: id, type and the revision to use.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Repo {
    id: RepoId,
    repo_type: RepoType,
    revision: String,
}

impl Repo {
    /// A repository of the given type at revision `main`.
    pub fn new(id: RepoId, repo_type: RepoType) -> Self {
        Repo {
            id,
            repo_type,
            revision: "main".to_owned(),
        }
    }

    /// A model repository.
    pub fn model(id: &str) -> Result<Self> {
        Ok(Self::new(RepoId::new(id)?, RepoType::Model))
    }

    /// A dataset repository.
    pub fn dataset(id: &str) -> Result<Self> {
        Ok(Self::new(RepoId::new(id)?, RepoType::Dataset))
    }

    /// A Space.
    pub fn space(id: &str) -> Result<Self> {
        Ok(Self::new(RepoId::new(id)?, RepoType::Space))
    }

    /// The same repository at another revision (branch, tag, commit id or `refs/pr/N`).
    pub fn with_revision(mut self, revision: impl Into<String>) -> Result<Self> {
        let revision = revision.into();
        validate_revision(&revision)?;
        self.revision = revision;
        Ok(self)
    }

    /// The repository id.
    pub fn id(&self) -> &RepoId {
        &self.id
    }

    /// The repository type.
    pub fn repo_type(&self) -> RepoType {
        self.repo_type
    }

    /// The revision.
    pub fn revision(&self) -> &str {
        &self.revision
    }

    /// The cache folder name: `models--org--name`.
    pub fn folder_name(&self) -> String {
        format!(
            "{}--{}",
            self.repo_type.plural(),
            self.id.as_str().replace('/', "--")
        )
    }

    /// `type/id`, as used in messages.
    pub fn display_name(&self) -> String {
        format!("{}/{}", self.repo_type.plural(), self.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repo_ids() {
        for ok in ["gpt2", "openai-community/gpt2", "a_b.c/d-e", "user/x.y"] {
            assert!(RepoId::new(ok).is_ok(), "{ok}");
        }
        for bad in [
            "", "/", "a/b/c", "../x", "a/..", "-a", "a-", ".a/b", "a--b/c", "a/b.git", "a b",
            "a/b\\c", "a/",
        ] {
            assert!(RepoId::new(bad).is_err(), "{bad}");
        }
        assert!(RepoId::new("a".repeat(97)).is_err());
    }

    #[test]
    fn encodings() {
        assert_eq!(encode_revision("refs/pr/1"), "refs%2Fpr%2F1");
        assert_eq!(encode_revision("main"), "main");
        assert_eq!(encode_path("a b#1.txt"), "a%20b%231.txt");
        assert_eq!(encode_path("dir/sub/x~y.bin"), "dir/sub/x~y.bin");
        assert_eq!(encode_path("é.txt"), "%C3%A9.txt");
    }

    #[test]
    fn repo_paths() {
        for ok in ["a.txt", "dir/a.txt", "a..b", ".gitattributes"] {
            assert!(validate_repo_path(ok).is_ok(), "{ok}");
        }
        for bad in [
            "../evil",
            "a/../../b",
            "/etc/passwd",
            "C:/x",
            "\\\\server\\x",
            "a//b",
            "./a",
            "a\\b",
            "",
        ] {
            assert!(validate_repo_path(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn folder_names() {
        let r = Repo::dataset("glue").unwrap();
        assert_eq!(r.folder_name(), "datasets--glue");
        let r = Repo::model("org/name").unwrap();
        assert_eq!(r.folder_name(), "models--org--name");
    }
}
