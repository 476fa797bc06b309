//! The JSON routes under `/api/{Ts}`: repository info, tree, paths-info, refs, commits and
//! repository listings (hub.md §2.2, §2.3).

use std::cmp::Ordering;
use std::collections::HashSet;
use std::time::SystemTime;

use axum::http::{HeaderMap, Uri};
use axum::response::Response;

use super::dispatch::Shared;
use super::hashing::sha1_lines;
use super::respond::{ApiError, Query, json, json_page, paginate};
use super::revision::Revision;
use super::routes::RepoRef;
use super::time::rfc3339;
use super::wire::{
    CommitAuthor, CommitItem, GitRef, LastCommit, Refs, RepoInfo, Sibling, SiblingLfs, TreeEntry,
};
use crate::repo::{RepoId, RepoType, validate_repo_path};

/// Title of the single commit each mirrored revision has.
const COMMIT_TITLE: &str = "Mirror snapshot";

/// `GET /api/{Ts}/{repo}[/revision/{rev}]`.
pub(crate) async fn repo_info(
    shared: &Shared,
    repo: &RepoRef,
    rev: Option<&str>,
    query: &Query,
) -> Result<Response, ApiError> {
    let (id, revision) = shared.revision_at(repo, rev.unwrap_or("main")).await?;
    let siblings = siblings(&revision, query.flag("blobs"));
    let mut answer = info(
        repo.repo_type,
        &id,
        Some(revision.commit()),
        revision.last_modified(),
        Some(siblings),
    );
    if let Some(meta) = shared.history.meta(repo.repo_type, &id).await? {
        answer.private = meta.private;
        answer.gated = meta
            .gated
            .is_some_and(|g| g != serde_json::Value::Bool(false));
    }
    json(&answer)
}

/// `GET /api/{Ts}/{repo}/tree/{rev}[/{path}]`.
pub(crate) async fn tree(
    shared: &Shared,
    repo: &RepoRef,
    rev: &str,
    path: &str,
    uri: &Uri,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    if !path.is_empty() {
        validate_repo_path(path)
            .map_err(|e| ApiError::bad_request(format!("Invalid path: {e}")))?;
    }
    let (_, revision) = shared.revision_at(repo, rev).await?;
    let query = Query::of(uri);
    let entries = revision
        .tree(path, query.flag("recursive"))
        .ok_or_else(|| ApiError::entry_not_found(revision.commit()))?;
    let last = query.flag("expand").then(|| last_commit(&revision));
    let entries: Vec<TreeEntry> = entries
        .into_iter()
        .map(|e| e.with_last_commit(last.clone()))
        .collect();
    let page = paginate(entries, query.get("cursor"), shared.page_size, None)?;
    json_page(&page, uri, headers)
}

/// `POST /api/{Ts}/{repo}/paths-info/{rev}` with a form (`paths=a&paths=b&expand=false`) or a
/// JSON (`{"paths": [...], "expand": false}`) body. Unknown paths are left out.
pub(crate) async fn paths_info(
    shared: &Shared,
    repo: &RepoRef,
    rev: &str,
    body: &[u8],
) -> Result<Response, ApiError> {
    let (paths, expand) = read_paths_body(body)?;
    let (_, revision) = shared.revision_at(repo, rev).await?;
    let last = expand.then(|| last_commit(&revision));
    let mut seen = HashSet::new();
    let entries: Vec<TreeEntry> = paths
        .iter()
        .filter(|p| validate_repo_path(p).is_ok() && seen.insert(p.as_str()))
        .filter_map(|p| revision.path_info(p))
        .map(|e| e.with_last_commit(last.clone()))
        .collect();
    json(&entries)
}

fn read_paths_body(body: &[u8]) -> Result<(Vec<String>, bool), ApiError> {
    if body.trim_ascii_start().starts_with(b"{") {
        #[derive(serde::Deserialize)]
        struct PathsBody {
            #[serde(default)]
            paths: Vec<String>,
            #[serde(default)]
            expand: bool,
        }
        let parsed: PathsBody = serde_json::from_slice(body)
            .map_err(|e| ApiError::bad_request(format!("Invalid JSON body: {e}")))?;
        return Ok((parsed.paths, parsed.expand));
    }
    let form = Query::parse(body);
    let paths = form.all("paths").map(str::to_owned).collect();
    Ok((paths, form.flag("expand")))
}

