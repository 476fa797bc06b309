//! Blocking [`InferenceClient`]: the same task methods; each returns a [`Call`] with the same
//! option setters, sent by [`Call::send`].

use std::future::IntoFuture;
use std::sync::Arc;

use super::runtime::{BlockingIter, Runtime};
use crate::error::Result;
use crate::inference::tasks::*;
use crate::inference::types::{
    ChatCompletionOutput, ChatCompletionStreamOutput, ChatMessage, EndpointInfo, Table,
    TextGenerationStreamOutput, TextInputs,
};
use crate::inference::{Mode, Task};

/// The blocking twin of [`crate::inference::InferenceClient`].
#[derive(Clone, Debug)]
pub struct InferenceClient {
    inner: crate::inference::InferenceClient,
    rt: Arc<Runtime>,
}

/// A pending blocking call: set options with the same methods as the async builder, then
/// [`send`](Call::send).
#[must_use = "a call does nothing until it is sent"]
#[derive(Debug)]
pub struct Call<B> {
    inner: B,
    rt: Arc<Runtime>,
}

impl<B> Call<B> {
    pub(crate) fn map(self, f: impl FnOnce(B) -> B) -> Self {
        Call {
            inner: f(self.inner),
            rt: self.rt,
        }
    }

    /// The async builder inside.
    pub fn into_async(self) -> B {
        self.inner
    }

    /// Runs `f(builder)` (another way to send it, e.g. `bytes()`) and waits for the answer.
    pub(crate) fn run_with<F, T>(self, f: impl FnOnce(B) -> F) -> Result<T>
    where
        F: std::future::Future<Output = Result<T>> + Send + 'static,
        T: Send + 'static,
    {
        self.rt.block_on(f(self.inner))
    }
}

impl<B, T> Call<B>
where
    B: IntoFuture<Output = Result<T>> + Send + 'static,
    B::IntoFuture: Send,
    T: Send + 'static,
{
    /// Sends the request and waits for the answer.
    pub fn send(self) -> Result<T> {
        let fut = self.inner.into_future();
        self.rt.block_on(fut)
    }
}

impl Call<Post> {
    /// The model (Hub id or URL) when the target is a task.
    pub fn model(self, model: impl Into<String>) -> Self {
        self.map(|b| b.model(model))
    }

    /// A header for this call.
    pub fn header(self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.map(|b| b.header(name, value))
    }

    /// A JSON body.
    pub fn json(self, body: serde_json::Value) -> Self {
        self.map(|b| b.json(body))
    }

    /// A raw body with an optional content type.
    pub fn bytes(self, body: impl Into<bytes::Bytes>, content_type: Option<&str>) -> Self {
        self.map(|b| b.bytes(body, content_type))
    }
}

impl Call<TextGeneration> {
    /// Sends the top-level `stream` key with this value (Python's `stream=False`).
    pub fn stream_flag(self, value: bool) -> Self {
        self.map(|b| b.stream_flag(value))
    }

    /// Sends the request with `stream: true` and returns the tokens as a lazy iterator (one
    /// chunk per `next`); request errors come back here, errors inside the stream as items.
    /// Dropping the iterator cancels the request.
    pub fn stream(self) -> Result<BlockingIter<TextGenerationStreamOutput>> {
        let stream = self.rt.block_on(self.inner.stream())?;
        Ok(self.rt.iter(stream))
    }
}

impl Call<ChatCompletion> {
    /// Sends the request with `stream: true` and returns the chunks as a lazy iterator (one
    /// chunk per `next`); request errors come back here, errors inside the stream as items.
    /// Dropping the iterator cancels the request.
    pub fn stream(self) -> Result<BlockingIter<ChatCompletionStreamOutput>> {
        let stream = self.rt.block_on(self.inner.stream())?;
        Ok(self.rt.iter(stream))
    }

    /// Streams the completion and folds its chunks into the final message (see
    /// [`ChatCompletionAccumulator`](crate::inference::types::ChatCompletionAccumulator)).
    pub fn collect_message(self) -> Result<ChatCompletionOutput> {
        self.rt
            .block_on(async move { self.inner.stream().await?.collect_message().await })
    }
}

impl InferenceClient {
    /// A client configured from the environment.
    pub fn new() -> Result<Self> {
        Self::from_async(crate::inference::InferenceClient::new()?)
    }

    /// Wraps an async client (build it with
    /// [`InferenceClient::builder`](crate::inference::InferenceClient::builder)).
    pub fn from_async(inner: crate::inference::InferenceClient) -> Result<Self> {
        Ok(InferenceClient {
            // Connections of the caller's runtime must not be reused from ours.
            inner: inner.with_fresh_pool()?,
            rt: Runtime::new()?,
        })
    }

