//! The one place that sends a task request: headers, body, error mapping, retries and waits
//! (inference.md §2, §5).

use std::time::{Duration, Instant};

use bytes::Bytes;
use reqwest::header::HeaderMap;

use crate::error::{Error, HttpContext, Result};
use crate::http::response::{error_from_parts, redact_url};
use crate::http::{ErrorScope, Redirects};

use super::InferenceClient;
use super::routing::{Mode, Target};
use super::task::Task;

/// Error bodies are read up to this size.
const MAX_ERROR_BODY: usize = 64 * 1024;
/// Longest single wait between attempts.
const MAX_DELAY: Duration = Duration::from_secs(30);

/// A request body.
#[derive(Debug, Clone)]
pub(crate) enum Payload {
    /// A JSON document (serialised once).
    Json(Bytes),
    /// Raw bytes with an optional content type.
    Raw(Bytes, Option<String>),
}

impl Payload {
    pub(crate) fn json<T: serde::Serialize + ?Sized>(v: &T) -> Result<Self> {
        let b = serde_json::to_vec(v).map_err(|e| Error::json("inference request body", e))?;
        Ok(Payload::Json(Bytes::from(b)))
    }
}

/// A raw answer of an inference server.
#[derive(Debug, Clone)]
pub struct RawResponse {
    /// The HTTP status (2xx).
    pub status: u16,
    /// The response headers (`x-compute-time`, `x-request-id`, …).
    pub headers: HeaderMap,
    /// The body.
    pub body: Bytes,
    /// The URL that answered (redacted of credentials).
    pub url: String,
}

impl RawResponse {
    /// The response `Content-Type`, if any.
    pub fn content_type(&self) -> Option<&str> {
        self.headers
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
    }

    /// Whether the body is JSON by its content type.
    pub fn is_json(&self) -> bool {
        self.content_type()
            .is_some_and(|c| c.trim_start().starts_with("application/json") || c.contains("+json"))
    }

    /// Parses the body as JSON of type `T`; a wrong shape is [`Error::MalformedResponse`].
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T> {
        serde_json::from_slice(&self.body).map_err(|e| Error::MalformedResponse {
            url: self.url.clone(),
            message: format!("the answer is not the expected JSON: {e}"),
        })
    }

