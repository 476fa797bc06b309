//! Questions to a deployed server rather than its model: `GET /info` and `GET /health` of TGI and
//! TEI (inference.md §1.6, §8).

use crate::error::{Error, Result};
use crate::http::{Redirects, TokenMode};

use super::InferenceClient;
use super::provider::Provider;
use super::request::{error_for_method, read_bounded, redact};
use super::routing::{check_id, is_url, url_token};
use super::types::EndpointInfo;

/// `{url}/{route}`: the route appended to the URL's path with its trailing `/`s stripped; the
/// query is kept after it and a fragment dropped.
///
/// Python appends `/{route}` to the whole string, so with a query it would send
/// `…?x=1/info`; hfkit keeps the query a query (**deliberate**, `tests/parity_exceptions.md`).
fn route_url(base: &str, route: &str) -> Result<String> {
    let mut u = url::Url::parse(base)
        .map_err(|e| Error::InvalidInput(format!("invalid model URL {base:?}: {e}")))?;
    let path = format!("{}/{route}", u.path().trim_end_matches('/'));
    u.set_path(&path);
    u.set_fragment(None);
    Ok(u.into())
}

impl InferenceClient {
    /// The model of a server question: the per-call one, else the client's.
    fn server_model<'a>(&'a self, model: Option<&'a str>) -> Result<&'a str> {
        model
            .filter(|m| !m.trim().is_empty())
            .or(self.inner.model.as_deref())
            .ok_or_else(|| {
                Error::InvalidInput(
                    "no model given: pass a server URL (or a Hub id, for get_endpoint_info) to \
                     the call or the client"
                        .into(),
                )
            })
    }

    /// `GET url` with the client's headers and timeout and the given token; the response
    /// whatever its status.
    async fn server_get(
        &self,
        url: &str,
        token: TokenMode,
        trust_origin: bool,
    ) -> Result<reqwest::Response> {
        let inner = &self.inner;
        let mut rb = inner
            .http
            .get(url)?
            .token(token)
            .trust_origin(trust_origin)
            .redirects(Redirects::Trusted);
        for (k, v) in &inner.headers {
            rb = rb.header(k, v)?;
        }
        if let Some(t) = inner.timeout {
            rb = rb.timeout(t);
        }
        rb.send_unchecked().await
    }

    /// What the deployed server says about itself: `GET {url}/info` of a TGI or TEI server
    /// (model, token limits, batch size, version…), as [`EndpointInfo`] with the whole answer
    /// in [`EndpointInfo::raw`].
    ///
    /// `model` (else the client's model) is either
    /// - a URL (an Inference Endpoint, a local TGI/TEI): `{url}/info`, the URL's trailing `/`
    ///   stripped and its query kept; the token goes there by the rules of task requests (an
    ///   explicit token always, the implicit one only to `*.endpoints.huggingface.cloud`); or
    /// - a Hub id: `{legacy}/models/{id}/info` on the legacy serverless API
    ///   ([`legacy_inference_url`](super::InferenceClientBuilder::legacy_inference_url),
    ///   `HF_INFERENCE_ENDPOINT`), as Python does; the router has no such route. A client of a
    ///   third-party provider refuses a Hub id.
    ///
    /// The client's own headers and its [`timeout`](super::InferenceClientBuilder::timeout)
    /// apply; nothing is retried. Python allows this call only on a client with
    /// `provider="hf-inference"`; hfkit does not require it for a URL.
    ///
    /// ```no_run
    /// # async fn demo() -> hfkit::Result<()> {
    /// use hfkit::inference::InferenceClient;
    /// let client = InferenceClient::builder().base_url("http://127.0.0.1:8080").build()?;
    /// let info = client.get_endpoint_info(None).await?;
    /// println!(
    ///     "{} serves {:?}, prompts up to {:?} tokens",
    ///     info.version.as_deref().unwrap_or("?"),
    ///     info.model_id,
    ///     info.max_input()
    /// );
    /// # Ok(()) }
    /// ```
    pub async fn get_endpoint_info(&self, model: Option<&str>) -> Result<EndpointInfo> {
        let inner = &self.inner;
        let model = self.server_model(model)?;
        let (url, token, trust) = if is_url(model) {
            let url = route_url(model, "info")?;
            let (token, trust) = url_token(self, &url);
            (url, token, trust)
        } else {
            if !matches!(inner.provider, Provider::Auto | Provider::HfInference) {
                return Err(Error::InvalidInput(format!(
                    "endpoint info of a Hub id is served by hf-inference, not {}: pass a server \
                     URL instead",
                    inner.provider
                )));
            }
            check_id(model)?;
            let url = format!("{}/models/{model}/info", inner.legacy_url);
            (url, TokenMode::Auto, false)
        };
        let resp = self.server_get(&url, token, trust).await?;
        let status = resp.status().as_u16();
        let shown = redact(resp.url());
        if !resp.status().is_success() {
            let headers = resp.headers().clone();
            let body = read_bounded(resp).await;
            return Err(error_for_method(status, &headers, &body, "GET", &shown));
        }
        let body = resp
            .bytes()
            .await
            .map_err(|e| crate::http::body_error(&e, "GET", &shown))?;
        match serde_json::from_slice(&body) {
            Ok(serde_json::Value::Object(map)) => Ok(EndpointInfo::from_map(map)),
            Ok(other) => Err(Error::MalformedResponse {
                url: shown,
                message: format!(
                    "the endpoint info is not a JSON object but {}",
                    json_kind(&other)
                ),
            }),
            Err(e) => Err(Error::MalformedResponse {
                url: shown,
                message: format!("the endpoint info is not JSON: {e}"),
            }),
        }
    }

