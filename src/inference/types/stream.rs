//! Streamed chunks of `text_generation` (TGI) and `chat_completion` (OpenAI-compatible), and the
//! accumulator that folds chat chunks into the final completion (inference.md §6.3, §7.3).

use serde::{Deserialize, Deserializer, Serialize};

use super::chat::{
    ChatCompletionChoice, ChatCompletionOutput, ChatCompletionOutputMessage, FunctionCall,
    ToolCall, Usage,
};
use super::generation::GeneratedToken;

/// `details` of the last `text_generation` stream event (only with `details: true`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TextGenerationStreamDetails {
    /// `length`, `eos_token` or `stop_sequence`.
    pub finish_reason: String,
    /// Tokens generated.
    pub generated_tokens: u64,
    /// The seed used (sampling).
    #[serde(default)]
    pub seed: Option<u64>,
    /// Prompt length in tokens (newer TGI).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_length: Option<u64>,
}

/// One event of a streamed `text_generation`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TextGenerationStreamOutput {
    /// Position of the event (TGI ≥ 2; may start above 0 and skip values).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<u64>,
    /// The generated token (EOS is an ordinary token with `special: true`).
    pub token: GeneratedToken,
    /// The whole generated text, on the last event only.
    #[serde(default)]
    pub generated_text: Option<String>,
    /// Generation details, on the last event only and only with `details: true`.
    #[serde(default)]
    pub details: Option<TextGenerationStreamDetails>,
    /// The most likely tokens of this step (with `top_n_tokens`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_tokens: Option<Vec<GeneratedToken>>,
}

/// Tool-call ids and chunk ids: servers send numbers (old TGI), strings or `null`. A visitor,
/// not a `Value`, so the common string case costs one allocation.
fn opt_id<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    struct IdVisitor;
    impl<'de> serde::de::Visitor<'de> for IdVisitor {
        type Value = Option<String>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a string or number id")
        }
        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Ok(Some(v.to_owned()))
        }
        fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Self::Value, E> {
            Ok(Some(v))
        }
        fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
        fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
        fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
        fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
        fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D2: Deserializer<'de>>(self, d: D2) -> Result<Self::Value, D2::Error> {
            d.deserialize_any(IdVisitor)
        }
    }
    d.deserialize_option(IdVisitor)
}

fn id_or_empty<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(opt_id(d)?.unwrap_or_default())
}

/// A piece of a streamed function call.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FunctionCallDelta {
    /// The function name (usually on the first piece only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// A piece of the JSON arguments (an object sent whole is kept as its JSON text).
    #[serde(
        default,
        deserialize_with = "opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub arguments: Option<String>,
}

fn opt_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let v = Option::<serde_json::Value>::deserialize(d)?;
    Ok(match v {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(s)) => Some(s),
        Some(other) => Some(other.to_string()),
    })
}

/// A piece of a streamed tool call; pieces of one call share its `index`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ToolCallDelta {
    /// Which call of the message this piece belongs to (default 0).
    #[serde(default)]
    pub index: u32,
    /// The call id (usually on the first piece only).
    #[serde(
        default,
        deserialize_with = "opt_id",
        skip_serializing_if = "Option::is_none"
    )]
    pub id: Option<String>,
    /// `function`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// The function name and a piece of its arguments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function: Option<FunctionCallDelta>,
}

/// What a chat chunk adds to a choice's message.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ChatCompletionDelta {
    /// `assistant` (often on every chunk, sometimes on the first only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// A piece of the text (may be absent, `null` or empty).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    /// Pieces of tool calls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_calls: Option<Vec<ToolCallDelta>>,
    /// A piece of the reasoning text of reasoning models (`reasoning`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning: Option<String>,
    /// A piece of the reasoning text, as vLLM and DeepSeek name it (`reasoning_content`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning_content: Option<String>,
    /// A piece of a refusal (OpenAI).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refusal: Option<String>,
    // Other keys are ignored (inference.md §7.4): a catch-all map (`serde(flatten)`) would make
    // every chunk go through serde's buffered path, several times slower.
}

/// One choice of a chat chunk.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ChatCompletionStreamChoice {
    /// The choice index.
    #[serde(default)]
    pub index: u32,
    /// What this chunk adds (may be `{}`).
    #[serde(default)]
    pub delta: ChatCompletionDelta,
    /// Log-probabilities of this chunk, as sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logprobs: Option<serde_json::Value>,
    /// Set on the choice's last chunk: `stop`, `length`, `eos_token`, `tool_calls`, … (any
    /// string).
    #[serde(default)]
    pub finish_reason: Option<String>,
}

