//! [`RequestBuilder`]: the options of one request, and the ways to send it.

use std::time::Duration;

use bytes::Bytes;
use reqwest::header::{HeaderName, HeaderValue};

use super::response;
use super::{Body, ErrorScope, HttpClient, Redirects, Request, RetryPolicy, TokenMode, body_error};
use crate::error::{Error, Result};

/// A request being built. Send it with [`send`](Self::send).
#[must_use = "a request does nothing until it is sent"]
pub struct RequestBuilder {
    pub(super) client: HttpClient,
    pub(super) req: Request,
}

impl RequestBuilder {
    /// Adds a header.
    pub fn header(mut self, name: impl AsRef<str>, value: impl AsRef<str>) -> Result<Self> {
        let name = HeaderName::from_bytes(name.as_ref().as_bytes())
            .map_err(|e| Error::InvalidInput(format!("invalid header name: {e}")))?;
        let value = HeaderValue::from_str(value.as_ref())
            .map_err(|e| Error::InvalidInput(format!("invalid value for header {name}: {e}")))?;
        self.req.headers.insert(name, value);
        Ok(self)
    }

    /// Adds static headers (cannot fail).
    pub fn header_static(mut self, name: &'static str, value: &'static str) -> Self {
        self.req.headers.insert(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        );
        self
    }

    /// Adds a header already in its typed form (cannot fail; no parsing).
    pub fn header_typed(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.req.headers.insert(name, value);
        self
    }

    /// Adds query parameters.
    pub fn query<K: AsRef<str>, V: AsRef<str>>(
        mut self,
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        {
            let mut q = self.req.url.query_pairs_mut();
            for (k, v) in pairs {
                q.append_pair(k.as_ref(), v.as_ref());
            }
        }
        if self.req.url.query() == Some("") {
            self.req.url.set_query(None);
        }
        self
    }

    /// A JSON body.
    pub fn json<T: serde::Serialize + ?Sized>(mut self, value: &T) -> Result<Self> {
        let bytes = serde_json::to_vec(value).map_err(|e| Error::json("request body", e))?;
        self.req.body = Some(Body::Json(Bytes::from(bytes)));
        Ok(self)
    }

    /// A JSON body already serialised (`Content-Type: application/json` unless a header of
    /// the request names another).
    pub fn json_bytes(mut self, bytes: Bytes) -> Self {
        self.req.body = Some(Body::Json(bytes));
        self
    }

    /// A raw body.
    pub fn body(mut self, bytes: impl Into<Bytes>, content_type: Option<&str>) -> Self {
        self.req.body = Some(Body::Bytes(bytes.into(), content_type.map(str::to_owned)));
        self
    }

    /// A form body.
    pub fn form(mut self, pairs: Vec<(String, String)>) -> Self {
        self.req.body = Some(Body::Form(pairs));
        self
    }

    /// Which token to send.
    pub fn token(mut self, mode: TokenMode) -> Self {
        self.req.token = mode;
        self
    }

    /// How redirects are handled (default: [`Redirects::Trusted`]).
    pub fn redirects(mut self, r: Redirects) -> Self {
        self.req.redirects = r;
        self
    }

    /// Retries transient failures with the client's policy.
    pub fn retry(mut self) -> Self {
        self.req.retry = Some(self.client.retry_policy());
        self
    }

    /// Retries transient failures with `policy`.
    pub fn retry_with(mut self, policy: RetryPolicy) -> Self {
        self.req.retry = Some(policy);
        self
    }

    /// A total timeout for this request.
    pub fn timeout(mut self, t: Duration) -> Self {
        self.req.timeout = Some(t);
        self
    }

    /// Treats the request URL's own origin as trusted (the token may go there), e.g. a URL the
    /// caller configured as an inference endpoint.
    pub fn trust_origin(mut self, yes: bool) -> Self {
        self.req.trust_origin = yes;
        self
    }

    /// What the request concerns, for error messages and variants.
    pub fn scope(mut self, scope: ErrorScope) -> Self {
        self.req.scope = scope;
        self
    }

    /// The request as built.
    pub fn build(self) -> Request {
        self.req
    }

    /// Sends; a status ≥ 400 becomes a typed error. Retries when asked to.
    pub async fn send(self) -> Result<reqwest::Response> {
        let RequestBuilder { client, req } = self;
        match req.retry {
            Some(policy) => policy.run(|| client.send_checked(&req)).await,
            None => client.send_checked(&req).await,
        }
    }

    /// Sends and returns the response whatever its status (redirects walked as configured).
    pub async fn send_unchecked(self) -> Result<reqwest::Response> {
        let RequestBuilder { client, req } = self;
        match req.retry {
            Some(policy) => policy.run(|| client.send_walk(&req)).await,
            None => client.send_walk(&req).await,
        }
    }

    /// Sends and parses a JSON answer.
    pub async fn send_json<T: serde::de::DeserializeOwned>(self) -> Result<T> {
        let RequestBuilder { client, req } = self;
        let url = response::redact_url(req.url.as_str());
        let method = req.method.to_string();
        let run = || async {
            let resp = client.send_checked(&req).await?;
            let bytes = resp
                .bytes()
                .await
                .map_err(|e| body_error(&e, &method, &url))?;
            Ok(bytes)
        };
        let bytes = match req.retry {
            Some(policy) => policy.run(run).await?,
            None => run().await?,
        };
        serde_json::from_slice(&bytes).map_err(|e| Error::MalformedResponse {
            url: url.clone(),
            message: format!("unexpected JSON: {e}"),
        })
    }
}

/// Maps a response with status ≥ 400 to an error; passes others through.
pub async fn check(
    resp: reqwest::Response,
    method: &str,
    scope: &ErrorScope,
) -> Result<reqwest::Response> {
    if resp.status().as_u16() >= 400 {
        return Err(response::error_from_response(resp, method, scope).await);
    }
    Ok(resp)
}
