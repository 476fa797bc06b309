//! The Hub: repository queries, downloads into the shared cache, snapshots and cache management.
//!
//! [`HubClient`] is cheap to clone; [`ApiRepo`] is a handle on one repository at one revision:
//!
//! ```no_run
//! # async fn demo() -> hfkit::Result<()> {
//! use hfkit::HubClient;
//! let hub = HubClient::new()?;
//! let repo = hub.model("openai-community/gpt2").revision("main");
//! let config = repo.download("config.json").await?;
//! let snapshot = repo.snapshot().await?;
//! # let _ = (config, snapshot); Ok(()) }
//! ```

pub mod cache;
pub mod commit;
mod commit_chain;
mod commit_flow;
mod commit_wire;
mod digest;
pub mod download;
pub mod info;
pub mod large_folder;
mod lfs;
pub mod listing;
pub mod local_dir;
mod lock;
pub mod paginate;
pub mod patterns;
pub mod progress;
mod ranged;
pub mod repos;
pub mod snapshot;
mod transfer;
pub mod types;
pub mod upload;
mod upload_state;

use crate::config::{Settings, SettingsBuilder};
use crate::error::Result;
use crate::http::HttpClient;
use crate::repo::{Repo, RepoId, RepoType, validate_revision};

pub use progress::{NoProgress, Progress, ProgressHandle};

/// A client of the Hub. Cheap to clone; clones share the connection pool.
#[derive(Clone, Debug)]
pub struct HubClient {
    http: HttpClient,
}

impl HubClient {
    /// A client configured from the environment (`HF_ENDPOINT`, `HF_TOKEN`, `HF_HOME`, …).
    pub fn new() -> Result<Self> {
        Self::from_settings(Settings::from_env()?)
    }

    /// A builder of settings; finish with [`HubClientBuilder::build`].
    ///
    /// ```
    /// let hub = hfkit::HubClient::builder()
    ///     .endpoint("http://127.0.0.1:8080")
    ///     .cache_dir(std::env::temp_dir().join("hf-cache"))
    ///     .build()?;
    /// assert_eq!(hub.settings().endpoint(), "http://127.0.0.1:8080");
    /// # Ok::<(), hfkit::Error>(())
    /// ```
    pub fn builder() -> HubClientBuilder {
        HubClientBuilder(Settings::builder())
    }

    /// A client with these settings.
    pub fn from_settings(settings: Settings) -> Result<Self> {
        Ok(HubClient {
            http: HttpClient::new(settings)?,
        })
    }

    /// A client over an existing HTTP client.
    pub fn from_http(http: HttpClient) -> Self {
        HubClient { http }
    }

    /// The settings in force.
    pub fn settings(&self) -> &Settings {
        self.http.settings()
    }

    /// The HTTP client (for advanced use).
    pub fn http(&self) -> &HttpClient {
        &self.http
    }

    /// A handle on a repository (validated when used).
    pub fn repo(&self, repo: Repo) -> ApiRepo {
        ApiRepo {
            hub: self.clone(),
            id: repo.id().to_string(),
            repo_type: repo.repo_type(),
            revision: repo.revision().to_owned(),
        }
    }

    /// A handle on a model repository at `main`.
    pub fn model(&self, id: impl Into<String>) -> ApiRepo {
        self.typed(id, RepoType::Model)
    }

    /// A handle on a dataset repository at `main`.
    pub fn dataset(&self, id: impl Into<String>) -> ApiRepo {
        self.typed(id, RepoType::Dataset)
    }

    /// A handle on a Space at `main`.
    pub fn space(&self, id: impl Into<String>) -> ApiRepo {
        self.typed(id, RepoType::Space)
    }

    /// A handle on a repository of the given type at `main`.
    pub fn typed(&self, id: impl Into<String>, repo_type: RepoType) -> ApiRepo {
        ApiRepo {
            hub: self.clone(),
            id: id.into(),
            repo_type,
            revision: "main".to_owned(),
        }
    }
}

/// Builds a [`HubClient`]; every setting not given comes from the environment, then defaults.
#[derive(Default)]
pub struct HubClientBuilder(SettingsBuilder);

impl HubClientBuilder {
    /// Adjusts the underlying settings builder.
    pub fn settings(self, f: impl FnOnce(SettingsBuilder) -> SettingsBuilder) -> Self {
        HubClientBuilder(f(self.0))
    }
    /// The Hub endpoint.
    pub fn endpoint(self, url: impl Into<String>) -> Self {
        HubClientBuilder(self.0.endpoint(url))
    }
    /// The cache directory.
    pub fn cache_dir(self, dir: impl Into<std::path::PathBuf>) -> Self {
        HubClientBuilder(self.0.cache_dir(dir))
    }
    /// An explicit token.
    pub fn token(self, token: impl Into<crate::Token>) -> Self {
        HubClientBuilder(self.0.token(token))
    }
    /// Offline mode.
    pub fn offline(self, offline: bool) -> Self {
        HubClientBuilder(self.0.offline(offline))
    }
    /// Builds the client.
    pub fn build(self) -> Result<HubClient> {
        HubClient::from_settings(self.0.build()?)
    }
}

/// A repository of a [`HubClient`] at one revision. Cheap to clone.
#[derive(Clone, Debug)]
pub struct ApiRepo {
    hub: HubClient,
    id: String,
    repo_type: RepoType,
    revision: String,
}

impl ApiRepo {
    /// The same repository at another revision (branch, tag, commit id or `refs/pr/N`).
    pub fn revision(mut self, revision: impl Into<String>) -> Self {
        self.revision = revision.into();
        self
    }

    /// The validated repository (id, type, revision); `InvalidInput` before any request.
    pub fn repo(&self) -> Result<Repo> {
        validate_revision(&self.revision)?;
        Repo::new(RepoId::new(self.id.clone())?, self.repo_type)
            .with_revision(self.revision.clone())
    }

    /// The client.
    pub fn hub(&self) -> &HubClient {
        &self.hub
    }

    /// The id as given.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The repository type.
    pub fn repo_type(&self) -> RepoType {
        self.repo_type
    }

    /// The revision.
    pub fn revision_str(&self) -> &str {
        &self.revision
    }

    /// `{endpoint}/api/{types}/{id}`.
    pub(crate) fn api_url(&self, repo: &Repo) -> String {
        format!(
            "{}/api/{}/{}",
            self.hub.settings().endpoint(),
            repo.repo_type().plural(),
            repo.id()
        )
    }
}
