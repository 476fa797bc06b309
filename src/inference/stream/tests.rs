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
