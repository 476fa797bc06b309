//! Reading a repository without downloading it: metadata, file listings, refs, history and
//! existence checks (hub.md §2.2, §2.3), plus `whoami`. Paginated listings walk their pages with
//! [`crate::hub::paginate`].
//!
//! ```no_run
//! # async fn demo() -> hfkit::Result<()> {
//! use futures::TryStreamExt;
//! use hfkit::hub::info::TreeOptions;
//!
//! let hub = hfkit::HubClient::new()?;
//! let repo = hub.model("openai-community/gpt2");
//! let info = repo.info().await?;
//! println!("{} at {:?}: {} files", info.id, info.sha, info.siblings.len());
//! let onnx: Vec<_> = repo
//!     .list_tree(TreeOptions::default().path("onnx").recursive(true))
//!     .try_collect()
//!     .await?;
//! # let _ = onnx; Ok(()) }
//! ```

use futures::{Stream, TryStreamExt};

use crate::error::{Error, Result};
use crate::http::ErrorScope;
pub use crate::hub::paginate::parse_next_link;
use crate::hub::paginate::{Start, walk};
use crate::hub::types::{GitCommit, GitRefs, RepoInfo, TreeEntry, WhoAmI};
use crate::hub::{ApiRepo, HubClient};
use crate::repo::{Repo, encode_path, encode_revision, encode_segment, validate_repo_path};

/// What [`ApiRepo::info_with`] asks for besides the default answer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InfoOptions {
    /// Sizes, blob ids and LFS data of every file in `siblings` (`blobs=true`).
    pub blobs: bool,
    /// Only these fields (`expand=<field>`, repeated), e.g. `["downloads", "likes"]`.
    pub expand: Vec<String>,
    /// The security scan status of the repository (`securityStatus=true`).
    pub security_status: bool,
}

impl InfoOptions {
    /// Asks for file sizes and LFS data (`blobs=true`).
    pub fn blobs(mut self, yes: bool) -> Self {
        self.blobs = yes;
        self
    }
    /// Asks for one more field (`expand=<field>`).
    pub fn expand(mut self, field: impl Into<String>) -> Self {
        self.expand.push(field.into());
        self
    }
    /// Asks for the security scan status (`securityStatus=true`).
    pub fn security_status(mut self, yes: bool) -> Self {
        self.security_status = yes;
        self
    }
}

/// What [`ApiRepo::list_tree`] lists.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TreeOptions {
    /// The folder to list (the root when `None`).
    pub path: Option<String>,
    /// Lists sub-folders too.
    pub recursive: bool,
    /// Adds the last commit and security status of each entry (slower: 50 entries a page).
    pub expand: bool,
}

impl TreeOptions {
    /// Lists this folder instead of the root.
    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.path = Some(path.into());
        self
    }
    /// Lists sub-folders too.
    pub fn recursive(mut self, yes: bool) -> Self {
        self.recursive = yes;
        self
    }
    /// Adds the last commit and security status of each entry.
    pub fn expand(mut self, yes: bool) -> Self {
        self.expand = yes;
        self
    }
}

fn bool_str(b: bool) -> String {
    if b { "true" } else { "false" }.to_owned()
}

/// The error scope of a request about `repo` (and `path`).
fn scope_of(repo: &Repo, revision: Option<&str>, path: Option<&str>) -> ErrorScope {
    ErrorScope {
        repo: Some(repo.display_name()),
        revision: revision.map(str::to_owned),
        path: path.map(str::to_owned),
        ..ErrorScope::default()
    }
}

impl ApiRepo {
    /// The repository's metadata at this revision (`GET /api/{types}/{id}[/revision/{rev}]`).
    ///
    /// ```no_run
    /// # async fn demo() -> hfkit::Result<()> {
    /// let hub = hfkit::HubClient::new()?;
    /// let info = hub.model("openai-community/gpt2").info().await?;
    /// for name in info.file_names() {
    ///     println!("{name}");
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn info(&self) -> Result<RepoInfo> {
        self.info_with(InfoOptions::default()).await
    }

