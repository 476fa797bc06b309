//! The router: one handler that parses the raw path ([`routes::parse`]), checks the method and
//! hands the request to the route's handler; every answer gets an `X-Request-Id`.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header::AUTHORIZATION;
use axum::http::{HeaderMap, HeaderValue, Method};
use axum::response::{IntoResponse, Response};

use super::history::History;
use super::lfs::Uploads;
use super::respond::{ApiError, Query, json};
use super::revision::Revision;
use super::routes::{self, RepoRef, Route};
use super::store::Store;
use super::wire::{AccessToken, Whoami, WhoamiAuth};
use super::{api, files, lfs, writes};
use crate::repo::RepoId;

/// Largest request body read (paths-info forms).
const MAX_BODY: usize = 16 << 20;

/// Largest JSON or NDJSON body of the write routes (commits carry regular files inline).
const MAX_COMMIT_BODY: usize = 1 << 30;

/// State shared by all requests of one router.
#[derive(Debug)]
pub(crate) struct Shared {
    /// The repositories.
    pub store: Store,
    /// Entries per page of paginated lists.
    pub page_size: usize,
    /// The token `whoami-v2` accepts, if any (and that writes and private reads require).
    pub token: Option<String>,
    /// Repositories written through the API.
    pub history: History,
    /// Whether the write routes are served.
    pub allow_writes: bool,
    /// Files of at least this size are announced as LFS by preupload.
    pub lfs_threshold: u64,
    /// LFS objects larger than this are uploaded in parts of this size.
    pub multipart_chunk_size: u64,
    /// LFS uploads announced by the batch endpoint and not finished yet.
    pub uploads: Uploads,
    /// Base URL of a static file server over the root that LFS downloads are redirected to.
    pub cdn: Option<String>,
}

impl Shared {
    /// Whether the request carries the configured token (always true when none is configured).
    pub fn authorized(&self, headers: &HeaderMap) -> bool {
        let Some(expected) = &self.token else {
            return true;
        };
        headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .is_some_and(|given| same_secret(expected.as_bytes(), given.as_bytes()))
    }

    /// The repository `repo` at revision `rev` (`main` or its commit id for folder repositories;
    /// any branch, tag, `refs/pr/N` or commit id for written ones).
    pub async fn revision_at(
        &self,
        repo: &RepoRef,
        rev: &str,
    ) -> Result<(RepoId, Arc<Revision>), ApiError> {
        let id = RepoId::new(repo.id.as_str())
            .map_err(|e| ApiError::bad_request(format!("Invalid repo id: {e}")))?;
        if let Some(found) = self.history.revision(repo.repo_type, &id, rev).await? {
            return found
                .map(|r| (id, r))
                .ok_or_else(|| ApiError::revision_not_found(rev));
        }
        let revision = self
            .store
            .revision(repo.repo_type, &id)
            .await?
            .ok_or_else(ApiError::repo_not_found)?;
        if !revision.is_named(rev) {
            return Err(ApiError::revision_not_found(rev));
        }
        Ok((id, revision))
    }
}

/// The mirror's router over `shared`.
pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new().fallback(dispatch).with_state(shared)
}

async fn dispatch(State(shared): State<Arc<Shared>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let request_id = parts
        .headers
        .get("x-amzn-trace-id")
        .cloned()
        .unwrap_or_else(|| {
            HeaderValue::from_str(&uuid::Uuid::new_v4().to_string())
                .unwrap_or_else(|_| HeaderValue::from_static("hfkit-mirror"))
        });
    let route = routes::parse(parts.uri.path());
    let mut resp = handle(
        &shared,
        &parts.method,
        &parts.uri,
        &parts.headers,
        body,
        route,
    )
    .await
    .unwrap_or_else(IntoResponse::into_response);
    resp.headers_mut().insert("x-request-id", request_id);
    resp
}

