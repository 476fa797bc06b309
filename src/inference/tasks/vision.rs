//! Vision tasks with image or video answers, and zero-shot image classification
//! (inference.md §3.2, §4.4).

use base64::Engine;

use super::binary::send_binary;
use super::media::{Media, binary_answer, decode_b64, decode_image, image_answer};
use super::{from_value, json_value, send_json, task_builder};
use crate::error::{Error, Result};
use crate::inference::input::BinaryInput;
use crate::inference::request::{self, Payload, RawResponse};
use crate::inference::task::Task;
use crate::inference::types::*;
use crate::inference::{InferenceClient, routing};

/// Rejects an empty prompt before sending (hfkit-only, inference.md §3.2).
pub(super) fn check_prompt(task: Task, prompt: &str) -> Result<()> {
    if prompt.trim().is_empty() {
        return Err(Error::InvalidInput(format!(
            "{task} needs a non-empty prompt"
        )));
    }
    Ok(())
}

task_builder! {
    /// A `text_to_image` call; `.await` it for the decoded image, or call
    /// [`bytes`](TextToImage::bytes) for the bytes as received.
    TextToImage -> image::DynamicImage { input: String, params: TextToImageParameters }
    options {
        /// What the image should not show.
        negative_prompt: impl Into<String> => negative_prompt;
        /// Height in pixels.
        height: u32 => height;
        /// Width in pixels.
        width: u32 => width;
        /// Denoising steps.
        num_inference_steps: u32 => num_inference_steps;
        /// How closely the image follows the prompt.
        guidance_scale: f64 => guidance_scale;
        /// A scheduler compatible with the model.
        scheduler: impl Into<String> => scheduler;
        /// Random seed.
        seed: u64 => seed;
    }
    lists {}
}

impl TextToImage {
    async fn request(self) -> Result<RawResponse> {
        check_prompt(Task::TextToImage, &self.input)?;
        let body = TaskRequest {
            inputs: &self.input,
            parameters: &self.params,
        };
        send_json!(self, Task::TextToImage, &body).await
    }

    async fn send(self) -> Result<image::DynamicImage> {
        image_answer(self.request().await?)
    }

    /// Sends the call and returns the image bytes as received (JPEG, PNG, …) with their
    /// content type, without decoding them.
    pub async fn bytes(self) -> Result<BinaryOutput> {
        binary_answer(self.request().await?, Media::Image)
    }
}

task_builder! {
    /// An `image_to_image` call; `.await` it for the decoded image, or call
    /// [`bytes`](ImageToImage::bytes) for the bytes as received.
    ImageToImage -> image::DynamicImage { input: BinaryInput, params: ImageToImageParameters }
    options {
        /// The prompt guiding the transformation.
        prompt: impl Into<String> => prompt;
        /// What the image should not show.
        negative_prompt: impl Into<String> => negative_prompt;
        /// The output size (ignored by models that do not support it).
        target_size: TargetSize => target_size;
        /// Denoising steps.
        num_inference_steps: u32 => num_inference_steps;
        /// How closely the image follows the prompt.
        guidance_scale: f64 => guidance_scale;
    }
    lists {}
}

impl ImageToImage {
    async fn request(self) -> Result<RawResponse> {
        send_binary!(self, Task::ImageToImage).await
    }

    async fn send(self) -> Result<image::DynamicImage> {
        image_answer(self.request().await?)
    }

    /// Sends the call and returns the image bytes as received, with their content type.
    pub async fn bytes(self) -> Result<BinaryOutput> {
        binary_answer(self.request().await?, Media::Image)
    }
}

