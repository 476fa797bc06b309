//! Parsing of request paths into the mirror's routes (hub.md §2.2).
//!
//! Paths are split on `/` while still percent-encoded, then each segment is decoded once, so an
//! encoded `/` inside a revision (`refs%2Fpr%2F1`) or a tree path stays part of its segment.

use percent_encoding::percent_decode_str;

use crate::repo::RepoType;

/// A repository named in a request: its type and its (decoded, not yet validated) id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RepoRef {
    pub repo_type: RepoType,
    pub id: String,
}

/// What a request asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Route {
    /// `{P}{repo}/resolve/{rev}/{path}`.
    Resolve {
        repo: RepoRef,
        rev: String,
        path: String,
    },
    /// `/api/{Ts}/{repo}[/revision/{rev}]`.
    RepoInfo { repo: RepoRef, rev: Option<String> },
    /// `/api/{Ts}/{repo}/tree/{rev}[/{path}]` (`path` empty for the root).
    Tree {
        repo: RepoRef,
        rev: String,
        path: String,
    },
    /// `/api/{Ts}/{repo}/paths-info/{rev}`.
    PathsInfo { repo: RepoRef, rev: String },
    /// `/api/{Ts}/{repo}/refs`.
    Refs { repo: RepoRef },
    /// `/api/{Ts}/{repo}/commits/{rev}`.
    Commits { repo: RepoRef, rev: String },
    /// `/api/{Ts}`.
    List { repo_type: RepoType },
    /// `/api/whoami-v2`.
    Whoami,
    /// `POST /api/repos/create`.
    CreateRepo,
    /// `DELETE /api/repos/delete`.
    DeleteRepo,
    /// `POST /api/repos/move`.
    MoveRepo,
    /// `POST /api/validate-yaml`.
    ValidateYaml,
    /// `PUT /api/{Ts}/{repo}/settings`.
    Settings { repo: RepoRef },
    /// `POST`/`DELETE /api/{Ts}/{repo}/branch/{name}`.
    Branch { repo: RepoRef, name: String },
    /// `POST /api/{Ts}/{repo}/tag/{rev}`, `DELETE …/tag/{tag}`.
    Tag { repo: RepoRef, name: String },
    /// `POST /api/{Ts}/{repo}/preupload/{rev}`.
    Preupload { repo: RepoRef, rev: String },
    /// `POST /api/{Ts}/{repo}/commit/{rev}`.
    Commit { repo: RepoRef, rev: String },
    /// `POST {P}{repo}.git/info/lfs/objects/batch`.
    LfsBatch { repo: RepoRef },
    /// `POST {P}{repo}.git/info/lfs/objects/verify`.
    LfsVerify { repo: RepoRef },
    /// `PUT /lfs-upload/{id}`: a basic upload.
    LfsUpload { id: String },
    /// `PUT /lfs-upload/{id}/part/{n}`: one part of a multipart upload.
    LfsPart { id: String, part: u64 },
    /// `POST /lfs-upload/{id}/complete`: the completion of a multipart upload.
    LfsComplete { id: String },
    /// A segment was not valid percent-encoded UTF-8.
    BadEncoding,
    /// Nothing the mirror serves.
    Unknown,
}

impl Route {
    /// Whether the route writes (needs `allow_writes` and, when one is set, the token).
    pub fn is_write(&self) -> bool {
        matches!(
            self,
            Route::CreateRepo
                | Route::DeleteRepo
                | Route::MoveRepo
                | Route::Settings { .. }
                | Route::Branch { .. }
                | Route::Tag { .. }
                | Route::Preupload { .. }
                | Route::Commit { .. }
                | Route::LfsBatch { .. }
                | Route::LfsVerify { .. }
                | Route::LfsUpload { .. }
                | Route::LfsPart { .. }
                | Route::LfsComplete { .. }
        )
    }

    /// Whether `method` is accepted by the route.
    pub fn allows(&self, method: &axum::http::Method) -> bool {
        use axum::http::Method as M;
        match self {
            Route::DeleteRepo => method == M::DELETE,
            Route::Settings { .. } | Route::LfsUpload { .. } | Route::LfsPart { .. } => {
                method == M::PUT
            }
            Route::Branch { .. } | Route::Tag { .. } => method == M::POST || method == M::DELETE,
            Route::CreateRepo
            | Route::MoveRepo
            | Route::ValidateYaml
            | Route::Preupload { .. }
            | Route::Commit { .. }
            | Route::LfsBatch { .. }
            | Route::LfsVerify { .. }
            | Route::LfsComplete { .. }
            | Route::PathsInfo { .. } => method == M::POST,
            _ => method == M::GET || method == M::HEAD,
        }
    }