async fn handle(
    shared: &Shared,
    method: &Method,
    uri: &axum::http::Uri,
    headers: &HeaderMap,
    body: Body,
    route: Route,
) -> Result<Response, ApiError> {
    match route {
        Route::Unknown => return Err(ApiError::no_route()),
        Route::BadEncoding => {
            return Err(ApiError::bad_request(
                "Invalid percent-encoding in the request path",
            ));
        }
        _ => {}
    }
    if !route.allows(method) {
        return Err(ApiError::method_not_allowed());
    }
    if route.is_write() {
        if !shared.allow_writes {
            return Err(ApiError::forbidden(
                "This mirror is read-only (start it with --allow-writes)",
            ));
        }
        let capability_url = matches!(
            route,
            Route::LfsUpload { .. } | Route::LfsPart { .. } | Route::LfsComplete { .. }
        );
        if !capability_url && !shared.authorized(headers) {
            return Err(ApiError::unauthorized());
        }
    }
    if let Some(repo) = route.repo()
        && !shared.authorized(headers)
        && let Ok(id) = RepoId::new(repo.id.as_str())
        && shared
            .history
            .meta(repo.repo_type, &id)
            .await?
            .is_some_and(|m| m.private)
    {
        return Err(ApiError::repo_not_found());
    }
    let read_body = |body: Body| async move {
        axum::body::to_bytes(body, MAX_COMMIT_BODY)
            .await
            .map_err(|e| ApiError::bad_request(format!("Unreadable request body: {e}")))
    };
    match route {
        Route::CreateRepo => writes::create_repo(shared, headers, &read_body(body).await?).await,
        Route::DeleteRepo => writes::delete_repo(shared, &read_body(body).await?).await,
        Route::MoveRepo => writes::move_repo(shared, headers, &read_body(body).await?).await,
        Route::ValidateYaml => writes::validate_yaml(),
        Route::Settings { repo } => writes::settings(shared, &repo, &read_body(body).await?).await,
        Route::Branch { repo, name } => {
            let bytes = read_body(body).await?;
            writes::branch(shared, method, &repo, &name, &bytes).await
        }
        Route::Tag { repo, name } => {
            let bytes = read_body(body).await?;
            writes::tag(shared, method, &repo, &name, &bytes).await
        }
        Route::Preupload { repo, rev } => {
            writes::preupload(shared, &repo, &rev, &read_body(body).await?).await
        }
        Route::Commit { repo, rev } => {
            let bytes = read_body(body).await?;
            writes::commit(shared, headers, uri, &repo, &rev, &bytes).await
        }
        Route::LfsBatch { repo } => {
            lfs::batch(shared, headers, &repo, &read_body(body).await?).await
        }
        Route::LfsVerify { repo } => lfs::verify(shared, &repo, &read_body(body).await?).await,
        Route::LfsUpload { id } => lfs::upload(shared, &id, body).await,
        Route::LfsPart { id, part } => lfs::part(shared, &id, part, body).await,
        Route::LfsComplete { id } => lfs::complete(shared, &id, &read_body(body).await?).await,
        Route::Resolve { repo, rev, path } => {
            files::resolve(shared, method, headers, &repo, &rev, &path).await
        }
        Route::RepoInfo { repo, rev } => {
            api::repo_info(shared, &repo, rev.as_deref(), &Query::of(uri)).await
        }
        Route::Tree { repo, rev, path } => {
            api::tree(shared, &repo, &rev, &path, uri, headers).await
        }
        Route::PathsInfo { repo, rev } => {
            let bytes = axum::body::to_bytes(body, MAX_BODY)
                .await
                .map_err(|e| ApiError::bad_request(format!("Unreadable request body: {e}")))?;
            api::paths_info(shared, &repo, &rev, &bytes).await
        }
        Route::Refs { repo } => api::refs(shared, &repo).await,
        Route::Commits { repo, rev } => api::commits(shared, &repo, &rev, uri, headers).await,
        Route::List { repo_type } => api::list(shared, repo_type, uri, headers).await,
        Route::Whoami => whoami(shared, headers),
        Route::Unknown | Route::BadEncoding => Err(ApiError::no_route()),
    }
}

/// `GET /api/whoami-v2`: a fixed user for the configured bearer token, else 401.
fn whoami(shared: &Shared, headers: &HeaderMap) -> Result<Response, ApiError> {
    let given = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    match (&shared.token, given) {
        (Some(expected), Some(given)) if same_secret(expected.as_bytes(), given.as_bytes()) => {
            json(&Whoami {
                kind: "user",
                name: "mirror-user",
                fullname: "Mirror User",
                email: None,
                orgs: Vec::new(),
                auth: WhoamiAuth {
                    access_token: AccessToken {
                        display_name: "mirror",
                        role: "write",
                    },
                },
            })
        }
        _ => Err(ApiError::unauthorized()),
    }
}

/// Compares two secrets in time independent of where they differ.
fn same_secret(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