task_builder! {
    /// An `image_segmentation` call; `.await` it for the segments with decoded masks.
    ImageSegmentation -> Vec<ImageSegmentationOutput> { input: BinaryInput, params: ImageSegmentationParameters }
    options {
        /// Threshold turning predicted masks into binary values.
        mask_threshold: f64 => mask_threshold;
        /// Overlap threshold eliminating small, disconnected segments.
        overlap_mask_area_threshold: f64 => overlap_mask_area_threshold;
        /// The segmentation to perform.
        subtask: ImageSegmentationSubtask => subtask;
        /// Probability threshold filtering out masks.
        threshold: f64 => threshold;
    }
    lists {}
}

impl ImageSegmentation {
    async fn send(self) -> Result<Vec<ImageSegmentationOutput>> {
        let resp = send_binary!(self, Task::ImageSegmentation).await?;
        let raw: Vec<RawSegment> =
            from_value(&resp, "a list of {label, score, mask}", json_value(&resp)?)?;
        raw.into_iter()
            .enumerate()
            .map(|(i, s)| {
                let what = format!("the mask of segment {i} ({})", s.label);
                let mask_bytes = decode_b64(&resp, &what, &s.mask)?;
                let mask = decode_image(&mask_bytes, &resp.url, &what)?;
                Ok(ImageSegmentationOutput {
                    label: s.label,
                    score: s.score,
                    mask,
                    mask_bytes,
                })
            })
            .collect()
    }
}

task_builder! {
    /// A `zero_shot_image_classification` call; `.await` it for the labels, best first.
    ZeroShotImageClassification -> Vec<ClassificationOutput> { input: BinaryInput, params: ZeroShotImageClassificationParameters }
    options {
        /// The sentence each label is put into (`This is a photo of {}.`).
        hypothesis_template: impl Into<String> => hypothesis_template;
    }
    lists {}
}

impl ZeroShotImageClassification {
    async fn send(self) -> Result<Vec<ClassificationOutput>> {
        if self.params.candidate_labels.len() < 2 {
            return Err(Error::InvalidInput(format!(
                "zero-shot image classification needs at least two candidate labels, got {}",
                self.params.candidate_labels.len()
            )));
        }
        let client = &self.client;
        let task = Task::ZeroShotImageClassification;
        let target = routing::resolve(client, task, self.model.as_deref()).await?;
        let (bytes, _) = self.input.resolve(client).await?;
        let b64 = base64::engine::general_purpose::STANDARD.encode(&bytes);
        let body = TaskRequest {
            inputs: b64,
            parameters: &self.params,
        };
        let value =
            serde_json::to_value(&body).map_err(|e| Error::json("inference request body", e))?;
        let payload = Payload::json(&drop_nulls(value))?;
        let resp = request::send(client, Some(task), &target, payload, &self.headers).await?;
        from_value(&resp, "a list of {label, score}", json_value(&resp)?)
    }
}

task_builder! {
    /// A `text_to_video` call; `.await` it for the video bytes and their content type.
    TextToVideo -> BinaryOutput { input: String, params: TextToVideoParameters }
    options {
        /// How closely the video follows the prompt.
        guidance_scale: f64 => guidance_scale;
        /// Number of frames.
        num_frames: u32 => num_frames;
        /// Denoising steps.
        num_inference_steps: u32 => num_inference_steps;
        /// Random seed.
        seed: u64 => seed;
    }
    lists {
        /// Prompts of what the video should not show.
        negative_prompt => negative_prompt;
    }
}

impl TextToVideo {
    async fn send(self) -> Result<BinaryOutput> {
        check_prompt(Task::TextToVideo, &self.input)?;
        let body = TaskRequest {
            inputs: &self.input,
            parameters: &self.params,
        };
        let resp = send_json!(self, Task::TextToVideo, &body).await?;
        binary_answer(resp, Media::Video)
    }
}

