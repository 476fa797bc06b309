//! Server-sent events framing (inference.md §6.2): bytes in, in chunks cut anywhere, events out.
//!
//! hfkit frames SSE itself instead of using `eventsource-stream`: that crate spends about 10 µs
//! per event when one read carries many events, which caps a chat stream near 93,000 chunks/s,
//! while a `memchr` line splitter keeps framing far below the cost of parsing each event's JSON
//! (crates.md, "Streaming (SSE)").
//!
//! Rules: lines end at `\r\n`, `\n` or `\r` (a `\r\n` split across chunks is one break); a
//! leading UTF-8 byte-order mark is dropped; lines starting with `:` are comments (keep-alives)
//! and ignored; other lines are `field:value` with **one** optional space after the colon
//! removed; `data` values accumulate, joined with `\n`; `event` names the event; `id`, `retry`
//! and unknown fields are ignored; a blank line dispatches the event (if it had `data`); at the
//! end of the body a pending event is dispatched even without its blank line. Invalid UTF-8 in a
//! `data` or `event` value is one [`Error::Stream`] and the parser yields nothing afterwards.
//!
//! ```
//! use hfkit::inference::sse::{SseEvent, SseParser};
//! let mut parser = SseParser::new();
//! let mut events = Vec::new();
//! parser.feed(b"data:{\"a\":1}\r", &mut events)?;
//! parser.feed(b"\n\r\n: keep-alive\n\nevent: error\ndata: boom", &mut events)?;
//! parser.finish(&mut events)?;
//! assert_eq!(events[0].data, "{\"a\":1}");
//! assert_eq!(events[1], SseEvent { event: Some("error".into()), data: "boom".into() });
//! # Ok::<(), hfkit::Error>(())
//! ```

use std::ops::ControlFlow;

use crate::error::{Error, Result};

const BOM: &[u8] = b"\xEF\xBB\xBF";
/// Largest event (or line) hfkit buffers; a server that exceeds it is cut off with an error.
pub const MAX_EVENT_BYTES: usize = 64 * 1024 * 1024;
/// Above this, the buffer of a dispatched event is given back instead of kept for the next one.
const KEEP_BUFFER_BYTES: usize = 64 * 1024;

/// One dispatched event.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SseEvent {
    /// The `event:` name, when the event had one.
    pub event: Option<String>,
    /// The `data:` values, joined with `\n`.
    pub data: String,
}

/// One dispatched event, borrowed from the parser or from the chunk being parsed: what
/// [`SseParser::feed_with`] hands its callback, without copying the data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SseEventRef<'a> {
    /// The `event:` name, when the event had one.
    pub event: Option<&'a str>,
    /// The `data:` values, joined with `\n`.
    pub data: &'a str,
}

impl SseEventRef<'_> {
    /// An owned copy.
    pub fn to_event(&self) -> SseEvent {
        SseEvent {
            event: self.event.map(str::to_owned),
            data: self.data.to_owned(),
        }
    }
}

/// An incremental SSE parser. Feed it the body's chunks as they arrive, then call
/// [`finish`](Self::finish) at the end of the body.
///
/// [`feed`](Self::feed) appends owned events to a collection; [`feed_with`](Self::feed_with)
/// hands borrowed events to a callback that may stop the parse after any event, which is how
/// hfkit's own streams turn one event at a time into a typed chunk without copying it.
#[derive(Debug, Default)]
pub struct SseParser {
    /// A line not yet terminated, carried over to the next chunk.
    line: Vec<u8>,
    /// The data of the pending event, when it is not a single line of the current chunk.
    data: String,
    /// The data of the pending event as a range of the chunk being parsed, when it is one line
    /// of it (only between the calls of one `lines`; moved into `data` before it returns).
    borrowed: Option<(usize, usize)>,
    has_data: bool,
    event: Option<String>,
    /// How many bytes of a leading byte-order mark were seen while the body may still start
    /// with one.
    bom_seen: u8,
    /// The previous chunk ended with `\r`: a `\n` opening the next one belongs to it.
    after_cr: bool,
    started: bool,
    stopped: bool,
}

impl SseParser {
    /// A parser at the start of a body.
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses the next chunk of the body; complete events are appended to `out`. After an error
    /// (or after [`finish`](Self::finish)) it does nothing.
    pub fn feed<E: Extend<SseEvent>>(&mut self, chunk: &[u8], out: &mut E) -> Result<()> {
        self.feed_with(chunk, |ev| {
            out.extend(std::iter::once(ev.to_event()));
            ControlFlow::Continue(())
        })
        .map(drop)
    }

