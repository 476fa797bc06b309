//! What the Hub's read API answers, as lenient serde types (hub.md §2.2, §2.3).
//!
//! Only the fields that identify a thing are required; everything else is optional or defaults, so
//! a trimmed answer (`expand=…`) or a field the Hub adds later never breaks parsing. Objects whose
//! set of keys is open-ended keep the keys hfkit does not name in an `extra` map.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

/// Reads `null` as the type's default (the Hub sends `"siblings": null` in listings).
fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// A repository's metadata: `GET /api/{models|datasets|spaces}/{id}[/revision/{rev}]`, and each item
/// of a search listing.
///
/// ```
/// let info: hfkit::hub::types::RepoInfo = serde_json::from_str(
///     r#"{"_id":"621ffdc136468d709f1802e8","id":"org/name","gated":"manual",
///         "siblings":[{"rfilename":"config.json"}],"sdk":"gradio"}"#,
/// )?;
/// assert_eq!(info.id, "org/name");
/// assert!(info.gated.as_ref().is_some_and(|g| g.is_gated()));
/// assert_eq!(info.siblings[0].rfilename, "config.json");
/// assert_eq!(info.extra["sdk"], "gradio");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RepoInfo {
    /// The repository id (`namespace/name`, or `name` for legacy repositories).
    pub id: String,
    /// The Hub's internal object id (`_id`).
    #[serde(rename = "_id", default, skip_serializing_if = "Option::is_none")]
    pub object_id: Option<String>,
    /// The owner (user or organisation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    /// The commit id of the revision described.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha: Option<String>,
    /// When the repository last changed (ISO 8601, as sent).
    #[serde(
        rename = "lastModified",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub last_modified: Option<String>,
    /// When the repository was created (ISO 8601, as sent).
    #[serde(rename = "createdAt", default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    /// Whether the repository is private.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private: Option<bool>,
    /// Whether (and how) access is gated: `false`, `"auto"` or `"manual"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gated: Option<Gated>,
    /// Whether the repository is disabled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled: Option<bool>,
    /// Downloads over the last 30 days.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub downloads: Option<u64>,
    /// Number of likes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub likes: Option<u64>,
    /// Tags (`transformers`, `license:mit`, `dataset:squad`, …).
    #[serde(default, deserialize_with = "null_as_default")]
    pub tags: Vec<String>,
    /// The task of a model (`text-classification`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pipeline_tag: Option<String>,
    /// The library of a model (`transformers`, `diffusers`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub library_name: Option<String>,
    /// The metadata of the repository card (`cardData`), as sent.
    #[serde(rename = "cardData", default, skip_serializing_if = "Option::is_none")]
    pub card_data: Option<Value>,
    /// The files of the revision (empty when the answer did not list them).
    #[serde(default, deserialize_with = "null_as_default")]
    pub siblings: Vec<Sibling>,
    /// Every other key of the answer (`sdk`, `config`, `safetensors`, `spaces`, …).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl RepoInfo {
    /// The paths of the listed files, in the Hub's order.
    pub fn file_names(&self) -> impl Iterator<Item = &str> {
        self.siblings.iter().map(|s| s.rfilename.as_str())
    }
}

/// The `gated` field of a repository: a boolean or a gating mode (`"auto"`, `"manual"`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Gated {
    /// `false` (not gated) or `true`.
    Bool(bool),
    /// A gating mode, `"auto"` or `"manual"`.
    Mode(String),
}

impl Gated {
    /// Whether access needs approval.
    pub fn is_gated(&self) -> bool {
        match self {
            Gated::Bool(b) => *b,
            Gated::Mode(_) => true,
        }
    }
}

/// A file listed in [`RepoInfo::siblings`]; size, blob id and LFS data come with `blobs=true`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sibling {
    /// The file's path in the repository.
    pub rfilename: String,
    /// Size in bytes (with `blobs=true`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// The git blob id (with `blobs=true`).
    #[serde(rename = "blobId", default, skip_serializing_if = "Option::is_none")]
    pub blob_id: Option<String>,
    /// LFS data, for files stored in LFS (with `blobs=true`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lfs: Option<LfsInfo>,
}