task_builder! {
    /// An `image_to_video` call; `.await` it for the video bytes and their content type.
    ImageToVideo -> BinaryOutput { input: BinaryInput, params: ImageToVideoParameters }
    options {
        /// The prompt guiding the video.
        prompt: impl Into<String> => prompt;
        /// What the video should not show.
        negative_prompt: impl Into<String> => negative_prompt;
        /// Number of frames.
        num_frames: u32 => num_frames;
        /// Denoising steps.
        num_inference_steps: u32 => num_inference_steps;
        /// How closely the video follows the prompt.
        guidance_scale: f64 => guidance_scale;
        /// Random seed.
        seed: u64 => seed;
        /// The output frame size.
        target_size: TargetSize => target_size;
    }
    lists {}
}

impl ImageToVideo {
    async fn send(self) -> Result<BinaryOutput> {
        let resp = send_binary!(self, Task::ImageToVideo).await?;
        binary_answer(resp, Media::Video)
    }
}

#[cfg(feature = "blocking")]
impl crate::blocking::Call<TextToImage> {
    /// Sends the call and returns the image bytes as received, with their content type.
    pub fn bytes(self) -> Result<BinaryOutput> {
        self.run_with(TextToImage::bytes)
    }
}

#[cfg(feature = "blocking")]
impl crate::blocking::Call<ImageToImage> {
    /// Sends the call and returns the image bytes as received, with their content type.
    pub fn bytes(self) -> Result<BinaryOutput> {
        self.run_with(ImageToImage::bytes)
    }
}

impl InferenceClient {
    /// Generates an image from a prompt.
    ///
    /// ```no_run
    /// # async fn demo() -> hfkit::Result<()> {
    /// let client = hfkit::inference::InferenceClient::new()?;
    /// let image = client
    ///     .text_to_image("An astronaut riding a horse on the moon.")
    ///     .model("stabilityai/stable-diffusion-xl-base-1.0")
    ///     .width(512)
    ///     .height(512)
    ///     .await?;
    /// println!("{}×{}", image.width(), image.height());
    /// # Ok(()) }
    /// ```
    pub fn text_to_image(&self, prompt: impl Into<String>) -> TextToImage {
        TextToImage::new(self, prompt.into())
    }

    /// Transforms an image (guided by a prompt, for diffusion models).
    pub fn image_to_image(&self, image: impl Into<BinaryInput>) -> ImageToImage {
        ImageToImage::new(self, image.into())
    }

    /// Segments an image; each segment comes with its decoded mask.
    ///
    /// ```no_run
    /// # async fn demo() -> hfkit::Result<()> {
    /// let client = hfkit::inference::InferenceClient::new()?;
    /// let segments = client
    ///     .image_segmentation(std::path::Path::new("cat.png"))
    ///     .model("facebook/detr-resnet-50-panoptic")
    ///     .await?;
    /// for s in &segments {
    ///     println!("{}: {}×{} mask", s.label, s.mask.width(), s.mask.height());
    /// }
    /// # Ok(()) }
    /// ```
    pub fn image_segmentation(&self, image: impl Into<BinaryInput>) -> ImageSegmentation {
        ImageSegmentation::new(self, image.into())
    }

    /// Classifies an image against candidate labels (at least two) the model was not trained on.
    pub fn zero_shot_image_classification<I, S>(
        &self,
        image: impl Into<BinaryInput>,
        candidate_labels: I,
    ) -> ZeroShotImageClassification
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut b = ZeroShotImageClassification::new(self, image.into());
        b.params.candidate_labels = candidate_labels.into_iter().map(Into::into).collect();
        b
    }

    /// Generates a video from a prompt (a model URL or the legacy API; hf-inference does not
    /// serve this task).
    pub fn text_to_video(&self, prompt: impl Into<String>) -> TextToVideo {
        TextToVideo::new(self, prompt.into())
    }

    /// Animates an image into a video (a model URL; hf-inference does not serve this task, so
    /// with that provider named the call fails before sending, as in Python). Without options
    /// the image goes as raw bytes, with options as base64 JSON.
    pub fn image_to_video(&self, image: impl Into<BinaryInput>) -> ImageToVideo {
        ImageToVideo::new(self, image.into())
    }
}
