//! The one error type of hfkit.
//!
//! Every fallible call returns [`Result<T>`], whose error is [`Error`]. The variants are meant to be
//! matched: a missing repository, a gated one, a rate limit and a broken connection are different
//! situations that call for different reactions. HTTP-derived variants carry an [`HttpContext`] with
//! the status, method, URL, the request id the server assigned and the server's own message, so a
//! report to the Hub's support can quote them. Tokens never appear in any message.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// A `Result` whose error is [`hfkit::Error`](Error).
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What the server said about a failed HTTP request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HttpContext {
    /// HTTP status code (0 when no response was received).
    pub status: u16,
    /// HTTP method of the request.
    pub method: String,
    /// The URL that was requested (query strings kept; tokens are never part of URLs).
    pub url: String,
    /// The request id (`X-Request-Id`, else `X-Amzn-Trace-Id`, else `X-Amz-Cf-Id`).
    pub request_id: Option<String>,
    /// The Hub's `X-Error-Code` header, e.g. `RepoNotFound`.
    pub error_code: Option<String>,
    /// The server's message, from `X-Error-Message` and/or the body, de-duplicated.
    pub server_message: Option<String>,
    /// The delay the server asked for before a retry (`Retry-After` or `RateLimit`), if any.
    pub retry_after: Option<Duration>,
}

impl fmt::Display for HttpContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.status != 0 {
            write!(f, "{} {} (status {})", self.method, self.url, self.status)?;
        } else {
            write!(f, "{} {}", self.method, self.url)?;
        }
        if let Some(m) = &self.server_message {
            write!(f, ": {m}")?;
        }
        if let Some(id) = &self.request_id {
            write!(f, " [request id: {id}]")?;
        }
        Ok(())
    }
}