/// LFS data of a [`Sibling`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LfsInfo {
    /// The sha256 of the file's content (hex).
    pub sha256: String,
    /// Size of the file in bytes.
    pub size: u64,
    /// Size of the LFS pointer file in bytes.
    #[serde(
        rename = "pointerSize",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub pointer_size: Option<u64>,
}

/// Whether a [`TreeEntry`] is a file or a folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EntryKind {
    /// A file.
    File,
    /// A folder.
    Directory,
    /// A kind hfkit does not know.
    #[serde(other)]
    Unknown,
}

/// One entry of a tree listing (`…/tree/{rev}[/{path}]`) or of `paths-info`.
///
/// ```
/// let e: hfkit::hub::types::TreeEntry = serde_json::from_str(
///     r#"{"type":"file","oid":"a1b2","size":440473133,"path":"model.bin",
///         "lfs":{"oid":"9f86d081","size":440473133,"pointerSize":135}}"#,
/// )?;
/// assert!(e.is_file());
/// assert_eq!(e.etag(), "9f86d081");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TreeEntry {
    /// File or folder (`type`).
    #[serde(rename = "type")]
    pub kind: EntryKind,
    /// The git object id (blob id of a file, tree id of a folder).
    #[serde(default)]
    pub oid: String,
    /// Size in bytes (0 for folders).
    #[serde(default)]
    pub size: u64,
    /// The path in the repository.
    pub path: String,
    /// LFS data, for files stored in LFS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lfs: Option<TreeLfs>,
    /// The Xet hash, for files stored with Xet.
    #[serde(rename = "xetHash", default, skip_serializing_if = "Option::is_none")]
    pub xet_hash: Option<String>,
    /// The last commit that touched the entry (with `expand=true`).
    #[serde(
        rename = "lastCommit",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub last_commit: Option<LastCommit>,
    /// The security scan of the file (with `expand=true`), as sent.
    #[serde(
        rename = "securityFileStatus",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub security_file_status: Option<Value>,
}

impl TreeEntry {
    /// Whether the entry is a file.
    pub fn is_file(&self) -> bool {
        self.kind == EntryKind::File
    }

    /// Whether the entry is a folder.
    pub fn is_dir(&self) -> bool {
        self.kind == EntryKind::Directory
    }

    /// The etag the Hub sends for this file: the LFS sha256 for LFS files, else the git blob id.
    pub fn etag(&self) -> &str {
        self.lfs
            .as_ref()
            .map_or(self.oid.as_str(), |l| l.oid.as_str())
    }
}

/// LFS data of a [`TreeEntry`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TreeLfs {
    /// The sha256 of the file's content (hex).
    pub oid: String,
    /// Size of the file in bytes.
    pub size: u64,
    /// Size of the LFS pointer file in bytes.
    #[serde(
        rename = "pointerSize",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub pointer_size: Option<u64>,
}

/// The last commit that touched a [`TreeEntry`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastCommit {
    /// The commit id.
    pub id: String,
    /// The commit title.
    #[serde(default)]
    pub title: String,
    /// When it was made (ISO 8601, as sent).
    #[serde(default)]
    pub date: String,
}

/// The references of a repository: `GET …/refs[?include_prs=1]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GitRefs {
    /// Branches.
    #[serde(default, deserialize_with = "null_as_default")]
    pub branches: Vec<GitRef>,
    /// Conversion branches (e.g. `refs/convert/parquet` of datasets).
    #[serde(default, deserialize_with = "null_as_default")]
    pub converts: Vec<GitRef>,
    /// Tags.
    #[serde(default, deserialize_with = "null_as_default")]
    pub tags: Vec<GitRef>,
    /// Pull-request refs (`refs/pr/N`); empty unless asked for.
    #[serde(rename = "pullRequests", default, deserialize_with = "null_as_default")]
    pub pull_requests: Vec<GitRef>,
}

