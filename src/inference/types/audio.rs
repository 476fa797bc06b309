//! Audio tasks with audio answers: text-to-speech, audio-to-audio.

use base64::Engine;
use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::Extra;

/// When beam search stops: `true`, `false`, or `"never"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum EarlyStopping {
    /// `true` / `false`.
    Bool(bool),
    /// `"never"`.
    Never(NeverTag),
}

/// The literal `"never"` of [`EarlyStopping::Never`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NeverTag {
    /// `"never"`
    Never,
}

impl EarlyStopping {
    /// `"never"`.
    pub const NEVER: EarlyStopping = EarlyStopping::Never(NeverTag::Never);
}

impl From<bool> for EarlyStopping {
    fn from(b: bool) -> Self {
        EarlyStopping::Bool(b)
    }
}

impl std::str::FromStr for EarlyStopping {
    type Err = crate::Error;
    fn from_str(s: &str) -> crate::Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "true" => Ok(EarlyStopping::Bool(true)),
            "false" => Ok(EarlyStopping::Bool(false)),
            "never" => Ok(EarlyStopping::NEVER),
            _ => Err(crate::Error::InvalidInput(format!(
                "early_stopping must be true, false or never, not {s:?}"
            ))),
        }
    }
}

/// Parameters of `text_to_speech`: generation options, sent flat in `parameters` as Python does
/// (inference.md §3.2).
#[derive(Debug, Clone, Default, Serialize)]
pub struct TextToSpeechParameters {
    /// Sample instead of greedy decoding.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub do_sample: Option<bool>,
    /// When beam search stops.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub early_stopping: Option<EarlyStopping>,
    /// Epsilon sampling cut-off.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub epsilon_cutoff: Option<f64>,
    /// Eta sampling cut-off.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eta_cutoff: Option<f64>,
    /// Longest output (tokens, prompt included).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_length: Option<u32>,
    /// Most new tokens.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_new_tokens: Option<u32>,
    /// Shortest output (tokens, prompt included).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_length: Option<u32>,
    /// Fewest new tokens.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_new_tokens: Option<u32>,
    /// Groups of beams (diverse beam search).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub num_beam_groups: Option<u32>,
    /// Beams of beam search.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub num_beams: Option<u32>,
    /// Contrastive search penalty.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub penalty_alpha: Option<f64>,
    /// Sampling temperature.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    /// Top-k sampling.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_k: Option<u32>,
    /// Nucleus sampling.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    /// Typical sampling.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub typical_p: Option<f64>,
    /// Use the key/value cache.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub use_cache: Option<bool>,
    /// Extra keys (Python's `extra_body`).
    #[serde(flatten)]
    pub extra: Extra,
}

/// One audio clip of `audio_to_audio` (e.g. one separated source).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AudioToAudioOutput {
    /// The clip's label.
    pub label: String,
    /// Its content type (`audio/flac`, …).
    pub content_type: String,
    /// The audio bytes (base64-decoded).
    pub blob: Bytes,
}

/// Serialised as on the wire: `{"label", "content-type", "blob": "<base64>"}`.
impl Serialize for AudioToAudioOutput {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(3))?;
        m.serialize_entry("label", &self.label)?;
        m.serialize_entry("content-type", &self.content_type)?;
        m.serialize_entry(
            "blob",
            &base64::engine::general_purpose::STANDARD.encode(&self.blob),
        )?;
        m.end()
    }
}

/// One clip as the server sends it.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct RawAudioClip {
    pub label: String,
    #[serde(rename = "content-type", alias = "content_type", default)]
    pub content_type: Option<String>,
    pub blob: String,
}

/// The JSON form of a text-to-speech answer (hfkit-only leniency): `{"audio": "<base64>"}`.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct JsonAudio {
    pub audio: String,
}
