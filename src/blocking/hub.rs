//! Blocking [`HubClient`] and [`ApiRepo`].

use std::path::PathBuf;
use std::sync::Arc;

use super::runtime::{BlockingIter, Runtime};
use crate::config::Settings;
use crate::error::Result;
use crate::hub::commit::{AddSource, CommitInfo, CommitOptions};
use crate::hub::download::{DownloadOptions, FileMetadata};
use crate::hub::info::TreeOptions;
use crate::hub::large_folder::LargeFolderOptions;
use crate::hub::listing::ListQuery;
use crate::hub::repos::{CreateRepo, Gated, RepoUrl};
use crate::hub::snapshot::SnapshotOptions;
use crate::hub::types::{GitCommit, GitRefs, RepoInfo, TreeEntry, WhoAmI};
use crate::hub::upload::{UploadFolderOptions, UploadOptions};
use crate::repo::{Repo, RepoType};

/// The blocking twin of [`crate::HubClient`].
#[derive(Clone, Debug)]
pub struct HubClient {
    inner: crate::HubClient,
    rt: Arc<Runtime>,
}

impl HubClient {
    /// A client configured from the environment.
    pub fn new() -> Result<Self> {
        Self::from_async(crate::HubClient::new()?)
    }

    /// A client with these settings.
    pub fn from_settings(settings: Settings) -> Result<Self> {
        Self::from_async(crate::HubClient::from_settings(settings)?)
    }

    /// Wraps an async client.
    pub fn from_async(inner: crate::HubClient) -> Result<Self> {
        Ok(HubClient {
            // Connections of the caller's runtime must not be reused from ours.
            inner: crate::HubClient::from_http(inner.http().fresh_pool()?),
            rt: Runtime::new()?,
        })
    }

    /// The async client inside.
    pub fn as_async(&self) -> &crate::HubClient {
        &self.inner
    }

    /// The settings in force.
    pub fn settings(&self) -> &Settings {
        self.inner.settings()
    }

    /// A handle on a repository.
    pub fn repo(&self, repo: Repo) -> ApiRepo {
        self.wrap(self.inner.repo(repo))
    }

    /// A model repository at `main`.
    pub fn model(&self, id: impl Into<String>) -> ApiRepo {
        self.wrap(self.inner.model(id))
    }

    /// A dataset repository at `main`.
    pub fn dataset(&self, id: impl Into<String>) -> ApiRepo {
        self.wrap(self.inner.dataset(id))
    }

    /// A Space at `main`.
    pub fn space(&self, id: impl Into<String>) -> ApiRepo {
        self.wrap(self.inner.space(id))
    }

    /// A repository of the given type at `main`.
    pub fn typed(&self, id: impl Into<String>, repo_type: RepoType) -> ApiRepo {
        self.wrap(self.inner.typed(id, repo_type))
    }

    fn wrap(&self, inner: crate::hub::ApiRepo) -> ApiRepo {
        ApiRepo {
            inner,
            rt: self.rt.clone(),
        }
    }

    /// Commits `card` as `README.md` of `repo_id`; see [`crate::card::RepoCard::push_to_hub`].
    pub fn push_card<D: crate::card::CardData + Send + Sync + 'static>(
        &self,
        card: &crate::card::RepoCard<D>,
        repo_id: &str,
        opts: crate::card::PushOptions,
    ) -> Result<CommitInfo> {
        let (c, card, id) = (self.inner.clone(), card.clone(), repo_id.to_owned());
        self.rt
            .block_on(async move { card.push_to_hub(&c, &id, opts).await })
    }

    /// See [`crate::HubClient::whoami`].
    pub fn whoami(&self) -> Result<WhoAmI> {
        let c = self.inner.clone();
        self.rt.block_on(async move { c.whoami().await })
    }

    /// See [`crate::HubClient::list_models`].
    pub fn list_models(&self, q: ListQuery) -> BlockingIter<RepoInfo> {
        self.rt.iter(self.inner.list_models(q))
    }

    /// See [`crate::HubClient::list_datasets`].
    pub fn list_datasets(&self, q: ListQuery) -> BlockingIter<RepoInfo> {
        self.rt.iter(self.inner.list_datasets(q))
    }

    /// See [`crate::HubClient::list_spaces`].
    pub fn list_spaces(&self, q: ListQuery) -> BlockingIter<RepoInfo> {
        self.rt.iter(self.inner.list_spaces(q))
    }
}

