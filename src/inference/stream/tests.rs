use super::*;

#[test]
fn error_payloads() {
    let e = stream_error(
        &serde_json::json!({"error":"Input validation error: too long","error_type":"validation"}),
    )
    .unwrap();
    assert_eq!(
        e.to_string(),
        "stream error: Input validation error: too long (validation)"
    );
    assert_eq!(e.error_type(), Some("validation"));
    let e =
        stream_error(&serde_json::json!({"error":{"message":"bad tool","http_status_code":422}}))
            .unwrap();
    assert_eq!(e.to_string(), "stream error: bad tool (status 422)");
    assert!(matches!(
        &e,
        Error::Stream { message, error_type: None, status_hint: Some(422) } if message == "bad tool"
    ));
    let e = stream_error(
        &serde_json::json!({"error":{"message":"nope","type":"invalid_request_error","code":null}}),
    )
    .unwrap();
    assert_eq!(e.error_type(), Some("invalid_request_error"));
    assert!(stream_error(&serde_json::json!({"error":null,"x":1})).is_none());
    assert!(stream_error(&serde_json::json!({"token":{}})).is_none());
}

#[test]
fn plain_answers_become_chunks() {
    let c = TextGenerationStreamOutput::from_plain(
        serde_json::json!([{"generated_text":"hi","details":{"finish_reason":"length","generated_tokens":1,"seed":null,"prefill":[],"tokens":[]}}]),
    )
    .unwrap();
    assert_eq!(c[0].generated_text.as_deref(), Some("hi"));
    assert_eq!(c[0].details.as_ref().unwrap().finish_reason, "length");
    let c = ChatCompletionStreamOutput::from_plain(serde_json::json!({
        "id":"x","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"yo"},"finish_reason":"stop"}]
    }))
    .unwrap();
    assert_eq!(c[0].delta_text(), Some("yo"));
    assert_eq!(c[0].finish_reason(), Some("stop"));
    assert!(TextGenerationStreamOutput::from_plain(serde_json::json!({"x":1})).is_none());
}

/// An `EventStream` over `pieces`, as if hyper had read the body in exactly those pieces.
fn stream_of(pieces: Vec<Vec<u8>>) -> ChatCompletionStream {
    let body = futures::stream::iter(
        pieces
            .into_iter()
            .map(|p| Ok::<_, std::io::Error>(Bytes::from(p))),
    );
    let resp = http::Response::builder()
        .header("content-type", "text/event-stream")
        .body(reqwest::Body::wrap_stream(body))
        .unwrap();
    EventStream::new(reqwest::Response::from(resp), None)
}

/// What a stream gives: the delta texts, then `Ok(())` at a clean end or the error's text.
fn drain(s: ChatCompletionStream) -> (Vec<String>, std::result::Result<(), String>) {
    use futures::StreamExt;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let mut s = s;
        let mut texts = Vec::new();
        while let Some(item) = s.next().await {
            match item {
                Ok(c) => texts.push(c.delta_text().unwrap_or_default().to_owned()),
                Err(e) => {
                    assert!(s.next().await.is_none(), "nothing after an error");
                    return (texts, Err(e.to_string()));
                }
            }
        }
        (texts, Ok(()))
    })
}

fn chat_event(text: &str) -> String {
    format!(
        "data: {{\"id\":\"x\",\"model\":\"m\",\"choices\":[{{\"index\":0,\"delta\":{{\"content\":{}}}}}]}}\n\n",
        serde_json::to_string(text).unwrap()
    )
}

proptest::proptest! {
    /// However hyper happens to cut the body, the stream gives the same chunks and the same end:
    /// `[DONE]` (nothing after it is read), an error event, or the end of the body.
    #[test]
    fn any_cut_of_the_body_gives_the_same_stream(
        texts in proptest::collection::vec("[a-z \u{e9}\u{1F600}]{0,6}", 0..8),
        end in 0u8..3,
        cuts in proptest::collection::vec(proptest::prelude::any::<proptest::sample::Index>(), 0..10),
    ) {
        let mut body: String = texts.iter().map(|t| chat_event(t)).collect();
        let want_end = match end {
            0 => {
                body.push_str("data: [DONE]\n\n");
                body.push_str(&chat_event("after the end"));
                Ok(())
            }
            1 => {
                body.push_str("data: {\"error\":\"boom\",\"error_type\":\"generation\"}\n\n");
                body.push_str(&chat_event("after the error"));
                Err("stream error: boom (generation)".to_owned())
            }
            // The last event without its blank line.
            _ => {
                body.push_str("data: [DONE]");
                Ok(())
            }
        };
        let bytes = body.into_bytes();
        let mut at: Vec<usize> = cuts.iter().map(|c| c.index(bytes.len() + 1)).collect();
        at.sort_unstable();
        let mut pieces = Vec::new();
        let mut prev = 0;
        for a in at {
            pieces.push(bytes[prev..a].to_vec());
            prev = a;
        }
        pieces.push(bytes[prev..].to_vec());
        let (got, got_end) = drain(stream_of(pieces));
        proptest::prop_assert_eq!(got, texts);
        proptest::prop_assert_eq!(got_end, want_end);
    }
}

#[test]
fn the_end_of_the_body_dispatches_a_pending_event_then_ends() {
    let mut body = chat_event("a");
    body.push_str(chat_event("b").trim_end());
    let (got, end) = drain(stream_of(vec![body.into_bytes()]));
    assert_eq!(got, ["a", "b"]);
    assert_eq!(end, Ok(()));
    // A pending error event at the end of the body is still the error.
    let body = format!("{}data: {{\"error\":\"late\"}}", chat_event("a"));
    let (got, end) = drain(stream_of(vec![body.into_bytes()]));
    assert_eq!(got, ["a"]);
    assert_eq!(end, Err("stream error: late".to_owned()));
}