    /// Ends the body: a pending line and a pending event (without its blank line) are
    /// dispatched.
    pub fn finish<E: Extend<SseEvent>>(&mut self, out: &mut E) -> Result<()> {
        self.finish_with(|ev| {
            out.extend(std::iter::once(ev.to_event()));
            ControlFlow::Continue(())
        })
    }

    /// Parses `chunk`, handing each complete event to `on_event`. The callback may return
    /// [`ControlFlow::Break`] to stop right after that event: the call then returns how many
    /// bytes of `chunk` it parsed, and the caller feeds the rest (`&chunk[n..]`) later, as it
    /// would a new chunk. Otherwise it returns `chunk.len()`. After an error (or after
    /// [`finish`](Self::finish)) it does nothing and returns `chunk.len()`.
    ///
    /// ```
    /// use std::ops::ControlFlow;
    /// use hfkit::inference::sse::SseParser;
    /// let body = b"data: 1\n\ndata: 2\n\n";
    /// let mut parser = SseParser::new();
    /// let mut seen = Vec::new();
    /// let n = parser.feed_with(body, |ev| {
    ///     seen.push(ev.data.to_owned());
    ///     ControlFlow::Break(())
    /// })?;
    /// assert_eq!((n, seen.as_slice()), (9, &["1".to_owned()][..]));
    /// parser.feed_with(&body[n..], |ev| {
    ///     seen.push(ev.data.to_owned());
    ///     ControlFlow::Continue(())
    /// })?;
    /// assert_eq!(seen, ["1", "2"]);
    /// # Ok::<(), hfkit::Error>(())
    /// ```
    pub fn feed_with<F>(&mut self, chunk: &[u8], mut on_event: F) -> Result<usize>
    where
        F: FnMut(SseEventRef<'_>) -> ControlFlow<()>,
    {
        if self.stopped {
            return Ok(chunk.len());
        }
        let r = self.feed_inner(chunk, &mut on_event);
        if r.is_err() {
            self.stopped = true;
        }
        r
    }

    /// [`finish`](Self::finish) with a callback: the pending event, if any, goes to `on_event`.
    pub fn finish_with<F>(&mut self, mut on_event: F) -> Result<()>
    where
        F: FnMut(SseEventRef<'_>) -> ControlFlow<()>,
    {
        if self.stopped {
            return Ok(());
        }
        self.stopped = true;
        if !self.started {
            // The start of a byte-order mark that the body ended in: an unfinished first line.
            self.started = true;
            self.line
                .extend_from_slice(&BOM[..usize::from(self.bom_seen)]);
        }
        if !self.line.is_empty() {
            let line = std::mem::take(&mut self.line);
            // A pending line is never empty, so it cannot dispatch: only the call below can.
            let _ = self.process(&line, 0, line.len(), false, &mut on_event)?;
        }
        let _ = self.dispatch(&[], &mut on_event)?;
        Ok(())
    }

    fn feed_inner<F>(&mut self, chunk: &[u8], f: &mut F) -> Result<usize>
    where
        F: FnMut(SseEventRef<'_>) -> ControlFlow<()>,
    {
        let mut skip = 0;
        if !self.started {
            while usize::from(self.bom_seen) < BOM.len()
                && skip < chunk.len()
                && chunk[skip] == BOM[usize::from(self.bom_seen)]
            {
                self.bom_seen += 1;
                skip += 1;
            }
            if usize::from(self.bom_seen) < BOM.len() {
                if skip == chunk.len() {
                    // Still possibly a byte-order mark: wait for more.
                    return Ok(chunk.len());
                }
                // Not one: the bytes that looked like its start begin the first line (they hold
                // no line break).
                self.line
                    .extend_from_slice(&BOM[..usize::from(self.bom_seen)]);
            }
            self.started = true;
        }
        let rest = &chunk[skip..];
        Ok(match self.lines(rest, f)? {
            Some(n) => skip + n,
            None => chunk.len(),
        })
    }

    /// Splits `bytes` into lines; `Some(n)` when the callback stopped after `n` bytes.
    fn lines<F>(&mut self, bytes: &[u8], f: &mut F) -> Result<Option<usize>>
    where
        F: FnMut(SseEventRef<'_>) -> ControlFlow<()>,
    {
        let mut pos = 0;
        if self.after_cr && !bytes.is_empty() {
            self.after_cr = false;
            if bytes[0] == b'\n' {
                pos = 1;
            }
        }
        while let Some(off) = memchr::memchr2(b'\n', b'\r', &bytes[pos..]) {
            let end = pos + off;
            let flow = if self.line.is_empty() {
                self.process(bytes, pos, end, true, f)?
            } else {
                let mut line = std::mem::take(&mut self.line);
                line.extend_from_slice(&bytes[pos..end]);
                let flow = self.process(&line, 0, line.len(), false, f);
                line.clear();
                self.line = line;
                flow?
            };
            pos = end + 1;
            if bytes[end] == b'\r' {
                match bytes.get(pos) {
                    Some(b'\n') => pos += 1,
                    Some(_) => {}
                    None => self.after_cr = true,
                }
            }
            if flow.is_break() {
                // A break comes right after a dispatch: nothing is borrowed from `bytes`.
                return Ok(Some(pos));
            }
        }
        self.own_borrowed(bytes)?;
        let rest = &bytes[pos..];
        if self.line.len() + rest.len() > MAX_EVENT_BYTES {
            return Err(too_big());
        }
        self.line.extend_from_slice(rest);
        Ok(None)
    }

    /// One line, `buf[start..end]`; with `in_chunk`, `buf` is the chunk being parsed and a data
    /// value may stay there, borrowed, until its event is dispatched.
    fn process<F>(
        &mut self,
        buf: &[u8],
        start: usize,
        end: usize,
        in_chunk: bool,
        f: &mut F,
    ) -> Result<ControlFlow<()>>
    where
        F: FnMut(SseEventRef<'_>) -> ControlFlow<()>,
    {
        let line = &buf[start..end];
        let Some(&first) = line.first() else {
            return self.dispatch(buf, f);
        };
        if first == b':' {
            return Ok(ControlFlow::Continue(()));
        }
        let (field, value_start) = match memchr::memchr(b':', line) {
            Some(i) => {
                let v = start + i + 1;
                (
                    &line[..i],
                    if buf.get(v) == Some(&b' ') { v + 1 } else { v },
                )
            }
            None => (line, end),
        };
        // A space right after the colon is not part of the value, but only one, and only
        // inside this line.
        let value_start = value_start.min(end);
        match field {
            b"data" => {
                if in_chunk && !self.has_data {
                    self.borrowed = Some((value_start, end));
                } else {
                    if in_chunk {
                        self.own_borrowed(buf)?;
                    }
                    let v = utf8(&buf[value_start..end])?;
                    if self.data.len() + v.len() + 1 > MAX_EVENT_BYTES {
                        return Err(too_big());
                    }
                    if self.has_data {
                        self.data.push('\n');
                    }
                    self.data.push_str(v);
                }
                self.has_data = true;
            }
            b"event" => self.event = Some(utf8(&buf[value_start..end])?.to_owned()),
            _ => {}
        }
        Ok(ControlFlow::Continue(()))
    }

    /// Moves a data value borrowed from `buf` into the parser's own buffer.
    fn own_borrowed(&mut self, buf: &[u8]) -> Result<()> {
        if let Some((s, e)) = self.borrowed.take() {
            let v = utf8(&buf[s..e])?;
            if self.data.len() + v.len() > MAX_EVENT_BYTES {
                return Err(too_big());
            }
            self.data.push_str(v);
        }
        Ok(())
    }

    /// Ends the pending event (a blank line, or the end of the body).
    fn dispatch<F>(&mut self, buf: &[u8], f: &mut F) -> Result<ControlFlow<()>>
    where
        F: FnMut(SseEventRef<'_>) -> ControlFlow<()>,
    {
        if !self.has_data {
            self.event = None;
            return Ok(ControlFlow::Continue(()));
        }
        self.has_data = false;
        let event = self.event.take();
        let flow = match self.borrowed.take() {
            Some((s, e)) => f(SseEventRef {
                event: event.as_deref(),
                data: utf8(&buf[s..e])?,
            }),
            None => {
                let flow = f(SseEventRef {
                    event: event.as_deref(),
                    data: &self.data,
                });
                self.data.clear();
                if self.data.capacity() > KEEP_BUFFER_BYTES {
                    self.data = String::new();
                }
                flow
            }
        };
        Ok(flow)
    }
}

fn utf8(b: &[u8]) -> Result<&str> {
    std::str::from_utf8(b)
        .map_err(|e| Error::stream(format!("the event stream is not valid UTF-8: {e}")))
}

fn too_big() -> Error {
    Error::stream(format!(
        "an event of the stream is larger than {} MiB",
        MAX_EVENT_BYTES / (1024 * 1024)
    ))
}

#[cfg(test)]
mod tests;
