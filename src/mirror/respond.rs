//! Building responses: Hub-style errors (hub.md §7), JSON bodies, query parameters and
//! `Link: rel="next"` pagination (hub.md §2.3).

use axum::http::header::{CONTENT_TYPE, HOST};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;

use super::wire::ErrorBody;
use crate::error::Error;

/// An error answer: status, optional `X-Error-Code`, message (header and `{"error"}` body) and
/// the commit (`X-Repo-Commit`) when one was resolved.
#[derive(Debug)]
pub(crate) struct ApiError {
    status: StatusCode,
    code: Option<&'static str>,
    message: String,
    commit: Option<String>,
    headers: Vec<(HeaderName, String)>,
}

impl ApiError {
    fn new(status: StatusCode, code: Option<&'static str>, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            commit: None,
            headers: Vec::new(),
        }
    }

    /// Any status, optional `X-Error-Code` and message.
    pub fn status(
        status: StatusCode,
        code: Option<&'static str>,
        message: impl Into<String>,
    ) -> Self {
        Self::new(status, code, message)
    }

    /// 403 with a message.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, None, message)
    }

    /// 409 with a message.
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, None, message)
    }

    /// 404 `RepoNotFound`.
    pub fn repo_not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            Some("RepoNotFound"),
            "Repository not found",
        )
    }

    /// 404 `RevisionNotFound`.
    pub fn revision_not_found(rev: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            Some("RevisionNotFound"),
            format!("Invalid rev id: {rev}"),
        )
    }

    /// 404 `EntryNotFound` with the commit it was looked up at.
    pub fn entry_not_found(commit: &str) -> Self {
        let mut e = Self::new(
            StatusCode::NOT_FOUND,
            Some("EntryNotFound"),
            "Entry not found",
        );
        e.commit = Some(commit.to_owned());
        e
    }

    /// 400 with a message.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, None, message)
    }

    /// 404 for paths the mirror does not serve.
    pub fn no_route() -> Self {
        Self::new(StatusCode::NOT_FOUND, None, "Not Found")
    }

    /// 405 for a known path asked with the wrong method.
    pub fn method_not_allowed() -> Self {
        Self::new(StatusCode::METHOD_NOT_ALLOWED, None, "Method not allowed")
    }

    /// 401 for a missing or wrong token.
    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            None,
            "Invalid credentials in Authorization header",
        )
    }

    /// 416 for a range starting past the end of a file of `total` bytes.
    pub fn range_not_satisfiable(total: u64, commit: &str) -> Self {
        let mut e = Self::new(
            StatusCode::RANGE_NOT_SATISFIABLE,
            None,
            "Requested range not satisfiable",
        );
        e.commit = Some(commit.to_owned());
        e.headers.push((
            axum::http::header::CONTENT_RANGE,
            format!("bytes */{total}"),
        ));
        e
    }

    /// 500 for a failure on the mirror's side (logged).
    pub fn internal(err: &Error) -> Self {
        tracing::error!("mirror: {err}");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            None,
            format!("Internal error: {err}"),
        )
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        ApiError::internal(&e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::to_vec(&ErrorBody {
            error: &self.message,
        })
        .unwrap_or_else(|_| b"{\"error\":\"error\"}".to_vec());
        let mut resp = (self.status, body).into_response();
        let h = resp.headers_mut();
        h.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        if let Some(code) = self.code {
            h.insert("x-error-code", HeaderValue::from_static(code));
        }
        h.insert("x-error-message", header_text(&self.message));
        if let Some(commit) = &self.commit {
            h.insert("x-repo-commit", header_text(commit));
        }
        for (name, value) in self.headers {
            h.insert(name, header_text(&value));
        }
        resp
    }
}

/// A header value from arbitrary text: anything but visible ASCII and space becomes `?`.
pub(crate) fn header_text(s: &str) -> HeaderValue {
    let clean: String = s
        .chars()
        .map(|c| {
            if c == ' ' || c.is_ascii_graphic() {
                c
            } else {
                '?'
            }
        })
        .collect();
    HeaderValue::from_str(&clean).unwrap_or_else(|_| HeaderValue::from_static("?"))
}

/// A `200` JSON response.
pub(crate) fn json<T: Serialize>(value: &T) -> Result<Response, ApiError> {
    let body = serde_json::to_vec(value)
        .map_err(|e| ApiError::internal(&Error::json("encoding a mirror response", e)))?;
    Ok(([(CONTENT_TYPE, "application/json")], body).into_response())
}