/// Every error hfkit can return.
///
/// The enum is `#[non_exhaustive]`: match the variants you handle and keep a `_` arm.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The repository does not exist, or it is private and the token (if any) cannot see it —
    /// the Hub answers both the same way.
    #[error(
        "repository not found: {repo} (it does not exist, or it is private and your token cannot see it; check the id, the repo type and `hfkit whoami`) — {ctx}"
    )]
    RepoNotFound {
        /// The repository, as `type/id`.
        repo: String,
        /// The HTTP exchange.
        ctx: Box<HttpContext>,
    },
    /// The revision (branch, tag, commit or `refs/pr/N`) does not exist in the repository.
    #[error("revision not found: {revision} — {ctx}")]
    RevisionNotFound {
        /// The requested revision.
        revision: String,
        /// The HTTP exchange.
        ctx: Box<HttpContext>,
    },
    /// The file does not exist at that revision.
    #[error("file not found in the repository: {path} — {ctx}")]
    EntryNotFound {
        /// The repository path that is missing.
        path: String,
        /// The HTTP exchange.
        ctx: Box<HttpContext>,
    },
    /// The repository is gated: accept its conditions on the Hub with the account of your token.
    #[error(
        "access to {repo} is restricted: it is a gated repository; request access on its Hub page and use a token of an approved account — {ctx}"
    )]
    GatedRepo {
        /// The repository.
        repo: String,
        /// The HTTP exchange.
        ctx: Box<HttpContext>,
    },
    /// The repository has been disabled by its owner or the Hub.
    #[error("access to {repo} is disabled — {ctx}")]
    DisabledRepo {
        /// The repository.
        repo: String,
        /// The HTTP exchange.
        ctx: Box<HttpContext>,
    },
    /// 401: the token is missing, invalid or expired.
    #[error("unauthorized (401): the token is missing, invalid or expired — {0}")]
    Unauthorized(Box<HttpContext>),
    /// 403: the token is valid but lacks the permission.
    #[error("forbidden (403): the token lacks the permission for this action — {0}")]
    Forbidden(Box<HttpContext>),
    /// 400: the server rejected the request.
    #[error("bad request (400) — {0}")]
    BadRequest(Box<HttpContext>),
    /// 409 on creating a repository, branch or tag that already exists.
    #[error("conflict (409): it already exists — {0}")]
    Conflict(Box<HttpContext>),
    /// 409/412 on a commit: the branch moved since `parent_commit`.
    #[error("commit conflict: the branch head is not the expected parent commit — {0}")]
    CommitConflict(Box<HttpContext>),
    /// 416: the requested range cannot be served.
    #[error("range not satisfiable (416) — {0}")]
    RangeNotSatisfiable(Box<HttpContext>),
    /// 429: too many requests; retry after the given delay when the server said so.
    #[error("rate limited (429){} — {ctx}", retry_after.map(|d| format!(", retry after {} s", d.as_secs())).unwrap_or_default())]
    RateLimited {
        /// The delay the server asked for (`Retry-After` or `RateLimit`).
        retry_after: Option<Duration>,
        /// The HTTP exchange.
        ctx: Box<HttpContext>,
    },
    /// 503 while a model is being loaded by the inference service.
    #[error("model is loading{} — {ctx}", estimated_time.map(|t| format!(", estimated {t:.0} s")).unwrap_or_default())]
    ModelLoading {
        /// Seconds the service estimates the load will take.
        estimated_time: Option<f64>,
        /// The HTTP exchange.
        ctx: Box<HttpContext>,
    },
    /// An inference server refused or failed the request and said how (TGI/TEI `error_type`:
    /// `validation`, `generation`, `incomplete_generation`, `overloaded`, …; a 422 with a plain
    /// text body has none).
    #[error("inference request failed{} — {ctx}", error_type.as_deref().map(|t| format!(" ({t})")).unwrap_or_default())]
    Inference {
        /// The server's `error_type`, as sent (compare case-insensitively: TEI uses PascalCase).
        error_type: Option<String>,
        /// The HTTP exchange.
        ctx: Box<HttpContext>,
    },
    /// Any other HTTP error status.
    #[error("HTTP error — {0}")]
    Http(Box<HttpContext>),
    /// The connection failed (DNS, connect, reset, closed early).
    #[error("network error on {method} {url}: {message}")]
    Network {
        /// HTTP method.
        method: String,
        /// URL of the request.
        url: String,
        /// What failed.
        message: String,
    },
    /// The request or a read timed out.
    #[error("timed out on {method} {url} after {:.1} s", elapsed.as_secs_f64())]
    Timeout {
        /// HTTP method.
        method: String,
        /// URL of the request.
        url: String,
        /// How long the operation was given.
        elapsed: Duration,
    },
    /// Offline mode (`HF_HUB_OFFLINE=1` or `local_files_only`) forbids the network call that was needed.
    #[error(
        "offline mode is on (HF_HUB_OFFLINE or local_files_only) and {what} is not in the cache; unset HF_HUB_OFFLINE or download it first"
    )]
    Offline {
        /// What was wanted (e.g. `models/org/name@main: config.json`).
        what: String,
    },
    /// The file is not in the local cache and could not be fetched.
    #[error("{what} is not in the local cache and cannot be fetched: {reason}")]
    LocalEntryNotFound {
        /// What was wanted.
        what: String,
        /// Why it could not be fetched.
        reason: String,
    },
    /// The cached snapshot misses files its listing names.
    #[error(
        "the cached snapshot {path} is incomplete: missing {missing:?}; download it again online"
    )]
    IncompleteSnapshot {
        /// The snapshot folder.
        path: PathBuf,
        /// Files listed but absent.
        missing: Vec<String>,
    },
    /// The server's metadata for a file is missing a required header.
    #[error(
        "the server's answer for {url} lacks {missing}: cannot tell which version of the file it is"
    )]
    FileMetadata {
        /// The URL.
        url: String,
        /// The missing piece (e.g. `X-Repo-Commit`).
        missing: String,
    },
    /// A downloaded file does not have the announced size.
    #[error(
        "downloaded {url}: expected {expected} bytes, got {actual}; the partial file was deleted"
    )]
    SizeMismatch {
        /// The URL.
        url: String,
        /// Announced size.
        expected: u64,
        /// Received size.
        actual: u64,
    },
    /// A downloaded file's checksum does not match its etag.
    #[error(
        "downloaded {url}: checksum {actual} does not match the expected {expected}; the file was deleted"
    )]
    ChecksumMismatch {
        /// The URL.
        url: String,
        /// Expected digest (hex).
        expected: String,
        /// Actual digest (hex).
        actual: String,
    },
    /// The file is only available through the Xet protocol, which hfkit does not implement.
    #[error("{what} requires the Xet transfer protocol, which hfkit does not implement")]
    XetRequired {
        /// What needed Xet.
        what: String,
    },
    /// The LFS batch endpoint refused some objects of an upload (hub.md §6.4).
    #[error("the server refused the LFS objects {oids:?}: {message}")]
    LfsObject {
        /// The sha256 of every refused object.
        oids: Vec<String>,
        /// Each refusal as `oid: code message`, joined.
        message: String,
    },
    /// Waiting for a cache lock took longer than allowed.
    #[error("timed out after {:.0} s waiting for the lock {path}; another process is downloading the same file", waited.as_secs_f64())]
    CacheLockTimeout {
        /// The lock file.
        path: PathBuf,
        /// How long we waited.
        waited: Duration,
    },
    /// No token was found where one was required.
    #[error("no Hugging Face token found: set HF_TOKEN or run `hfkit login --token <token>`")]
    TokenNotFound,
    /// Input rejected before any request was sent.
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// A setting (environment variable or builder value) is invalid.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// The server sent something hfkit cannot understand.
    #[error("malformed response from {url}: {message}")]
    MalformedResponse {
        /// The URL.
        url: String,
        /// What was wrong.
        message: String,
    },
    /// A local file-system operation failed.
    #[error("{context}: {source}")]
    Io {
        /// What hfkit was doing, with the path.
        context: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// JSON (de)serialisation failed.
    #[error("JSON error ({context}): {source}")]
    Json {
        /// What was being parsed.
        context: String,
        /// The parser error.
        #[source]
        source: serde_json::Error,
    },
    /// A streamed response failed mid-way.
    #[error("stream error: {0}")]
    Stream(String),
    /// A repository card (`README.md`) or card template is invalid: bad YAML front matter,
    /// metadata that is not a mapping, an invalid `model-index`, a template error, or a card the
    /// Hub's validation rejected.
    #[error("invalid card{}: {message}", line.map(|l| format!(" (line {l})")).unwrap_or_default())]
    Card {
        /// The 1-based line of the card (or template) where the problem is, when known.
        line: Option<usize>,
        /// What is wrong.
        message: String,
    },
    /// A model's `config.json` (or the config given in its place) is not valid JSON or does not
    /// fit the model's config type.
    #[error("invalid model config {} (line {line}, column {column}): {message}", path.display())]
    InvalidConfig {
        /// The file (or a description of where the config came from).
        path: PathBuf,
        /// The 1-based line of the problem (0 when unknown).
        line: usize,
        /// The 1-based column of the problem (0 when unknown).
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// A model has no `config.json` and its config type cannot be built without one.
    #[error(
        "{what} has no config.json, and the model's config type cannot be built from `null` or `{{}}`"
    )]
    MissingConfig {
        /// Where the config was looked for (a folder, or `repo@revision`).
        what: String,
    },
    /// A string that looks like a local path (`/`, `./`, `../`, `~`, a drive letter, or a `\`)
    /// names no existing folder; the Hub was not asked.
    #[error(
        "local folder {} does not exist (it looks like a path, so it was not taken for a repo id)",
        path.display()
    )]
    LocalPathNotFound {
        /// The path as given.
        path: PathBuf,
    },
    /// A file name from a remote listing or index would leave the model's folder or is otherwise
    /// unusable (absolute, `..`, drive letter, UNC prefix, NUL, wrong extension).
    #[error("unsafe file name {name:?} in {context}: {reason}")]
    UnsafePath {
        /// The name as found.
        name: String,
        /// Where it was found (e.g. the index file).
        context: String,
        /// Why it was refused.
        reason: String,
    },
    /// A safetensors file is malformed, or a tensor in it is not what the model accepts.
    #[error("safetensors file {file}{}: {message}", tensor.as_deref().map(|t| format!(", tensor {t:?}")).unwrap_or_default())]
    Safetensors {
        /// The file.
        file: String,
        /// The tensor concerned, if any.
        tensor: Option<String>,
        /// What is wrong.
        message: String,
    },
}