/// One chunk of a streamed `chat_completion`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ChatCompletionStreamOutput {
    /// The completion id (may be empty).
    #[serde(default, deserialize_with = "id_or_empty")]
    pub id: String,
    /// `chat.completion.chunk`, `text_completion` or absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object: Option<String>,
    /// Unix time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<u64>,
    /// The model that answers.
    #[serde(default)]
    pub model: String,
    /// Server build.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_fingerprint: Option<String>,
    /// The choices this chunk extends (empty on a final usage-only chunk).
    #[serde(default)]
    pub choices: Vec<ChatCompletionStreamChoice>,
    /// Token counts: `null` on ordinary chunks, set on the final usage chunk of
    /// `stream_options.include_usage`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
}

impl ChatCompletionStreamOutput {
    /// The text this chunk adds to the first choice, if any.
    pub fn delta_text(&self) -> Option<&str> {
        self.choices.first()?.delta.content.as_deref()
    }

    /// The finish reason of the first choice, on its last chunk.
    pub fn finish_reason(&self) -> Option<&str> {
        self.choices.first()?.finish_reason.as_deref()
    }
}

#[derive(Debug, Clone, Default)]
struct ToolCallParts {
    index: u32,
    id: String,
    kind: String,
    name: String,
    arguments: String,
}

#[derive(Debug, Clone, Default)]
struct ChoiceParts {
    index: u32,
    role: Option<String>,
    content: Option<String>,
    reasoning: Option<String>,
    tool_calls: Vec<ToolCallParts>,
    finish_reason: Option<String>,
    logprobs: Vec<serde_json::Value>,
    other: serde_json::Map<String, serde_json::Value>,
}

/// Folds the chunks of a streamed chat completion into the final completion (inference.md
/// §7.3): per choice `index`, the text and reasoning are concatenated; tool calls are grouped by
/// their `index`, keeping the first non-empty `id` and `name` and concatenating the `arguments`
/// pieces; the last `finish_reason` and the usage chunk are recorded.
///
/// ```
/// use hfkit::inference::types::{ChatCompletionAccumulator, ChatCompletionStreamOutput};
/// let mut acc = ChatCompletionAccumulator::new();
/// for json in [
///     r#"{"choices":[{"index":0,"delta":{"role":"assistant","content":"Hel"}}]}"#,
///     r#"{"choices":[{"index":0,"delta":{"content":"lo"},"finish_reason":"stop"}]}"#,
///     r#"{"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}"#,
/// ] {
///     let chunk: ChatCompletionStreamOutput = serde_json::from_str(json).unwrap();
///     acc.push(&chunk);
/// }
/// let done = acc.finish();
/// assert_eq!(done.text(), Some("Hello"));
/// assert_eq!(done.choices[0].finish_reason.as_deref(), Some("stop"));
/// assert_eq!(done.usage.unwrap().total_tokens, 5);
/// ```
#[derive(Debug, Clone, Default)]
pub struct ChatCompletionAccumulator {
    id: String,
    object: Option<String>,
    created: Option<u64>,
    model: String,
    system_fingerprint: Option<String>,
    choices: Vec<ChoiceParts>,
    usage: Option<Usage>,
    chunks: u64,
}

impl ChatCompletionAccumulator {
    /// An empty accumulator.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many chunks were pushed.
    pub fn chunks(&self) -> u64 {
        self.chunks
    }

    /// The usage seen so far (from the final empty-choices chunk, when the server sent one).
    pub fn usage(&self) -> Option<Usage> {
        self.usage
    }

