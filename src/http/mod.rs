//! The one request path of hfkit.
//!
//! [`HttpClient`] owns a single `reqwest::Client` and alone decides which user-agent is sent,
//! whether a token is attached (only to trusted origins, checked again at every redirect hop, since
//! hfkit follows redirects itself), how error responses become typed [`Error`]s and what is
//! retried. Offline mode is enforced here too: no socket is opened while it is on.

mod builder;
pub mod response;
pub mod retry;
mod token;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use reqwest::Method;
use reqwest::header::{self, HeaderMap, HeaderName, HeaderValue};
use url::Url;

use crate::auth::{Token, is_trusted, origin_of, same_origin};
use crate::config::Settings;
use crate::error::{Error, Result};
pub use builder::{RequestBuilder, check};
pub use response::ErrorScope;
pub use retry::RetryPolicy;

/// Header names built at compile time (a custom name given as `&str` is parsed on every use).
const X_AMZN_TRACE_ID: HeaderName = HeaderName::from_static("x-amzn-trace-id");
const X_HF_WARNING: HeaderName = HeaderName::from_static("x-hf-warning");
const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The most requests one redirect walk may make.
const MAX_HOPS: usize = 20;

/// Which token a request carries (always subject to the trusted-origin rule).
#[derive(Debug, Clone, Default)]
pub enum TokenMode {
    /// The client's resolved token (builder, `HF_TOKEN`, token file).
    #[default]
    Auto,
    /// This token.
    Explicit(Token),
    /// No token.
    Never,
}

/// How redirects are handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Redirects {
    /// Redirects are returned as they are.
    None,
    /// Follow redirects to the same or a trusted origin; stop at the first foreign one and return
    /// that redirect response (used to read file metadata).
    #[default]
    Trusted,
    /// Follow every redirect; the token is dropped on hops to untrusted origins.
    All,
}

/// A request body.
#[derive(Debug, Clone)]
pub enum Body {
    /// Raw bytes with a content type.
    Bytes(Bytes, Option<String>),
    /// A JSON document.
    Json(Bytes),
    /// An `application/x-www-form-urlencoded` form.
    Form(Vec<(String, String)>),
}

/// One HTTP request, before it is sent.
#[derive(Debug, Clone)]
pub struct Request {
    method: Method,
    url: Url,
    headers: HeaderMap,
    body: Option<Body>,
    token: TokenMode,
    redirects: Redirects,
    retry: Option<RetryPolicy>,
    timeout: Option<Duration>,
    trust_origin: bool,
    scope: ErrorScope,
}

struct Inner {
    client: reqwest::Client,
    /// The longest wait for any one read of a connection (`None`: unbounded).
    read_timeout: Option<Duration>,
    settings: Settings,
    user_agent: String,
    trusted: Vec<(String, String, u16)>,
    /// `X-HF-Warning` topics already logged (each is logged once per client).
    warned: std::sync::Mutex<std::collections::HashSet<String>>,
    /// The token file's content, re-read only when the file changes.
    tokens: token::TokenCache,
}

/// The shared HTTP client. Cheap to clone.
#[derive(Clone)]
pub struct HttpClient {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpClient")
            .field("user_agent", &self.inner.user_agent)
            .field("settings", &self.inner.settings)
            .finish()
    }
}

/// The version of the compiler that built hfkit.
pub const RUSTC_VERSION: &str = env!("HFKIT_RUSTC_VERSION");

impl HttpClient {
    /// Builds the client for `settings`.
    pub fn new(settings: Settings) -> Result<Self> {
        let user_agent = build_user_agent(&settings);
        let read_timeout = Some(settings.download_timeout);
        let client = build_reqwest(&settings, read_timeout)?;
        let mut trusted = Vec::new();
        for u in [
            settings.endpoint.as_str(),
            "https://huggingface.co",
            "https://hf.co",
        ] {
            if let Ok(u) = Url::parse(u) {
                trusted.push(origin_of(&u));
            }
        }
        Ok(HttpClient {
            inner: Arc::new(Inner {
                client,
                read_timeout,
                settings,
                user_agent,
                trusted,
                warned: Default::default(),
                tokens: Default::default(),
            }),
        })
    }