    /// The repository the route concerns, if any.
    pub fn repo(&self) -> Option<&RepoRef> {
        match self {
            Route::Resolve { repo, .. }
            | Route::RepoInfo { repo, .. }
            | Route::Tree { repo, .. }
            | Route::PathsInfo { repo, .. }
            | Route::Refs { repo }
            | Route::Commits { repo, .. }
            | Route::Settings { repo }
            | Route::Branch { repo, .. }
            | Route::Tag { repo, .. }
            | Route::Preupload { repo, .. }
            | Route::Commit { repo, .. }
            | Route::LfsBatch { repo }
            | Route::LfsVerify { repo } => Some(repo),
            _ => None,
        }
    }
}

/// Parses a raw (still percent-encoded) request path.
pub(crate) fn parse(raw_path: &str) -> Route {
    let segs: Vec<&str> = raw_path.trim_start_matches('/').split('/').collect();
    match parse_segments(&segs) {
        Ok(route) => route,
        Err(BadEncoding) => Route::BadEncoding,
    }
}

struct BadEncoding;

fn decode(seg: &str) -> Result<String, BadEncoding> {
    percent_decode_str(seg)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| BadEncoding)
}

/// Decodes each segment and joins them with `/`.
fn decode_path(segs: &[&str]) -> Result<String, BadEncoding> {
    let parts = segs
        .iter()
        .map(|s| decode(s))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(parts.join("/"))
}

fn parse_segments(segs: &[&str]) -> Result<Route, BadEncoding> {
    match segs {
        ["api", "whoami-v2"] => Ok(Route::Whoami),
        ["api", "repos", "create"] => Ok(Route::CreateRepo),
        ["api", "repos", "delete"] => Ok(Route::DeleteRepo),
        ["api", "repos", "move"] => Ok(Route::MoveRepo),
        ["api", "validate-yaml"] => Ok(Route::ValidateYaml),
        ["lfs-upload", id] => Ok(Route::LfsUpload { id: decode(id)? }),
        ["lfs-upload", id, "part", n] => Ok(match n.parse::<u64>() {
            Ok(part) => Route::LfsPart {
                id: decode(id)?,
                part,
            },
            Err(_) => Route::Unknown,
        }),
        ["lfs-upload", id, "complete"] => Ok(Route::LfsComplete { id: decode(id)? }),
        ["api", ts] => {
            Ok(repo_type(ts).map_or(Route::Unknown, |repo_type| Route::List { repo_type }))
        }
        ["api", ts, rest @ ..] => match repo_type(ts) {
            Some(t) => with_repo(t, rest, api_route),
            None => Ok(Route::Unknown),
        },
        ["datasets", rest @ ..] => with_repo(RepoType::Dataset, rest, file_route),
        ["spaces", rest @ ..] => with_repo(RepoType::Space, rest, file_route),
        rest => with_repo(RepoType::Model, rest, file_route),
    }
}

fn repo_type(ts: &str) -> Option<RepoType> {
    match ts {
        "models" => Some(RepoType::Model),
        "datasets" => Some(RepoType::Dataset),
        "spaces" => Some(RepoType::Space),
        _ => None,
    }
}

type Tail = fn(RepoRef, &[&str]) -> Result<Route, BadEncoding>;

/// Reads the repository id as `ns/name` (two segments) and, when what follows is no known route,
/// as a bare `name` (one segment).
fn with_repo(repo_type: RepoType, segs: &[&str], tail: Tail) -> Result<Route, BadEncoding> {
    if let [ns, name, rest @ ..] = segs {
        let id = format!("{}/{}", decode(ns)?, decode(name)?);
        let route = tail(RepoRef { repo_type, id }, rest)?;
        if route != Route::Unknown {
            return Ok(route);
        }
    }
    if let [name, rest @ ..] = segs {
        let id = decode(name)?;
        return tail(RepoRef { repo_type, id }, rest);
    }
    Ok(Route::Unknown)
}

fn file_route(repo: RepoRef, rest: &[&str]) -> Result<Route, BadEncoding> {
    let git_repo = || RepoRef {
        repo_type: repo.repo_type,
        id: repo.id.strip_suffix(".git").unwrap_or(&repo.id).to_owned(),
    };
    match rest {
        ["info", "lfs", "objects", "batch"] if repo.id.ends_with(".git") => {
            Ok(Route::LfsBatch { repo: git_repo() })
        }
        ["info", "lfs", "objects", "verify"] if repo.id.ends_with(".git") => {
            Ok(Route::LfsVerify { repo: git_repo() })
        }
        ["resolve", rev, path @ ..] if !path.is_empty() => Ok(Route::Resolve {
            repo,
            rev: decode(rev)?,
            path: decode_path(path)?,
        }),
        _ => Ok(Route::Unknown),
    }
}

