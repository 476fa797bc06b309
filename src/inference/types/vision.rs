//! Vision tasks: text-to-image, image-to-image, image segmentation, zero-shot image
//! classification, text-to-video.

use base64::Engine;
use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::Extra;

/// Parameters of `text_to_image`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TextToImageParameters {
    /// What the image should not show.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub negative_prompt: Option<String>,
    /// Height in pixels.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
    /// Width in pixels.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    /// Denoising steps.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub num_inference_steps: Option<u32>,
    /// How closely the image follows the prompt.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub guidance_scale: Option<f64>,
    /// A scheduler compatible with the model.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scheduler: Option<String>,
    /// Random seed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// Extra keys (Python's `extra_body`).
    #[serde(flatten)]
    pub extra: Extra,
}

/// An output size in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetSize {
    /// Width.
    pub width: u32,
    /// Height.
    pub height: u32,
}

impl TargetSize {
    /// A `width` × `height` size.
    pub fn new(width: u32, height: u32) -> Self {
        TargetSize { width, height }
    }
}

/// Parameters of `image_to_image`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ImageToImageParameters {
    /// The prompt guiding the transformation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prompt: Option<String>,
    /// What the image should not show.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub negative_prompt: Option<String>,
    /// The output size (ignored by models that do not support it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_size: Option<TargetSize>,
    /// Denoising steps.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub num_inference_steps: Option<u32>,
    /// How closely the image follows the prompt.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub guidance_scale: Option<f64>,
    /// Extra keys.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Which segmentation a model performs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ImageSegmentationSubtask {
    /// `instance`
    Instance,
    /// `panoptic`
    Panoptic,
    /// `semantic`
    Semantic,
}

/// Parameters of `image_segmentation`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ImageSegmentationParameters {
    /// Threshold turning predicted masks into binary values.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mask_threshold: Option<f64>,
    /// Overlap threshold eliminating small, disconnected segments.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub overlap_mask_area_threshold: Option<f64>,
    /// The segmentation to perform.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subtask: Option<ImageSegmentationSubtask>,
    /// Probability threshold filtering out masks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f64>,
    /// Extra keys.
    #[serde(flatten)]
    pub extra: Extra,
}

/// One segment of `image_segmentation`: its label, score and decoded mask.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageSegmentationOutput {
    /// The segment's label.
    pub label: String,
    /// Its score (absent for semantic segmentation).
    pub score: Option<f64>,
    /// The mask, decoded (a black-and-white image the size of the input).
    pub mask: image::DynamicImage,
    /// The mask as sent (PNG bytes, base64-decoded).
    pub mask_bytes: Bytes,
}

/// Serialised as on the wire: `{"label", "score"?, "mask": "<base64 PNG>"}`.
impl Serialize for ImageSegmentationOutput {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("label", &self.label)?;
        if let Some(score) = self.score {
            m.serialize_entry("score", &score)?;
        }
        m.serialize_entry(
            "mask",
            &base64::engine::general_purpose::STANDARD.encode(&self.mask_bytes),
        )?;
        m.end()
    }
}

/// One segment as the server sends it (before the mask is decoded).
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct RawSegment {
    pub label: String,
    #[serde(default)]
    pub score: Option<f64>,
    pub mask: String,
}

/// Parameters of `zero_shot_image_classification`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ZeroShotImageClassificationParameters {
    /// The candidate labels (at least two).
    pub candidate_labels: Vec<String>,
    /// The sentence each label is put into (`This is a photo of {}.`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hypothesis_template: Option<String>,
    /// Extra keys.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Parameters of `text_to_video`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TextToVideoParameters {
    /// How closely the video follows the prompt.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub guidance_scale: Option<f64>,
    /// Prompts of what the video should not show.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub negative_prompt: Option<Vec<String>>,
    /// Number of frames.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub num_frames: Option<u32>,
    /// Denoising steps.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub num_inference_steps: Option<u32>,
    /// Random seed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// Extra keys (Python's `extra_body`).
    #[serde(flatten)]
    pub extra: Extra,
}

/// Parameters of `image_to_video`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ImageToVideoParameters {
    /// The prompt guiding the video.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prompt: Option<String>,
    /// What the video should not show.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub negative_prompt: Option<String>,
    /// Number of frames.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub num_frames: Option<u32>,
    /// Denoising steps.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub num_inference_steps: Option<u32>,
    /// How closely the video follows the prompt.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub guidance_scale: Option<f64>,
    /// Random seed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// The output frame size.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_size: Option<TargetSize>,
    /// Extra keys (Python's extra keyword arguments).
    #[serde(flatten)]
    pub extra: Extra,
}