/// `GET /api/{Ts}/{repo}/refs`.
pub(crate) async fn refs(shared: &Shared, repo: &RepoRef) -> Result<Response, ApiError> {
    if let Ok(id) = RepoId::new(repo.id.as_str())
        && let Some(r) = shared.history.refs(repo.repo_type, &id).await?
    {
        let git = |prefix: &str, items: Vec<(String, String)>| -> Vec<GitRef> {
            items
                .into_iter()
                .map(|(name, target_commit)| GitRef {
                    git_ref: format!("{prefix}{name}"),
                    name,
                    target_commit,
                })
                .collect()
        };
        return json(&Refs {
            branches: git("refs/heads/", r.branches.into_iter().collect()),
            converts: Vec::new(),
            tags: git("refs/tags/", r.tags.into_iter().collect()),
            pull_requests: r
                .prs
                .into_iter()
                .map(|(n, c)| GitRef {
                    name: n.to_string(),
                    git_ref: format!("refs/pr/{n}"),
                    target_commit: c,
                })
                .collect(),
        });
    }
    let (_, revision) = shared.revision_at(repo, "main").await?;
    json(&Refs {
        branches: vec![GitRef {
            name: "main".to_owned(),
            git_ref: "refs/heads/main".to_owned(),
            target_commit: revision.commit().to_owned(),
        }],
        converts: Vec::new(),
        tags: Vec::new(),
        pull_requests: Vec::new(),
    })
}

/// `GET /api/{Ts}/{repo}/commits/{rev}`.
pub(crate) async fn commits(
    shared: &Shared,
    repo: &RepoRef,
    rev: &str,
    uri: &Uri,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    let (id, revision) = shared.revision_at(repo, rev).await?;
    let query = Query::of(uri);
    if revision.title().is_some() {
        let log = shared
            .history
            .log(repo.repo_type, &id, revision.commit())
            .await?;
        let items: Vec<CommitItem> = log
            .into_iter()
            .map(|m| CommitItem {
                date: rfc3339(m.date()),
                id: m.id,
                title: m.title,
                message: m.message,
                authors: vec![CommitAuthor {
                    user: "mirror-user".to_owned(),
                }],
            })
            .collect();
        let page = paginate(items, query.get("cursor"), shared.page_size, None)?;
        return json_page(&page, uri, headers);
    }
    let items = vec![CommitItem {
        id: revision.commit().to_owned(),
        title: COMMIT_TITLE.to_owned(),
        message: String::new(),
        date: rfc3339(revision.last_modified()),
        authors: vec![CommitAuthor {
            user: "hfkit-mirror".to_owned(),
        }],
    }];
    let page = paginate(items, query.get("cursor"), shared.page_size, None)?;
    json_page(&page, uri, headers)
}