/// The blocking twin of [`crate::hub::ApiRepo`].
#[derive(Clone, Debug)]
pub struct ApiRepo {
    inner: crate::hub::ApiRepo,
    rt: Arc<Runtime>,
}

macro_rules! forward {
    ($(#[$m:meta])* $name:ident($($arg:ident: $ty:ty),*) -> $ret:ty) => {
        $(#[$m])*
        pub fn $name(&self, $($arg: $ty),*) -> Result<$ret> {
            let r = self.inner.clone();
            self.rt.block_on(async move { r.$name($($arg),*).await })
        }
    };
}

impl ApiRepo {
    /// The same repository at another revision.
    pub fn revision(mut self, revision: impl Into<String>) -> Self {
        self.inner = self.inner.revision(revision);
        self
    }

    /// The async handle inside.
    pub fn as_async(&self) -> &crate::hub::ApiRepo {
        &self.inner
    }

    /// See [`crate::hub::ApiRepo::download`].
    pub fn download(&self, path: &str) -> Result<PathBuf> {
        let (r, p) = (self.inner.clone(), path.to_owned());
        self.rt.block_on(async move { r.download(&p).await })
    }

    /// See [`crate::hub::ApiRepo::download_with`].
    pub fn download_with(&self, path: &str, opts: DownloadOptions) -> Result<PathBuf> {
        let (r, p) = (self.inner.clone(), path.to_owned());
        self.rt
            .block_on(async move { r.download_with(&p, opts).await })
    }

    /// See [`crate::hub::ApiRepo::file_metadata`].
    pub fn file_metadata(&self, path: &str) -> Result<FileMetadata> {
        let (r, p) = (self.inner.clone(), path.to_owned());
        self.rt.block_on(async move { r.file_metadata(&p).await })
    }

    forward!(
        /// See [`crate::hub::ApiRepo::snapshot`].
        snapshot() -> PathBuf
    );
    forward!(
        /// See [`crate::hub::ApiRepo::snapshot_with`].
        snapshot_with(opts: SnapshotOptions) -> PathBuf
    );
    forward!(
        /// See [`crate::hub::ApiRepo::info`].
        info() -> RepoInfo
    );
    forward!(
        /// See [`crate::hub::ApiRepo::list_files`].
        list_files() -> Vec<String>
    );
    forward!(
        /// See [`crate::hub::ApiRepo::refs`].
        refs(include_prs: bool) -> GitRefs
    );
    forward!(
        /// See [`crate::hub::ApiRepo::revision_exists`].
        revision_exists() -> bool
    );
    forward!(
        /// See [`crate::hub::ApiRepo::exists`].
        exists() -> bool
    );

    /// See [`crate::hub::ApiRepo::file_exists`].
    pub fn file_exists(&self, path: &str) -> Result<bool> {
        let (r, p) = (self.inner.clone(), path.to_owned());
        self.rt.block_on(async move { r.file_exists(&p).await })
    }

    /// See [`crate::hub::ApiRepo::paths_info`].
    pub fn paths_info(&self, paths: &[&str], expand: bool) -> Result<Vec<TreeEntry>> {
        let r = self.inner.clone();
        let owned: Vec<String> = paths.iter().map(|s| s.to_string()).collect();
        self.rt.block_on(async move {
            let refs: Vec<&str> = owned.iter().map(String::as_str).collect();
            r.paths_info(&refs, expand).await
        })
    }

    /// See [`crate::hub::ApiRepo::list_tree`].
    pub fn list_tree(&self, opts: TreeOptions) -> BlockingIter<TreeEntry> {
        self.rt.iter(self.inner.list_tree(opts))
    }

    /// See [`crate::hub::ApiRepo::commits`].
    pub fn commits(&self) -> BlockingIter<GitCommit> {
        self.rt.iter(self.inner.commits())
    }
}

/// Repository management and uploads (hub.md §6).
impl HubClient {
    /// See [`crate::HubClient::create_repo`].
    pub fn create_repo(&self, req: CreateRepo) -> Result<RepoUrl> {
        let c = self.inner.clone();
        self.rt.block_on(async move { c.create_repo(req).await })
    }

    /// See [`crate::HubClient::delete_repo`].
    pub fn delete_repo(&self, repo_id: &str, repo_type: RepoType, missing_ok: bool) -> Result<()> {
        let (c, id) = (self.inner.clone(), repo_id.to_owned());
        self.rt
            .block_on(async move { c.delete_repo(&id, repo_type, missing_ok).await })
    }

    /// See [`crate::HubClient::move_repo`].
    pub fn move_repo(&self, from: &str, to: &str, repo_type: RepoType) -> Result<RepoUrl> {
        let (c, from, to) = (self.inner.clone(), from.to_owned(), to.to_owned());
        self.rt
            .block_on(async move { c.move_repo(&from, &to, repo_type).await })
    }
}

/// Commits, uploads, branches and tags (hub.md §6).
impl ApiRepo {
    forward!(
        /// See [`crate::hub::ApiRepo::create_commit`].
        create_commit(opts: CommitOptions) -> CommitInfo
    );
    forward!(
        /// See [`crate::hub::ApiRepo::upload_folder`].
        upload_folder(folder: PathBuf, opts: UploadFolderOptions) -> CommitInfo
    );
    forward!(
        /// See [`crate::hub::ApiRepo::metadata_update`].
        metadata_update(patch: serde_json::Map<String, serde_json::Value>, opts: crate::card::MetadataUpdateOptions) -> CommitInfo
    );
    forward!(
        /// See [`crate::hub::ApiRepo::upload_large_folder`].
        upload_large_folder(folder: PathBuf, opts: LargeFolderOptions) -> CommitInfo
    );
    forward!(
        /// See [`crate::hub::ApiRepo::update_repo_settings`].
        update_repo_settings(private: Option<bool>, gated: Option<Gated>) -> ()
    );

    /// See [`crate::hub::ApiRepo::upload_file`].
    pub fn upload_file(
        &self,
        source: impl Into<AddSource>,
        path_in_repo: &str,
        opts: UploadOptions,
    ) -> Result<CommitInfo> {
        let (r, s, p) = (self.inner.clone(), source.into(), path_in_repo.to_owned());
        self.rt
            .block_on(async move { r.upload_file(s, &p, opts).await })
    }

    /// See [`crate::hub::ApiRepo::create_branch`].
    pub fn create_branch(
        &self,
        name: &str,
        starting_point: Option<&str>,
        exist_ok: bool,
    ) -> Result<()> {
        let (r, n, s) = (
            self.inner.clone(),
            name.to_owned(),
            starting_point.map(str::to_owned),
        );
        self.rt
            .block_on(async move { r.create_branch(&n, s.as_deref(), exist_ok).await })
    }

    /// See [`crate::hub::ApiRepo::delete_branch`].
    pub fn delete_branch(&self, name: &str) -> Result<()> {
        let (r, n) = (self.inner.clone(), name.to_owned());
        self.rt.block_on(async move { r.delete_branch(&n).await })
    }

    /// See [`crate::hub::ApiRepo::create_tag`].
    pub fn create_tag(&self, tag: &str, message: Option<&str>, exist_ok: bool) -> Result<()> {
        let (r, t, m) = (
            self.inner.clone(),
            tag.to_owned(),
            message.map(str::to_owned),
        );
        self.rt
            .block_on(async move { r.create_tag(&t, m.as_deref(), exist_ok).await })
    }

    /// See [`crate::hub::ApiRepo::delete_tag`].
    pub fn delete_tag(&self, tag: &str) -> Result<()> {
        let (r, t) = (self.inner.clone(), tag.to_owned());
        self.rt.block_on(async move { r.delete_tag(&t).await })
    }
}
