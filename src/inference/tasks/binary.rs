//! Audio and image tasks with JSON answers: raw bytes as the body without parameters, else
//! `{"inputs": "<base64>", "parameters": {…}}` (inference.md §3.1).

use base64::Engine;

use super::{first_or_object, from_value, json_value, task_builder};
use crate::error::{Error, Result};
use crate::inference::input::BinaryInput;
use crate::inference::request::{self, Payload, RawResponse};
use crate::inference::task::Task;
use crate::inference::types::*;
use crate::inference::{InferenceClient, routing};

/// Sends a binary input with optional parameters.
pub(super) async fn run_binary<P: serde::Serialize>(
    client: &InferenceClient,
    task: Task,
    model: Option<&str>,
    headers: &[(String, String)],
    input: BinaryInput,
    params: &P,
) -> Result<RawResponse> {
    let target = routing::resolve(client, task, model).await?;
    let (bytes, mime) = input.resolve(client).await?;
    let params = drop_nulls(
        serde_json::to_value(params).map_err(|e| Error::json("inference parameters", e))?,
    );
    let empty = params.as_object().is_none_or(|o| o.is_empty());
    let payload = if empty {
        Payload::Raw(bytes, mime)
    } else {
        let b64 = base64::engine::general_purpose::STANDARD.encode(&bytes);
        Payload::json(&serde_json::json!({"inputs": b64, "parameters": params}))?
    };
    request::send(client, Some(task), &target, payload, headers).await
}

/// [`run_binary`] with a task builder's own fields (`client`, `model`, `headers`, `input`,
/// `params`): `send_binary!(self, Task::X).await`.
macro_rules! send_binary {
    ($builder:ident, $task:expr) => {
        super::binary::run_binary(
            &$builder.client,
            $task,
            $builder.model.as_deref(),
            &$builder.headers,
            $builder.input,
            &$builder.params,
        )
    };
}
pub(super) use send_binary;

task_builder! {
    /// An `audio_classification` call; `.await` it for the labels, best first.
    AudioClassification -> Vec<ClassificationOutput> { input: BinaryInput, params: BinaryClassificationParameters }
    options {
        /// Function applied to the model outputs.
        function_to_apply: ClassificationOutputTransform => function_to_apply;
        /// Keep the `k` most probable labels.
        top_k: u32 => top_k;
    }
    lists {}
}

impl AudioClassification {
    async fn send(self) -> Result<Vec<ClassificationOutput>> {
        let resp = send_binary!(self, Task::AudioClassification).await?;
        from_value(&resp, "a list of {label, score}", json_value(&resp)?)
    }
}

task_builder! {
    /// An `image_classification` call; `.await` it for the labels, best first.
    ImageClassification -> Vec<ClassificationOutput> { input: BinaryInput, params: BinaryClassificationParameters }
    options {
        /// Function applied to the model outputs.
        function_to_apply: ClassificationOutputTransform => function_to_apply;
        /// Keep the `k` most probable labels.
        top_k: u32 => top_k;
    }
    lists {}
}

impl ImageClassification {
    async fn send(self) -> Result<Vec<ClassificationOutput>> {
        let resp = send_binary!(self, Task::ImageClassification).await?;
        from_value(&resp, "a list of {label, score}", json_value(&resp)?)
    }
}

task_builder! {
    /// An `object_detection` call; `.await` it for the detected objects.
    ObjectDetection -> Vec<ObjectDetectionOutput> { input: BinaryInput, params: ObjectDetectionParameters }
    options {
        /// Minimum score of a detection.
        threshold: f64 => threshold;
    }
    lists {}
}

impl ObjectDetection {
    async fn send(self) -> Result<Vec<ObjectDetectionOutput>> {
        let resp = send_binary!(self, Task::ObjectDetection).await?;
        from_value(&resp, "a list of {label, score, box}", json_value(&resp)?)
    }
}

task_builder! {
    /// An `automatic_speech_recognition` call; `.await` it for the transcription.
    AutomaticSpeechRecognition -> AutomaticSpeechRecognitionOutput { input: BinaryInput, params: NoParameters }
    options {}
    lists {}
}

impl AutomaticSpeechRecognition {
    async fn send(self) -> Result<AutomaticSpeechRecognitionOutput> {
        let resp = send_binary!(self, Task::AutomaticSpeechRecognition).await?;
        from_value(&resp, "{text, chunks?}", json_value(&resp)?)
    }
}

task_builder! {
    /// An `image_to_text` call; `.await` it for the caption.
    ImageToText -> ImageToTextOutput { input: BinaryInput, params: NoParameters }
    options {}
    lists {}
}

impl ImageToText {
    async fn send(self) -> Result<ImageToTextOutput> {
        let resp = send_binary!(self, Task::ImageToText).await?;
        first_or_object(&resp, "[{generated_text}]")
    }
}

impl InferenceClient {
    /// Classifies an audio clip.
    pub fn audio_classification(&self, audio: impl Into<BinaryInput>) -> AudioClassification {
        AudioClassification::new(self, audio.into())
    }

    /// Classifies an image.
    pub fn image_classification(&self, image: impl Into<BinaryInput>) -> ImageClassification {
        ImageClassification::new(self, image.into())
    }

    /// Detects objects in an image.
    pub fn object_detection(&self, image: impl Into<BinaryInput>) -> ObjectDetection {
        ObjectDetection::new(self, image.into())
    }

    /// Transcribes speech.
    pub fn automatic_speech_recognition(
        &self,
        audio: impl Into<BinaryInput>,
    ) -> AutomaticSpeechRecognition {
        AutomaticSpeechRecognition::new(self, audio.into())
    }

    /// Captions an image.
    pub fn image_to_text(&self, image: impl Into<BinaryInput>) -> ImageToText {
        ImageToText::new(self, image.into())
    }
}
