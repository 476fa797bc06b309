//! Text tasks: classification, tokens, fill-mask, question answering, summarization,
//! translation, zero-shot, sentence similarity, embeddings, table question answering.

use serde::{Deserialize, Serialize};

use super::{ClassificationOutputTransform, Extra, Truncation};

/// Parameters of `text_classification`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TextClassificationParameters {
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

/// How tokens are grouped into entities.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AggregationStrategy {
    /// `none`
    None,
    /// `simple`
    Simple,
    /// `first`
    First,
    /// `average`
    Average,
    /// `max`
    Max,
}

/// Parameters of `token_classification`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TokenClassificationParameters {
    /// Entity grouping.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aggregation_strategy: Option<AggregationStrategy>,
    /// Labels to leave out.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ignore_labels: Option<Vec<String>>,
    /// Overlap of chunks of long texts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stride: Option<u32>,
    /// Extra keys.
    #[serde(flatten)]
    pub extra: Extra,
}

/// One entity or token of `token_classification`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenClassificationOutput {
    /// The entity group (with an aggregation strategy).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entity_group: Option<String>,
    /// The entity (without aggregation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entity: Option<String>,
    /// Its score.
    pub score: f64,
    /// The word(s).
    pub word: String,
    /// Start offset in the text (characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<u64>,
    /// End offset in the text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<u64>,
}

/// Parameters of `fill_mask`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FillMaskParameters {
    /// Only score these candidate tokens.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub targets: Option<Vec<String>>,
    /// Number of predictions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_k: Option<u32>,
    /// Extra keys.
    #[serde(flatten)]
    pub extra: Extra,
}

/// One prediction of `fill_mask`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FillMaskOutput {
    /// Its score.
    pub score: f64,
    /// The predicted token id.
    pub token: i64,
    /// The predicted token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_str: Option<String>,
    /// The text with the mask filled.
    pub sequence: String,
}

/// The input of `question_answering`.
#[derive(Debug, Clone, Serialize)]
pub struct QuestionAnsweringInput {
    /// The question.
    pub question: String,
    /// The context that holds the answer.
    pub context: String,
}

/// Parameters of `question_answering`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct QuestionAnsweringParameters {
    /// Answers must align to words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub align_to_words: Option<bool>,
    /// Overlap of context chunks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub doc_stride: Option<u32>,
    /// Accept "impossible" as an answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub handle_impossible_answer: Option<bool>,
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
    /// Extra keys.
    #[serde(flatten)]
    pub extra: Extra,
}

/// One answer of `question_answering`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuestionAnsweringOutput {
    /// The answer.
    pub answer: String,
    /// Its score.
    pub score: f64,
    /// Start offset in the context.
    pub start: u64,
    /// End offset in the context.
    pub end: u64,
}

/// Parameters of `summarization`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SummarizationParameters {
    /// Clean up spaces of the output.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clean_up_tokenization_spaces: Option<bool>,
    /// Generation parameters (free-form).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub generate_parameters: Option<Extra>,
    /// Truncation strategy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub truncation: Option<Truncation>,
    /// Extra keys.
    #[serde(flatten)]
    pub extra: Extra,
}

/// The answer of `summarization`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SummarizationOutput {
    /// The summary.
    pub summary_text: String,
}

/// Parameters of `translation`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TranslationParameters {
    /// Source language (with `tgt_lang`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub src_lang: Option<String>,
    /// Target language (with `src_lang`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tgt_lang: Option<String>,
    /// Clean up spaces of the output.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clean_up_tokenization_spaces: Option<bool>,
    /// Truncation strategy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub truncation: Option<Truncation>,
    /// Generation parameters (free-form).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub generate_parameters: Option<Extra>,
    /// Extra keys.
    #[serde(flatten)]
    pub extra: Extra,
}

/// The answer of `translation`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TranslationOutput {
    /// The translation.
    pub translation_text: String,
}

/// Parameters of `zero_shot_classification`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ZeroShotClassificationParameters {
    /// The candidate labels.
    pub candidate_labels: Vec<String>,
    /// Labels are independent (always sent; default `false`).
    pub multi_label: bool,
    /// The hypothesis template (`This example is {}.`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hypothesis_template: Option<String>,
    /// Extra keys.
    #[serde(flatten)]
    pub extra: Extra,
}

/// The legacy answer of `zero_shot_classification`: parallel lists.
#[derive(Debug, Clone, Deserialize)]
pub struct ZeroShotLegacyOutput {
    /// The classified text.
    #[serde(default)]
    pub sequence: Option<String>,
    /// The labels, best first.
    pub labels: Vec<String>,
    /// Their scores.
    pub scores: Vec<f64>,
}

/// Parameters of a task that has none (`{}` on the wire), plus extra keys.
#[derive(Debug, Clone, Default, Serialize)]
pub struct NoParameters {
    /// Extra keys.
    #[serde(flatten)]
    pub extra: Extra,
}

/// The input of `sentence_similarity`.
#[derive(Debug, Clone, Serialize)]
pub struct SentenceSimilarityInput {
    /// The sentence compared.
    pub source_sentence: String,
    /// The sentences it is compared with.
    pub sentences: Vec<String>,
}

/// Which side of a too-long text is cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TruncationDirection {
    /// `left`
    Left,
    /// `right`
    Right,
}

/// One text or a batch of texts.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum TextInputs {
    /// One text.
    One(String),
    /// A batch.
    Many(Vec<String>),
}

impl From<&str> for TextInputs {
    fn from(s: &str) -> Self {
        TextInputs::One(s.to_owned())
    }
}

