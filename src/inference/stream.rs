//! Streamed answers: an SSE body (framed by [`super::sse`]) → typed chunks (inference.md §6.2,
//! §7.3).
//!
//! Per event: empty data is skipped; `[DONE]` (trimmed) ends the stream and releases the
//! connection; an object with a non-null `error` (or an `event: error`) is one
//! [`Error::Stream`] carrying the server's message, then the end; anything else is parsed as the
//! chunk type. A body that breaks off mid-way is an error, never a silent end, and nothing is
//! retried once the stream is handed over. Dropping a stream drops the response body, which
//! closes the connection and so cancels the generation on the server.

use std::collections::VecDeque;
use std::future::Future;
use std::marker::PhantomData;
use std::ops::ControlFlow;
use std::pin::Pin;
use std::sync::LazyLock;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures::Stream;
use serde::de::DeserializeOwned;

use super::sse::{SseEventRef, SseParser};
use super::types::{
    ChatCompletionAccumulator, ChatCompletionOutput, ChatCompletionStreamOutput,
    TextGenerationStreamOutput,
};
use crate::error::{Error, Result};
use crate::http::response::redact_url;

/// Finds `"error"` in an event. Built once: a one-shot `memmem::find` builds its searcher on
/// every call, which cost more than parsing the chunk itself.
static ERROR_KEY: LazyLock<memchr::memmem::Finder<'static>> =
    LazyLock::new(|| memchr::memmem::Finder::new(b"\"error\""));

type Body = Pin<Box<dyn Stream<Item = reqwest::Result<Bytes>> + Send>>;
type PlainAnswer<T> = Pin<Box<dyn Future<Output = Result<Vec<T>>> + Send>>;

/// A typed stream of the events of one streamed answer.
///
/// [`TextGenerationStream`] and [`ChatCompletionStream`] are this type for their chunk type.
#[must_use = "a stream does nothing unless polled; dropping it cancels the request"]
pub struct EventStream<T> {
    body: Option<Body>,
    /// A 200 JSON answer (not `text/event-stream`): its body, read to the end and parsed once.
    json: Option<PlainAnswer<T>>,
    parser: SseParser,
    /// The body piece being parsed and how much of it is parsed: events are turned into chunks
    /// one at a time, straight from the bytes hyper read.
    piece: Bytes,
    at: usize,
    /// Chunks already made (a plain JSON answer, or the end of the body).
    ready: VecDeque<T>,
    /// How the stream ends once `ready` is drained, when that is an error.
    failure: Option<Error>,
    url: String,
    idle: Option<Duration>,
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
    delivered: u64,
    eof: bool,
    done: bool,
    _t: PhantomData<fn() -> T>,
}

// No field is structurally pinned (the body and timer are boxed, `T`s are only moved out).
impl<T> Unpin for EventStream<T> {}

impl<T> std::fmt::Debug for EventStream<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventStream")
            .field("url", &self.url)
            .field("delivered", &self.delivered)
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

/// The streamed chunks of a `text_generation` call.
pub type TextGenerationStream = EventStream<TextGenerationStreamOutput>;
/// The streamed chunks of a `chat_completion` call.
pub type ChatCompletionStream = EventStream<ChatCompletionStreamOutput>;

/// A chunk type: how a JSON answer that is not an event stream becomes chunks.
pub trait StreamChunk: DeserializeOwned + Send + 'static {
    /// The chunks a plain JSON answer stands for (a server that ignored `stream: true`).
    fn from_plain(v: serde_json::Value) -> Option<Vec<Self>>;
}

impl StreamChunk for TextGenerationStreamOutput {
    fn from_plain(v: serde_json::Value) -> Option<Vec<Self>> {
        let item = match v {
            serde_json::Value::Array(mut a) if !a.is_empty() => a.swap_remove(0),
            other => other,
        };
        if let Ok(chunk) = serde_json::from_value::<Self>(item.clone()) {
            return Some(vec![chunk]);
        }
        let out: super::types::TextGenerationOutput = serde_json::from_value(item).ok()?;
        let details = out
            .details
            .map(|d| super::types::TextGenerationStreamDetails {
                finish_reason: d.finish_reason,
                generated_tokens: d.generated_tokens,
                seed: d.seed,
                input_length: None,
            });
        Some(vec![TextGenerationStreamOutput {
            index: None,
            token: super::types::GeneratedToken {
                id: -1,
                text: out.generated_text.clone(),
                logprob: None,
                special: false,
            },
            generated_text: Some(out.generated_text),
            details,
            top_tokens: None,
        }])
    }
}

