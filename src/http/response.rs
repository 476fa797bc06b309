//! Turning an HTTP error response into a typed [`Error`] (hub.md §7).

use reqwest::header::HeaderMap;

use crate::error::{Error, HttpContext};

/// Bodies larger than this are not read for an error message.
const MAX_ERROR_BODY: usize = 1 << 20;

/// What the request was about, to name it in errors and pick the right variant.
#[derive(Debug, Clone, Default)]
pub struct ErrorScope {
    /// `type/id` of the repository, when the request concerned one.
    pub repo: Option<String>,
    /// The revision requested.
    pub revision: Option<String>,
    /// The file path requested.
    pub path: Option<String>,
    /// The request creates a repository, branch or tag (409 = `Conflict`).
    pub creates: bool,
    /// The request is a commit (409/412 = `CommitConflict`).
    pub commit: bool,
}

/// The request id of a response.
pub fn request_id(headers: &HeaderMap) -> Option<String> {
    ["x-request-id", "x-amzn-trace-id", "x-amz-cf-id"]
        .iter()
        .find_map(|h| headers.get(*h).and_then(|v| v.to_str().ok()))
        .map(str::to_owned)
}

/// Reads the body (bounded) of an error response and builds the error.
pub async fn error_from_response(
    resp: reqwest::Response,
    method: &str,
    scope: &ErrorScope,
) -> Error {
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let url = redact_url(resp.url().as_str());
    let too_big = resp
        .content_length()
        .is_some_and(|l| l as usize > MAX_ERROR_BODY);
    let body = if too_big || method == "HEAD" {
        Vec::new()
    } else {
        read_bounded(resp).await
    };
    error_from_parts(status, &headers, &body, method, &url, scope)
}

async fn read_bounded(mut resp: reqwest::Response) -> Vec<u8> {
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

/// Removes query parameters that might carry credentials (signed URLs) from a URL shown in errors.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) => {
            let sensitive = |k: &str| {
                let k = k.to_ascii_lowercase();
                k.contains("signature")
                    || k.contains("token")
                    || k.contains("credential")
                    || k.contains("key-pair")
                    || k == "policy"
            };
            if u.query_pairs().any(|(k, _)| sensitive(&k)) {
                let kept: Vec<(String, String)> = u
                    .query_pairs()
                    .map(|(k, v)| {
                        let v = if sensitive(&k) {
                            "***".to_owned()
                        } else {
                            v.into_owned()
                        };
                        (k.into_owned(), v)
                    })
                    .collect();
                u.query_pairs_mut().clear().extend_pairs(kept);
            }
            u.to_string()
        }
        Err(_) => url.to_owned(),
    }
}

/// The server's message from the body: `{"error": "…"}`, `{"error": ["…"]}`,
/// `{"errors": [{"message"}]}`, `{"error", "error_description"}`, `{"error_description"}`, or text.
pub fn body_message(body: &[u8]) -> Option<String> {
    if body.is_empty() {
        return None;
    }
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) {
        let s = |v: &serde_json::Value| -> Option<String> {
            match v {
                serde_json::Value::String(s) => Some(s.clone()),
                serde_json::Value::Array(a) => {
                    let parts: Vec<String> = a
                        .iter()
                        .filter_map(|x| match x {
                            serde_json::Value::String(s) => Some(s.clone()),
                            serde_json::Value::Object(o) => {
                                o.get("message").and_then(|m| m.as_str()).map(str::to_owned)
                            }
                            _ => None,
                        })
                        .collect();
                    (!parts.is_empty()).then(|| parts.join("; "))
                }
                serde_json::Value::Object(o) => {
                    o.get("message").and_then(|m| m.as_str()).map(str::to_owned)
                }
                _ => None,
            }
        };
        let error = v.get("error").and_then(s);
        let desc = v
            .get("error_description")
            .and_then(|d| d.as_str())
            .map(str::to_owned);
        let errors = v.get("errors").and_then(s);
        return match (error, desc, errors) {
            (Some(e), Some(d), _) => Some(format!("{e}: {d}")),
            (Some(e), None, _) => Some(e),
            (None, Some(d), _) => Some(d),
            (None, None, Some(e)) => Some(e),
            (None, None, None) => None,
        };
    }
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    // An HTML error page says little; keep it short.
    if text.starts_with('<') {
        let short: String = text.chars().take(200).collect();
        return Some(short);
    }
    Some(text.chars().take(2000).collect())
}

