use super::*;
use proptest::prelude::*;

fn ev(data: &str) -> SseEvent {
    SseEvent {
        event: None,
        data: data.into(),
    }
}

fn parse_chunks(chunks: &[&[u8]]) -> Result<Vec<SseEvent>> {
    let mut p = SseParser::new();
    let mut out = Vec::new();
    for c in chunks {
        p.feed(c, &mut out)?;
    }
    p.finish(&mut out)?;
    Ok(out)
}

/// Like `parse_chunks`, through `feed_with` with a callback that stops after every event.
fn parse_stopping(chunks: &[&[u8]]) -> Result<Vec<SseEvent>> {
    let mut p = SseParser::new();
    let mut out = Vec::new();
    for c in chunks {
        let mut rest: &[u8] = c;
        loop {
            let before = out.len();
            let n = p.feed_with(rest, |ev| {
                out.push(ev.to_event());
                ControlFlow::Break(())
            })?;
            assert!(n <= rest.len());
            assert!(
                n == rest.len() || out.len() == before + 1,
                "stopped without an event"
            );
            rest = &rest[n..];
            if rest.is_empty() {
                break;
            }
        }
    }
    p.finish(&mut out)?;
    Ok(out)
}

#[test]
fn stopping_after_each_event_resumes_where_it_stopped() {
    let body = b"data: a\r\n\r\ndata: b\rdata: c\r\rdata: d\n\n";
    let want = vec![ev("a"), ev("b\nc"), ev("d")];
    assert_eq!(parse_stopping(&[body]).unwrap(), want);
    // The callback sees the data without a copy when it is one line of the chunk.
    let mut p = SseParser::new();
    let n = p
        .feed_with(body, |e| {
            assert!(body.as_ptr_range().contains(&e.data.as_ptr()));
            ControlFlow::Break(())
        })
        .unwrap();
    assert_eq!(&body[n..n + 7], b"data: b");
}

fn parse(s: &[u8]) -> Vec<SseEvent> {
    parse_chunks(&[s]).unwrap()
}

#[test]
fn data_with_and_without_space() {
    assert_eq!(parse(b"data:{}\n\ndata: {}\n\n"), vec![ev("{}"), ev("{}")]);
    // Only one space is removed.
    assert_eq!(parse(b"data:  x\n\n"), vec![ev(" x")]);
    // A field without a colon has an empty value.
    assert_eq!(parse(b"data\n\n"), vec![ev("")]);
}

#[test]
fn line_endings() {
    let want = vec![ev("a"), ev("b")];
    assert_eq!(parse(b"data: a\n\ndata: b\n\n"), want);
    assert_eq!(parse(b"data: a\r\n\r\ndata: b\r\n\r\n"), want);
    assert_eq!(parse(b"data: a\r\rdata: b\r\r"), want);
    assert_eq!(parse(b"data: a\r\n\ndata: b\n\r"), want);
}

#[test]
fn crlf_split_across_chunks_is_one_break() {
    let got = parse_chunks(&[b"data: a\r", b"\n", b"\r", b"\ndata: b\r\n\r", b"\n"]).unwrap();
    assert_eq!(got, vec![ev("a"), ev("b")]);
    // A CR at the end of a chunk followed by data: the CR alone ended the line.
    let got = parse_chunks(&[b"data: a\r", b"\r", b"data: b\r", b"\r"]).unwrap();
    assert_eq!(got, vec![ev("a"), ev("b")]);
}

#[test]
fn utf8_split_across_chunks() {
    let s = "data: h\u{e9}llo \u{1F600}\n\n".as_bytes();
    let cut = s.iter().position(|&b| b == 0xF0).unwrap() + 2;
    let got = parse_chunks(&[&s[..9], &s[9..cut], &s[cut..]]).unwrap();
    assert_eq!(got, vec![ev("h\u{e9}llo \u{1F600}")]);
}

#[test]
fn multi_line_data_is_joined() {
    assert_eq!(
        parse(b"data: line one\ndata:line two\ndata\n\n"),
        vec![ev("line one\nline two\n")]
    );
}

#[test]
fn comments_keep_alives_ids_retries_ignored() {
    let got = parse(b": keep-alive\n\n:\n\nid: 7\nretry: 100\nfoo: bar\ndata: x\n\nid: 8\n\n");
    assert_eq!(got, vec![ev("x")]);
}

#[test]
fn event_names() {
    let got = parse(b"event: error\ndata: {\"error\":\"boom\"}\n\ndata: after\n\nevent: x\n\n");
    assert_eq!(
        got,
        vec![
            SseEvent {
                event: Some("error".into()),
                data: "{\"error\":\"boom\"}".into()
            },
            ev("after")
        ]
    );
}

