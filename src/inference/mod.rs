//! Inference: run models through Hugging Face's inference router, a third-party provider, a
//! dedicated Inference Endpoint, a local TGI/TEI/OpenAI-compatible server, or the legacy
//! serverless API — the wire contract of Python `huggingface_hub`'s `InferenceClient`
//! (`inference.md`).
//!
//! Task calls take the required input positionally; options are set by name on the returned
//! request builder, which is sent by `.await` (it implements [`std::future::IntoFuture`]).
//!
//! ```no_run
//! # async fn demo() -> hfkit::Result<()> {
//! use hfkit::inference::{InferenceClient, Provider};
//! let client = InferenceClient::builder().provider(Provider::HfInference).build()?;
//! let labels = client
//!     .text_classification("I love Rust")
//!     .model("distilbert/distilbert-base-uncased-finetuned-sst-2-english")
//!     .top_k(2)
//!     .await?;
//! println!("{} ({:.3})", labels[0].label, labels[0].score);
//! # Ok(()) }
//! ```

mod endpoint;
mod input;
mod provider;
mod request;
mod routing;
pub mod sse;
mod stream;
mod task;
pub mod tasks;
pub mod types;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub use input::{BinaryInput, mime_from_name, sniff};
pub use provider::{Provider, ProviderMapping, parse_mapping};
pub use request::RawResponse;
pub use routing::Mode;
pub use stream::{ChatCompletionStream, EventStream, StreamChunk, TextGenerationStream};
pub use task::Task;

use crate::auth::Token;
use crate::config::Settings;
use crate::error::{Error, Result};
use crate::http::HttpClient;

/// The inference client. Cheap to clone; clones share connections and caches.
#[derive(Clone)]
pub struct InferenceClient {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    /// Hub calls (provider mapping, recommended models) and input downloads: the settings' read
    /// timeout applies.
    pub(crate) http: HttpClient,
    /// Task requests: no read timeout, since a model may be silent for minutes before its first
    /// byte or between two tokens; [`Inner::timeout`] and [`Inner::stream_idle_timeout`] bound
    /// them instead.
    pub(crate) task_http: HttpClient,
    pub(crate) hub_url: String,
    pub(crate) router_url: String,
    pub(crate) legacy_url: String,
    pub(crate) model: Option<String>,
    /// [`model`](Self::model) parsed, when it is a URL.
    pub(crate) model_url: Option<url::Url>,
    pub(crate) provider: Provider,
    pub(crate) legacy: bool,
    pub(crate) timeout: Option<Duration>,
    /// The longest silence between two pieces of a stream's body.
    pub(crate) stream_idle_timeout: Option<Duration>,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) bill_to: Option<String>,
    pub(crate) wait_for_model: Option<bool>,
    pub(crate) max_retries: u32,
    pub(crate) retry_base_delay: Duration,
    pub(crate) use_recommended_model: bool,
    pub(crate) sniff_mime: bool,
    pub(crate) check_task: bool,
    /// (model, task) pairs whose Hub pipeline tag was checked (inference.md §1.3).
    pub(crate) checked: Mutex<HashSet<(String, Task)>>,
    /// Provider mappings per model id.
    pub(crate) mappings: Mutex<HashMap<String, Vec<ProviderMapping>>>,
    /// Recommended model per task (`/api/tasks`), once fetched.
    pub(crate) recommended: Mutex<Option<HashMap<String, String>>>,
    /// Parameters a non-TGI backend rejected, per resolved model (inference.md §5.5).
    pub(crate) rejected_params: Mutex<HashMap<String, Vec<String>>>,
}

