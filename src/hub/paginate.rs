//! The `Link`-header page walker that every paginated listing shares (hub.md §2.3): follow
//! `rel="next"` verbatim, lazily, until the end or the caller's limit.

use std::collections::VecDeque;

use futures::Stream;
use serde::de::DeserializeOwned;

use crate::error::{Error, Result};
use crate::http::{ErrorScope, HttpClient, body_error, response::redact_url};

/// The URL of the `rel="next"` link of a `Link` header, if any.
///
/// Handles several comma-separated links, quoted or bare `rel` values, several relation types in
/// one `rel` and commas inside quoted parameters.
///
/// ```
/// use hfkit::hub::paginate::parse_next_link;
/// let h = r#"<https://hub/api/models?cursor=a>; rel="prev", <https://hub/api/models?cursor=b>; rel="next""#;
/// assert_eq!(parse_next_link(h).as_deref(), Some("https://hub/api/models?cursor=b"));
/// assert_eq!(parse_next_link(r#"<https://x/>; rel="prev""#), None);
/// ```
pub fn parse_next_link(header: &str) -> Option<String> {
    let mut rest = header;
    loop {
        let open = rest.find('<')?;
        let after = &rest[open + 1..];
        let close = after.find('>')?;
        let target = after[..close].trim();
        let (params, remaining) = split_unquoted(&after[close + 1..], ',');
        let is_next = split_all_unquoted(params, ';').any(|param| {
            let Some((name, value)) = param.split_once('=') else {
                return false;
            };
            name.trim().eq_ignore_ascii_case("rel")
                && unquote(value.trim())
                    .split_ascii_whitespace()
                    .any(|r| r.eq_ignore_ascii_case("next"))
        });
        if is_next {
            return Some(target.to_owned());
        }
        rest = remaining?;
    }
}

/// Splits at the first `sep` outside double quotes: (before, after) — `after` is `None` when there
/// is no such separator.
fn split_unquoted(s: &str, sep: char) -> (&str, Option<&str>) {
    let mut quoted = false;
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        if escaped {
            escaped = false;
        } else if quoted && c == '\\' {
            escaped = true;
        } else if c == '"' {
            quoted = !quoted;
        } else if c == sep && !quoted {
            return (&s[..i], Some(&s[i + c.len_utf8()..]));
        }
    }
    (s, None)
}

fn split_all_unquoted(s: &str, sep: char) -> impl Iterator<Item = &str> {
    let mut rest = Some(s);
    std::iter::from_fn(move || {
        let (part, next) = split_unquoted(rest?, sep);
        rest = next;
        Some(part)
    })
}

fn unquote(v: &str) -> &str {
    v.strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or(v)
}

/// Walks a paginated JSON-array listing: `GET first_url?query`, then every `Link: <…>; rel="next"`
/// verbatim, lazily, until the last page or `limit` items (no page is fetched past the limit).
/// Each page is retried as a whole (request and body) with the client's policy; errors carry
/// `scope`. The stream ends after its first error.
#[allow(
    dead_code,
    reason = "shared with the snapshot download, which lists trees itself"
)]
pub(crate) fn paginate<T>(
    http: HttpClient,
    first_url: String,
    query: Vec<(String, String)>,
    limit: Option<usize>,
    scope: ErrorScope,
) -> impl Stream<Item = Result<T>> + Send + 'static
where
    T: DeserializeOwned + Send + 'static,
{
    walk(http, Ok((first_url, query, scope)), limit)
}

/// A page to fetch: URL and query pairs.
type PageRequest = (String, Vec<(String, String)>);

struct Walk<T> {
    http: HttpClient,
    /// The next page to fetch (URL, query), or the error to yield instead.
    next: Option<Result<PageRequest>>,
    items: VecDeque<T>,
    yielded: usize,
    limit: Option<usize>,
    scope: ErrorScope,
}

/// The first page of a walk (URL, query, error scope), or why there is none.
pub(super) type Start = Result<(String, Vec<(String, String)>, ErrorScope)>;

