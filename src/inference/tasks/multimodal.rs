//! Questions about an image: visual and document question answering (inference.md §3.2, §3.4).

use base64::Engine;

use super::{from_value, json_value, task_builder};
use crate::error::{Error, Result};
use crate::inference::input::BinaryInput;
use crate::inference::request::{self, Payload, RawResponse};
use crate::inference::task::Task;
use crate::inference::types::*;
use crate::inference::{InferenceClient, routing};

/// An image and a question about it.
#[derive(Debug)]
pub struct ImageQuestion {
    /// The image (or document page).
    pub image: BinaryInput,
    /// The question.
    pub question: String,
}

/// Resolves the target, reads the image, and sends the body `build(b64)` returns.
async fn send_with_image(
    client: &InferenceClient,
    task: Task,
    model: Option<&str>,
    headers: &[(String, String)],
    image: BinaryInput,
    build: impl FnOnce(String) -> Result<serde_json::Value>,
) -> Result<RawResponse> {
    let target = routing::resolve(client, task, model).await?;
    let (bytes, _) = image.resolve(client).await?;
    let b64 = base64::engine::general_purpose::STANDARD.encode(&bytes);
    let payload = Payload::json(&drop_nulls(build(b64)?))?;
    request::send(client, Some(task), &target, payload, headers).await
}

fn params_value<P: serde::Serialize>(p: &P) -> Result<serde_json::Value> {
    serde_json::to_value(p).map_err(|e| Error::json("inference parameters", e))
}

/// A list, or one object taken as a list of one.
fn as_list(v: serde_json::Value) -> serde_json::Value {
    match v {
        serde_json::Value::Object(_) => serde_json::Value::Array(vec![v]),
        other => other,
    }
}

task_builder! {
    /// A `visual_question_answering` call; `.await` it for the answers, best first.
    VisualQuestionAnswering -> Vec<VisualQuestionAnsweringOutput> { input: ImageQuestion, params: VisualQuestionAnsweringParameters }
    options {
        /// Number of answers.
        top_k: u32 => top_k;
    }
    lists {}
}

impl VisualQuestionAnswering {
    async fn send(self) -> Result<Vec<VisualQuestionAnsweringOutput>> {
        let ImageQuestion { image, question } = self.input;
        let params = params_value(&self.params)?;
        // Python's hybrid body: the image as `inputs` and again at the top level, with the
        // question (inference.md §3.2).
        let resp = send_with_image(
            &self.client,
            Task::VisualQuestionAnswering,
            self.model.as_deref(),
            &self.headers,
            image,
            |b64| {
                Ok(serde_json::json!({
                    "inputs": b64,
                    "parameters": params,
                    "question": question,
                    "image": b64,
                }))
            },
        )
        .await?;
        from_value(
            &resp,
            "a list of {answer, score}",
            as_list(json_value(&resp)?),
        )
    }
}

task_builder! {
    /// A `document_question_answering` call; `.await` it for the answers, best first.
    DocumentQuestionAnswering -> Vec<DocumentQuestionAnsweringOutput> { input: ImageQuestion, params: DocumentQuestionAnsweringParameters }
    options {
        /// Overlap of document chunks.
        doc_stride: u32 => doc_stride;
        /// Accept "impossible" as an answer.
        handle_impossible_answer: bool => handle_impossible_answer;
        /// OCR language.
        lang: impl Into<String> => lang;
        /// Longest answer.
        max_answer_len: u32 => max_answer_len;
        /// Longest question (tokens).
        max_question_len: u32 => max_question_len;
        /// Longest chunk (tokens).
        max_seq_len: u32 => max_seq_len;
        /// Number of answers.
        top_k: u32 => top_k;
    }
    lists {}
}

impl DocumentQuestionAnswering {
    /// Words and boxes that replace the OCR step.
    pub fn word_boxes(mut self, boxes: impl IntoIterator<Item = WordBox>) -> Self {
        self.params.word_boxes = Some(boxes.into_iter().collect());
        self
    }

    async fn send(self) -> Result<Vec<DocumentQuestionAnsweringOutput>> {
        let ImageQuestion { image, question } = self.input;
        let params = params_value(&self.params)?;
        let resp = send_with_image(
            &self.client,
            Task::DocumentQuestionAnswering,
            self.model.as_deref(),
            &self.headers,
            image,
            |b64| {
                Ok(serde_json::json!({
                    "inputs": {"question": question, "image": b64},
                    "parameters": params,
                }))
            },
        )
        .await?;
        from_value(&resp, "a list of {answer, …}", as_list(json_value(&resp)?))
    }
}

#[cfg(feature = "blocking")]
impl crate::blocking::Call<DocumentQuestionAnswering> {
    /// Words and boxes that replace the OCR step.
    pub fn word_boxes(self, boxes: impl IntoIterator<Item = WordBox>) -> Self {
        self.map(|b| b.word_boxes(boxes))
    }
}

impl InferenceClient {
    /// Answers a question about an image.
    ///
    /// ```no_run
    /// # async fn demo() -> hfkit::Result<()> {
    /// let client = hfkit::inference::InferenceClient::new()?;
    /// let answers = client
    ///     .visual_question_answering(std::path::Path::new("photo.png"), "Who is in the picture?")
    ///     .model("dandelin/vilt-b32-finetuned-vqa")
    ///     .top_k(3)
    ///     .await?;
    /// println!("{:?}", answers[0].answer);
    /// # Ok(()) }
    /// ```
    pub fn visual_question_answering(
        &self,
        image: impl Into<BinaryInput>,
        question: impl Into<String>,
    ) -> VisualQuestionAnswering {
        VisualQuestionAnswering::new(
            self,
            ImageQuestion {
                image: image.into(),
                question: question.into(),
            },
        )
    }

    /// Answers a question about a document image (invoice, form, …).
    pub fn document_question_answering(
        &self,
        document: impl Into<BinaryInput>,
        question: impl Into<String>,
    ) -> DocumentQuestionAnswering {
        DocumentQuestionAnswering::new(
            self,
            ImageQuestion {
                image: document.into(),
                question: question.into(),
            },
        )
    }
}