impl StreamChunk for ChatCompletionStreamOutput {
    fn from_plain(v: serde_json::Value) -> Option<Vec<Self>> {
        let has_messages = v
            .get("choices")
            .and_then(|c| c.as_array())
            .is_some_and(|c| c.iter().any(|c| c.get("message").is_some()));
        if !has_messages {
            return serde_json::from_value::<Self>(v).ok().map(|c| vec![c]);
        }
        let out: ChatCompletionOutput = serde_json::from_value(v).ok()?;
        let choices = out
            .choices
            .into_iter()
            .map(|c| super::types::ChatCompletionStreamChoice {
                index: c.index,
                delta: super::types::ChatCompletionDelta {
                    role: Some(c.message.role),
                    content: c.message.content,
                    tool_calls: c.message.tool_calls.map(|calls| {
                        calls
                            .into_iter()
                            .enumerate()
                            .map(|(i, t)| super::types::ToolCallDelta {
                                index: u32::try_from(i).unwrap_or(u32::MAX),
                                id: Some(t.id),
                                kind: Some(t.kind),
                                function: Some(super::types::FunctionCallDelta {
                                    arguments: Some(t.function.arguments_text()),
                                    name: Some(t.function.name),
                                }),
                            })
                            .collect()
                    }),
                    reasoning: c.message.reasoning,
                    reasoning_content: text_of(&c.message.other, "reasoning_content"),
                    refusal: text_of(&c.message.other, "refusal"),
                },
                logprobs: c.logprobs,
                finish_reason: c.finish_reason,
            })
            .collect();
        Some(vec![ChatCompletionStreamOutput {
            id: out.id,
            object: out.object,
            created: out.created,
            model: out.model,
            system_fingerprint: out.system_fingerprint,
            choices,
            usage: out.usage,
        }])
    }
}

fn text_of(m: &serde_json::Map<String, serde_json::Value>, key: &str) -> Option<String> {
    m.get(key).and_then(|v| v.as_str()).map(str::to_owned)
}

impl<T: StreamChunk> EventStream<T> {
    /// Wraps a 2xx response; `idle` bounds the wait for each piece of the body.
    pub(crate) fn new(resp: reqwest::Response, idle: Option<Duration>) -> Self {
        let url = redact_url(resp.url().as_str());
        let is_json = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|c| {
                let c = c.trim_start();
                c.starts_with("application/json") || c.contains("+json")
            });
        let mut s = EventStream {
            body: None,
            json: None,
            parser: SseParser::new(),
            piece: Bytes::new(),
            at: 0,
            ready: VecDeque::new(),
            failure: None,
            url: url.clone(),
            idle,
            sleep: None,
            delivered: 0,
            eof: false,
            done: false,
            _t: PhantomData,
        };
        if is_json {
            s.json = Some(Box::pin(plain::<T>(resp, url)));
        } else {
            s.body = Some(Box::pin(resp.bytes_stream()));
        }
        s
    }

    /// The URL that answers (redacted of credentials).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// How many chunks were handed out so far.
    pub fn delivered(&self) -> u64 {
        self.delivered
    }

    fn stop(&mut self) {
        self.done = true;
        self.body = None;
        self.json = None;
        self.sleep = None;
        self.piece = Bytes::new();
        self.at = 0;
        self.ready.clear();
    }

    fn fail(&mut self, e: Error) -> Poll<Option<Result<T>>> {
        self.stop();
        Poll::Ready(Some(Err(e)))
    }

    /// Hands out what one event became.
    fn apply(&mut self, outcome: Outcome<T>) -> Poll<Option<Result<T>>> {
        match outcome {
            Outcome::Chunk(chunk) => {
                self.delivered += 1;
                Poll::Ready(Some(Ok(chunk)))
            }
            Outcome::Done => {
                self.stop();
                Poll::Ready(None)
            }
            Outcome::Fail(e) => self.fail(e),
        }
    }

    /// The body ended: a pending event (without its blank line) still counts.
    fn end_of_body(&mut self) {
        self.eof = true;
        self.body = None;
        self.sleep = None;
        let (url, delivered) = (&self.url, self.delivered);
        let mut outcomes = Vec::new();
        let r = self.parser.finish_with(|ev| {
            outcomes.extend(classify::<T>(ev, url, delivered));
            ControlFlow::Continue(())
        });
        if let Err(e) = r {
            outcomes.push(Outcome::Fail(e));
        }
        for o in outcomes {
            match o {
                Outcome::Chunk(c) => self.ready.push_back(c),
                Outcome::Done => break,
                Outcome::Fail(e) => {
                    self.failure = Some(e);
                    break;
                }
            }
        }
    }
}

