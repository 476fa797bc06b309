//! Tasks on an image and a question: visual and document question answering.

use serde::{Deserialize, Serialize};

use super::Extra;

/// Parameters of `visual_question_answering`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct VisualQuestionAnsweringParameters {
    /// Number of answers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_k: Option<u32>,
    /// Extra keys.
    #[serde(flatten)]
    pub extra: Extra,
}

/// One answer of `visual_question_answering`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VisualQuestionAnsweringOutput {
    /// The answer (some models return only a score).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer: Option<String>,
    /// Its score.
    pub score: f64,
}

/// A word or a bounding box of `word_boxes` (normalised 0–1000).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum WordBox {
    /// A word.
    Word(String),
    /// A box `[x0, y0, x1, y1]`.
    Box([f64; 4]),
}

/// Parameters of `document_question_answering`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DocumentQuestionAnsweringParameters {
    /// Overlap of document chunks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub doc_stride: Option<u32>,
    /// Accept "impossible" as an answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub handle_impossible_answer: Option<bool>,
    /// OCR language.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lang: Option<String>,
    /// Longest answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_answer_len: Option<u32>,
    /// Longest question (tokens).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_question_len: Option<u32>,
    /// Longest chunk (tokens).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_seq_len: Option<u32>,
    /// Number of answers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_k: Option<u32>,
    /// Words and boxes that replace the OCR step.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub word_boxes: Option<Vec<WordBox>>,
    /// Extra keys.
    #[serde(flatten)]
    pub extra: Extra,
}

/// One answer of `document_question_answering`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DocumentQuestionAnsweringOutput {
    /// The answer.
    pub answer: String,
    /// Its score (absent for OCR-free models such as Donut).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
    /// Index of its first word.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<i64>,
    /// Index of its last word.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<i64>,
}