impl InferenceClient {
    /// The same client with a connection pool of its own (see [`HttpClient::fresh_pool`]).
    #[cfg(feature = "blocking")]
    pub(crate) fn with_fresh_pool(&self) -> Result<Self> {
        let i = &self.inner;
        let copy = |m: &Mutex<HashMap<String, Vec<ProviderMapping>>>| {
            m.lock().map(|g| g.clone()).unwrap_or_default()
        };
        Ok(InferenceClient {
            inner: Arc::new(Inner {
                http: i.http.fresh_pool()?,
                task_http: i.task_http.fresh_pool()?,
                hub_url: i.hub_url.clone(),
                router_url: i.router_url.clone(),
                legacy_url: i.legacy_url.clone(),
                model: i.model.clone(),
                model_url: i.model_url.clone(),
                provider: i.provider,
                legacy: i.legacy,
                timeout: i.timeout,
                stream_idle_timeout: i.stream_idle_timeout,
                headers: i.headers.clone(),
                bill_to: i.bill_to.clone(),
                wait_for_model: i.wait_for_model,
                max_retries: i.max_retries,
                retry_base_delay: i.retry_base_delay,
                use_recommended_model: i.use_recommended_model,
                sniff_mime: i.sniff_mime,
                check_task: i.check_task,
                checked: Mutex::new(i.checked.lock().map(|g| g.clone()).unwrap_or_default()),
                mappings: Mutex::new(copy(&i.mappings)),
                recommended: Mutex::new(
                    i.recommended.lock().map(|g| g.clone()).unwrap_or_default(),
                ),
                rejected_params: Mutex::new(
                    i.rejected_params
                        .lock()
                        .map(|g| g.clone())
                        .unwrap_or_default(),
                ),
            }),
        })
    }
}

impl std::fmt::Debug for InferenceClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let i = &self.inner;
        f.debug_struct("InferenceClient")
            .field("model", &i.model)
            .field("provider", &i.provider)
            .field("router_url", &i.router_url)
            .field("legacy_url", &i.legacy_url)
            .field("hub_url", &i.hub_url)
            .field("legacy", &i.legacy)
            .field("timeout", &i.timeout)
            .field("stream_idle_timeout", &i.stream_idle_timeout)
            .finish_non_exhaustive()
    }
}

impl InferenceClient {
    /// A client configured from the environment (`HF_TOKEN`, `HF_ENDPOINT`,
    /// `HF_INFERENCE_ENDPOINT`, `HF_ROUTER_URL`, …), provider `auto`, no default model.
    pub fn new() -> Result<Self> {
        Self::builder().build()
    }

    /// A builder to set the token, default model, provider, base URLs, timeout and headers.
    pub fn builder() -> InferenceClientBuilder {
        InferenceClientBuilder::default()
    }

    /// The client's default model (a Hub id or a URL), if any.
    pub fn model(&self) -> Option<&str> {
        self.inner.model.as_deref()
    }

    /// The client's provider.
    pub fn provider(&self) -> Provider {
        self.inner.provider
    }

    /// The HTTP client every request goes through.
    pub fn http(&self) -> &HttpClient {
        &self.inner.http
    }

    /// The settings in force.
    pub fn settings(&self) -> &Settings {
        self.inner.http.settings()
    }

    /// Where a call of `task` (with the per-call `model`, if any) would be sent: the routing of
    /// inference.md §1.2, including the provider-mapping look-up in `auto` mode. Nothing is sent
    /// to the inference server.
    pub async fn resolve(&self, task: Task, model: Option<&str>) -> Result<(Mode, String)> {
        let t = routing::resolve(self, task, model).await?;
        Ok((t.mode, t.url))
    }
}

/// Builder of [`InferenceClient`]. Builder values win over environment variables, which win over
/// defaults.
#[derive(Default, Clone)]
#[must_use]
pub struct InferenceClientBuilder {
    settings: Option<Settings>,
    token: Option<Token>,
    model: Option<String>,
    base_url: Option<String>,
    provider: Option<Provider>,
    hub_url: Option<String>,
    router_url: Option<String>,
    legacy_url: Option<String>,
    legacy: bool,
    timeout: Option<Duration>,
    stream_idle_timeout: Option<Duration>,
    headers: Vec<(String, String)>,
    bill_to: Option<String>,
    wait_for_model: Option<bool>,
    max_retries: Option<u32>,
    retry_base_delay: Option<Duration>,
    use_recommended_model: bool,
    sniff_mime: bool,
    check_task: bool,
}

impl std::fmt::Debug for InferenceClientBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InferenceClientBuilder")
            .field("model", &self.model)
            .field("base_url", &self.base_url)
            .field("provider", &self.provider)
            .finish_non_exhaustive()
    }
}

impl InferenceClientBuilder {
    /// Starts from these settings instead of the environment.
    pub fn settings(mut self, settings: Settings) -> Self {
        self.settings = Some(settings);
        self
    }