    /// The repository's metadata with extra fields or a trimmed answer (see [`InfoOptions`]).
    ///
    /// ```no_run
    /// # async fn demo() -> hfkit::Result<()> {
    /// use hfkit::hub::info::InfoOptions;
    /// let hub = hfkit::HubClient::new()?;
    /// let info = hub.model("openai-community/gpt2").info_with(InfoOptions::default().blobs(true)).await?;
    /// let total: u64 = info.siblings.iter().filter_map(|s| s.size).sum();
    /// # let _ = total; Ok(()) }
    /// ```
    pub async fn info_with(&self, opts: InfoOptions) -> Result<RepoInfo> {
        let repo = self.repo()?;
        self.fetch_info(&repo, Some(repo.revision()), &opts).await
    }

    /// `GET` of the info endpoint. `revision` `None` or `main` uses the plain URL (as Python does
    /// when no revision is given); any other gets `/revision/{encoded}`.
    async fn fetch_info(
        &self,
        repo: &Repo,
        revision: Option<&str>,
        opts: &InfoOptions,
    ) -> Result<RepoInfo> {
        let mut url = self.api_url(repo);
        if let Some(rev) = revision.filter(|r| *r != "main") {
            url.push_str("/revision/");
            url.push_str(&encode_revision(rev));
        }
        let mut query: Vec<(&str, String)> = Vec::new();
        if opts.security_status {
            query.push(("securityStatus", bool_str(true)));
        }
        if opts.blobs {
            query.push(("blobs", bool_str(true)));
        }
        for field in &opts.expand {
            query.push(("expand", field.clone()));
        }
        self.hub()
            .http()
            .get(&url)?
            .query(query)
            .retry()
            .scope(scope_of(repo, revision, None))
            .send_json()
            .await
    }

    /// Every file path of the revision (recursive listing, folders left out), sorted.
    pub async fn list_files(&self) -> Result<Vec<String>> {
        let mut files: Vec<String> = self
            .list_tree(TreeOptions::default().recursive(true))
            .try_filter_map(|e| async move { Ok(e.is_file().then_some(e.path)) })
            .try_collect()
            .await?;
        files.sort();
        Ok(files)
    }