    /// Adds one chunk.
    pub fn push(&mut self, chunk: &ChatCompletionStreamOutput) {
        self.chunks += 1;
        if self.id.is_empty() && !chunk.id.is_empty() {
            self.id.clone_from(&chunk.id);
        }
        if self.model.is_empty() && !chunk.model.is_empty() {
            self.model.clone_from(&chunk.model);
        }
        if chunk.object.is_some() {
            self.object.clone_from(&chunk.object);
        }
        if self.created.is_none() {
            self.created = chunk.created;
        }
        if chunk.system_fingerprint.is_some() {
            self.system_fingerprint
                .clone_from(&chunk.system_fingerprint);
        }
        if chunk.usage.is_some() {
            self.usage = chunk.usage;
        }
        for c in &chunk.choices {
            let parts = self.choice(c.index);
            let d = &c.delta;
            if parts.role.is_none() {
                parts.role = d.role.clone().filter(|r| !r.is_empty());
            }
            if let Some(t) = &d.content {
                parts.content.get_or_insert_with(String::new).push_str(t);
            }
            if let Some(t) = &d.reasoning {
                parts.reasoning.get_or_insert_with(String::new).push_str(t);
            }
            for (key, piece) in [
                ("reasoning_content", &d.reasoning_content),
                ("refusal", &d.refusal),
            ] {
                if let Some(t) = piece {
                    match parts.other.get_mut(key) {
                        Some(serde_json::Value::String(have)) => have.push_str(t),
                        _ => {
                            parts.other.insert(key.into(), t.clone().into());
                        }
                    }
                }
            }
            for tc in d.tool_calls.iter().flatten() {
                let call = match parts
                    .tool_calls
                    .iter_mut()
                    .position(|t| t.index == tc.index)
                {
                    Some(i) => &mut parts.tool_calls[i],
                    None => {
                        parts.tool_calls.push(ToolCallParts {
                            index: tc.index,
                            ..Default::default()
                        });
                        let last = parts.tool_calls.len() - 1;
                        &mut parts.tool_calls[last]
                    }
                };
                if call.id.is_empty()
                    && let Some(id) = tc.id.as_deref()
                {
                    call.id = id.to_owned();
                }
                if call.kind.is_empty()
                    && let Some(k) = tc.kind.as_deref()
                {
                    call.kind = k.to_owned();
                }
                if let Some(f) = &tc.function {
                    if call.name.is_empty()
                        && let Some(n) = f.name.as_deref()
                    {
                        call.name = n.to_owned();
                    }
                    if let Some(a) = &f.arguments {
                        call.arguments.push_str(a);
                    }
                }
            }
            if let Some(lp) = &c.logprobs
                && !lp.is_null()
            {
                parts.logprobs.push(lp.clone());
            }
            if c.finish_reason.is_some() {
                parts.finish_reason.clone_from(&c.finish_reason);
            }
        }
    }

    fn choice(&mut self, index: u32) -> &mut ChoiceParts {
        match self.choices.iter().position(|c| c.index == index) {
            Some(i) => &mut self.choices[i],
            None => {
                self.choices.push(ChoiceParts {
                    index,
                    ..Default::default()
                });
                let last = self.choices.len() - 1;
                &mut self.choices[last]
            }
        }
    }

    /// The completion the chunks add up to (choices ordered by index, tool calls by index, their
    /// `arguments` as one JSON string).
    pub fn finish(self) -> ChatCompletionOutput {
        let mut choices: Vec<ChatCompletionChoice> = self
            .choices
            .into_iter()
            .map(|mut c| {
                c.tool_calls.sort_by_key(|t| t.index);
                let tool_calls = (!c.tool_calls.is_empty()).then(|| {
                    c.tool_calls
                        .into_iter()
                        .map(|t| ToolCall {
                            id: t.id,
                            kind: if t.kind.is_empty() {
                                "function".into()
                            } else {
                                t.kind
                            },
                            function: FunctionCall {
                                name: t.name,
                                arguments: serde_json::Value::String(t.arguments),
                                description: None,
                            },
                        })
                        .collect()
                });
                ChatCompletionChoice {
                    index: c.index,
                    message: ChatCompletionOutputMessage {
                        role: c.role.unwrap_or_else(|| "assistant".into()),
                        content: c.content,
                        tool_calls,
                        reasoning: c.reasoning,
                        other: c.other,
                    },
                    finish_reason: c.finish_reason,
                    logprobs: merge_logprobs(c.logprobs),
                }
            })
            .collect();
        choices.sort_by_key(|c| c.index);
        ChatCompletionOutput {
            id: self.id,
            object: self.object,
            created: self.created,
            model: self.model,
            system_fingerprint: self.system_fingerprint,
            choices,
            usage: self.usage,
        }
    }
}