/// What one event (with data) is.
enum Outcome<T> {
    Chunk(T),
    /// `[DONE]`.
    Done,
    Fail(Error),
}

/// Turns one event into a chunk, the end, an error, or nothing (empty data).
fn classify<T: StreamChunk>(ev: SseEventRef<'_>, url: &str, delivered: u64) -> Option<Outcome<T>> {
    let data = ev.data.trim();
    if data.is_empty() {
        return None;
    }
    Some(outcome(ev.event, data, url, delivered))
}

fn outcome<T: StreamChunk>(
    event: Option<&str>,
    data: &str,
    url: &str,
    delivered: u64,
) -> Outcome<T> {
    if data == "[DONE]" {
        return Outcome::Done;
    }
    let is_error_event = event == Some("error");
    if is_error_event || ERROR_KEY.find(data.as_bytes()).is_some() {
        let v: Option<serde_json::Value> = serde_json::from_str(data).ok();
        if let Some(e) = v.as_ref().and_then(stream_error) {
            return Outcome::Fail(e);
        }
        if is_error_event {
            return Outcome::Fail(Error::stream(format!(
                "the server sent an error event: {}",
                shorten(data)
            )));
        }
    }
    match serde_json::from_str::<T>(data) {
        Ok(chunk) => Outcome::Chunk(chunk),
        Err(e) => Outcome::Fail(Error::MalformedResponse {
            url: url.to_owned(),
            message: format!(
                "event {} of the stream is not the expected chunk ({e}): {}",
                delivered + 1,
                shorten(data)
            ),
        }),
    }
}

/// A 200 JSON answer to a streaming request: an error object, or the chunks it stands for.
async fn plain<T: StreamChunk>(resp: reqwest::Response, url: String) -> Result<Vec<T>> {
    let body = resp
        .bytes()
        .await
        .map_err(|e| crate::http::body_error(&e, "POST", &url))?;
    let v: serde_json::Value =
        serde_json::from_slice(&body).map_err(|e| Error::MalformedResponse {
            url: url.clone(),
            message: format!("a streaming request got a JSON answer that does not parse: {e}"),
        })?;
    if let Some(e) = stream_error(&v) {
        return Err(e);
    }
    let shown = shorten(&v.to_string());
    T::from_plain(v).ok_or_else(|| Error::MalformedResponse {
        url,
        message: format!("a streaming request got a JSON answer of the wrong shape: {shown}"),
    })
}

/// The error an event carries: `{"error": "msg", "error_type": …}` (TGI) or `{"error":
/// {"message": …, "type"?, "http_status_code"?}}` (OpenAI-style).
fn stream_error(v: &serde_json::Value) -> Option<Error> {
    let err = v.get("error")?;
    let (message, kind, status) = match err {
        serde_json::Value::Null => return None,
        serde_json::Value::String(s) => (
            s.clone(),
            v.get("error_type")
                .and_then(|t| t.as_str())
                .map(str::to_owned),
            None,
        ),
        serde_json::Value::Object(o) => (
            o.get("message")
                .and_then(|m| m.as_str())
                .map(str::to_owned)
                .unwrap_or_else(|| err.to_string()),
            o.get("type")
                .or_else(|| o.get("code"))
                .and_then(|t| t.as_str())
                .map(str::to_owned),
            o.get("http_status_code")
                .or_else(|| o.get("status"))
                .and_then(|s| s.as_u64()),
        ),
        serde_json::Value::Array(a) => (
            a.iter()
                .filter_map(|m| m.as_str())
                .collect::<Vec<_>>()
                .join("\n"),
            None,
            None,
        ),
        other => (other.to_string(), None, None),
    };
    Some(Error::Stream {
        message,
        error_type: kind,
        status_hint: status.and_then(|s| u16::try_from(s).ok()),
    })
}

fn shorten(s: &str) -> String {
    if s.len() <= 200 {
        return s.to_owned();
    }
    let mut cut = 200;
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}…", &s[..cut])
}

