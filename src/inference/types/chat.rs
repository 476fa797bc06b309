//! `chat_completion` (OpenAI-compatible; non-streaming).

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A chat message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// `system`, `user`, `assistant` or `tool`.
    pub role: String,
    /// Text, or content parts (text and images).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<MessageContent>,
    /// Name of the author.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Tool calls of an assistant message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_calls: Option<Vec<ToolCall>>,
    /// The call a `tool` message answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
}

impl ChatMessage {
    fn text(role: &str, content: impl Into<String>) -> Self {
        ChatMessage {
            role: role.to_owned(),
            content: Some(MessageContent::Text(content.into())),
            name: None,
            tool_calls: None,
            tool_call_id: None,
        }
    }

    /// A system message.
    pub fn system(content: impl Into<String>) -> Self {
        Self::text("system", content)
    }

    /// A user message.
    pub fn user(content: impl Into<String>) -> Self {
        Self::text("user", content)
    }

    /// An assistant message.
    pub fn assistant(content: impl Into<String>) -> Self {
        Self::text("assistant", content)
    }

    /// A tool's answer to the call `tool_call_id`.
    pub fn tool(tool_call_id: impl Into<String>, content: impl Into<String>) -> Self {
        let mut m = Self::text("tool", content);
        m.tool_call_id = Some(tool_call_id.into());
        m
    }

    /// A user message of parts: text and images ([`ContentPart::text`], [`ContentPart::image_url`],
    /// and [`ContentPart::image_file`] for a local image sent inline as a `data:` URL).
    pub fn user_parts(parts: Vec<ContentPart>) -> Self {
        ChatMessage {
            role: "user".into(),
            content: Some(MessageContent::Parts(parts)),
            name: None,
            tool_calls: None,
            tool_call_id: None,
        }
    }
}

/// The content of a message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum MessageContent {
    /// Plain text.
    Text(String),
    /// Parts.
    Parts(Vec<ContentPart>),
}

/// A part of a message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ContentPart {
    /// `{"type":"text","text":…}`
    Text {
        /// The text.
        text: String,
    },
    /// `{"type":"image_url","image_url":{"url":…}}`
    ImageUrl {
        /// The image.
        image_url: ImageUrl,
    },
}

/// An image reference: an `http(s)` or `data:` URL.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageUrl {
    /// The URL.
    pub url: String,
}

/// A tool the model may call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tool {
    /// Always `function`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The function.
    pub function: FunctionDefinition,
}

impl Tool {
    /// A function tool with a JSON-Schema for its arguments.
    pub fn function(
        name: impl Into<String>,
        description: Option<&str>,
        parameters: serde_json::Value,
    ) -> Self {
        Tool {
            kind: "function".into(),
            function: FunctionDefinition {
                name: name.into(),
                description: description.map(str::to_owned),
                parameters,
            },
        }
    }
}

/// A function definition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FunctionDefinition {
    /// Its name.
    pub name: String,
    /// What it does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// JSON Schema of the arguments.
    pub parameters: serde_json::Value,
}

/// Which tool the model must use.
#[derive(Debug, Clone, PartialEq)]
pub enum ToolChoice {
    /// `"auto"`
    Auto,
    /// `"none"`
    None,
    /// `"required"`
    Required,
    /// `{"type":"function","function":{"name":…}}`
    Function(String),
}

impl Serialize for ToolChoice {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            ToolChoice::Auto => s.serialize_str("auto"),
            ToolChoice::None => s.serialize_str("none"),
            ToolChoice::Required => s.serialize_str("required"),
            ToolChoice::Function(name) => serde_json::json!({
                "type": "function",
                "function": {"name": name}
            })
            .serialize(s),
        }
    }
}

/// The format the answer must take (OpenAI form; hfkit rewrites it per route).
#[derive(Debug, Clone, PartialEq)]
pub enum ResponseFormat {
    /// `{"type":"text"}`
    Text,
    /// `{"type":"json_object"}`
    JsonObject,
    /// `{"type":"json_schema","json_schema":{…}}`
    JsonSchema {
        /// Schema name.
        name: String,
        /// Description.
        description: Option<String>,
        /// The JSON Schema.
        schema: Option<serde_json::Value>,
        /// Strict adherence.
        strict: Option<bool>,
    },
}

impl Serialize for ResponseFormat {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let v = match self {
            ResponseFormat::Text => serde_json::json!({"type": "text"}),
            ResponseFormat::JsonObject => serde_json::json!({"type": "json_object"}),
            ResponseFormat::JsonSchema {
                name,
                description,
                schema,
                strict,
            } => {
                let mut js = serde_json::Map::new();
                js.insert("name".into(), name.clone().into());
                if let Some(d) = description {
                    js.insert("description".into(), d.clone().into());
                }
                if let Some(sc) = schema {
                    js.insert("schema".into(), sc.clone());
                }
                if let Some(st) = strict {
                    js.insert("strict".into(), (*st).into());
                }
                serde_json::json!({"type": "json_schema", "json_schema": js})
            }
        };
        v.serialize(s)
    }
}