    /// The token (`Authorization: Bearer …`), instead of `HF_TOKEN` or the stored one.
    pub fn token(mut self, token: impl Into<Token>) -> Self {
        self.token = Some(token.into());
        self
    }

    /// Alias of [`token`](Self::token), for OpenAI-style code.
    pub fn api_key(self, key: impl Into<Token>) -> Self {
        self.token(key)
    }

    /// The default model: a Hub id (`org/name`) or a URL (Inference Endpoint, TGI, any
    /// OpenAI-compatible server).
    pub fn model(mut self, model: impl Into<String>) -> Self {
        self.model = Some(model.into());
        self
    }

    /// A server URL to call directly (same as a URL [`model`](Self::model); not both).
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// The provider (default [`Provider::Auto`]).
    pub fn provider(mut self, provider: Provider) -> Self {
        self.provider = Some(provider);
        self
    }

    /// The Hub (`HF_ENDPOINT`): provider mapping and recommended models.
    pub fn hub_url(mut self, url: impl Into<String>) -> Self {
        self.hub_url = Some(url.into());
        self
    }

    /// The inference router (`HF_ROUTER_URL`, default `https://router.huggingface.co`).
    pub fn router_url(mut self, url: impl Into<String>) -> Self {
        self.router_url = Some(url.into());
        self
    }

    /// The legacy serverless API (`HF_INFERENCE_ENDPOINT`, default
    /// `https://api-inference.huggingface.co`).
    pub fn legacy_inference_url(mut self, url: impl Into<String>) -> Self {
        self.legacy_url = Some(url.into());
        self
    }

    /// Sends Hub-id requests to the legacy serverless API (mode L) instead of the router.
    pub fn legacy_serverless(mut self, yes: bool) -> Self {
        self.legacy = yes;
        self
    }

    /// Bounds each call end to end, retries and waits included; for a stream, everything up to
    /// its response headers (then [`stream_idle_timeout`](Self::stream_idle_timeout) applies).
    ///
    /// Default: none. Task requests have no per-read timeout either (a large model may think for
    /// minutes before it answers), so without this only the settings' connect timeout applies;
    /// the settings' download timeout (`HF_HUB_DOWNLOAD_TIMEOUT`) bounds the client's Hub calls
    /// (provider mapping, recommended models, input URLs) only.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// The longest a stream may stay silent between two pieces of its body (keep-alive comments
    /// count as activity) before it ends with [`Error::Timeout`]. It bounds each wait, not the
    /// whole stream, so a long generation that keeps producing tokens is never cut.
    ///
    /// Default: the [`timeout`](Self::timeout) when one is set, else none (a stream may pause for
    /// any time, like Python's client without a timeout). A model that pauses long between
    /// tokens (a reasoning model, a busy server queueing the request) needs a generous value.
    ///
    /// ```
    /// # fn demo() -> hfkit::Result<()> {
    /// use std::time::Duration;
    /// let client = hfkit::inference::InferenceClient::builder()
    ///     .base_url("http://127.0.0.1:8080/v1")
    ///     .timeout(Duration::from_secs(30))
    ///     .stream_idle_timeout(Duration::from_secs(300))
    ///     .build()?;
    /// # Ok(()) }
    /// ```
    pub fn stream_idle_timeout(mut self, idle: Duration) -> Self {
        self.stream_idle_timeout = Some(idle);
        self
    }

    /// A header sent with every inference request; it overrides hfkit's own of the same name.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Bills requests to this organization (`X-HF-Bill-To`).
    pub fn bill_to(mut self, org: impl Into<String>) -> Self {
        self.bill_to = Some(org.into());
        self
    }

    /// `Some(true)`: send `X-Wait-For-Model: true` and wait out a loading model (503 with
    /// `estimated_time`); `Some(false)`: fail at once with [`Error::ModelLoading`]. Default
    /// (`None`): wait within the retry budget, without the header.
    pub fn wait_for_model(mut self, wait: bool) -> Self {
        self.wait_for_model = Some(wait);
        self
    }

    /// Retries of 429, 503 and other transient failures (default 3; 0 = none, as Python).
    pub fn max_retries(mut self, n: u32) -> Self {
        self.max_retries = Some(n);
        self
    }