impl<T: StreamChunk> Stream for EventStream<T> {
    type Item = Result<T>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<T>>> {
        let this = &mut *self;
        loop {
            if this.done {
                return Poll::Ready(None);
            }
            if let Some(t) = this.ready.pop_front() {
                this.delivered += 1;
                return Poll::Ready(Some(Ok(t)));
            }
            if let Some(fut) = this.json.as_mut() {
                match fut.as_mut().poll(cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(Ok(chunks)) => {
                        this.json = None;
                        this.eof = true;
                        this.ready.extend(chunks);
                        continue;
                    }
                    Poll::Ready(Err(e)) => return this.fail(e),
                }
            }
            if this.at < this.piece.len() {
                let (url, delivered) = (&this.url, this.delivered);
                let mut outcome = None;
                let parsed = this.parser.feed_with(&this.piece[this.at..], |ev| {
                    outcome = classify::<T>(ev, url, delivered);
                    match outcome {
                        None => ControlFlow::Continue(()),
                        Some(_) => ControlFlow::Break(()),
                    }
                });
                match parsed {
                    Ok(n) => this.at += n,
                    Err(e) => return this.fail(e),
                }
                if this.at >= this.piece.len() {
                    // Let go of hyper's buffer as soon as it is parsed.
                    this.piece = Bytes::new();
                    this.at = 0;
                }
                if let Some(o) = outcome {
                    return this.apply(o);
                }
                continue;
            }
            if this.eof {
                let failure = this.failure.take();
                this.stop();
                return match failure {
                    Some(e) => Poll::Ready(Some(Err(e))),
                    None => Poll::Ready(None),
                };
            }
            let Some(body) = this.body.as_mut() else {
                this.stop();
                return Poll::Ready(None);
            };
            match body.as_mut().poll_next(cx) {
                Poll::Ready(Some(Ok(bytes))) => {
                    this.sleep = None;
                    this.piece = bytes;
                    this.at = 0;
                }
                Poll::Ready(Some(Err(e))) => {
                    let err = if e.is_timeout() {
                        crate::http::body_error(&e, "POST", &this.url)
                    } else {
                        Error::stream(format!(
                            "the connection to {} broke after {} chunks: {}",
                            this.url,
                            this.delivered,
                            root_cause(&e)
                        ))
                    };
                    return this.fail(err);
                }
                Poll::Ready(None) => this.end_of_body(),
                Poll::Pending => {
                    if let Some(idle) = this.idle {
                        let sleep = this
                            .sleep
                            .get_or_insert_with(|| Box::pin(tokio::time::sleep(idle)));
                        if sleep.as_mut().poll(cx).is_ready() {
                            let url = this.url.clone();
                            return this.fail(Error::Timeout {
                                method: "POST".into(),
                                url,
                                elapsed: idle,
                            });
                        }
                    }
                    return Poll::Pending;
                }
            }
        }
    }
}

fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut msg = e.to_string();
    let mut src = e.source();
    while let Some(s) = src {
        msg = s.to_string();
        src = s.source();
    }
    msg
}

impl EventStream<TextGenerationStreamOutput> {
    /// The generated text piece by piece (`token.text` of every event, special tokens
    /// included, as Python does).
    pub fn text(self) -> impl Stream<Item = Result<String>> + Send {
        use futures::StreamExt;
        self.map(|r| r.map(|c| c.token.text))
    }
}

impl EventStream<ChatCompletionStreamOutput> {
    /// Reads the stream to its end and folds the chunks into the final completion (see
    /// [`ChatCompletionAccumulator`]).
    pub async fn collect_message(mut self) -> Result<ChatCompletionOutput> {
        use futures::StreamExt;
        let mut acc = ChatCompletionAccumulator::new();
        while let Some(chunk) = self.next().await {
            acc.push(&chunk?);
        }
        Ok(acc.finish())
    }

    /// The text of the first choice piece by piece (chunks without text are skipped).
    pub fn text(self) -> impl Stream<Item = Result<String>> + Send {
        use futures::StreamExt;
        self.filter_map(|r| async move {
            match r {
                Ok(c) => c
                    .delta_text()
                    .filter(|t| !t.is_empty())
                    .map(|t| Ok(t.to_owned())),
                Err(e) => Some(Err(e)),
            }
        })
    }
}

#[cfg(test)]
mod tests;
