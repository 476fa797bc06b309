//! Repository management (hub.md §6.1, §2.2): create, delete, move, settings, branches and tags.
//!
//! ```no_run
//! # async fn demo() -> hfkit::Result<()> {
//! use hfkit::hub::repos::CreateRepo;
//! use hfkit::RepoType;
//! let hub = hfkit::HubClient::new()?;
//! let url = hub
//!     .create_repo(CreateRepo::new("me/my-model").private(true).exist_ok(true))
//!     .await?;
//! println!("{}", url.url);
//! hub.model("me/my-model").create_branch("dev", None, true).await?;
//! hub.delete_repo("me/my-model", RepoType::Model, false).await?;
//! # Ok(()) }
//! ```

use std::time::Duration;

use reqwest::Method;
use serde_json::{Map, Value, json};

use super::{ApiRepo, HubClient};
use crate::error::{Error, Result};
use crate::http::response::{self, ErrorScope};
use crate::repo::{RepoId, RepoType, encode_revision, validate_revision};

/// How often a `409 … conflicting operation is in progress` answer to a creation is retried.
const CONFLICT_RETRIES: u32 = 5;

/// What to create: see [`HubClient::create_repo`].
#[derive(Debug, Clone, Default)]
pub struct CreateRepo {
    /// `name` or `namespace/name`.
    pub repo_id: String,
    /// The type; `None` sends no `type` (a model).
    pub repo_type: Option<RepoType>,
    /// Visibility; `None` leaves the namespace default.
    pub private: Option<bool>,
    /// An existing repository is a success (its URL is returned).
    pub exist_ok: bool,
    /// The SDK of a Space (`gradio`, `streamlit`, `docker`, `static`).
    pub space_sdk: Option<String>,
}

impl CreateRepo {
    /// A model repository named `repo_id`, namespace default visibility, failing if it exists.
    pub fn new(repo_id: impl Into<String>) -> Self {
        CreateRepo {
            repo_id: repo_id.into(),
            ..Default::default()
        }
    }

    /// The repository type.
    pub fn repo_type(mut self, t: RepoType) -> Self {
        self.repo_type = Some(t);
        self
    }

    /// Private (`true`) or public (`false`).
    pub fn private(mut self, yes: bool) -> Self {
        self.private = Some(yes);
        self
    }

    /// Whether an existing repository counts as success.
    pub fn exist_ok(mut self, yes: bool) -> Self {
        self.exist_ok = yes;
        self
    }

    /// The SDK of a Space.
    pub fn space_sdk(mut self, sdk: impl Into<String>) -> Self {
        self.space_sdk = Some(sdk.into());
        self
    }
}

/// The answer to a creation: the repository's web URL and id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoUrl {
    /// `{endpoint}/{prefix}{repo_id}`.
    pub url: String,
    /// `namespace/name` (as the server names it when it says).
    pub repo_id: String,
}

/// Who may download a repository after accepting its conditions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gated {
    /// Requests are accepted automatically.
    Auto,
    /// Requests are reviewed by the owners.
    Manual,
    /// Not gated.
    Off,
}

impl Gated {
    fn to_json(self) -> Value {
        match self {
            Gated::Auto => json!("auto"),
            Gated::Manual => json!("manual"),
            Gated::Off => json!(false),
        }
    }
}

/// `namespace` (or `null`) and `name` of an id.
fn name_and_org(id: &RepoId) -> (Value, String) {
    let org = id.namespace().map_or(Value::Null, |n| json!(n));
    (org, id.name().to_owned())
}

fn web_url(endpoint: &str, repo_type: RepoType, id: &str) -> String {
    format!("{endpoint}/{}{id}", repo_type.url_prefix())
}

fn repo_scope(repo_type: RepoType, id: &RepoId, creates: bool) -> ErrorScope {
    ErrorScope {
        repo: Some(format!("{}/{}", repo_type.plural(), id.as_str())),
        creates,
        ..ErrorScope::default()
    }
}

async fn read_body(resp: reqwest::Response, method: &str, url: &str) -> Result<Vec<u8>> {
    resp.bytes()
        .await
        .map(|b| b.to_vec())
        .map_err(|e| crate::http::body_error(&e, method, url))
}