/// `stream_options`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StreamOptions {
    /// Send a final usage-only chunk.
    pub include_usage: bool,
}

/// The body of `chat_completion` (`model` first, then `messages`; only set keys, plus `stream`).
#[derive(Debug, Clone, Default, Serialize)]
pub struct ChatCompletionRequest {
    /// The model as the server knows it.
    pub model: String,
    /// The conversation.
    pub messages: Vec<ChatMessage>,
    /// Frequency penalty.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub frequency_penalty: Option<f64>,
    /// Logit bias.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logit_bias: Option<Vec<f64>>,
    /// Return log-probabilities.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logprobs: Option<bool>,
    /// Most tokens to generate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
    /// Number of choices.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub n: Option<u32>,
    /// Presence penalty.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub presence_penalty: Option<f64>,
    /// Answer format (already rewritten for the route).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_format: Option<serde_json::Value>,
    /// Random seed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// Stop sequences.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop: Option<Vec<String>>,
    /// Stream (always sent).
    pub stream: bool,
    /// Stream options.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream_options: Option<StreamOptions>,
    /// Temperature.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    /// Tool choice.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<ToolChoice>,
    /// Prompt prepended to the tools.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_prompt: Option<String>,
    /// Tools.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tools: Option<Vec<Tool>>,
    /// Most likely tokens per position (with `logprobs`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_logprobs: Option<u32>,
    /// Nucleus sampling.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
}

/// A tool call id: servers send a number (old TGI) or a string.
fn id_as_string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let v = serde_json::Value::deserialize(d)?;
    Ok(match v {
        serde_json::Value::String(s) => s,
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    })
}

/// A function call requested by the model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FunctionCall {
    /// The function.
    pub name: String,
    /// Its arguments: a JSON string (OpenAI) or an object (old TGI), as sent.
    #[serde(default)]
    pub arguments: serde_json::Value,
    /// Old TGI sends a (null) description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<serde_json::Value>,
}

impl FunctionCall {
    /// The arguments as JSON text.
    pub fn arguments_text(&self) -> String {
        match &self.arguments {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        }
    }

    /// The arguments parsed (a JSON string is decoded).
    pub fn arguments_json(&self) -> crate::Result<serde_json::Value> {
        match &self.arguments {
            serde_json::Value::String(s) => {
                serde_json::from_str(s).map_err(|e| crate::Error::json("tool call arguments", e))
            }
            other => Ok(other.clone()),
        }
    }
}

/// A tool call in an assistant message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolCall {
    /// Its id (a number in old TGI answers, kept as text).
    #[serde(default, deserialize_with = "id_as_string")]
    pub id: String,
    /// Always `function`.
    #[serde(rename = "type", default = "function_kind")]
    pub kind: String,
    /// The call.
    pub function: FunctionCall,
}

fn function_kind() -> String {
    "function".into()
}

/// The message of a choice.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatCompletionOutputMessage {
    /// Usually `assistant`.
    #[serde(default)]
    pub role: String,
    /// The text (absent with tool calls).
    #[serde(default)]
    pub content: Option<String>,
    /// Tool calls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_calls: Option<Vec<ToolCall>>,
    /// Reasoning text of reasoning models.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning: Option<String>,
    /// Other keys (`refusal`, …).
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

/// One choice.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatCompletionChoice {
    /// Its index.
    #[serde(default)]
    pub index: u32,
    /// The message.
    pub message: ChatCompletionOutputMessage,
    /// `stop`, `length`, `eos_token`, `tool_calls`, … (any string).
    #[serde(default)]
    pub finish_reason: Option<String>,
    /// Log-probabilities, as sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logprobs: Option<serde_json::Value>,
}

/// Token counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Usage {
    /// Prompt tokens.
    #[serde(default)]
    pub prompt_tokens: u64,
    /// Generated tokens.
    #[serde(default)]
    pub completion_tokens: u64,
    /// Both.
    #[serde(default)]
    pub total_tokens: u64,
}

/// The answer of `chat_completion`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatCompletionOutput {
    /// Its id (may be empty).
    #[serde(default, deserialize_with = "id_as_string")]
    pub id: String,
    /// `chat.completion`, `text_completion` or absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object: Option<String>,
    /// Unix time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<u64>,
    /// The model that answered.
    #[serde(default)]
    pub model: String,
    /// Server build.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_fingerprint: Option<String>,
    /// The choices (may be empty).
    #[serde(default)]
    pub choices: Vec<ChatCompletionChoice>,
    /// Token counts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
}

impl ChatCompletionOutput {
    /// The text of the first choice, if any.
    pub fn text(&self) -> Option<&str> {
        self.choices.first()?.message.content.as_deref()
    }
}
