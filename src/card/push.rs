//! Pushing a card to the Hub (spec cards-and-mixin.md §3 "Push"): validation, then one commit
//! adding `README.md`.

use super::RepoCard;
use super::data::CardData;
use crate::error::Result;
use crate::hub::HubClient;
use crate::hub::commit::{CommitInfo, CommitOperation, CommitOptions};
use crate::repo::RepoType;

/// The commit title [`RepoCard::push_to_hub`] uses when none is given.
pub(crate) const DEFAULT_PUSH_MESSAGE: &str = "Upload README.md with hfkit";

/// Where and how [`RepoCard::push_to_hub`] commits a card.
///
/// ```
/// use hfkit::card::PushOptions;
/// let opts = PushOptions::default().revision("dev").create_pr(true);
/// assert_eq!(opts.revision.as_deref(), Some("dev"));
/// ```
#[derive(Debug, Clone, Default)]
pub struct PushOptions {
    /// The repository type (default: the card's own type, e.g. `model` for a `ModelCard`).
    pub repo_type: Option<RepoType>,
    /// The branch (or `refs/pr/N`) to commit to (default `main`).
    pub revision: Option<String>,
    /// The commit title (default `Upload README.md with hfkit`).
    pub commit_message: Option<String>,
    /// The commit description (default empty).
    pub commit_description: Option<String>,
    /// Open a pull request from `revision` instead of committing to it.
    pub create_pr: bool,
    /// The commit the branch head must be (5–40 hex digits); a moved head is a
    /// [`CommitConflict`](crate::Error::CommitConflict).
    pub parent_commit: Option<String>,
    /// Skip the Hub's YAML validation before the commit (the commit itself still checks an added
    /// `README.md`, as every commit does).
    pub skip_validation: bool,
}

impl PushOptions {
    /// The repository type.
    pub fn repo_type(mut self, t: RepoType) -> Self {
        self.repo_type = Some(t);
        self
    }

    /// The branch to commit to.
    pub fn revision(mut self, r: impl Into<String>) -> Self {
        self.revision = Some(r.into());
        self
    }

    /// The commit title.
    pub fn commit_message(mut self, m: impl Into<String>) -> Self {
        self.commit_message = Some(m.into());
        self
    }

    /// The commit description.
    pub fn commit_description(mut self, d: impl Into<String>) -> Self {
        self.commit_description = Some(d.into());
        self
    }

    /// Open a pull request.
    pub fn create_pr(mut self, yes: bool) -> Self {
        self.create_pr = yes;
        self
    }

    /// The expected parent commit.
    pub fn parent_commit(mut self, c: impl Into<String>) -> Self {
        self.parent_commit = Some(c.into());
        self
    }
}

impl<D: CardData> RepoCard<D> {
    /// Validates the card with the Hub (unless `opts.skip_validation`), then commits it as
    /// `README.md` of `repo_id`. Returns the commit, with the pull request's URL and number when
    /// `opts.create_pr` is set.
    ///
    /// ```no_run
    /// # async fn demo() -> hfkit::Result<()> {
    /// use hfkit::card::{ModelCard, PushOptions};
    /// let hub = hfkit::HubClient::new()?;
    /// let card: ModelCard = "---\nlicense: mit\n---\n# My model\n".parse()?;
    /// let info = card
    ///     .push_to_hub(&hub, "me/my-model", PushOptions::default().create_pr(true))
    ///     .await?;
    /// println!("{}", info.pr_url.unwrap_or(info.commit_url));
    /// # Ok(()) }
    /// ```
    pub async fn push_to_hub(
        &self,
        hub: &HubClient,
        repo_id: &str,
        opts: PushOptions,
    ) -> Result<CommitInfo> {
        let repo_type = opts.repo_type.unwrap_or(D::REPO_TYPE);
        let mut api = hub.typed(repo_id, repo_type);
        if let Some(r) = &opts.revision {
            api = api.revision(r.clone());
        }
        // Input errors (bad id or revision) before any request.
        api.repo()?;
        if !opts.skip_validation {
            self.validate_as(hub, repo_type).await?;
        }
        let mut commit = CommitOptions::new(
            opts.commit_message
                .unwrap_or_else(|| DEFAULT_PUSH_MESSAGE.to_owned()),
            vec![CommitOperation::add_bytes(
                "README.md",
                self.text().into_bytes(),
            )],
        )
        .create_pr(opts.create_pr);
        if let Some(d) = opts.commit_description {
            commit = commit.description(d);
        }
        if let Some(p) = opts.parent_commit {
            commit = commit.parent_commit(p);
        }
        api.create_commit(commit).await
    }

    /// The blocking twin of [`push_to_hub`](Self::push_to_hub).
    #[cfg(feature = "blocking")]
    pub fn push_to_hub_blocking(
        &self,
        hub: &crate::blocking::HubClient,
        repo_id: &str,
        opts: PushOptions,
    ) -> Result<CommitInfo>
    where
        D: Send + Sync + 'static,
    {
        hub.push_card(self, repo_id, opts)
    }
}