    /// The same client (settings, user-agent, trusted origins) with a connection pool of its own
    /// whose reads are bounded by `read_timeout` instead of the settings' download timeout
    /// (`None`: a connection may stay silent for any time, e.g. an LLM thinking before its first
    /// token; the caller bounds the wait itself).
    pub(crate) fn with_read_timeout(&self, read_timeout: Option<Duration>) -> Result<Self> {
        let i = &self.inner;
        Ok(HttpClient {
            inner: Arc::new(Inner {
                client: build_reqwest(&i.settings, read_timeout)?,
                read_timeout,
                settings: i.settings.clone(),
                user_agent: i.user_agent.clone(),
                trusted: i.trusted.clone(),
                warned: Default::default(),
                tokens: Default::default(),
            }),
        })
    }

    /// Adds origins (e.g. an inference router) that may receive the token.
    pub fn with_trusted_origins(settings: Settings, extra: &[&str]) -> Result<Self> {
        let me = Self::new(settings)?;
        let mut inner = Arc::try_unwrap(me.inner).unwrap_or_else(|arc| Inner {
            client: arc.client.clone(),
            read_timeout: arc.read_timeout,
            settings: arc.settings.clone(),
            user_agent: arc.user_agent.clone(),
            trusted: arc.trusted.clone(),
            warned: Default::default(),
            tokens: Default::default(),
        });
        for u in extra {
            if let Ok(u) = Url::parse(u) {
                inner.trusted.push(origin_of(&u));
            }
        }
        Ok(HttpClient {
            inner: Arc::new(inner),
        })
    }

    /// The same client (settings, user-agent, trusted origins) with a connection pool of its own.
    ///
    /// Pooled connections are driven by tasks of the runtime that opened them; a client handed to
    /// another runtime (the blocking twin's) must not reuse connections of a runtime that may be
    /// blocked waiting for it.
    pub fn fresh_pool(&self) -> Result<Self> {
        self.with_read_timeout(self.inner.read_timeout)
    }

    /// The settings this client was built with.
    pub fn settings(&self) -> &Settings {
        &self.inner.settings
    }

    /// The user-agent sent with every request.
    pub fn user_agent(&self) -> &str {
        &self.inner.user_agent
    }

    /// The underlying `reqwest` client (no redirects followed, no token attached).
    pub fn raw(&self) -> &reqwest::Client {
        &self.inner.client
    }

    /// The default retry policy of this client.
    pub fn retry_policy(&self) -> RetryPolicy {
        RetryPolicy::from_settings(&self.inner.settings)
    }

    /// Whether a token may be sent to `url`.
    pub fn is_trusted(&self, url: &Url) -> bool {
        is_trusted(url, &self.inner.trusted)
    }

    /// Starts a request. `url` must be absolute.
    pub fn request(&self, method: Method, url: &str) -> Result<RequestBuilder> {
        let url = Url::parse(url)
            .map_err(|e| Error::InvalidInput(format!("invalid URL {url:?}: {e}")))?;
        Ok(self.request_url(method, url))
    }

    /// Starts a request to an already parsed URL.
    pub fn request_url(&self, method: Method, url: Url) -> RequestBuilder {
        RequestBuilder {
            client: self.clone(),
            req: Request {
                method,
                url,
                headers: HeaderMap::new(),
                body: None,
                token: TokenMode::Auto,
                redirects: Redirects::Trusted,
                retry: None,
                timeout: None,
                trust_origin: false,
                scope: ErrorScope::default(),
            },
        }
    }

    /// `GET url`.
    pub fn get(&self, url: &str) -> Result<RequestBuilder> {
        self.request(Method::GET, url)
    }

    /// `HEAD url`.
    pub fn head(&self, url: &str) -> Result<RequestBuilder> {
        self.request(Method::HEAD, url)
    }

    /// `POST url`.
    pub fn post(&self, url: &str) -> Result<RequestBuilder> {
        self.request(Method::POST, url)
    }

    /// The token of a request that names none ([`TokenMode::Auto`]): what
    /// [`Settings::resolve_token`] answers, with the token file read again only when it changed
    /// (one `stat` per call instead of `open` + `read`; Python reads it on every request).
    pub fn resolve_token(&self) -> Option<Token> {
        self.inner.tokens.resolve(&self.inner.settings)
    }

