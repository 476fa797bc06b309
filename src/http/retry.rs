//! Which failures are retried, and after how long (hub.md §7).
//!
//! Waits follow Python's schedule (1, 2, 4, 8, 8 s) with jitter, at most `max_retries` times and
//! within `max_retry_time` in total. A `RateLimit: "api";r=0;t=55` header asks for `t + 1` seconds,
//! else `Retry-After: N` for `N + 1` seconds.

use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};
use reqwest::header::HeaderMap;

use crate::config::Settings;
use crate::error::{Error, Result};

/// How a request is retried.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Retries after the first attempt (0 = no retry).
    pub max_retries: u32,
    /// First delay; doubles up to `max_delay`.
    pub base_delay: Duration,
    /// Largest single delay before jitter.
    pub max_delay: Duration,
    /// Bound on the sum of all delays.
    pub max_total: Duration,
}

impl RetryPolicy {
    /// No retries at all.
    pub const NONE: RetryPolicy = RetryPolicy {
        max_retries: 0,
        base_delay: Duration::from_secs(1),
        max_delay: Duration::from_secs(8),
        max_total: Duration::ZERO,
    };

    /// The policy a client's settings describe.
    pub fn from_settings(s: &Settings) -> Self {
        RetryPolicy {
            max_retries: s.max_retries,
            base_delay: s.retry_base_delay,
            max_delay: s.retry_base_delay * 8,
            max_total: s.max_retry_time,
        }
    }

    /// Runs `op` until it succeeds, fails with a non-transient error, or the policy is spent.
    pub async fn run<T, F, Fut>(&self, mut op: F) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        if self.max_retries == 0 {
            return op().await;
        }
        // backon counts the attempts and stops after `max_retries` or `max_total`; the delay of
        // each wait is ours: 1, 2, 4, 8, 8 s (base doubling up to `max_delay`) plus up to 25 %
        // jitter, or what the server asked for.
        let backoff = ExponentialBuilder::default()
            .with_min_delay(self.base_delay)
            .with_max_delay(self.max_delay)
            .with_factor(2.0)
            .with_max_times(self.max_retries as usize)
            .with_total_delay(Some(self.max_total));
        let (base, max_delay, max_total) = (self.base_delay, self.max_delay, self.max_total);
        let mut attempt: u32 = 0;
        (&mut op)
            .retry(backoff)
            .sleep(tokio::time::sleep)
            .when(Error::is_transient)
            .adjust(move |err, dur| {
                dur?;
                let scheduled = base.saturating_mul(1u32 << attempt.min(16)).min(max_delay);
                attempt += 1;
                let jitter = scheduled.mul_f64(fastrand::f64() * 0.25);
                match server_delay(err) {
                    // The server's wish wins over our schedule, within the total bound.
                    Some(wanted) if wanted <= max_total => Some(wanted),
                    Some(_) => None,
                    None => Some(scheduled + jitter),
                }
            })
            .notify(|err, dur| {
                tracing::warn!("retrying in {:.1} s after: {err}", dur.as_secs_f64());
            })
            .await
    }
}

fn server_delay(err: &Error) -> Option<Duration> {
    err.http_context().and_then(|c| c.retry_after)
}

/// The delay a response asks for before a retry: `RateLimit` `t` + 1 s on 429, else
/// `Retry-After` seconds + 1 s.
pub fn retry_after(status: u16, headers: &HeaderMap) -> Option<Duration> {
    if status == 429
        && let Some(t) = headers
            .get("ratelimit")
            .and_then(|v| v.to_str().ok())
            .and_then(parse_ratelimit_reset)
    {
        return Some(Duration::from_secs(t + 1));
    }
    let v = headers.get("retry-after")?.to_str().ok()?.trim();
    let secs: f64 = v.parse().ok()?;
    if !secs.is_finite() || secs < 0.0 {
        return None;
    }
    Some(Duration::from_secs_f64(secs.min(86_400.0)) + Duration::from_secs(1))
}

/// `"api";r=0;t=55` → 55.
fn parse_ratelimit_reset(v: &str) -> Option<u64> {
    v.split(';')
        .filter_map(|p| p.trim().strip_prefix("t="))
        .find_map(|t| t.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn delays() {
        let mut h = HeaderMap::new();
        h.insert("retry-after", HeaderValue::from_static("1"));
        assert_eq!(retry_after(503, &h), Some(Duration::from_secs(2)));
        h.insert("ratelimit", HeaderValue::from_static("\"api\";r=0;t=55"));
        assert_eq!(retry_after(429, &h), Some(Duration::from_secs(56)));
        assert_eq!(retry_after(503, &h), Some(Duration::from_secs(2)));
        assert_eq!(retry_after(503, &HeaderMap::new()), None);
    }
}
