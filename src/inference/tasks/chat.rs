//! `chat_completion`, whole or streamed (inference.md §7).

use super::{json_value, shape_error, task_builder};
use crate::error::{Error, Result};
use crate::inference::ChatCompletionStream;
use crate::inference::InferenceClient;
use crate::inference::provider::Provider;
use crate::inference::request::{self, Payload};
use crate::inference::routing::{self, Mode, Target};
use crate::inference::task::Task;
use crate::inference::types::*;

/// Options of a `chat_completion` call.
#[derive(Debug, Clone, Default)]
pub struct ChatCompletionOptions {
    /// The request (its `model` and `messages` are filled when sent).
    pub request: ChatCompletionRequest,
    /// The answer format, OpenAI form (rewritten per route).
    pub response_format: Option<ResponseFormat>,
    /// Extra top-level keys, sent last (they may override every key but `model`).
    pub extra: Extra,
}

task_builder! {
    /// A `chat_completion` call; `.await` it for the completion.
    ChatCompletion -> ChatCompletionOutput { input: Vec<ChatMessage>, params: ChatCompletionOptions }
    options {
        /// Frequency penalty.
        frequency_penalty: f64 => request.frequency_penalty;
        /// Return log-probabilities.
        logprobs: bool => request.logprobs;
        /// Most tokens to generate.
        max_tokens: u32 => request.max_tokens;
        /// Number of choices.
        n: u32 => request.n;
        /// Presence penalty.
        presence_penalty: f64 => request.presence_penalty;
        /// Random seed.
        seed: u64 => request.seed;
        /// Temperature.
        temperature: f64 => request.temperature;
        /// Which tool to use.
        tool_choice: ToolChoice => request.tool_choice;
        /// Prompt prepended to the tools.
        tool_prompt: impl Into<String> => request.tool_prompt;
        /// Tools the model may call.
        tools: Vec<Tool> => request.tools;
        /// Most likely tokens per position.
        top_logprobs: u32 => request.top_logprobs;
        /// Nucleus sampling.
        top_p: f64 => request.top_p;
        /// Logit bias.
        logit_bias: Vec<f64> => request.logit_bias;
        /// The answer format (OpenAI form).
        response_format: ResponseFormat => response_format;
        /// Stream options (`include_usage` asks for a final usage chunk).
        stream_options: StreamOptions => request.stream_options;
    }
    lists {
        /// Stop sequences.
        stop => request.stop;
    }
}

/// Rewrites an OpenAI `json_schema` response format for the route (inference.md §7.1).
pub(crate) fn rewrite_response_format(rf: &ResponseFormat, mode: Mode) -> serde_json::Value {
    let openai = serde_json::to_value(rf).unwrap_or(serde_json::Value::Null);
    let ResponseFormat::JsonSchema { schema, .. } = rf else {
        return openai;
    };
    let schema = schema.clone().unwrap_or_else(|| serde_json::json!({}));
    match mode {
        Mode::Url | Mode::Legacy | Mode::HfInference => {
            serde_json::json!({"type": "json_object", "value": schema})
        }
        Mode::Provider(Provider::Cohere | Provider::FireworksAi) => {
            serde_json::json!({"type": "json_object", "schema": schema})
        }
        Mode::Provider(Provider::Together) => {
            serde_json::json!({"type": "json_schema", "schema": schema})
        }
        _ => openai,
    }
}

impl ChatCompletion {
    /// Resolves the target and builds the body.
    async fn prepare(&self, stream: bool) -> Result<(Target, Payload)> {
        if self.input.is_empty() {
            return Err(Error::InvalidInput(
                "chat completion needs at least one message".into(),
            ));
        }
        let client = &self.client;
        let target = routing::resolve(client, Task::ChatCompletion, self.model.as_deref()).await?;
        let mut req = self.params.request.clone();
        req.model = target.body_model.clone();
        req.messages = self.input.clone();
        req.stream = stream;
        req.response_format = self
            .params
            .response_format
            .as_ref()
            .map(|rf| rewrite_response_format(rf, target.mode));
        let mut body =
            serde_json::to_value(&req).map_err(|e| Error::json("chat completion body", e))?;
        if let Some(obj) = body.as_object_mut() {
            for (k, v) in &self.params.extra {
                if k != "model" {
                    obj.insert(k.clone(), v.clone());
                }
            }
        }
        let payload = Payload::json(&drop_nulls(body))?;
        Ok((target, payload))
    }

    async fn send(self) -> Result<ChatCompletionOutput> {
        let (target, payload) = self.prepare(false).await?;
        let resp = request::send(
            &self.client,
            Some(Task::ChatCompletion),
            &target,
            payload,
            &self.headers,
        )
        .await?;
        let v = json_value(&resp)?;
        serde_json::from_value(v.clone())
            .map_err(|_| shape_error(&resp, "a chat completion object", &v))
    }

    /// Sends the request with `stream: true` and returns the stream of chunks as soon as the
    /// server answers (inference.md §7.3). `[DONE]` ends it; an error event inside the stream
    /// is an [`Error::Stream`] item; nothing is retried once the stream is returned; dropping it
    /// cancels the request. With [`stream_options`](Self::stream_options) asking for usage, the
    /// usage arrives on a last chunk without choices — if the server sends one at all.
    ///
    /// ```no_run
    /// # async fn demo() -> hfkit::Result<()> {
    /// use futures::StreamExt;
    /// use hfkit::inference::{InferenceClient, types::ChatMessage};
    /// let client = InferenceClient::builder().base_url("http://127.0.0.1:8080/v1").build()?;
    /// let mut chunks = client
    ///     .chat_completion([ChatMessage::user("Hello!")])
    ///     .model("tiny")
    ///     .max_tokens(64)
    ///     .stream()
    ///     .await?;
    /// while let Some(chunk) = chunks.next().await {
    ///     print!("{}", chunk?.delta_text().unwrap_or_default());
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn stream(self) -> Result<ChatCompletionStream> {
        let (target, payload) = self.prepare(true).await?;
        let resp = request::send_stream(
            &self.client,
            Some(Task::ChatCompletion),
            &target,
            payload,
            &self.headers,
        )
        .await?;
        Ok(ChatCompletionStream::new(
            resp,
            self.client.inner.stream_idle_timeout,
        ))
    }
}

impl InferenceClient {
    /// Completes a chat (OpenAI-compatible): `.await` the builder for the whole completion, or
    /// call [`.stream()`](ChatCompletion::stream) for its chunks as they come.
    pub fn chat_completion(
        &self,
        messages: impl IntoIterator<Item = ChatMessage>,
    ) -> ChatCompletion {
        ChatCompletion::new(self, messages.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn response_format_rewrites() {
        let rf = ResponseFormat::JsonSchema {
            name: "x".into(),
            description: None,
            schema: Some(serde_json::json!({"type": "object"})),
            strict: Some(true),
        };
        assert_eq!(
            rewrite_response_format(&rf, Mode::HfInference),
            serde_json::json!({"type":"json_object","value":{"type":"object"}})
        );
        assert_eq!(
            rewrite_response_format(&rf, Mode::Provider(Provider::Cohere)),
            serde_json::json!({"type":"json_object","schema":{"type":"object"}})
        );
        assert_eq!(
            rewrite_response_format(&rf, Mode::Provider(Provider::Together)),
            serde_json::json!({"type":"json_schema","schema":{"type":"object"}})
        );
        assert_eq!(
            rewrite_response_format(&rf, Mode::AutoRouter),
            serde_json::json!({"type":"json_schema","json_schema":{"name":"x","schema":{"type":"object"},"strict":true}})
        );
    }
}