/// Joins per-chunk `{"content": [...]}` log-probabilities into one; other shapes are kept as a
/// list.
fn merge_logprobs(parts: Vec<serde_json::Value>) -> Option<serde_json::Value> {
    if parts.is_empty() {
        return None;
    }
    let mut content = Vec::new();
    for p in &parts {
        match p.get("content").and_then(|c| c.as_array()) {
            Some(a) => content.extend(a.iter().cloned()),
            None => return Some(serde_json::Value::Array(parts)),
        }
    }
    Some(serde_json::json!({ "content": content }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(v: serde_json::Value) -> ChatCompletionStreamOutput {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn tool_calls_in_pieces_by_index() {
        let mut acc = ChatCompletionAccumulator::new();
        for v in [
            serde_json::json!({"id":"c1","model":"m","choices":[{"index":0,"delta":{"role":"assistant","tool_calls":[
                {"index":0,"id":"call_a","type":"function","function":{"name":"get_weather","arguments":"{\"loc"}}]}}]}),
            serde_json::json!({"id":"c1","choices":[{"index":0,"delta":{"tool_calls":[
                {"index":1,"id":7,"type":"function","function":{"name":"get_time","arguments":""}}]}}]}),
            serde_json::json!({"id":"c1","choices":[{"index":0,"delta":{"tool_calls":[
                {"index":0,"id":"","function":{"name":"","arguments":"ation\":\"Paris\"}"}},
                {"index":1,"function":{"arguments":"{}"}}]}}]}),
            serde_json::json!({"id":"c1","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}],"usage":null}),
        ] {
            acc.push(&chunk(v));
        }
        assert_eq!(acc.chunks(), 4);
        let out = acc.finish();
        let m = &out.choices[0].message;
        assert_eq!(out.id, "c1");
        assert_eq!(out.model, "m");
        assert_eq!(m.role, "assistant");
        assert_eq!(m.content, None);
        let calls = m.tool_calls.as_ref().unwrap();
        assert_eq!(calls.len(), 2);
        assert_eq!(calls[0].id, "call_a");
        assert_eq!(calls[0].function.name, "get_weather");
        assert_eq!(
            calls[0].function.arguments_json().unwrap(),
            serde_json::json!({"location": "Paris"})
        );
        assert_eq!(calls[1].id, "7");
        assert_eq!(calls[1].function.name, "get_time");
        assert_eq!(calls[1].function.arguments_text(), "{}");
        assert_eq!(out.choices[0].finish_reason.as_deref(), Some("tool_calls"));
        assert_eq!(out.usage, None);
    }

    #[test]
    fn several_choices_reasoning_logprobs_usage() {
        let mut acc = ChatCompletionAccumulator::new();
        for v in [
            serde_json::json!({"choices":[{"index":1,"delta":{"content":"B","refusal":"no"}},{"index":0,"delta":{"reasoning":"think ","content":"A"},
                "logprobs":{"content":[{"token":"A","logprob":-0.1}]}}]}),
            serde_json::json!({"choices":[{"index":0,"delta":{"reasoning":"more","content":"a"},
                "logprobs":{"content":[{"token":"a","logprob":-0.2}]},"finish_reason":"length"},
                {"index":1,"delta":{"content":null},"finish_reason":"stop"}]}),
            serde_json::json!({"choices":[],"usage":{"prompt_tokens":1,"completion_tokens":4,"total_tokens":5}}),
        ] {
            acc.push(&chunk(v));
        }
        assert_eq!(acc.usage().unwrap().completion_tokens, 4);
        let out = acc.finish();
        assert_eq!(out.choices.len(), 2);
        assert_eq!(out.choices[0].message.content.as_deref(), Some("Aa"));
        assert_eq!(
            out.choices[0].message.reasoning.as_deref(),
            Some("think more")
        );
        assert_eq!(
            out.choices[0].logprobs.as_ref().unwrap()["content"]
                .as_array()
                .unwrap()
                .len(),
            2
        );
        assert_eq!(out.choices[1].message.content.as_deref(), Some("B"));
        assert_eq!(out.choices[1].message.other["refusal"], "no");
        assert_eq!(out.choices[1].finish_reason.as_deref(), Some("stop"));
        assert_eq!(out.usage.unwrap().total_tokens, 5);
    }

    #[test]
    fn tolerant_chunk_shapes() {
        let c = chunk(serde_json::json!({"id":0,"choices":[{"delta":{}}],"usage":null,"extra":1}));
        assert_eq!(c.id, "0");
        assert_eq!(c.delta_text(), None);
        let c = chunk(serde_json::json!({}));
        assert!(c.choices.is_empty());
        let t: TextGenerationStreamOutput = serde_json::from_value(serde_json::json!({
            "index": 3, "token": {"id": 2, "text": "</s>", "logprob": -0.5, "special": true},
            "generated_text": "hi", "details": {"finish_reason": "eos_token", "generated_tokens": 2,
            "seed": 2835381823020158940u64, "input_length": 4},
            "top_tokens": [{"id": 2, "text": "</s>", "logprob": -0.5, "special": true}]
        }))
        .unwrap();
        assert!(t.token.special);
        assert_eq!(t.details.unwrap().seed, Some(2835381823020158940));
    }
}