#[test]
fn bom_is_stripped_even_when_split() {
    assert_eq!(parse(b"\xEF\xBB\xBFdata: a\n\n"), vec![ev("a")]);
    let got = parse_chunks(&[b"\xEF", b"\xBB", b"\xBFdata: a\n\n"]).unwrap();
    assert_eq!(got, vec![ev("a")]);
    // Only a leading one.
    let got = parse(b"data: a\n\n\xEF\xBB\xBFdata: b\n\n");
    assert_eq!(got, vec![ev("a")]);
    // Short bodies that are not a BOM still parse.
    assert_eq!(parse_chunks(&[b"d", b"ata: a"]).unwrap(), vec![ev("a")]);
}

#[test]
fn final_event_without_blank_line() {
    assert_eq!(parse(b"data: a\n\ndata: b"), vec![ev("a"), ev("b")]);
    assert_eq!(parse(b"data: a\n\ndata: b\n"), vec![ev("a"), ev("b")]);
    assert_eq!(parse(b"data: a\r\rdata: b\r"), vec![ev("a"), ev("b")]);
    assert_eq!(parse(b""), vec![]);
    assert_eq!(parse(b": only a comment"), vec![]);
}

#[test]
fn invalid_utf8_is_one_error_then_nothing() {
    let mut p = SseParser::new();
    let mut out = Vec::new();
    p.feed(b"data: ok\n\n", &mut out).unwrap();
    let e = p.feed(b"data: \xFF\xFE\n\n", &mut out).unwrap_err();
    assert!(
        matches!(e, Error::Stream { ref message, .. } if message.contains("UTF-8")),
        "{e}"
    );
    p.feed(b"data: more\n\n", &mut out).unwrap();
    p.finish(&mut out).unwrap();
    assert_eq!(out, vec![ev("ok")]);
    // A UTF-8 character cut at the very end of the body.
    assert!(parse_chunks(&[b"data: \xC3"]).is_err());
}

#[test]
fn recorded_tgi_and_chat_shapes() {
    let body = b"data:{\"index\":1,\"token\":{\"id\":3}}\n\n\ndata: [DONE]\n\n";
    assert_eq!(
        parse(body),
        vec![ev("{\"index\":1,\"token\":{\"id\":3}}"), ev("[DONE]")]
    );
}

/// A model stream: events, each a list of data lines and an optional name, with the
/// surrounding noise a server may add.
#[derive(Debug, Clone)]
struct Model {
    bom: bool,
    eol: u8,
    events: Vec<(Option<String>, Vec<String>, bool)>,
    final_blank: bool,
}

fn model() -> impl Strategy<Value = Model> {
    let value = "[a-z \u{e9}\u{20ac}\u{1F600}{}\":,\\[\\]]{0,10}";
    let event = (
        proptest::option::of("[a-z]{1,6}"),
        proptest::collection::vec(value, 1..4),
        any::<bool>(),
    );
    (
        any::<bool>(),
        0u8..3,
        proptest::collection::vec(event, 0..6),
        any::<bool>(),
    )
        .prop_map(|(bom, eol, events, final_blank)| Model {
            bom,
            eol,
            events,
            final_blank,
        })
}

fn render(m: &Model) -> (Vec<u8>, Vec<SseEvent>) {
    let eol: &[u8] = match m.eol {
        0 => b"\n",
        1 => b"\r\n",
        _ => b"\r",
    };
    let mut out = Vec::new();
    let mut want = Vec::new();
    if m.bom {
        out.extend_from_slice(BOM);
    }
    let n = m.events.len();
    for (i, (name, lines, no_space)) in m.events.iter().enumerate() {
        out.extend_from_slice(b": keep-alive");
        out.extend_from_slice(eol);
        if let Some(name) = name {
            out.extend_from_slice(format!("event: {name}").as_bytes());
            out.extend_from_slice(eol);
        }
        for l in lines {
            let sep = if *no_space && !l.starts_with(' ') {
                "data:"
            } else {
                "data: "
            };
            out.extend_from_slice(format!("{sep}{l}").as_bytes());
            out.extend_from_slice(eol);
        }
        if i + 1 < n || m.final_blank {
            out.extend_from_slice(eol);
        }
        want.push(SseEvent {
            event: name.clone(),
            data: lines.join("\n"),
        });
    }
    (out, want)
}

proptest! {
    #[test]
    fn any_chunking_gives_the_same_events(
        m in model(),
        cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..12),
    ) {
        let (bytes, want) = render(&m);
        let mut at: Vec<usize> = cuts.iter().map(|c| c.index(bytes.len() + 1)).collect();
        at.sort_unstable();
        let mut chunks: Vec<&[u8]> = Vec::new();
        let mut prev = 0;
        for a in at {
            chunks.push(&bytes[prev..a]);
            prev = a;
        }
        chunks.push(&bytes[prev..]);
        prop_assert_eq!(parse_chunks(&chunks).unwrap(), want.clone());
        // Stopping after every event and feeding the rest again.
        prop_assert_eq!(parse_stopping(&chunks).unwrap(), want.clone());
        // Byte by byte too.
        let single: Vec<&[u8]> = bytes.chunks(1).collect();
        prop_assert_eq!(parse_chunks(&single).unwrap(), want);
    }
}