fn api_route(repo: RepoRef, rest: &[&str]) -> Result<Route, BadEncoding> {
    Ok(match rest {
        [] => Route::RepoInfo { repo, rev: None },
        ["revision", rev] => Route::RepoInfo {
            repo,
            rev: Some(decode(rev)?),
        },
        ["tree", rev] | ["tree", rev, ""] => Route::Tree {
            repo,
            rev: decode(rev)?,
            path: String::new(),
        },
        ["tree", rev, path @ ..] => Route::Tree {
            repo,
            rev: decode(rev)?,
            path: decode_path(path)?,
        },
        ["paths-info", rev] => Route::PathsInfo {
            repo,
            rev: decode(rev)?,
        },
        ["refs"] => Route::Refs { repo },
        ["settings"] => Route::Settings { repo },
        ["branch", name] => Route::Branch {
            repo,
            name: decode(name)?,
        },
        ["tag", name] => Route::Tag {
            repo,
            name: decode(name)?,
        },
        ["preupload", rev] => Route::Preupload {
            repo,
            rev: decode(rev)?,
        },
        ["commit", rev] => Route::Commit {
            repo,
            rev: decode(rev)?,
        },
        ["commits", rev] => Route::Commits {
            repo,
            rev: decode(rev)?,
        },
        _ => Route::Unknown,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(id: &str) -> RepoRef {
        RepoRef {
            repo_type: RepoType::Model,
            id: id.to_owned(),
        }
    }

    #[test]
    fn parses_file_routes() {
        assert_eq!(
            parse("/acme/tiny/resolve/refs%2Fpr%2F1/sub/a%20b.txt"),
            Route::Resolve {
                repo: model("acme/tiny"),
                rev: "refs/pr/1".into(),
                path: "sub/a b.txt".into()
            }
        );
        assert_eq!(
            parse("/datasets/acme/data/resolve/main/x.csv"),
            Route::Resolve {
                repo: RepoRef {
                    repo_type: RepoType::Dataset,
                    id: "acme/data".into()
                },
                rev: "main".into(),
                path: "x.csv".into()
            }
        );
        assert_eq!(
            parse("/gpt2/resolve/main/config.json"),
            Route::Resolve {
                repo: model("gpt2"),
                rev: "main".into(),
                path: "config.json".into()
            }
        );
        // Encoded separators and dots are decoded, to be refused later by path validation.
        assert_eq!(
            parse("/a/b/resolve/main/..%2F..%2Fetc%2Fpasswd"),
            Route::Resolve {
                repo: model("a/b"),
                rev: "main".into(),
                path: "../../etc/passwd".into()
            }
        );
        assert_eq!(parse("/a/b/resolve/main/%ff"), Route::BadEncoding);
        assert_eq!(parse("/a/b"), Route::Unknown);
        assert_eq!(parse("/"), Route::Unknown);
    }

    #[test]
    fn parses_api_routes() {
        assert_eq!(parse("/api/whoami-v2"), Route::Whoami);
        assert_eq!(
            parse("/api/spaces"),
            Route::List {
                repo_type: RepoType::Space
            }
        );
        assert_eq!(
            parse("/api/models/acme/tiny"),
            Route::RepoInfo {
                repo: model("acme/tiny"),
                rev: None
            }
        );
        assert_eq!(
            parse("/api/models/acme/tiny/revision/refs%2Fpr%2F1"),
            Route::RepoInfo {
                repo: model("acme/tiny"),
                rev: Some("refs/pr/1".into())
            }
        );
        assert_eq!(
            parse("/api/models/acme/tiny/tree/main/sub%2Fdir"),
            Route::Tree {
                repo: model("acme/tiny"),
                rev: "main".into(),
                path: "sub/dir".into()
            }
        );
        assert_eq!(
            parse("/api/models/acme/tiny/tree/main"),
            Route::Tree {
                repo: model("acme/tiny"),
                rev: "main".into(),
                path: String::new()
            }
        );
        assert!(parse("/api/datasets/acme/data/paths-info/main").allows(&axum::http::Method::POST));
        assert_eq!(
            parse("/api/models/acme/tiny/refs"),
            Route::Refs {
                repo: model("acme/tiny")
            }
        );
        assert_eq!(
            parse("/api/models/gpt2/commits/main"),
            Route::Commits {
                repo: model("gpt2"),
                rev: "main".into()
            }
        );
        assert_eq!(parse("/api/things/acme/tiny"), Route::Unknown);
        assert_eq!(parse("/api/repos/create"), Route::CreateRepo);
        assert_eq!(
            parse("/api/models/acme/tiny/commit/refs%2Fpr%2F1"),
            Route::Commit {
                repo: model("acme/tiny"),
                rev: "refs/pr/1".into()
            }
        );
        assert_eq!(
            parse("/acme/tiny.git/info/lfs/objects/batch"),
            Route::LfsBatch {
                repo: model("acme/tiny")
            }
        );
        assert_eq!(
            parse("/datasets/acme/d.git/info/lfs/objects/verify"),
            Route::LfsVerify {
                repo: RepoRef {
                    repo_type: RepoType::Dataset,
                    id: "acme/d".into()
                }
            }
        );
        assert_eq!(
            parse("/lfs-upload/abc/part/3"),
            Route::LfsPart {
                id: "abc".into(),
                part: 3
            }
        );
    }
}
