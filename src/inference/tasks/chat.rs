//! `chat_completion`, non-streaming (inference.md §7).

use super::{json_value, shape_error, task_builder};
use crate::error::{Error, Result};
use crate::inference::InferenceClient;
use crate::inference::provider::Provider;
use crate::inference::request::{self, Payload};
use crate::inference::routing::{self, Mode};
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
    async fn send(self) -> Result<ChatCompletionOutput> {
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
        req.stream = false;
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
        let resp = request::send(
            client,
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
}

impl InferenceClient {
    /// Completes a chat (OpenAI-compatible; non-streaming).
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