    /// Whether the deployed server is up: `GET {url}/health` of a TGI or TEI server (an
    /// Inference Endpoint, a local server), with the URL's trailing `/` stripped and its query
    /// kept.
    ///
    /// `Ok(true)` iff the server answers 200; `Ok(false)` for any other status (TGI and TEI
    /// answer 503 `{"error":"unhealthy"}`; a scaled-to-zero endpoint 502/503; a redirect to
    /// another origin is not followed and also reads as `false`). `Err` when no answer comes at
    /// all — refused connection, timeout ([`Error::Network`], [`Error::Timeout`]) — as Python
    /// raises then, and [`Error::InvalidInput`] before any I/O when `model` (else the client's
    /// model) is not an `http(s)://` URL (Python raises too). Offline mode refuses it
    /// ([`Error::Offline`]).
    ///
    /// The token goes by the rules of task requests to a URL (an explicit token always, the
    /// implicit one only to `*.endpoints.huggingface.cloud`); the client's headers and
    /// [`timeout`](super::InferenceClientBuilder::timeout) apply; nothing is retried.
    ///
    /// ```no_run
    /// # async fn demo() -> hfkit::Result<()> {
    /// use hfkit::inference::InferenceClient;
    /// let client = InferenceClient::builder().base_url("http://127.0.0.1:8080").build()?;
    /// if !client.health_check(None).await? {
    ///     eprintln!("the server is not ready yet");
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn health_check(&self, model: Option<&str>) -> Result<bool> {
        let model = self.server_model(model)?;
        if !is_url(model) {
            return Err(Error::InvalidInput(format!(
                "health_check needs a server URL (http:// or https://), not {model:?}"
            )));
        }
        let url = route_url(model, "health")?;
        let (token, trust) = url_token(self, &url);
        let resp = self.server_get(&url, token, trust).await?;
        Ok(resp.status().as_u16() == 200)
    }
}

fn json_kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::route_url;

    #[test]
    fn routes() {
        for (base, want) in [
            ("http://h:8080", "http://h:8080/info"),
            ("http://h:8080/", "http://h:8080/info"),
            ("http://h/tgi//", "http://h/tgi/info"),
            ("http://h/tgi?x=1", "http://h/tgi/info?x=1"),
            ("http://h/tgi/?x=1#f", "http://h/tgi/info?x=1"),
        ] {
            assert_eq!(route_url(base, "info").unwrap(), want, "{base}");
        }
        assert!(route_url("http://", "info").is_err());
    }
}