    fn token_for(&self, mode: &TokenMode) -> Option<Token> {
        match mode {
            TokenMode::Auto => self.resolve_token(),
            TokenMode::Explicit(t) => Some(t.clone()),
            TokenMode::Never => None,
        }
    }

    /// Sends once, walking redirects; returns whatever status the last hop gave.
    async fn send_walk(&self, req: &Request) -> Result<reqwest::Response> {
        if self.inner.settings.offline {
            return Err(Error::Offline {
                what: format!("{} {}", req.method, response::redact_url(req.url.as_str())),
            });
        }
        let token = self.token_for(&req.token);
        let mut url = req.url.clone();
        let mut method = req.method.clone();
        let mut body = req.body.as_ref();
        for _ in 0..MAX_HOPS {
            let mut out = reqwest::Request::new(method.clone(), url.clone());
            let headers = out.headers_mut();
            headers.reserve(req.headers.len() + 4);
            // As Python: the caller's `X-Amzn-Trace-Id` (set below with the request's headers),
            // else its `X-Request-Id`, else a fresh id per request.
            let trace = match req.headers.get(&X_REQUEST_ID) {
                Some(v) if !v.is_empty() => v.clone(),
                _ => trace_id(),
            };
            headers.insert(X_AMZN_TRACE_ID, trace);
            // The request's own headers replace hfkit's of the same name (several values of
            // one name all kept).
            let mut prev: Option<&HeaderName> = None;
            for (k, v) in &req.headers {
                if prev == Some(k) {
                    headers.append(k.clone(), v.clone());
                } else {
                    headers.insert(k.clone(), v.clone());
                }
                prev = Some(k);
            }
            // Whether the token may go to this hop: asked only when there is one.
            if let Some(t) = &token
                && (self.is_trusted(&url) || (req.trust_origin && same_origin(&url, &req.url)))
                && let Ok(mut v) = HeaderValue::from_str(&format!("Bearer {}", t.expose()))
            {
                v.set_sensitive(true);
                headers.append(header::AUTHORIZATION, v);
            }
            match body {
                None => {}
                Some(Body::Bytes(b, ct)) => {
                    if let Some(ct) = ct {
                        let v = HeaderValue::from_str(ct).map_err(|e| {
                            Error::InvalidInput(format!("invalid content type {ct:?}: {e}"))
                        })?;
                        headers.append(header::CONTENT_TYPE, v);
                    }
                    *out.body_mut() = Some(b.clone().into());
                }
                Some(Body::Json(b)) => {
                    if !headers.contains_key(header::CONTENT_TYPE) {
                        headers.insert(
                            header::CONTENT_TYPE,
                            HeaderValue::from_static("application/json"),
                        );
                    }
                    *out.body_mut() = Some(b.clone().into());
                }
                Some(Body::Form(pairs)) => {
                    let encoded = url::form_urlencoded::Serializer::new(String::new())
                        .extend_pairs(pairs)
                        .finish();
                    headers.insert(
                        header::CONTENT_TYPE,
                        HeaderValue::from_static("application/x-www-form-urlencoded"),
                    );
                    *out.body_mut() = Some(encoded.into());
                }
            }
            if let Some(t) = req.timeout {
                *out.timeout_mut() = Some(t);
            }
            if self.inner.settings.debug {
                tracing::debug!(
                    "curl -X {} -H 'authorization: Bearer <TOKEN>' '{}'",
                    method,
                    response::redact_url(url.as_str())
                );
            }
            let started = std::time::Instant::now();
            let resp = self
                .inner
                .client
                .execute(out)
                .await
                .map_err(|e| transport_error(&e, &method, &url, started.elapsed()))?;
            self.log_hub_warnings(resp.headers());
            let status = resp.status();
            if !status.is_redirection() || req.redirects == Redirects::None {
                return Ok(resp);
            }
            let Some(location) = resp
                .headers()
                .get(header::LOCATION)
                .and_then(|v| v.to_str().ok())
            else {
                return Ok(resp);
            };
            let next = url.join(location).map_err(|e| Error::MalformedResponse {
                url: response::redact_url(url.as_str()),
                message: format!("invalid redirect Location {location:?}: {e}"),
            })?;
            let same_or_trusted = same_origin(&next, &url) || self.is_trusted(&next);
            if req.redirects == Redirects::Trusted && !same_or_trusted {
                return Ok(resp);
            }
            if matches!(status.as_u16(), 301..=303) && method != Method::HEAD {
                method = Method::GET;
                body = None;
            }
            url = next;
        }
        Err(Error::MalformedResponse {
            url: response::redact_url(req.url.as_str()),
            message: format!("more than {MAX_HOPS} redirects"),
        })
    }