impl Error {
    /// Wraps an I/O error with what hfkit was doing.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }

    /// Wraps a JSON error with what was being parsed.
    pub fn json(context: impl Into<String>, source: serde_json::Error) -> Self {
        Error::Json {
            context: context.into(),
            source,
        }
    }

    /// The HTTP status of the failed request, if the error came from an HTTP response.
    pub fn status(&self) -> Option<u16> {
        self.http_context().map(|c| c.status).filter(|s| *s != 0)
    }

    /// The request id the server assigned, if any.
    pub fn request_id(&self) -> Option<&str> {
        self.http_context().and_then(|c| c.request_id.as_deref())
    }

    /// The server's message, if any.
    pub fn server_message(&self) -> Option<&str> {
        self.http_context()
            .and_then(|c| c.server_message.as_deref())
    }

    /// The HTTP exchange behind this error, if it came from a response.
    pub fn http_context(&self) -> Option<&HttpContext> {
        match self {
            Error::RepoNotFound { ctx, .. }
            | Error::RevisionNotFound { ctx, .. }
            | Error::EntryNotFound { ctx, .. }
            | Error::GatedRepo { ctx, .. }
            | Error::DisabledRepo { ctx, .. }
            | Error::RateLimited { ctx, .. }
            | Error::ModelLoading { ctx, .. }
            | Error::Inference { ctx, .. } => Some(ctx),
            Error::Unauthorized(ctx)
            | Error::Forbidden(ctx)
            | Error::BadRequest(ctx)
            | Error::Conflict(ctx)
            | Error::CommitConflict(ctx)
            | Error::RangeNotSatisfiable(ctx)
            | Error::Http(ctx) => Some(ctx),
            _ => None,
        }
    }

    /// The inference server's `error_type`, if it sent one.
    pub fn error_type(&self) -> Option<&str> {
        match self {
            Error::Inference { error_type, .. } => error_type.as_deref(),
            _ => None,
        }
    }

    /// Whether a retry of the same request may succeed (hub.md §7: 408, 429, 500, 502, 503, 504,
    /// network errors, timeouts).
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Network { .. } | Error::Timeout { .. } | Error::RateLimited { .. } => true,
            Error::ModelLoading { .. } => true,
            Error::Http(ctx) => matches!(ctx.status, 408 | 500 | 502 | 503 | 504),
            _ => false,
        }
    }
}