/// The query parameters of a request, in order, repeated keys kept.
pub(crate) struct Query(Vec<(String, String)>);

impl Query {
    /// Parses the query of `uri`.
    pub fn of(uri: &Uri) -> Self {
        Self::parse(uri.query().unwrap_or("").as_bytes())
    }

    /// Parses an `application/x-www-form-urlencoded` string.
    pub fn parse(raw: &[u8]) -> Self {
        Query(
            url::form_urlencoded::parse(raw)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    /// The first value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of `key`.
    pub fn all<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Whether `key` is set to a true value (`true`, `1`, `True`, …).
    pub fn flag(&self, key: &str) -> bool {
        self.get(key)
            .is_some_and(|v| matches!(v.to_ascii_lowercase().as_str(), "1" | "true" | "yes" | "on"))
    }

    /// A non-negative integer parameter; `Ok(None)` when absent.
    pub fn usize(&self, key: &str) -> Result<Option<usize>, ApiError> {
        self.get(key)
            .map(|v| {
                v.parse::<usize>()
                    .map_err(|_| ApiError::bad_request(format!("Invalid value for {key}: {v}")))
            })
            .transpose()
    }
}

/// One page of a list and the cursor of the next one.
pub(crate) struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

/// Cuts `items` into the page starting at `cursor`, of at most `page_size` items, never going
/// past the first `limit` items overall.
pub(crate) fn paginate<T>(
    items: Vec<T>,
    cursor: Option<&str>,
    page_size: usize,
    limit: Option<usize>,
) -> Result<Page<T>, ApiError> {
    let start = match cursor {
        None => 0,
        Some(c) => decode_cursor(c).ok_or_else(|| ApiError::bad_request("Invalid cursor"))?,
    };
    let total = limit.map_or(items.len(), |l| l.min(items.len()));
    let start = start.min(total);
    let end = start.saturating_add(page_size.max(1)).min(total);
    let next_cursor = (end < total).then(|| encode_cursor(end));
    let items = items.into_iter().skip(start).take(end - start).collect();
    Ok(Page { items, next_cursor })
}

fn encode_cursor(offset: usize) -> String {
    URL_SAFE_NO_PAD.encode(format!("offset:{offset}"))
}

fn decode_cursor(cursor: &str) -> Option<usize> {
    let raw = URL_SAFE_NO_PAD.decode(cursor).ok()?;
    let text = String::from_utf8(raw).ok()?;
    text.strip_prefix("offset:")?.parse().ok()
}

/// `http://{Host}` of a request (empty when the header is missing or odd).
pub(crate) fn origin(headers: &HeaderMap) -> String {
    headers
        .get(HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b".-:[]_".contains(&b))
        })
        .map(|h| format!("http://{h}"))
        .unwrap_or_default()
}

/// A JSON page with its `Link: <…>; rel="next"` header when more items remain. The link repeats
/// the request (path and query) with `cursor` replaced, made absolute with the `Host` header.
pub(crate) fn json_page<T: Serialize>(
    page: &Page<T>,
    uri: &Uri,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    let mut resp = json(&page.items)?;
    if let Some(cursor) = &page.next_cursor {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in &Query::of(uri).0 {
            if k != "cursor" {
                q.append_pair(k, v);
            }
        }
        q.append_pair("cursor", cursor);
        let origin = origin(headers);
        let link = format!("<{origin}{}?{}>; rel=\"next\"", uri.path(), q.finish());
        resp.headers_mut()
            .insert(axum::http::header::LINK, header_text(&link));
    }
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_cover_everything_once() {
        let items: Vec<u32> = (0..5).collect();
        let mut cursor: Option<String> = None;
        let mut seen = Vec::new();
        loop {
            let page = paginate(items.clone(), cursor.as_deref(), 2, None).unwrap();
            seen.extend(page.items);
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        assert_eq!(seen, items);
        let page = paginate(items.clone(), None, 2, Some(3)).unwrap();
        let next = page.next_cursor.unwrap();
        let page = paginate(items.clone(), Some(&next), 2, Some(3)).unwrap();
        assert_eq!(page.items, [2]);
        assert!(page.next_cursor.is_none());
        assert!(paginate(items, Some("!!"), 2, None).is_err());
    }

    #[test]
    fn header_text_is_always_valid() {
        assert_eq!(header_text("Invalid rev id: é\n"), "Invalid rev id: ??");
    }
}
