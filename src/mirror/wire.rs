//! The JSON bodies the mirror sends, field names exactly as on the Hub (hub.md §2.2, §2.3).

use serde::Serialize;

/// `{"error": "..."}`.
#[derive(Debug, Serialize)]
pub(crate) struct ErrorBody<'a> {
    pub error: &'a str,
}

/// One entry of a tree listing or a paths-info answer.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub(crate) enum TreeEntry {
    /// A file.
    File {
        oid: String,
        size: u64,
        path: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        lfs: Option<TreeLfs>,
        #[serde(rename = "lastCommit", skip_serializing_if = "Option::is_none")]
        last_commit: Option<LastCommit>,
    },
    /// A directory.
    Directory {
        oid: String,
        size: u64,
        path: String,
        #[serde(rename = "lastCommit", skip_serializing_if = "Option::is_none")]
        last_commit: Option<LastCommit>,
    },
}

impl TreeEntry {
    /// The entry's path in the repository.
    pub fn path(&self) -> &str {
        match self {
            TreeEntry::File { path, .. } | TreeEntry::Directory { path, .. } => path,
        }
    }

    /// Adds the `lastCommit` field (`expand=true`).
    pub fn with_last_commit(mut self, commit: Option<LastCommit>) -> Self {
        match &mut self {
            TreeEntry::File { last_commit, .. } | TreeEntry::Directory { last_commit, .. } => {
                *last_commit = commit
            }
        }
        self
    }
}

/// `lfs` of a tree entry.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct TreeLfs {
    pub oid: String,
    pub size: u64,
    #[serde(rename = "pointerSize")]
    pub pointer_size: u64,
}

/// `lastCommit` of an expanded tree entry.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct LastCommit {
    pub id: String,
    pub title: String,
    pub date: String,
}

/// Repository info (`/api/{Ts}/{repo}`) and the items of repository listings.
#[derive(Debug, Serialize)]
pub(crate) struct RepoInfo {
    #[serde(rename = "_id")]
    pub object_id: String,
    pub id: String,
    #[serde(rename = "modelId", skip_serializing_if = "Option::is_none")]
    pub model_id: Option<String>,
    pub author: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha: Option<String>,
    #[serde(rename = "lastModified")]
    pub last_modified: String,
    pub private: bool,
    pub gated: bool,
    pub disabled: bool,
    pub tags: Vec<String>,
    pub downloads: u64,
    pub likes: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub siblings: Option<Vec<Sibling>>,
}

/// One file in `siblings`.
#[derive(Debug, Serialize)]
pub(crate) struct Sibling {
    pub rfilename: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    #[serde(rename = "blobId", skip_serializing_if = "Option::is_none")]
    pub blob_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lfs: Option<SiblingLfs>,
}

/// `lfs` of a sibling (`blobs=true`).
#[derive(Debug, Serialize)]
pub(crate) struct SiblingLfs {
    pub sha256: String,
    pub size: u64,
    #[serde(rename = "pointerSize")]
    pub pointer_size: u64,
}

/// `/refs` answer.
#[derive(Debug, Serialize)]
pub(crate) struct Refs {
    pub branches: Vec<GitRef>,
    pub converts: Vec<GitRef>,
    pub tags: Vec<GitRef>,
    #[serde(rename = "pullRequests")]
    pub pull_requests: Vec<GitRef>,
}

/// One branch, tag or pull request.
#[derive(Debug, Serialize)]
pub(crate) struct GitRef {
    pub name: String,
    #[serde(rename = "ref")]
    pub git_ref: String,
    #[serde(rename = "targetCommit")]
    pub target_commit: String,
}

/// One item of `/commits/{rev}`.
#[derive(Debug, Serialize)]
pub(crate) struct CommitItem {
    pub id: String,
    pub title: String,
    pub message: String,
    pub date: String,
    pub authors: Vec<CommitAuthor>,
}

/// An author of a commit.
#[derive(Debug, Serialize)]
pub(crate) struct CommitAuthor {
    pub user: String,
}

/// `/api/whoami-v2` answer.
#[derive(Debug, Serialize)]
pub(crate) struct Whoami {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub name: &'static str,
    pub fullname: &'static str,
    pub email: Option<String>,
    pub orgs: Vec<String>,
    pub auth: WhoamiAuth,
}

/// `auth` of the whoami answer.
#[derive(Debug, Serialize)]
pub(crate) struct WhoamiAuth {
    #[serde(rename = "accessToken")]
    pub access_token: AccessToken,
}

/// `auth.accessToken` of the whoami answer.
#[derive(Debug, Serialize)]
pub(crate) struct AccessToken {
    #[serde(rename = "displayName")]
    pub display_name: &'static str,
    pub role: &'static str,
}