    /// The entries of a folder (`GET …/tree/{rev}[/{path}]`), fetched page by page as the stream is
    /// read. An invalid id, revision or path is the stream's first and only item.
    ///
    /// ```no_run
    /// # async fn demo() -> hfkit::Result<()> {
    /// use futures::TryStreamExt;
    /// use hfkit::hub::info::TreeOptions;
    /// let hub = hfkit::HubClient::new()?;
    /// let mut tree = std::pin::pin!(hub.dataset("nyu-mll/glue").list_tree(TreeOptions::default().recursive(true)));
    /// while let Some(entry) = tree.try_next().await? {
    ///     println!("{} {}", entry.size, entry.path);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn list_tree(
        &self,
        opts: TreeOptions,
    ) -> impl Stream<Item = Result<TreeEntry>> + Send + use<> {
        walk(self.hub().http().clone(), self.tree_start(&opts), None)
    }

    fn tree_start(&self, opts: &TreeOptions) -> Start {
        let repo = self.repo()?;
        let path = opts
            .path
            .as_deref()
            .map(|p| p.trim_end_matches('/'))
            .filter(|p| !p.is_empty());
        if let Some(p) = path {
            validate_repo_path(p)?;
        }
        // Python 2.4.0 sends `quote(path_in_repo, safe="")`: `/` inside the path is encoded too.
        let mut url = format!(
            "{}/tree/{}",
            self.api_url(&repo),
            encode_revision(repo.revision())
        );
        if let Some(p) = path {
            url.push('/');
            url.push_str(&encode_segment(p));
        }
        let query = vec![
            ("recursive".to_owned(), bool_str(opts.recursive)),
            ("expand".to_owned(), bool_str(opts.expand)),
        ];
        Ok((url, query, scope_of(&repo, Some(repo.revision()), path)))
    }

    /// Details of some paths (`POST …/paths-info/{rev}`); paths that do not exist are left out of
    /// the answer. `expand` adds the last commit and security status.
    pub async fn paths_info(&self, paths: &[&str], expand: bool) -> Result<Vec<TreeEntry>> {
        let repo = self.repo()?;
        for p in paths {
            validate_repo_path(p)?;
        }
        if paths.is_empty() {
            return Ok(Vec::new());
        }
        let url = format!(
            "{}/paths-info/{}",
            self.api_url(&repo),
            encode_revision(repo.revision())
        );
        let mut form: Vec<(String, String)> = paths
            .iter()
            .map(|p| ("paths".to_owned(), (*p).to_owned()))
            .collect();
        form.push(("expand".to_owned(), bool_str(expand)));
        self.hub()
            .http()
            .post(&url)?
            .form(form)
            .retry()
            .scope(scope_of(&repo, Some(repo.revision()), None))
            .send_json()
            .await
    }

    /// Branches, tags, conversion refs and (with `include_prs`) pull-request refs (`GET …/refs`).
    pub async fn refs(&self, include_prs: bool) -> Result<GitRefs> {
        let repo = self.repo()?;
        let url = format!("{}/refs", self.api_url(&repo));
        let query: Vec<(&str, &str)> = if include_prs {
            vec![("include_prs", "1")]
        } else {
            Vec::new()
        };
        self.hub()
            .http()
            .get(&url)?
            .query(query)
            .retry()
            .scope(scope_of(&repo, None, None))
            .send_json()
            .await
    }

    /// The history of the revision, newest first (`GET …/commits/{rev}`), fetched page by page.
    pub fn commits(&self) -> impl Stream<Item = Result<GitCommit>> + Send + use<> {
        let start = self.repo().map(|repo| {
            let url = format!(
                "{}/commits/{}",
                self.api_url(&repo),
                encode_revision(repo.revision())
            );
            (
                url,
                Vec::new(),
                scope_of(&repo, Some(repo.revision()), None),
            )
        });
        walk(self.hub().http().clone(), start, None)
    }

    /// Whether `path` exists at this revision (`HEAD …/resolve/{rev}/{path}`). A missing file is
    /// `false`; a missing repository or revision, a gated repository, or any other failure is an
    /// error.
    pub async fn file_exists(&self, path: &str) -> Result<bool> {
        let repo = self.repo()?;
        validate_repo_path(path)?;
        let url = format!(
            "{}/{}{}/resolve/{}/{}",
            self.hub().settings().endpoint(),
            repo.repo_type().url_prefix(),
            repo.id(),
            encode_revision(repo.revision()),
            encode_path(path)
        );
        let sent = self
            .hub()
            .http()
            .head(&url)?
            .header_static("accept-encoding", "identity")
            .retry()
            .scope(scope_of(&repo, Some(repo.revision()), Some(path)))
            .send()
            .await;
        match sent {
            Ok(_) => Ok(true),
            Err(Error::EntryNotFound { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Whether this revision exists: `false` when the Hub says `RevisionNotFound`; a missing
    /// repository is an error.
    pub async fn revision_exists(&self) -> Result<bool> {
        match self.info().await {
            Ok(_) => Ok(true),
            Err(Error::RevisionNotFound { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Whether the repository exists (whatever the revision): `false` on `RepoNotFound`, `true`
    /// for a gated repository the token cannot read.
    pub async fn exists(&self) -> Result<bool> {
        let repo = self.repo()?;
        match self.fetch_info(&repo, None, &InfoOptions::default()).await {
            Ok(_) | Err(Error::GatedRepo { .. }) => Ok(true),
            Err(Error::RepoNotFound { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }
}

impl HubClient {
    /// The account behind the token (`GET /api/whoami-v2`). Without a token, fails with
    /// [`Error::TokenNotFound`] before any request.
    ///
    /// ```no_run
    /// # async fn demo() -> hfkit::Result<()> {
    /// let me = hfkit::HubClient::new()?.whoami().await?;
    /// println!("logged in as {}", me.name);
    /// # Ok(()) }
    /// ```
    pub async fn whoami(&self) -> Result<WhoAmI> {
        if self.settings().resolve_token().is_none() {
            return Err(Error::TokenNotFound);
        }
        let url = format!("{}/api/whoami-v2", self.settings().endpoint());
        self.http().get(&url)?.retry().send_json().await
    }
}