/// Builds the typed error of a response from its parts.
pub fn error_from_parts(
    status: u16,
    headers: &HeaderMap,
    body: &[u8],
    method: &str,
    url: &str,
    scope: &ErrorScope,
) -> Error {
    let header = |n: &str| {
        headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let code = header("x-error-code");
    let header_msg = header("x-error-message");
    let body_msg = body_message(body);
    let server_message = match (header_msg, body_msg) {
        (Some(h), Some(b)) if b.contains(&h) => Some(b),
        (Some(h), Some(b)) if h.contains(&b) => Some(h),
        (Some(h), Some(b)) => Some(format!("{h} ({b})")),
        (h, b) => h.or(b),
    };
    let retry_after = super::retry::retry_after(status, headers);
    let ctx = Box::new(HttpContext {
        status,
        method: method.to_owned(),
        url: url.to_owned(),
        request_id: request_id(headers),
        error_code: code.clone(),
        server_message: server_message.clone(),
        retry_after,
    });
    let repo = || scope.repo.clone().unwrap_or_else(|| url.to_owned());
    match code.as_deref() {
        Some("RevisionNotFound") => {
            return Error::RevisionNotFound {
                revision: scope.revision.clone().unwrap_or_default(),
                ctx,
            };
        }
        Some("EntryNotFound") => {
            return Error::EntryNotFound {
                path: scope.path.clone().unwrap_or_default(),
                ctx,
            };
        }
        Some("GatedRepo") => return Error::GatedRepo { repo: repo(), ctx },
        _ => {}
    }
    if server_message.as_deref() == Some("Access to this resource is disabled.") {
        return Error::DisabledRepo { repo: repo(), ctx };
    }
    let is_repo_url = url.contains("/api/models/")
        || url.contains("/api/datasets/")
        || url.contains("/api/spaces/")
        || url.contains("/resolve/");
    if code.as_deref() == Some("RepoNotFound")
        || (status == 401
            && is_repo_url
            && server_message.as_deref() != Some("Invalid credentials in Authorization header"))
    {
        return Error::RepoNotFound { repo: repo(), ctx };
    }
    match status {
        401 => Error::Unauthorized(ctx),
        403 => Error::Forbidden(ctx),
        400 => Error::BadRequest(ctx),
        409 | 412 if scope.commit => Error::CommitConflict(ctx),
        409 if scope.creates => Error::Conflict(ctx),
        416 => Error::RangeNotSatisfiable(ctx),
        429 => Error::RateLimited { retry_after, ctx },
        503 if is_model_loading(body) => Error::ModelLoading {
            estimated_time: serde_json::from_slice::<serde_json::Value>(body)
                .ok()
                .and_then(|v| v.get("estimated_time").and_then(|t| t.as_f64())),
            ctx,
        },
        _ => Error::Http(ctx),
    }
}

fn is_model_loading(body: &[u8]) -> bool {
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .is_some_and(|v| v.get("estimated_time").is_some())
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn err(status: u16, hdrs: &[(&'static str, &'static str)], body: &str, url: &str) -> Error {
        let mut h = HeaderMap::new();
        for (k, v) in hdrs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        error_from_parts(
            status,
            &h,
            body.as_bytes(),
            "GET",
            url,
            &ErrorScope::default(),
        )
    }

    #[test]
    fn mapping() {
        let e = err(
            404,
            &[("x-error-code", "RepoNotFound"), ("x-request-id", "abc")],
            r#"{"error":"Repository not found"}"#,
            "http://h/api/models/a/b",
        );
        assert!(matches!(e, Error::RepoNotFound { .. }));
        assert_eq!(e.request_id(), Some("abc"));
        assert_eq!(e.server_message(), Some("Repository not found"));
        assert!(matches!(
            err(
                404,
                &[("x-error-code", "EntryNotFound")],
                "",
                "http://h/a/b/resolve/main/x"
            ),
            Error::EntryNotFound { .. }
        ));
        assert!(matches!(
            err(
                401,
                &[("x-error-code", "GatedRepo")],
                "",
                "http://h/a/b/resolve/main/x"
            ),
            Error::GatedRepo { .. }
        ));
        assert!(matches!(
            err(
                401,
                &[],
                r#"{"error":"Invalid credentials in Authorization header"}"#,
                "http://h/api/models/a/b"
            ),
            Error::Unauthorized(_)
        ));
        assert!(matches!(
            err(401, &[], "", "http://h/api/models/a/b"),
            Error::RepoNotFound { .. }
        ));
        assert!(matches!(
            err(403, &[], "", "http://h/api/whoami-v2"),
            Error::Forbidden(_)
        ));
        assert!(
            matches!(err(429, &[("retry-after", "3")], "", "http://h/x"),
            Error::RateLimited { retry_after: Some(d), .. } if d.as_secs() == 4)
        );
        let e = err(500, &[], "<html><body>oops</body></html>", "http://h/x");
        assert!(matches!(e, Error::Http(_)));
        assert!(e.is_transient());
        assert_eq!(
            body_message(br#"{"error":"invalid_grant","error_description":"expired"}"#).as_deref(),
            Some("invalid_grant: expired")
        );
        assert_eq!(
            body_message(br#"{"errors":[{"message":"a"},{"message":"b"}]}"#).as_deref(),
            Some("a; b")
        );
    }

    #[test]
    fn redaction() {
        let u = redact_url("https://cdn.example/x?X-Amz-Signature=abc&a=1");
        assert!(!u.contains("abc") && u.contains("a=1"), "{u}");
    }
}