/// One reference in [`GitRefs`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GitRef {
    /// Short name (`main`, `v1.0`, `refs/pr/1` for PRs).
    pub name: String,
    /// Full ref (`refs/heads/main`).
    #[serde(rename = "ref")]
    pub ref_: String,
    /// The commit it points to.
    #[serde(rename = "targetCommit")]
    pub target_commit: String,
}

/// One commit of a history listing: `GET …/commits/{rev}` (newest first).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GitCommit {
    /// The commit id.
    pub id: String,
    /// The title (first line of the message).
    #[serde(default)]
    pub title: String,
    /// The rest of the message.
    #[serde(default)]
    pub message: String,
    /// When it was made (ISO 8601, as sent).
    #[serde(default)]
    pub date: String,
    /// Its authors.
    #[serde(default, deserialize_with = "null_as_default")]
    pub authors: Vec<CommitAuthor>,
}

/// An author of a [`GitCommit`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitAuthor {
    /// The Hub user name.
    pub user: String,
}

/// The account behind a token: `GET /api/whoami-v2`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WhoAmI {
    /// `user` or `org` (`type`).
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// The account name.
    pub name: String,
    /// The full name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fullname: Option<String>,
    /// The e-mail address (only with a token that may read it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Organisations the account belongs to.
    #[serde(default, deserialize_with = "null_as_default")]
    pub orgs: Vec<WhoAmIOrg>,
    /// The token used.
    #[serde(default)]
    pub auth: WhoAmIAuth,
    /// Every other key of the answer (`id`, `avatarUrl`, `isPro`, …).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// An organisation in [`WhoAmI::orgs`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WhoAmIOrg {
    /// The organisation name.
    pub name: String,
    /// Every other key (`fullname`, `roleInOrg`, …).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The `auth` part of [`WhoAmI`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WhoAmIAuth {
    /// The access token used, when it is a user access token.
    #[serde(
        rename = "accessToken",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub access_token: Option<AccessTokenInfo>,
    /// Every other key (`type`, …).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A token as described by [`WhoAmIAuth`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccessTokenInfo {
    /// The name given to the token.
    #[serde(
        rename = "displayName",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub display_name: Option<String>,
    /// `read`, `write` or `fineGrained`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// Every other key (`createdAt`, `fineGrained`, …).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lenient_repo_info() {
        // The recorded `expand` answer (hub.md §2.3).
        let i: RepoInfo = serde_json::from_str(
            r#"{"_id":"67cae5358ccdbd832011c081","id":"user/tmp_test_space","xetEnabled":false}"#,
        )
        .unwrap();
        assert_eq!(i.object_id.as_deref(), Some("67cae5358ccdbd832011c081"));
        assert!(i.siblings.is_empty());
        assert_eq!(i.extra["xetEnabled"], false);
        let i: RepoInfo =
            serde_json::from_str(r#"{"id":"a","siblings":null,"tags":null,"gated":false}"#)
                .unwrap();
        assert_eq!(i.gated, Some(Gated::Bool(false)));
        assert!(!Gated::Bool(false).is_gated() && Gated::Mode("auto".into()).is_gated());
        // Unknown keys survive a round trip.
        let back = serde_json::to_value(&i).unwrap();
        assert_eq!(back["id"], "a");
    }

    #[test]
    fn tree_entries() {
        let d: TreeEntry =
            serde_json::from_str(r#"{"type":"directory","oid":"x","size":0,"path":"onnx"}"#)
                .unwrap();
        assert!(d.is_dir() && !d.is_file());
        assert_eq!(d.etag(), "x");
        let f: TreeEntry = serde_json::from_str(
            r#"{"type":"file","oid":"o","size":3,"path":"a","xetHash":"h",
                "lastCommit":{"id":"c","title":"t","date":"2024-01-01T00:00:00.000Z"},
                "securityFileStatus":{"status":"safe"}}"#,
        )
        .unwrap();
        assert_eq!(f.xet_hash.as_deref(), Some("h"));
        assert_eq!(f.last_commit.as_ref().map(|c| c.id.as_str()), Some("c"));
        let u: TreeEntry = serde_json::from_str(r#"{"type":"submodule","path":"s"}"#).unwrap();
        assert_eq!(u.kind, EntryKind::Unknown);
    }
}