/// `GET /api/{Ts}`: `search`, `author`, `filter`, `sort`, `direction`, `limit`, `full`, `cursor`.
pub(crate) async fn list(
    shared: &Shared,
    repo_type: RepoType,
    uri: &Uri,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    let query = Query::of(uri);
    let search = query.get("search").map(str::to_lowercase);
    let author = query.get("author").map(str::to_lowercase);
    // The mirror knows no tags: any tag filter matches nothing.
    let filtered_by_tag = query.all("filter").any(|f| !f.is_empty());
    let mut repos = shared.store.list(repo_type).await?;
    let authorized = shared.authorized(headers);
    for (id, last_modified) in shared.history.list(repo_type).await? {
        let private = shared
            .history
            .meta(repo_type, &id)
            .await?
            .is_some_and(|m| m.private);
        if (authorized || !private) && !repos.iter().any(|r| r.id == id) {
            repos.push(super::store::RepoSummary { id, last_modified });
        }
    }
    repos.retain(|r| {
        !filtered_by_tag
            && search
                .as_deref()
                .is_none_or(|s| r.id.as_str().to_lowercase().contains(s))
            && author
                .as_deref()
                .is_none_or(|a| r.id.namespace().is_some_and(|ns| ns.to_lowercase() == a))
    });
    let (by_time, descending) = sort_order(&query)?;
    repos.sort_by(|a, b| {
        let primary = if by_time {
            a.last_modified.cmp(&b.last_modified)
        } else {
            Ordering::Equal
        };
        let primary = if descending {
            primary.reverse()
        } else {
            primary
        };
        let by_id = a.id.as_str().cmp(b.id.as_str());
        primary.then(if descending && !by_time {
            by_id.reverse()
        } else {
            by_id
        })
    });
    let page = paginate(
        repos,
        query.get("cursor"),
        shared.page_size,
        query.usize("limit")?,
    )?;
    let full = query.flag("full");
    let mut items = Vec::with_capacity(page.items.len());
    for summary in &page.items {
        if full {
            let repo = RepoRef {
                repo_type,
                id: summary.id.as_str().to_owned(),
            };
            // A repository removed since the listing is simply left out.
            if let Ok((id, revision)) = shared.revision_at(&repo, "main").await {
                items.push(info(
                    repo_type,
                    &id,
                    Some(revision.commit()),
                    revision.last_modified(),
                    Some(siblings(&revision, false)),
                ));
            }
        } else {
            items.push(info(
                repo_type,
                &summary.id,
                None,
                summary.last_modified,
                None,
            ));
        }
    }
    let page = super::respond::Page {
        items,
        next_cursor: page.next_cursor,
    };
    json_page(&page, uri, headers)
}

/// `(sort by modification time, descending)` from `sort` and `direction`. Counts the mirror does
/// not keep (downloads, likes, trending) are all zero, which leaves the order by id.
fn sort_order(query: &Query) -> Result<(bool, bool), ApiError> {
    let sort = query.get("sort").unwrap_or("id");
    let by_time = matches!(
        sort,
        "lastModified" | "last_modified" | "createdAt" | "created_at"
    );
    let descending = match query.get("direction") {
        Some("-1") => true,
        Some("1") => false,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "Invalid value for direction: {other}"
            )));
        }
        None => sort != "id",
    };
    Ok((by_time, descending))
}

/// The repository info object.
fn info(
    repo_type: RepoType,
    id: &RepoId,
    sha: Option<&str>,
    last_modified: SystemTime,
    siblings: Option<Vec<Sibling>>,
) -> RepoInfo {
    let key = format!("{}/{}", repo_type.plural(), id.as_str());
    let object_id = sha1_lines([key.as_str()])[..24].to_owned();
    RepoInfo {
        object_id,
        id: id.as_str().to_owned(),
        model_id: (repo_type == RepoType::Model).then(|| id.as_str().to_owned()),
        author: id.namespace().unwrap_or_default().to_owned(),
        sha: sha.map(str::to_owned),
        last_modified: rfc3339(last_modified),
        private: false,
        gated: false,
        disabled: false,
        tags: Vec::new(),
        downloads: 0,
        likes: 0,
        siblings,
    }
}

/// `siblings`, with sizes, blob ids and LFS details when `blobs` is set.
fn siblings(revision: &Revision, blobs: bool) -> Vec<Sibling> {
    revision
        .files()
        .iter()
        .map(|f| Sibling {
            rfilename: f.path.clone(),
            size: blobs.then_some(f.size),
            blob_id: blobs.then(|| f.oid.clone()),
            lfs: if blobs {
                f.lfs.as_ref().map(|l| SiblingLfs {
                    sha256: l.sha256.clone(),
                    size: f.size,
                    pointer_size: l.pointer_size,
                })
            } else {
                None
            },
        })
        .collect()
}

fn last_commit(revision: &Revision) -> LastCommit {
    LastCommit {
        id: revision.commit().to_owned(),
        title: revision.title().unwrap_or(COMMIT_TITLE).to_owned(),
        date: rfc3339(revision.last_modified()),
    }
}
