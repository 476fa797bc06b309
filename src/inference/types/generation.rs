//! `text_generation` (TGI `generate`, non-streaming).

use serde::{Deserialize, Serialize};

/// Parameters of `text_generation` (TGI names; only set keys are sent).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TextGenerationParameters {
    /// LoRA adapter id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub adapter_id: Option<String>,
    /// Generate `best_of` sequences and return the best (needs sampling).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub best_of: Option<u32>,
    /// Return the prompt tokens' details (needs `details`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decoder_input_details: Option<bool>,
    /// Return generation details.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<bool>,
    /// Sample instead of greedy decoding.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub do_sample: Option<bool>,
    /// Frequency penalty in (-2, 2].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub frequency_penalty: Option<f64>,
    /// A grammar, sent as given (`{"type":"json"|"regex"|"json_schema","value":…}`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grammar: Option<serde_json::Value>,
    /// Most new tokens.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_new_tokens: Option<u32>,
    /// Repetition penalty.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repetition_penalty: Option<f64>,
    /// Prepend the prompt to the generated text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub return_full_text: Option<bool>,
    /// Random seed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// Stop sequences.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop: Option<Vec<String>>,
    /// Sampling temperature (> 0).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    /// Top-k sampling (> 0).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_k: Option<u32>,
    /// Return the `n` most likely tokens at each step (> 0).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_n_tokens: Option<u32>,
    /// Nucleus sampling, in (0, 1].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    /// Keep only the last `truncate` input tokens.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub truncate: Option<u32>,
    /// Typical sampling, in (0, 1].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub typical_p: Option<f64>,
    /// Watermark the output.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub watermark: Option<bool>,
    /// Extra keys.
    #[serde(flatten)]
    pub extra: super::Extra,
}

/// The body of `text_generation`.
#[derive(Debug, Clone, Serialize)]
pub struct TextGenerationRequest {
    /// The prompt.
    pub inputs: String,
    /// The parameters (always sent).
    pub parameters: TextGenerationParameters,
    /// Top-level `stream`, only when the caller set it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream: Option<bool>,
}

/// A generated token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GeneratedToken {
    /// Token id.
    pub id: i64,
    /// Token text.
    pub text: String,
    /// Log-probability (absent or `null` for some prefill tokens).
    #[serde(default)]
    pub logprob: Option<f64>,
    /// Whether it is a special token (EOS, …).
    #[serde(default)]
    pub special: bool,
}

/// A prompt token (decoder input details).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PrefillToken {
    /// Token id.
    pub id: i64,
    /// Token text.
    pub text: String,
    /// Log-probability (`null` for the first).
    #[serde(default)]
    pub logprob: Option<f64>,
}

/// One extra sequence of `best_of`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BestOfSequence {
    /// Its text.
    pub generated_text: String,
    /// `length`, `eos_token` or `stop_sequence`.
    pub finish_reason: String,
    /// Tokens generated.
    pub generated_tokens: u64,
    /// Its seed.
    #[serde(default)]
    pub seed: Option<u64>,
    /// Prompt tokens.
    #[serde(default)]
    pub prefill: Vec<PrefillToken>,
    /// Generated tokens.
    #[serde(default)]
    pub tokens: Vec<GeneratedToken>,
    /// Most likely tokens per step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_tokens: Option<Vec<Vec<GeneratedToken>>>,
}

/// Generation details.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TextGenerationDetails {
    /// `length`, `eos_token` or `stop_sequence`.
    pub finish_reason: String,
    /// Tokens generated.
    pub generated_tokens: u64,
    /// The seed used (sampling).
    #[serde(default)]
    pub seed: Option<u64>,
    /// Prompt tokens (with `decoder_input_details`).
    #[serde(default)]
    pub prefill: Vec<PrefillToken>,
    /// Generated tokens.
    #[serde(default)]
    pub tokens: Vec<GeneratedToken>,
    /// Most likely tokens per step (with `top_n_tokens`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_tokens: Option<Vec<Vec<GeneratedToken>>>,
    /// The other sequences of `best_of`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub best_of_sequences: Option<Vec<BestOfSequence>>,
}

/// The answer of `text_generation`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TextGenerationOutput {
    /// The generated text.
    pub generated_text: String,
    /// Details, when asked for and supported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<TextGenerationDetails>,
}
