//! The router: one handler that parses the raw path ([`routes::parse`]), checks the method and
//! hands the request to the route's handler; every answer gets an `X-Request-Id`.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header::AUTHORIZATION;
use axum::http::{HeaderMap, HeaderValue, Method};
use axum::response::{IntoResponse, Response};

use super::respond::{ApiError, Query, json};
use super::revision::Revision;
use super::routes::{self, RepoRef, Route};
use super::store::Store;
use super::wire::{AccessToken, Whoami, WhoamiAuth};
use super::{api, files};
use crate::repo::RepoId;

/// Largest request body read (paths-info forms).
const MAX_BODY: usize = 16 << 20;

/// State shared by all requests of one router.
#[derive(Debug)]
pub(crate) struct Shared {
    /// The repositories.
    pub store: Store,
    /// Entries per page of paginated lists.
    pub page_size: usize,
    /// The token `whoami-v2` accepts, if any.
    pub token: Option<String>,
}

impl Shared {
    /// The repository `repo` at revision `rev` (`main` or its commit id).
    pub async fn revision_at(
        &self,
        repo: &RepoRef,
        rev: &str,
    ) -> Result<(RepoId, Arc<Revision>), ApiError> {
        let id = RepoId::new(repo.id.as_str())
            .map_err(|e| ApiError::bad_request(format!("Invalid repo id: {e}")))?;
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
    let allowed = if route.is_post() {
        method == Method::POST
    } else {
        method == Method::GET || method == Method::HEAD
    };
    if !allowed {
        return Err(ApiError::method_not_allowed());
    }
    match route {
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