    /// The async client inside.
    pub fn as_async(&self) -> &crate::inference::InferenceClient {
        &self.inner
    }

    fn call<B>(&self, b: B) -> Call<B> {
        Call {
            inner: b,
            rt: self.rt.clone(),
        }
    }

    /// Where a call of `task` would go (mode and URL).
    pub fn resolve(&self, task: Task, model: Option<&str>) -> Result<(Mode, String)> {
        let c = self.inner.clone();
        let model = model.map(str::to_owned);
        self.rt
            .block_on(async move { c.resolve(task, model.as_deref()).await })
    }

    /// What the deployed server says about itself (`GET {url}/info`; see
    /// [`crate::inference::InferenceClient::get_endpoint_info`]).
    ///
    /// ```no_run
    /// # fn demo() -> hfkit::Result<()> {
    /// let client = hfkit::blocking::InferenceClient::from_async(
    ///     hfkit::inference::InferenceClient::builder()
    ///         .base_url("http://127.0.0.1:8080")
    ///         .build()?,
    /// )?;
    /// let info = client.get_endpoint_info(None)?;
    /// println!("{:?} (batch ≤ {:?})", info.model_id, info.max_client_batch_size);
    /// # Ok(()) }
    /// ```
    pub fn get_endpoint_info(&self, model: Option<&str>) -> Result<EndpointInfo> {
        let c = self.inner.clone();
        let model = model.map(str::to_owned);
        self.rt
            .block_on(async move { c.get_endpoint_info(model.as_deref()).await })
    }

    /// Whether the deployed server is up (`GET {url}/health` answers 200; see
    /// [`crate::inference::InferenceClient::health_check`]).
    ///
    /// ```no_run
    /// # fn demo() -> hfkit::Result<()> {
    /// let client = hfkit::blocking::InferenceClient::from_async(
    ///     hfkit::inference::InferenceClient::builder()
    ///         .base_url("http://127.0.0.1:8080")
    ///         .build()?,
    /// )?;
    /// assert!(client.health_check(None)?, "the server is not ready");
    /// # Ok(()) }
    /// ```
    pub fn health_check(&self, model: Option<&str>) -> Result<bool> {
        let c = self.inner.clone();
        let model = model.map(str::to_owned);
        self.rt
            .block_on(async move { c.health_check(model.as_deref()).await })
    }

    /// A raw request (see [`crate::inference::InferenceClient::post`]).
    pub fn post(&self, target: impl Into<String>) -> Call<Post> {
        self.call(self.inner.post(target))
    }

    /// Classifies a text.
    pub fn text_classification(&self, text: impl Into<String>) -> Call<TextClassification> {
        self.call(self.inner.text_classification(text))
    }

    /// Labels the tokens or entities of a text.
    pub fn token_classification(&self, text: impl Into<String>) -> Call<TokenClassification> {
        self.call(self.inner.token_classification(text))
    }

    /// Fills the mask token of a text.
    pub fn fill_mask(&self, text: impl Into<String>) -> Call<FillMask> {
        self.call(self.inner.fill_mask(text))
    }

    /// Answers a question from a context.
    pub fn question_answering(
        &self,
        question: impl Into<String>,
        context: impl Into<String>,
    ) -> Call<QuestionAnswering> {
        self.call(self.inner.question_answering(question, context))
    }

    /// Summarises a text.
    pub fn summarization(&self, text: impl Into<String>) -> Call<Summarization> {
        self.call(self.inner.summarization(text))
    }

    /// Translates a text.
    pub fn translation(&self, text: impl Into<String>) -> Call<Translation> {
        self.call(self.inner.translation(text))
    }