impl From<String> for TextInputs {
    fn from(s: String) -> Self {
        TextInputs::One(s)
    }
}

impl From<Vec<String>> for TextInputs {
    fn from(v: Vec<String>) -> Self {
        TextInputs::Many(v)
    }
}

impl From<Vec<&str>> for TextInputs {
    fn from(v: Vec<&str>) -> Self {
        TextInputs::Many(v.into_iter().map(str::to_owned).collect())
    }
}

/// The body of `feature_extraction`: options are top-level, there is no `parameters`.
#[derive(Debug, Clone, Serialize)]
pub struct FeatureExtractionRequest {
    /// The text(s) to embed.
    pub inputs: TextInputs,
    /// The options, top-level.
    #[serde(flatten)]
    pub options: FeatureExtractionParameters,
}

/// Options of `feature_extraction` (sent top-level).
#[derive(Debug, Clone, Default, Serialize)]
pub struct FeatureExtractionParameters {
    /// Normalise the embeddings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub normalize: Option<bool>,
    /// A prompt name of the model's configuration.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prompt_name: Option<String>,
    /// Truncate too-long inputs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub truncate: Option<bool>,
    /// Which side to truncate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub truncation_direction: Option<TruncationDirection>,
    /// Output dimensions (Matryoshka models).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dimensions: Option<u32>,
    /// Encoding format (`float`, `base64`) of OpenAI-style servers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encoding_format: Option<String>,
    /// Extra top-level keys.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Embeddings: a dense tensor of `shape` (depth 1 to 3 as the server sent it), row-major.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Embeddings {
    /// The shape, e.g. `[384]`, `[2, 384]` or `[1, 8, 768]`.
    pub shape: Vec<usize>,
    /// The values, row-major.
    pub data: Vec<f32>,
}

impl Embeddings {
    /// Parses nested arrays of numbers (depth 1 to 3, rectangular).
    pub fn from_json(v: &serde_json::Value) -> Result<Self, String> {
        let mut shape = Vec::new();
        let mut cur = v;
        while let serde_json::Value::Array(a) = cur {
            shape.push(a.len());
            match a.first() {
                Some(first) => cur = first,
                None => break,
            }
        }
        if shape.is_empty() || shape.len() > 3 {
            return Err(format!(
                "expected an array of numbers of depth 1 to 3, got depth {}",
                shape.len()
            ));
        }
        let mut data = Vec::with_capacity(shape.iter().product());
        fn walk(
            v: &serde_json::Value,
            depth: usize,
            shape: &[usize],
            out: &mut Vec<f32>,
        ) -> Result<(), String> {
            if depth == shape.len() {
                let x = v
                    .as_f64()
                    .ok_or_else(|| format!("expected a number, got {v}"))?;
                out.push(x as f32);
                return Ok(());
            }
            let a = v
                .as_array()
                .filter(|a| a.len() == shape[depth])
                .ok_or_else(|| "the embedding arrays are not rectangular".to_owned())?;
            a.iter().try_for_each(|x| walk(x, depth + 1, shape, out))
        }
        walk(v, 0, &shape, &mut data)?;
        Ok(Embeddings { shape, data })
    }

    /// The embeddings as rows of the last dimension.
    pub fn rows(&self) -> impl Iterator<Item = &[f32]> {
        let w = self.shape.last().copied().unwrap_or(0).max(1);
        self.data.chunks(w)
    }
}

/// A table: column name → cells, in column order.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct Table(pub Vec<(String, Vec<String>)>);

impl Serialize for Table {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, Vec<V>)> for Table {
    fn from_iter<T: IntoIterator<Item = (K, Vec<V>)>>(iter: T) -> Self {
        Table(
            iter.into_iter()
                .map(|(k, v)| (k.into(), v.into_iter().map(Into::into).collect()))
                .collect(),
        )
    }
}

impl Table {
    /// Reads a JSON object of columns (`{"col": ["a", "b"], …}`; numbers become text).
    pub fn from_json(v: &serde_json::Value) -> Result<Self, String> {
        let o = v
            .as_object()
            .ok_or_else(|| "a table is a JSON object of columns".to_owned())?;
        let mut cols = Vec::new();
        for (k, col) in o {
            let cells = col
                .as_array()
                .ok_or_else(|| format!("column {k:?} is not an array"))?
                .iter()
                .map(|c| match c {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect();
            cols.push((k.clone(), cells));
        }
        Ok(Table(cols))
    }
}

/// The input of `table_question_answering` (Python's `query` key).
#[derive(Debug, Clone, Serialize)]
pub struct TableQuestionAnsweringInput {
    /// The question.
    pub query: String,
    /// The table.
    pub table: Table,
}

/// How table cells are padded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Padding {
    /// `do_not_pad`
    DoNotPad,
    /// `longest`
    Longest,
    /// `max_length`
    MaxLength,
}

/// Parameters of `table_question_answering`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TableQuestionAnsweringParameters {
    /// Padding strategy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub padding: Option<Padding>,
    /// Sequential inference (conversational tables).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sequential: Option<bool>,
    /// Truncate the table.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub truncation: Option<bool>,
    /// The per-call model (Python sends it here too).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Extra keys.
    #[serde(flatten)]
    pub extra: Extra,
}

/// The answer of `table_question_answering`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableQuestionAnsweringOutput {
    /// The answer.
    pub answer: String,
    /// Coordinates `[row, column]` of the cells used.
    pub coordinates: Vec<Vec<u64>>,
    /// The cells used.
    pub cells: Vec<String>,
    /// The aggregation, if any (`AVERAGE`, `SUM`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aggregator: Option<String>,
}