    /// Logs each `X-HF-Warning: <topic>; <message>` topic once.
    fn log_hub_warnings(&self, headers: &HeaderMap) {
        for v in headers.get_all(&X_HF_WARNING) {
            let Ok(text) = v.to_str() else { continue };
            let topic = text.split(';').next().unwrap_or(text).trim().to_owned();
            let first = self
                .inner
                .warned
                .lock()
                .map(|mut w| w.insert(topic))
                .unwrap_or(false);
            if first {
                tracing::warn!("the Hub says: {text}");
            }
        }
    }

    /// Sends once and maps a status ≥ 400 to a typed error.
    async fn send_checked(&self, req: &Request) -> Result<reqwest::Response> {
        let resp = self.send_walk(req).await?;
        if resp.status().as_u16() >= 400 {
            return Err(response::error_from_response(resp, req.method.as_str(), &req.scope).await);
        }
        Ok(resp)
    }
}

/// A fresh `X-Amzn-Trace-Id` value: a UUID v4, formatted without a heap allocation.
fn trace_id() -> HeaderValue {
    let mut buf = uuid::Uuid::encode_buffer();
    let id = uuid::Uuid::new_v4().hyphenated().encode_lower(&mut buf);
    // A hyphenated UUID is always a valid header value.
    HeaderValue::from_str(id).unwrap_or_else(|_| HeaderValue::from_static("0"))
}

fn transport_error(e: &reqwest::Error, method: &Method, url: &Url, elapsed: Duration) -> Error {
    let url = response::redact_url(url.as_str());
    if e.is_timeout() {
        return Error::Timeout {
            method: method.to_string(),
            url,
            elapsed,
        };
    }
    // The innermost cause says the most ("connection refused"); reqwest's own text repeats the URL.
    let mut msg = String::new();
    let mut src: Option<&dyn std::error::Error> = Some(e);
    while let Some(s) = src {
        msg = s.to_string();
        src = s.source();
    }
    Error::Network {
        method: method.to_string(),
        url,
        message: msg,
    }
}

/// Maps a body-read failure of a response to an error.
pub fn body_error(e: &reqwest::Error, method: &str, url: &str) -> Error {
    let url = response::redact_url(url);
    if e.is_timeout() {
        return Error::Timeout {
            method: method.to_owned(),
            url,
            elapsed: Duration::ZERO,
        };
    }
    let mut msg = String::new();
    let mut src: Option<&dyn std::error::Error> = Some(e);
    while let Some(s) = src {
        msg = s.to_string();
        src = s.source();
    }
    Error::Network {
        method: method.to_owned(),
        url,
        message: format!("connection lost while reading the body: {msg}"),
    }
}

/// The `reqwest` client behind an [`HttpClient`]: no redirects (hfkit follows them itself), the
/// settings' connect timeout, and `read_timeout` for each read.
fn build_reqwest(settings: &Settings, read_timeout: Option<Duration>) -> Result<reqwest::Client> {
    let mut b = reqwest::Client::builder()
        // A default header is parsed once here instead of once per request.
        .user_agent(build_user_agent(settings))
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(settings.connect_timeout)
        .pool_idle_timeout(Duration::from_secs(60))
        .tcp_nodelay(true);
    if let Some(t) = read_timeout {
        b = b.read_timeout(t);
    }
    b.build()
        .map_err(|e| Error::Config(format!("cannot build the HTTP client: {e}")))
}

fn build_user_agent(s: &Settings) -> String {
    let version = env!("CARGO_PKG_VERSION");
    if s.disable_telemetry {
        return format!("hfkit/{version}");
    }
    let mut ua = String::new();
    if let Some(p) = &s.user_agent_prefix {
        ua.push_str(p);
        ua.push_str("; ");
    }
    ua.push_str(&format!("hfkit/{version}; rust/{RUSTC_VERSION}"));
    if let Some(o) = &s.user_agent_origin {
        ua.push_str("; origin/");
        ua.push_str(o);
    }
    ua
}