    /// First retry delay when the server names none (default from the settings; doubles, capped
    /// at 30 s).
    pub fn retry_base_delay(mut self, d: Duration) -> Self {
        self.retry_base_delay = Some(d);
        self
    }

    /// Without a model, use the Hub's recommended model of the task (`/api/tasks`) instead of
    /// failing.
    pub fn use_recommended_model(mut self, yes: bool) -> Self {
        self.use_recommended_model = yes;
        self
    }

    /// Guess the content type of binary inputs from their magic bytes when neither an explicit
    /// type nor a file extension gives one (changes the header Python would send; off by default).
    pub fn sniff_mime(mut self, yes: bool) -> Self {
        self.sniff_mime = yes;
        self
    }

    /// Before the first hf-inference request of each (model, task), check like Python that the
    /// model's Hub pipeline tag serves the task (`GET {hub}/api/models/{id}`, cached per
    /// client); a mismatch is [`Error::InvalidInput`] before any inference request. Default off.
    pub fn check_task(mut self, yes: bool) -> Self {
        self.check_task = yes;
        self
    }

    /// Builds the client.
    pub fn build(self) -> Result<InferenceClient> {
        if self.model.is_some() && self.base_url.is_some() {
            return Err(Error::InvalidInput(
                "set either a model or a base_url on an inference client, not both".into(),
            ));
        }
        let mut settings = match self.settings {
            Some(s) => s,
            None => Settings::from_env()?,
        };
        if let Some(t) = self.token {
            settings.token = Some(t);
        }
        if let Some(h) = self.hub_url {
            settings.endpoint = normalize("hub_url", &h)?;
        }
        if let Some(r) = self.router_url {
            settings.router_url = normalize("router_url", &r)?;
        }
        if let Some(l) = self.legacy_url {
            settings.inference_endpoint = normalize("legacy_inference_url", &l)?;
        }
        let hub_url = settings.endpoint.clone();
        let router_url = settings.router_url.clone();
        let legacy_url = settings.inference_endpoint.clone();
        let retry_base_delay = self.retry_base_delay.unwrap_or(settings.retry_base_delay);
        let http = HttpClient::with_trusted_origins(settings, &[&router_url, &legacy_url])?;
        let task_http = http.with_read_timeout(None)?;
        let model = self
            .base_url
            .or(self.model)
            .filter(|m| !m.trim().is_empty());
        let model_url = model
            .as_deref()
            .filter(|m| routing::is_url(m))
            .and_then(|m| url::Url::parse(m).ok());
        let mut headers = self.headers;
        for (k, v) in &headers {
            reqwest::header::HeaderName::from_bytes(k.as_bytes())
                .map_err(|e| Error::InvalidInput(format!("invalid header name {k:?}: {e}")))?;
            reqwest::header::HeaderValue::from_str(v)
                .map_err(|e| Error::InvalidInput(format!("invalid value for header {k}: {e}")))?;
        }
        headers.shrink_to_fit();
        Ok(InferenceClient {
            inner: Arc::new(Inner {
                http,
                task_http,
                hub_url,
                router_url,
                legacy_url,
                model,
                model_url,
                provider: self.provider.unwrap_or_default(),
                legacy: self.legacy,
                timeout: self.timeout,
                stream_idle_timeout: self.stream_idle_timeout.or(self.timeout),
                headers,
                bill_to: self.bill_to,
                wait_for_model: self.wait_for_model,
                max_retries: self.max_retries.unwrap_or(3),
                retry_base_delay,
                use_recommended_model: self.use_recommended_model,
                sniff_mime: self.sniff_mime,
                check_task: self.check_task,
                checked: Mutex::new(HashSet::new()),
                mappings: Mutex::new(HashMap::new()),
                recommended: Mutex::new(None),
                rejected_params: Mutex::new(HashMap::new()),
            }),
        })
    }
}

/// Strips a trailing `/` and checks the URL parses.
fn normalize(what: &str, url: &str) -> Result<String> {
    let u = url.trim().trim_end_matches('/').to_owned();
    url::Url::parse(&u).map_err(|e| Error::Config(format!("{what} {url:?} is not a URL: {e}")))?;
    Ok(u)
}
