//! Searching the Hub: `GET /api/models`, `/api/datasets`, `/api/spaces` (hub.md §8.2), as lazy
//! streams of [`RepoInfo`] that follow the `Link` pagination.
//!
//! ```no_run
//! # async fn demo() -> hfkit::Result<()> {
//! use futures::TryStreamExt;
//! use hfkit::hub::listing::ListQuery;
//!
//! let hub = hfkit::HubClient::new()?;
//! let query = ListQuery::default().search("bert").author("google").sort("downloads").limit(5);
//! let models: Vec<_> = hub.list_models(query).try_collect().await?;
//! for m in &models {
//!     println!("{} ({:?} downloads)", m.id, m.downloads);
//! }
//! # Ok(()) }
//! ```

use futures::Stream;

use crate::error::{Error, Result};
use crate::http::ErrorScope;
use crate::hub::HubClient;
use crate::hub::paginate::walk;
use crate::hub::types::RepoInfo;
use crate::repo::RepoType;

/// A search of models, datasets or Spaces. Every field is optional; unset ones are not sent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListQuery {
    /// Substring of the repository id (`search=`).
    pub search: Option<String>,
    /// Owner (user or organisation) (`author=`).
    pub author: Option<String>,
    /// Tags every result must have (`filter=`, repeated), e.g. `text-classification`, `dataset:imagenet`.
    pub filter: Vec<String>,
    /// Sort key: `downloads`, `likes`, `lastModified`, `createdAt` or `trendingScore` (Python's
    /// `last_modified`, `created_at`, `trending_score` are accepted too).
    pub sort: Option<String>,
    /// `-1` sorts descending (`direction=`, an older API parameter).
    pub direction: Option<i32>,
    /// The most results to yield; also sent as `limit=` so pages are no larger than needed.
    pub limit: Option<usize>,
    /// All fields of each result, the file list included (`full=true`).
    pub full: bool,
    /// Only these fields of each result (`expand=`, repeated); exclusive with `full`, `card_data`, `config`.
    pub expand: Vec<String>,
    /// Models of this task only (`pipeline_tag=`).
    pub pipeline_tag: Option<String>,
    /// The card metadata of each result (`cardData=true`).
    pub card_data: bool,
    /// The `config.json` summary of each model (`config=true`).
    pub config: bool,
}

impl ListQuery {
    /// Results whose id contains `text`.
    pub fn search(mut self, text: impl Into<String>) -> Self {
        self.search = Some(text.into());
        self
    }
    /// Results owned by `author`.
    pub fn author(mut self, author: impl Into<String>) -> Self {
        self.author = Some(author.into());
        self
    }
    /// Results with this tag (repeatable).
    pub fn filter(mut self, tag: impl Into<String>) -> Self {
        self.filter.push(tag.into());
        self
    }
    /// Sorted by `key`.
    pub fn sort(mut self, key: impl Into<String>) -> Self {
        self.sort = Some(key.into());
        self
    }
    /// Sort direction (`-1` = descending).
    pub fn direction(mut self, direction: i32) -> Self {
        self.direction = Some(direction);
        self
    }
    /// At most `n` results.
    pub fn limit(mut self, n: usize) -> Self {
        self.limit = Some(n);
        self
    }
    /// All fields of each result.
    pub fn full(mut self, yes: bool) -> Self {
        self.full = yes;
        self
    }
    /// One more field to return (repeatable).
    pub fn expand(mut self, field: impl Into<String>) -> Self {
        self.expand.push(field.into());
        self
    }
    /// Models of this task only.
    pub fn pipeline_tag(mut self, tag: impl Into<String>) -> Self {
        self.pipeline_tag = Some(tag.into());
        self
    }
    /// The card metadata of each result.
    pub fn card_data(mut self, yes: bool) -> Self {
        self.card_data = yes;
        self
    }
    /// The config summary of each model.
    pub fn config(mut self, yes: bool) -> Self {
        self.config = yes;
        self
    }

    /// The query parameters, in the order Python 2.4.0 sends them.
    ///
    /// ```
    /// use hfkit::hub::listing::ListQuery;
    /// let q = ListQuery::default().filter("text-classification").search("bert").sort("last_modified").limit(5);
    /// let pairs = q.to_query()?;
    /// assert_eq!(pairs[0], ("filter".to_owned(), "text-classification".to_owned()));
    /// assert!(pairs.contains(&("sort".to_owned(), "lastModified".to_owned())));
    /// assert!(ListQuery::default().full(true).expand("likes").to_query().is_err());
    /// # Ok::<(), hfkit::Error>(())
    /// ```
    pub fn to_query(&self) -> Result<Vec<(String, String)>> {
        if !self.expand.is_empty() && (self.full || self.card_data || self.config) {
            return Err(Error::InvalidInput(
                "`expand` cannot be combined with `full`, `card_data` or `config`".to_owned(),
            ));
        }
        let mut q: Vec<(String, String)> = Vec::new();
        let mut push = |k: &str, v: String| q.push((k.to_owned(), v));
        for f in &self.filter {
            push("filter", f.clone());
        }
        if let Some(a) = &self.author {
            push("author", a.clone());
        }
        if let Some(t) = &self.pipeline_tag {
            push("pipeline_tag", t.clone());
        }
        if let Some(s) = &self.search {
            push("search", s.clone());
        }
        if let Some(s) = &self.sort {
            let key = match s.as_str() {
                "last_modified" => "lastModified",
                "created_at" => "createdAt",
                "trending_score" => "trendingScore",
                other => other,
            };
            push("sort", key.to_owned());
        }
        if let Some(d) = self.direction {
            push("direction", d.to_string());
        }
        if let Some(l) = self.limit {
            push("limit", l.to_string());
        }
        if self.full {
            push("full", "true".to_owned());
        }
        if self.config {
            push("config", "true".to_owned());
        }
        if self.card_data {
            push("cardData", "true".to_owned());
        }
        for e in &self.expand {
            push("expand", e.clone());
        }
        Ok(q)
    }
}

impl HubClient {
    /// Models matching `q`, fetched page by page as the stream is read.
    pub fn list_models(&self, q: ListQuery) -> impl Stream<Item = Result<RepoInfo>> + Send + use<> {
        self.list_repos(RepoType::Model, &q)
    }

    /// Datasets matching `q`, fetched page by page as the stream is read.
    pub fn list_datasets(
        &self,
        q: ListQuery,
    ) -> impl Stream<Item = Result<RepoInfo>> + Send + use<> {
        self.list_repos(RepoType::Dataset, &q)
    }

    /// Spaces matching `q`, fetched page by page as the stream is read.
    pub fn list_spaces(&self, q: ListQuery) -> impl Stream<Item = Result<RepoInfo>> + Send + use<> {
        self.list_repos(RepoType::Space, &q)
    }

    fn list_repos(
        &self,
        repo_type: RepoType,
        q: &ListQuery,
    ) -> impl Stream<Item = Result<RepoInfo>> + Send + use<> {
        let url = format!("{}/api/{}", self.settings().endpoint(), repo_type.plural());
        let start = q
            .to_query()
            .map(|query| (url, query, ErrorScope::default()));
        walk(self.http().clone(), start, q.limit)
    }
}