impl HubClient {
    /// Creates a repository (`POST {E}/api/repos/create`). With `exist_ok`, a `409` (or a
    /// `401/402/403` on a repository the token can see) is a success.
    ///
    /// ```no_run
    /// # async fn demo() -> hfkit::Result<()> {
    /// use hfkit::hub::repos::CreateRepo;
    /// let hub = hfkit::HubClient::new()?;
    /// let space = hub
    ///     .create_repo(
    ///         CreateRepo::new("me/demo")
    ///             .repo_type(hfkit::RepoType::Space)
    ///             .space_sdk("gradio")
    ///             .exist_ok(true),
    ///     )
    ///     .await?;
    /// assert!(space.url.ends_with("/spaces/me/demo"));
    /// # Ok(()) }
    /// ```
    pub async fn create_repo(&self, req: CreateRepo) -> Result<RepoUrl> {
        let id = RepoId::new(req.repo_id.clone())?;
        let repo_type = req.repo_type.unwrap_or(RepoType::Model);
        if repo_type == RepoType::Space && req.space_sdk.is_none() {
            return Err(Error::InvalidInput(
                "creating a Space needs its SDK (gradio, streamlit, docker or static)".into(),
            ));
        }
        let (org, name) = name_and_org(&id);
        let mut body = Map::new();
        body.insert("name".into(), json!(name));
        body.insert("organization".into(), org);
        if let Some(p) = req.private {
            body.insert("private".into(), json!(p));
        }
        if let Some(t) = req.repo_type {
            body.insert("type".into(), json!(t.as_str()));
        }
        if let Some(sdk) = &req.space_sdk {
            body.insert("sdk".into(), json!(sdk));
        }
        let endpoint = self.settings().endpoint().to_owned();
        let url = format!("{endpoint}/api/repos/create");
        let scope = repo_scope(repo_type, &id, true);
        let fallback_url = web_url(&endpoint, repo_type, id.as_str());
        let mut attempt = 0;
        loop {
            let resp = self
                .http()
                .post(&url)?
                .json(&Value::Object(body.clone()))?
                .scope(scope.clone())
                .send_unchecked()
                .await?;
            let status = resp.status().as_u16();
            let headers = resp.headers().clone();
            let bytes = read_body(resp, "POST", &url).await?;
            let parsed: Option<Value> = serde_json::from_slice(&bytes).ok();
            let answer_url = parsed
                .as_ref()
                .and_then(|v| v.get("url"))
                .and_then(Value::as_str)
                .map(str::to_owned);
            if (200..300).contains(&status) {
                let repo_id = parsed
                    .as_ref()
                    .and_then(|v| v.get("name"))
                    .and_then(Value::as_str)
                    .unwrap_or(id.as_str())
                    .to_owned();
                return Ok(RepoUrl {
                    url: answer_url.unwrap_or(fallback_url),
                    repo_id,
                });
            }
            let err = response::error_from_parts(
                status,
                &headers,
                &bytes,
                "POST",
                &response::redact_url(&url),
                &scope,
            );
            let in_progress = status == 409
                && err
                    .server_message()
                    .is_some_and(|m| m.contains("conflicting operation"));
            if in_progress && attempt < CONFLICT_RETRIES {
                attempt += 1;
                tokio::time::sleep(Duration::from_millis(500 * u64::from(attempt))).await;
                continue;
            }
            if req.exist_ok && status == 409 && !in_progress {
                return Ok(RepoUrl {
                    url: answer_url.unwrap_or(fallback_url),
                    repo_id: id.as_str().to_owned(),
                });
            }
            if req.exist_ok && matches!(status, 401..=403) {
                // The token may lack the right to create in that namespace while the repository
                // already exists and is visible to it.
                if self.typed(id.as_str(), repo_type).info().await.is_ok() {
                    return Ok(RepoUrl {
                        url: fallback_url,
                        repo_id: id.as_str().to_owned(),
                    });
                }
            }
            return Err(err);
        }
    }