/// [`paginate`] whose first request may already have failed (validation); that error is then
/// the stream's only item.
pub(super) fn walk<T>(
    http: HttpClient,
    start: Start,
    limit: Option<usize>,
) -> impl Stream<Item = Result<T>> + Send + 'static
where
    T: DeserializeOwned + Send + 'static,
{
    let (next, scope, limit) = match start {
        Ok((url, query, scope)) => (Some(Ok((url, query))), scope, limit),
        // An invalid request is reported whatever the limit.
        Err(e) => (Some(Err(e)), ErrorScope::default(), None),
    };
    let state = Walk {
        http,
        next,
        items: VecDeque::new(),
        yielded: 0,
        limit,
        scope,
    };
    futures::stream::unfold(state, |mut st| async move {
        loop {
            if st.limit.is_some_and(|l| st.yielded >= l) {
                return None;
            }
            if let Some(item) = st.items.pop_front() {
                st.yielded += 1;
                return Some((Ok(item), st));
            }
            let (url, query) = match st.next.take()? {
                Ok(page) => page,
                Err(e) => return Some((Err(e), st)),
            };
            match fetch_page::<T>(&st.http, &url, &query, &st.scope).await {
                Ok((items, next)) => {
                    st.items = items.into();
                    st.next = next.map(|u| Ok((u, Vec::new())));
                }
                // `next` is now `None`: the stream ends after this error.
                Err(e) => return Some((Err(e), st)),
            }
        }
    })
}

/// Fetches one page: its items and the absolute URL of the next page.
async fn fetch_page<T: DeserializeOwned>(
    http: &HttpClient,
    url: &str,
    query: &[(String, String)],
    scope: &ErrorScope,
) -> Result<(Vec<T>, Option<String>)> {
    let (body, link, final_url) = http
        .retry_policy()
        .run(|| async {
            let mut req = http.get(url)?.scope(scope.clone());
            if !query.is_empty() {
                req = req.query(query.iter().map(|(k, v)| (k.as_str(), v.as_str())));
            }
            let resp = req.send().await?;
            let final_url = resp.url().clone();
            let links: Vec<&str> = resp
                .headers()
                .get_all(reqwest::header::LINK)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .collect();
            let link = (!links.is_empty()).then(|| links.join(", "));
            let body = resp
                .bytes()
                .await
                .map_err(|e| body_error(&e, "GET", final_url.as_str()))?;
            Ok((body, link, final_url))
        })
        .await?;
    let shown = redact_url(final_url.as_str());
    let items: Vec<T> = serde_json::from_slice(&body).map_err(|e| Error::MalformedResponse {
        url: shown.clone(),
        message: format!("unexpected JSON in a listing page: {e}"),
    })?;
    let next = match link.as_deref().and_then(parse_next_link) {
        None => None,
        Some(target) => {
            let next = final_url
                .join(&target)
                .map_err(|e| Error::MalformedResponse {
                    url: shown.clone(),
                    message: format!("invalid next-page link {target:?}: {e}"),
                })?;
            if next == final_url {
                return Err(Error::MalformedResponse {
                    url: shown,
                    message: "the next-page link points at the page itself".to_owned(),
                });
            }
            Some(next.to_string())
        }
    };
    Ok((items, next))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_links() {
        assert_eq!(
            parse_next_link(r#"<https://huggingface.co/api/models?cursor=abc>; rel="next""#)
                .as_deref(),
            Some("https://huggingface.co/api/models?cursor=abc")
        );
        assert_eq!(
            parse_next_link("<http://a/?x=1,2>; rel=next").as_deref(),
            Some("http://a/?x=1,2")
        );
        assert_eq!(
            parse_next_link(
                r#"<http://a/1>; title="a, b; c"; rel="prev", <http://a/2>;rel="last next""#
            )
            .as_deref(),
            Some("http://a/2")
        );
        assert_eq!(
            parse_next_link(r#"<http://a/1>; REL="Next""#).as_deref(),
            Some("http://a/1")
        );
        assert_eq!(parse_next_link(r#"<http://a/1>; rel="nextish""#), None);
        assert_eq!(parse_next_link(""), None);
        assert_eq!(parse_next_link("garbage"), None);
        assert_eq!(parse_next_link("<unterminated; rel=next"), None);
    }
}