    /// A header value, if present and text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// Sends `payload` for `task` to `target`, with retries and waits as configured.
pub(crate) async fn send(
    client: &InferenceClient,
    task: Option<Task>,
    target: &Target,
    payload: Payload,
    call_headers: &[(String, String)],
) -> Result<RawResponse> {
    attempt_loop(client, task, target, payload, call_headers, false).await
}

/// Sends a streaming request: the same headers, errors and retries as [`send`], but a 2xx answer
/// is handed over as soon as its headers arrive (its body unread), so nothing is retried once
/// the caller has it (inference.md §5.4). The client's `timeout` bounds connection and headers
/// only.
pub(crate) async fn send_stream(
    client: &InferenceClient,
    task: Option<Task>,
    target: &Target,
    payload: Payload,
    call_headers: &[(String, String)],
) -> Result<reqwest::Response> {
    attempt_loop(client, task, target, payload, call_headers, true).await
}

/// What one attempt yields: a read body, or a response whose body the caller reads.
trait Outcome: Sized {
    async fn from_response(resp: reqwest::Response) -> Result<Self>;
}

impl Outcome for RawResponse {
    async fn from_response(resp: reqwest::Response) -> Result<Self> {
        read(resp).await
    }
}

impl Outcome for reqwest::Response {
    async fn from_response(resp: reqwest::Response) -> Result<Self> {
        let status = resp.status().as_u16();
        if status >= 400 {
            let headers = resp.headers().clone();
            let url = redact_url(resp.url().as_str());
            let body = read_bounded(resp).await;
            return Err(error_for(status, &headers, &body, &url));
        }
        Ok(resp)
    }
}

async fn attempt_loop<T: Outcome>(
    client: &InferenceClient,
    task: Option<Task>,
    target: &Target,
    payload: Payload,
    call_headers: &[(String, String)],
    streaming: bool,
) -> Result<T> {
    let inner = &client.inner;
    let started = Instant::now();
    let deadline = inner.timeout.map(|t| started + t);
    let mut attempt: u32 = 0;
    loop {
        let rb = match &target.parsed {
            Some(u) => inner
                .task_http
                .request_url(reqwest::Method::POST, u.clone()),
            None => inner.task_http.post(&target.url)?,
        };
        let mut rb = rb
            .token(target.token.clone())
            .trust_origin(target.trust_origin)
            .redirects(Redirects::Trusted);
        let accept = if task.is_some_and(Task::wants_png) {
            "image/png"
        } else {
            "*/*"
        };
        rb = rb.header_typed(
            reqwest::header::ACCEPT,
            reqwest::header::HeaderValue::from_static(accept),
        );
        for (k, v) in target.provider_headers {
            rb = rb.header(k, v)?;
        }
        if let Some(org) = &inner.bill_to {
            rb = rb.header("x-hf-bill-to", org)?;
        }
        if inner.wait_for_model == Some(true)
            || (attempt > 0 && target.mode == Mode::Legacy && inner.wait_for_model != Some(false))
        {
            rb = rb.header("x-wait-for-model", "true")?;
        }
        for (k, v) in inner.headers.iter().chain(call_headers) {
            rb = rb.header(k, v)?;
        }
        rb = match &payload {
            Payload::Json(b) => rb.json_bytes(b.clone()),
            Payload::Raw(b, ct) => rb.body(b.clone(), ct.as_deref()),
        };
        let mut left = None;
        if let Some(d) = deadline {
            let l = d.saturating_duration_since(Instant::now());
            if l.is_zero() {
                return Err(timeout_error(&target.url, started));
            }
            if !streaming {
                rb = rb.timeout(l);
            }
            left = Some(l);
        }
        let attempt_fut = async {
            match rb.send_unchecked().await {
                Ok(resp) => T::from_response(resp).await,
                Err(e) => Err(e),
            }
        };
        let result = match (streaming, left) {
            (true, Some(l)) => match tokio::time::timeout(l, attempt_fut).await {
                Ok(r) => r,
                Err(_) => Err(timeout_error(&target.url, started)),
            },
            _ => attempt_fut.await,
        };
        let err = match result {
            Ok(r) => return Ok(r),
            Err(e) => e,
        };
        let Some(delay) = retry_delay(client, &err, attempt) else {
            return Err(err);
        };
        if let Some(d) = deadline
            && Instant::now() + delay >= d
        {
            return Err(err);
        }
        tracing::warn!(
            "retrying in {:.1} s (attempt {} of {}) after: {err}",
            delay.as_secs_f64(),
            attempt + 1,
            inner.max_retries
        );
        tokio::time::sleep(delay).await;
        attempt += 1;
    }
}

fn timeout_error(url: &str, started: Instant) -> Error {
    Error::Timeout {
        method: "POST".into(),
        url: redact_url(url),
        elapsed: started.elapsed(),
    }
}

/// Reads a response: 2xx → the body; otherwise a typed error.
async fn read(mut resp: reqwest::Response) -> Result<RawResponse> {
    let status = resp.status().as_u16();
    let headers = std::mem::take(resp.headers_mut());
    let url = redact(resp.url());
    if status >= 400 {
        let body = read_bounded(resp).await;
        return Err(error_for(status, &headers, &body, &url));
    }
    let body = resp
        .bytes()
        .await
        .map_err(|e| crate::http::body_error(&e, "POST", &url))?;
    Ok(RawResponse {
        status,
        headers,
        body,
        url,
    })
}

/// [`redact_url`], skipped for a URL without user info or query (nothing to hide; no re-parse
/// on every answer).
pub(crate) fn redact(u: &url::Url) -> String {
    if u.query().is_none() && u.username().is_empty() && u.password().is_none() {
        u.as_str().to_owned()
    } else {
        redact_url(u.as_str())
    }
}

pub(crate) async fn read_bounded(mut resp: reqwest::Response) -> Vec<u8> {
    let mut out = Vec::new();
    while let Ok(Some(chunk)) = resp.chunk().await {
        out.extend_from_slice(&chunk);
        if out.len() > MAX_ERROR_BODY {
            out.truncate(MAX_ERROR_BODY);
            break;
        }
    }
    out
}

/// Maps an error response (inference.md §5.1–5.2): the Hub's mapping, plus `error_type` and
/// 422 → [`Error::Inference`], and the message forms the Hub parser does not know.
pub(crate) fn error_for(status: u16, headers: &HeaderMap, body: &[u8], url: &str) -> Error {
    error_for_method(status, headers, body, "POST", url)
}

/// [`error_for`] of a request with another method than `POST`.
pub(crate) fn error_for_method(
    status: u16,
    headers: &HeaderMap,
    body: &[u8],
    method: &str,
    url: &str,
) -> Error {
    let err = error_from_parts(status, headers, body, method, url, &ErrorScope::default());
    let json: Option<serde_json::Value> = serde_json::from_slice(body).ok();
    let error_type = json.as_ref().and_then(|v| {
        v.get("error_type")
            .and_then(|t| t.as_str())
            .or_else(|| {
                v.get("error")
                    .and_then(|e| e.get("type"))
                    .and_then(|t| t.as_str())
            })
            .or_else(|| v.get("type").and_then(|t| t.as_str()))
            .map(str::to_owned)
    });
    let fill = |mut ctx: Box<HttpContext>| {
        if ctx.server_message.is_none()
            && let Some(v) = &json
        {
            ctx.server_message = ["message", "detail"]
                .iter()
                .find_map(|k| v.get(*k).and_then(|m| m.as_str()))
                .map(str::to_owned);
        }
        ctx
    };
    let wants_inference =
        status == 422 || (error_type.is_some() && !matches!(status, 401 | 403 | 404 | 429 | 503));
    match err {
        Error::BadRequest(ctx) | Error::Http(ctx) if wants_inference => Error::Inference {
            error_type,
            ctx: fill(ctx),
        },
        Error::BadRequest(ctx) => Error::BadRequest(fill(ctx)),
        Error::Http(ctx) => Error::Http(fill(ctx)),
        other => other,
    }
}

/// How long to wait before the next attempt, or `None` when the error is final.
fn retry_delay(client: &InferenceClient, err: &Error, attempt: u32) -> Option<Duration> {
    let inner = &client.inner;
    if attempt >= inner.max_retries {
        return None;
    }
    let scheduled = inner
        .retry_base_delay
        .saturating_mul(1u32 << attempt.min(16))
        .min(MAX_DELAY);
    let server = err.http_context().and_then(|c| c.retry_after);
    let delay = match err {
        Error::RateLimited { .. } => server.unwrap_or(scheduled),
        Error::ModelLoading { estimated_time, .. } => {
            if inner.wait_for_model == Some(false) {
                return None;
            }
            server
                .or_else(|| {
                    estimated_time
                        .filter(|t| t.is_finite() && *t >= 0.0)
                        .map(Duration::from_secs_f64)
                })
                .unwrap_or(scheduled)
        }
        Error::Inference { error_type, .. }
            if error_type
                .as_deref()
                .is_some_and(|t| t.eq_ignore_ascii_case("overloaded")) =>
        {
            server.unwrap_or(scheduled)
        }
        Error::Http(ctx) if matches!(ctx.status, 408 | 502 | 503 | 504) => {
            server.unwrap_or(scheduled)
        }
        Error::Network { .. } => scheduled,
        _ => return None,
    };
    Some(delay.min(MAX_DELAY))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_shapes() {
        let h = HeaderMap::new();
        let e = error_for(
            422,
            &h,
            br#"{"error":"Input validation error: `inputs` must have less than 1000 tokens","error_type":"validation"}"#,
            "http://x/m",
        );
        assert_eq!(e.error_type(), Some("validation"));
        assert_eq!(e.status(), Some(422));
        let e = error_for(
            422,
            &h,
            b"Failed to deserialize the JSON body",
            "http://x/m",
        );
        assert!(matches!(
            e,
            Error::Inference {
                error_type: None,
                ..
            }
        ));
        assert_eq!(
            e.server_message(),
            Some("Failed to deserialize the JSON body")
        );
        let e = error_for(
            413,
            &h,
            br#"{"message":"too big","code":413,"type":"Validation"}"#,
            "http://x/m",
        );
        assert_eq!(e.error_type(), Some("Validation"));
        assert_eq!(e.server_message(), Some("too big"));
        let e = error_for(
            503,
            &h,
            br#"{"error":"loading","estimated_time":2.5}"#,
            "http://x",
        );
        assert!(matches!(e, Error::ModelLoading { estimated_time: Some(t), .. } if t == 2.5));
        let e = error_for(500, &h, b"<html><body>boom</body></html>", "http://x");
        assert!(matches!(e, Error::Http(ref c) if c.status == 500));
    }
}
