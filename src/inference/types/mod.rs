//! Serde request and response types of the inference tasks, mirroring
//! `task-specs/{task}/{input,output}.json` (field names as on the wire). Parameters are all
//! optional and omitted when unset; outputs accept the older wire shapes inference.md §3.3 lists.
//! No transport code lives here.

mod audio;
mod chat;
mod content;
mod endpoint;
mod generation;
mod media;
mod multimodal;
mod stream;
mod tabular;
mod text;
mod vision;

pub use audio::*;
pub use chat::*;
pub use endpoint::*;
pub use generation::*;
pub use media::*;
pub use multimodal::*;
pub use stream::*;
pub use tabular::*;
pub use text::*;
pub use vision::*;

use serde::{Deserialize, Serialize};

/// The JSON envelope of most tasks: `{"inputs": …, "parameters": {…}}` (`parameters` is always
/// sent, `{}` when nothing is set).
#[derive(Debug, Clone, Serialize)]
pub struct TaskRequest<I, P> {
    /// The task input.
    pub inputs: I,
    /// The task parameters.
    pub parameters: P,
}

/// Extra keys sent inside `parameters` (hfkit-only where Python offers no `extra_body`).
pub type Extra = serde_json::Map<String, serde_json::Value>;

/// Removes `null`s recursively from objects (and objects inside arrays), as Python does before
/// sending a body (inference.md §0).
pub fn drop_nulls(v: serde_json::Value) -> serde_json::Value {
    match v {
        serde_json::Value::Object(m) => serde_json::Value::Object(
            m.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, drop_nulls(v)))
                .collect(),
        ),
        serde_json::Value::Array(a) => {
            serde_json::Value::Array(a.into_iter().map(drop_nulls).collect())
        }
        other => other,
    }
}

/// A label with its score (text, zero-shot, audio and image classification).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassificationOutput {
    /// The predicted label.
    pub label: String,
    /// Its score.
    pub score: f64,
}

/// The function applied to model outputs to get scores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClassificationOutputTransform {
    /// `sigmoid`
    Sigmoid,
    /// `softmax`
    Softmax,
    /// `none`
    None,
}

impl std::str::FromStr for ClassificationOutputTransform {
    type Err = crate::Error;
    fn from_str(s: &str) -> crate::Result<Self> {
        serde_json::from_value(serde_json::Value::String(s.to_owned())).map_err(|_| {
            crate::Error::InvalidInput(format!(
                "function_to_apply must be sigmoid, softmax or none, not {s:?}"
            ))
        })
    }
}

/// How text is truncated (summarization, translation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Truncation {
    /// `do_not_truncate`
    DoNotTruncate,
    /// `longest_first`
    LongestFirst,
    /// `only_first`
    OnlyFirst,
    /// `only_second`
    OnlySecond,
}

/// Parameters of audio and image classification.
#[derive(Debug, Clone, Default, Serialize)]
pub struct BinaryClassificationParameters {
    /// Function applied to the model outputs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub function_to_apply: Option<ClassificationOutputTransform>,
    /// Keep the `top_k` most probable classes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_k: Option<u32>,
    /// Extra keys.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Parameters of `object_detection`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ObjectDetectionParameters {
    /// Minimum score of a detection.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f64>,
    /// Extra keys.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A bounding box in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BoundingBox {
    /// Left.
    pub xmin: i64,
    /// Top.
    pub ymin: i64,
    /// Right.
    pub xmax: i64,
    /// Bottom.
    pub ymax: i64,
}

/// One detected object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ObjectDetectionOutput {
    /// Its label.
    pub label: String,
    /// Its score.
    pub score: f64,
    /// Where it is.
    #[serde(rename = "box")]
    pub bbox: BoundingBox,
}

/// A timed chunk of a transcription.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AsrChunk {
    /// The text.
    pub text: String,
    /// `[start, end]` in seconds.
    #[serde(default)]
    pub timestamp: Vec<Option<f64>>,
}

/// The answer of `automatic_speech_recognition`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AutomaticSpeechRecognitionOutput {
    /// The transcription.
    pub text: String,
    /// Timed chunks (with `return_timestamps`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chunks: Option<Vec<AsrChunk>>,
}

/// The answer of `image_to_text`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageToTextOutput {
    /// The caption.
    pub generated_text: String,
}