    /// Classifies a text against candidate labels.
    pub fn zero_shot_classification<I, S>(
        &self,
        text: impl Into<String>,
        candidate_labels: I,
    ) -> Call<ZeroShotClassification>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.call(self.inner.zero_shot_classification(text, candidate_labels))
    }

    /// Scores how similar `source` is to each of `sentences`.
    pub fn sentence_similarity<I, S>(
        &self,
        source: impl Into<String>,
        sentences: I,
    ) -> Call<SentenceSimilarity>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.call(self.inner.sentence_similarity(source, sentences))
    }

    /// Embeds a text or a batch of texts.
    pub fn feature_extraction(&self, inputs: impl Into<TextInputs>) -> Call<FeatureExtraction> {
        self.call(self.inner.feature_extraction(inputs))
    }

    /// Answers a question about a table.
    pub fn table_question_answering(
        &self,
        table: Table,
        query: impl Into<String>,
    ) -> Call<TableQuestionAnswering> {
        self.call(self.inner.table_question_answering(table, query))
    }

    /// Classifies an audio clip.
    pub fn audio_classification(
        &self,
        audio: impl Into<crate::inference::BinaryInput>,
    ) -> Call<AudioClassification> {
        self.call(self.inner.audio_classification(audio))
    }

    /// Classifies an image.
    pub fn image_classification(
        &self,
        image: impl Into<crate::inference::BinaryInput>,
    ) -> Call<ImageClassification> {
        self.call(self.inner.image_classification(image))
    }

    /// Detects objects in an image.
    pub fn object_detection(
        &self,
        image: impl Into<crate::inference::BinaryInput>,
    ) -> Call<ObjectDetection> {
        self.call(self.inner.object_detection(image))
    }

    /// Transcribes speech.
    pub fn automatic_speech_recognition(
        &self,
        audio: impl Into<crate::inference::BinaryInput>,
    ) -> Call<AutomaticSpeechRecognition> {
        self.call(self.inner.automatic_speech_recognition(audio))
    }

    /// Captions an image.
    pub fn image_to_text(
        &self,
        image: impl Into<crate::inference::BinaryInput>,
    ) -> Call<ImageToText> {
        self.call(self.inner.image_to_text(image))
    }

    /// Generates an image from a prompt (`.send()` decodes it; `.bytes()` keeps the bytes).
    pub fn text_to_image(&self, prompt: impl Into<String>) -> Call<TextToImage> {
        self.call(self.inner.text_to_image(prompt))
    }

    /// Transforms an image (`.send()` decodes the answer; `.bytes()` keeps the bytes).
    pub fn image_to_image(
        &self,
        image: impl Into<crate::inference::BinaryInput>,
    ) -> Call<ImageToImage> {
        self.call(self.inner.image_to_image(image))
    }

    /// Segments an image; each segment comes with its decoded mask.
    pub fn image_segmentation(
        &self,
        image: impl Into<crate::inference::BinaryInput>,
    ) -> Call<ImageSegmentation> {
        self.call(self.inner.image_segmentation(image))
    }

    /// Classifies an image against candidate labels (at least two).
    pub fn zero_shot_image_classification<I, S>(
        &self,
        image: impl Into<crate::inference::BinaryInput>,
        candidate_labels: I,
    ) -> Call<ZeroShotImageClassification>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.call(
            self.inner
                .zero_shot_image_classification(image, candidate_labels),
        )
    }

    /// Answers a question about an image.
    pub fn visual_question_answering(
        &self,
        image: impl Into<crate::inference::BinaryInput>,
        question: impl Into<String>,
    ) -> Call<VisualQuestionAnswering> {
        self.call(self.inner.visual_question_answering(image, question))
    }

    /// Answers a question about a document image.
    pub fn document_question_answering(
        &self,
        document: impl Into<crate::inference::BinaryInput>,
        question: impl Into<String>,
    ) -> Call<DocumentQuestionAnswering> {
        self.call(self.inner.document_question_answering(document, question))
    }

    /// Speaks a text; the answer is audio bytes with their content type.
    pub fn text_to_speech(&self, text: impl Into<String>) -> Call<TextToSpeech> {
        self.call(self.inner.text_to_speech(text))
    }

    /// Transforms audio; each output clip comes decoded.
    pub fn audio_to_audio(
        &self,
        audio: impl Into<crate::inference::BinaryInput>,
    ) -> Call<AudioToAudio> {
        self.call(self.inner.audio_to_audio(audio))
    }

    /// Generates a video from a prompt.
    pub fn text_to_video(&self, prompt: impl Into<String>) -> Call<TextToVideo> {
        self.call(self.inner.text_to_video(prompt))
    }

    /// Animates an image into a video.
    pub fn image_to_video(
        &self,
        image: impl Into<crate::inference::BinaryInput>,
    ) -> Call<ImageToVideo> {
        self.call(self.inner.image_to_video(image))
    }

    /// Classifies the rows of a table.
    pub fn tabular_classification(&self, table: Table) -> Call<TabularClassification> {
        self.call(self.inner.tabular_classification(table))
    }

    /// Predicts a number for each row of a table.
    pub fn tabular_regression(&self, table: Table) -> Call<TabularRegression> {
        self.call(self.inner.tabular_regression(table))
    }

    /// Generates text from a prompt (non-streaming).
    /// Generates text from a prompt: [`send`](Call::send) for the whole text,
    /// [`stream`](Call::stream) for the tokens as they come.
    pub fn text_generation(&self, prompt: impl Into<String>) -> Call<TextGeneration> {
        self.call(self.inner.text_generation(prompt))
    }

    /// Completes a chat: [`send`](Call::send) for the whole completion,
    /// [`stream`](Call::stream) for its chunks as they come.
    pub fn chat_completion(
        &self,
        messages: impl IntoIterator<Item = ChatMessage>,
    ) -> Call<ChatCompletion> {
        self.call(self.inner.chat_completion(messages))
    }
}