    /// Deletes a repository (`DELETE {E}/api/repos/delete`). With `missing_ok`, a repository
    /// that does not exist is no error.
    pub async fn delete_repo(
        &self,
        repo_id: &str,
        repo_type: RepoType,
        missing_ok: bool,
    ) -> Result<()> {
        let id = RepoId::new(repo_id)?;
        let (org, name) = name_and_org(&id);
        let url = format!("{}/api/repos/delete", self.settings().endpoint());
        let body = json!({"name": name, "organization": org, "type": repo_type.as_str()});
        let sent = self
            .http()
            .request(Method::DELETE, &url)?
            .json(&body)?
            .scope(repo_scope(repo_type, &id, false))
            .send()
            .await;
        match sent {
            Ok(_) => Ok(()),
            Err(Error::RepoNotFound { .. }) if missing_ok => Ok(()),
            Err(e) if missing_ok && e.status() == Some(404) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Renames or transfers a repository (`POST {E}/api/repos/move`); both ids need a namespace.
    pub async fn move_repo(&self, from: &str, to: &str, repo_type: RepoType) -> Result<RepoUrl> {
        let from_id = RepoId::new(from)?;
        let to_id = RepoId::new(to)?;
        for id in [&from_id, &to_id] {
            if id.namespace().is_none() {
                return Err(Error::InvalidInput(format!(
                    "moving a repository needs namespaced ids (`namespace/name`), got {:?}",
                    id.as_str()
                )));
            }
        }
        let url = format!("{}/api/repos/move", self.settings().endpoint());
        let body = json!({"fromRepo": from_id.as_str(), "toRepo": to_id.as_str(), "type": repo_type.as_str()});
        self.http()
            .post(&url)?
            .json(&body)?
            .scope(repo_scope(repo_type, &from_id, true))
            .send()
            .await?;
        Ok(RepoUrl {
            url: web_url(self.settings().endpoint(), repo_type, to_id.as_str()),
            repo_id: to_id.as_str().to_owned(),
        })
    }
}

impl ApiRepo {
    /// Changes visibility and/or gating (`PUT …/settings`); `None` leaves a setting alone.
    pub async fn update_repo_settings(
        &self,
        private: Option<bool>,
        gated: Option<Gated>,
    ) -> Result<()> {
        let repo = self.repo()?;
        let mut body = Map::new();
        if let Some(p) = private {
            body.insert(
                "visibility".into(),
                json!(if p { "private" } else { "public" }),
            );
        }
        if let Some(g) = gated {
            body.insert("gated".into(), g.to_json());
        }
        if body.is_empty() {
            return Err(Error::InvalidInput(
                "update_repo_settings: nothing to change (give `private` and/or `gated`)".into(),
            ));
        }
        let url = format!("{}/settings", self.api_url(&repo));
        self.hub()
            .http()
            .request(Method::PUT, &url)?
            .json(&Value::Object(body))?
            .scope(repo_scope(repo.repo_type(), repo.id(), false))
            .send()
            .await?;
        Ok(())
    }

    /// Creates branch `name` at `starting_point` (default: the head of `main`). With `exist_ok`
    /// an existing branch is no error.
    pub async fn create_branch(
        &self,
        name: &str,
        starting_point: Option<&str>,
        exist_ok: bool,
    ) -> Result<()> {
        let repo = self.repo()?;
        validate_revision(name)?;
        let mut body = Map::new();
        if let Some(s) = starting_point {
            validate_revision(s)?;
            body.insert("startingPoint".into(), json!(s));
        }
        let url = format!("{}/branch/{}", self.api_url(&repo), encode_revision(name));
        let sent = self
            .hub()
            .http()
            .post(&url)?
            .json(&Value::Object(body))?
            .scope(repo_scope(repo.repo_type(), repo.id(), true))
            .send()
            .await;
        match sent {
            Err(Error::Conflict(_)) if exist_ok => Ok(()),
            other => other.map(|_| ()),
        }
    }

    /// Deletes branch `name`.
    pub async fn delete_branch(&self, name: &str) -> Result<()> {
        let repo = self.repo()?;
        validate_revision(name)?;
        let url = format!("{}/branch/{}", self.api_url(&repo), encode_revision(name));
        self.hub()
            .http()
            .request(Method::DELETE, &url)?
            .scope(repo_scope(repo.repo_type(), repo.id(), false))
            .send()
            .await?;
        Ok(())
    }

    /// Tags this handle's revision as `tag` (`POST …/tag/{rev}`). With `exist_ok` an existing
    /// tag is no error.
    pub async fn create_tag(&self, tag: &str, message: Option<&str>, exist_ok: bool) -> Result<()> {
        let repo = self.repo()?;
        validate_revision(tag)?;
        let mut body = Map::new();
        body.insert("tag".into(), json!(tag));
        if let Some(m) = message {
            body.insert("message".into(), json!(m));
        }
        let url = format!(
            "{}/tag/{}",
            self.api_url(&repo),
            encode_revision(repo.revision())
        );
        let sent = self
            .hub()
            .http()
            .post(&url)?
            .json(&Value::Object(body))?
            .scope(repo_scope(repo.repo_type(), repo.id(), true))
            .send()
            .await;
        match sent {
            Err(Error::Conflict(_)) if exist_ok => Ok(()),
            other => other.map(|_| ()),
        }
    }

    /// Deletes tag `tag`.
    pub async fn delete_tag(&self, tag: &str) -> Result<()> {
        let repo = self.repo()?;
        validate_revision(tag)?;
        let url = format!("{}/tag/{}", self.api_url(&repo), encode_revision(tag));
        self.hub()
            .http()
            .request(Method::DELETE, &url)?
            .scope(repo_scope(repo.repo_type(), repo.id(), false))
            .send()
            .await?;
        Ok(())
    }
}
