//! Text tasks (inference.md §3.2).

use super::{first_or_object, from_value, json_value, send_json, shape_error, task_builder};
use crate::error::{Error, Result};
use crate::inference::InferenceClient;
use crate::inference::task::Task;
use crate::inference::types::*;

task_builder! {
    /// A `text_classification` call; `.await` it for the labels, best first.
    TextClassification -> Vec<ClassificationOutput> { input: String, params: TextClassificationParameters }
    options {
        /// Function applied to the model outputs (`sigmoid`, `softmax`, `none`).
        function_to_apply: ClassificationOutputTransform => function_to_apply;
        /// Keep the `k` most probable labels.
        top_k: u32 => top_k;
    }
    lists {}
}

impl TextClassification {
    async fn send(self) -> Result<Vec<ClassificationOutput>> {
        let body = TaskRequest {
            inputs: &self.input,
            parameters: &self.params,
        };
        let resp = send_json!(self, Task::TextClassification, &body).await?;
        // `[[{label, score}]]` (pipeline batch of one) or `[{label, score}]`; the usual nested
        // form is read straight into the typed list.
        if let Ok(mut nested) = serde_json::from_slice::<Vec<Vec<ClassificationOutput>>>(&resp.body)
            && !nested.is_empty()
        {
            return Ok(nested.swap_remove(0));
        }
        let v = json_value(&resp)?;
        let list = match v {
            serde_json::Value::Array(mut a)
                if a.first().is_some_and(serde_json::Value::is_array) =>
            {
                a.swap_remove(0)
            }
            other => other,
        };
        from_value(&resp, "a list of {label, score}", list)
    }
}

task_builder! {
    /// A `token_classification` call; `.await` it for the entities.
    TokenClassification -> Vec<TokenClassificationOutput> { input: String, params: TokenClassificationParameters }
    options {
        /// How tokens are grouped into entities.
        aggregation_strategy: AggregationStrategy => aggregation_strategy;
        /// Overlap of chunks of long texts.
        stride: u32 => stride;
    }
    lists {
        /// Labels to leave out.
        ignore_labels => ignore_labels;
    }
}

impl TokenClassification {
    async fn send(self) -> Result<Vec<TokenClassificationOutput>> {
        let body = TaskRequest {
            inputs: &self.input,
            parameters: &self.params,
        };
        let resp = send_json!(self, Task::TokenClassification, &body).await?;
        from_value(&resp, "a list of entities", json_value(&resp)?)
    }
}

task_builder! {
    /// A `fill_mask` call; `.await` it for the predictions, best first.
    FillMask -> Vec<FillMaskOutput> { input: String, params: FillMaskParameters }
    options {
        /// Number of predictions.
        top_k: u32 => top_k;
    }
    lists {
        /// Only score these candidate tokens.
        targets => targets;
    }
}

impl FillMask {
    async fn send(self) -> Result<Vec<FillMaskOutput>> {
        let body = TaskRequest {
            inputs: &self.input,
            parameters: &self.params,
        };
        let resp = send_json!(self, Task::FillMask, &body).await?;
        from_value(&resp, "a list of fill-mask predictions", json_value(&resp)?)
    }
}

task_builder! {
    /// A `question_answering` call; `.await` it for the answers (one unless `top_k` > 1).
    QuestionAnswering -> Vec<QuestionAnsweringOutput> { input: QuestionAnsweringInput, params: QuestionAnsweringParameters }
    options {
        /// Answers must align to words.
        align_to_words: bool => align_to_words;
        /// Overlap of context chunks.
        doc_stride: u32 => doc_stride;
        /// Accept "impossible" as an answer.
        handle_impossible_answer: bool => handle_impossible_answer;
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

impl QuestionAnswering {
    async fn send(self) -> Result<Vec<QuestionAnsweringOutput>> {
        let body = TaskRequest {
            inputs: &self.input,
            parameters: &self.params,
        };
        let resp = send_json!(self, Task::QuestionAnswering, &body).await?;
        // An object (one answer) or a list.
        let v = json_value(&resp)?;
        let list = match v {
            serde_json::Value::Object(_) => serde_json::Value::Array(vec![v]),
            other => other,
        };
        from_value(&resp, "{answer, score, start, end} or a list of them", list)
    }
}

task_builder! {
    /// A `summarization` call; `.await` it for the summary.
    Summarization -> SummarizationOutput { input: String, params: SummarizationParameters }
    options {
        /// Clean up spaces of the output.
        clean_up_tokenization_spaces: bool => clean_up_tokenization_spaces;
        /// Truncation strategy.
        truncation: Truncation => truncation;
        /// Generation parameters (a JSON object; `null`s are dropped).
        generate_parameters: Extra => generate_parameters;
    }
    lists {}
}

impl Summarization {
    async fn send(self) -> Result<SummarizationOutput> {
        let body = TaskRequest {
            inputs: &self.input,
            parameters: &self.params,
        };
        let resp = send_json!(self, Task::Summarization, &body).await?;
        first_or_object(&resp, "[{summary_text}]")
    }
}

task_builder! {
    /// A `translation` call; `.await` it for the translation.
    Translation -> TranslationOutput { input: String, params: TranslationParameters }
    options {
        /// Source language (set `tgt_lang` too).
        src_lang: impl Into<String> => src_lang;
        /// Target language (set `src_lang` too).
        tgt_lang: impl Into<String> => tgt_lang;
        /// Clean up spaces of the output.
        clean_up_tokenization_spaces: bool => clean_up_tokenization_spaces;
        /// Truncation strategy.
        truncation: Truncation => truncation;
        /// Generation parameters (a JSON object; `null`s are dropped).
        generate_parameters: Extra => generate_parameters;
    }
    lists {}
}

impl Translation {
    async fn send(self) -> Result<TranslationOutput> {
        if self.params.src_lang.is_some() != self.params.tgt_lang.is_some() {
            return Err(Error::InvalidInput(
                "translation needs both src_lang and tgt_lang, or neither".into(),
            ));
        }
        let body = TaskRequest {
            inputs: &self.input,
            parameters: &self.params,
        };
        let resp = send_json!(self, Task::Translation, &body).await?;
        first_or_object(&resp, "[{translation_text}]")
    }
}

task_builder! {
    /// A `zero_shot_classification` call; `.await` it for the labels, best first.
    ZeroShotClassification -> Vec<ClassificationOutput> { input: String, params: ZeroShotClassificationParameters }
    options {
        /// The hypothesis template (`This example is {}.`).
        hypothesis_template: impl Into<String> => hypothesis_template;
    }
    lists {}
}

impl ZeroShotClassification {
    /// Labels are independent: scores do not sum to 1 (default `false`).
    pub fn multi_label(mut self, yes: bool) -> Self {
        self.params.multi_label = yes;
        self
    }

    async fn send(self) -> Result<Vec<ClassificationOutput>> {
        if self.params.candidate_labels.is_empty() {
            return Err(Error::InvalidInput(
                "zero-shot classification needs at least one candidate label".into(),
            ));
        }
        let body = TaskRequest {
            inputs: &self.input,
            parameters: &self.params,
        };
        let resp = send_json!(self, Task::ZeroShotClassification, &body).await?;
        let v = json_value(&resp)?;
        if v.is_object() {
            // Legacy `{sequence, labels, scores}`.
            let legacy: ZeroShotLegacyOutput =
                from_value(&resp, "{sequence, labels, scores}", v.clone())?;
            if legacy.labels.len() != legacy.scores.len() {
                return Err(shape_error(&resp, "as many labels as scores", &v));
            }
            return Ok(legacy
                .labels
                .into_iter()
                .zip(legacy.scores)
                .map(|(label, score)| ClassificationOutput { label, score })
                .collect());
        }
        from_value(&resp, "a list of {label, score}", v)
    }
}

#[cfg(feature = "blocking")]
impl crate::blocking::Call<ZeroShotClassification> {
    /// Labels are independent: scores do not sum to 1 (default `false`).
    pub fn multi_label(self, yes: bool) -> Self {
        self.map(|b| b.multi_label(yes))
    }
}

task_builder! {
    /// A `sentence_similarity` call; `.await` it for one score per sentence.
    SentenceSimilarity -> Vec<f64> { input: SentenceSimilarityInput, params: NoParameters }
    options {}
    lists {}
}

impl SentenceSimilarity {
    async fn send(self) -> Result<Vec<f64>> {
        let body = TaskRequest {
            inputs: &self.input,
            parameters: &self.params,
        };
        let resp = send_json!(self, Task::SentenceSimilarity, &body).await?;
        from_value(&resp, "a list of numbers", json_value(&resp)?)
    }
}

task_builder! {
    /// A `feature_extraction` call; `.await` it for the embeddings.
    FeatureExtraction -> Embeddings { input: TextInputs, params: FeatureExtractionParameters }
    options {
        /// Normalise the embeddings.
        normalize: bool => normalize;
        /// A prompt name of the model's configuration.
        prompt_name: impl Into<String> => prompt_name;
        /// Truncate too-long inputs.
        truncate: bool => truncate;
        /// Which side to truncate.
        truncation_direction: TruncationDirection => truncation_direction;
        /// Output dimensions (Matryoshka models).
        dimensions: u32 => dimensions;
        /// Encoding format of OpenAI-style servers.
        encoding_format: impl Into<String> => encoding_format;
    }
    lists {}
}

impl FeatureExtraction {
    async fn send(self) -> Result<Embeddings> {
        let body = FeatureExtractionRequest {
            inputs: self.input.clone(),
            options: self.params.clone(),
        };
        let resp = send_json!(self, Task::FeatureExtraction, &body).await?;
        let v = json_value(&resp)?;
        Embeddings::from_json(&v).map_err(|m| shape_error(&resp, &m, &v))
    }
}

task_builder! {
    /// A `table_question_answering` call; `.await` it for the answer.
    TableQuestionAnswering -> TableQuestionAnsweringOutput { input: TableQuestionAnsweringInput, params: TableQuestionAnsweringParameters }
    options {
        /// Padding strategy.
        padding: Padding => padding;
        /// Sequential inference.
        sequential: bool => sequential;
        /// Truncate the table.
        truncation: bool => truncation;
    }
    lists {}
}

impl TableQuestionAnswering {
    async fn send(mut self) -> Result<TableQuestionAnsweringOutput> {
        // Python sends the per-call model inside `parameters` too.
        if self.params.model.is_none() {
            self.params.model = self.model.clone().filter(|m| !m.starts_with("http"));
        }
        let body = TaskRequest {
            inputs: &self.input,
            parameters: &self.params,
        };
        let resp = send_json!(self, Task::TableQuestionAnswering, &body).await?;
        first_or_object(&resp, "{answer, coordinates, cells, aggregator}")
    }
}

impl InferenceClient {
    /// Classifies a text (sentiment, topic, …).
    pub fn text_classification(&self, text: impl Into<String>) -> TextClassification {
        TextClassification::new(self, text.into())
    }

    /// Labels the tokens or entities of a text (NER, POS).
    pub fn token_classification(&self, text: impl Into<String>) -> TokenClassification {
        TokenClassification::new(self, text.into())
    }

    /// Fills the mask token of a text.
    pub fn fill_mask(&self, text: impl Into<String>) -> FillMask {
        FillMask::new(self, text.into())
    }

    /// Answers a question from a context.
    pub fn question_answering(
        &self,
        question: impl Into<String>,
        context: impl Into<String>,
    ) -> QuestionAnswering {
        QuestionAnswering::new(
            self,
            QuestionAnsweringInput {
                question: question.into(),
                context: context.into(),
            },
        )
    }

    /// Summarises a text.
    pub fn summarization(&self, text: impl Into<String>) -> Summarization {
        Summarization::new(self, text.into())
    }

    /// Translates a text.
    pub fn translation(&self, text: impl Into<String>) -> Translation {
        Translation::new(self, text.into())
    }

    /// Classifies a text against candidate labels the model was not trained on.
    pub fn zero_shot_classification<I, S>(
        &self,
        text: impl Into<String>,
        candidate_labels: I,
    ) -> ZeroShotClassification
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut b = ZeroShotClassification::new(self, text.into());
        b.params.candidate_labels = candidate_labels.into_iter().map(Into::into).collect();
        b
    }

    /// Scores how similar `source` is to each of `sentences`.
    pub fn sentence_similarity<I, S>(
        &self,
        source: impl Into<String>,
        sentences: I,
    ) -> SentenceSimilarity
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        SentenceSimilarity::new(
            self,
            SentenceSimilarityInput {
                source_sentence: source.into(),
                sentences: sentences.into_iter().map(Into::into).collect(),
            },
        )
    }

    /// Embeds a text or a batch of texts.
    pub fn feature_extraction(&self, inputs: impl Into<TextInputs>) -> FeatureExtraction {
        FeatureExtraction::new(self, inputs.into())
    }

    /// Answers a question about a table.
    pub fn table_question_answering(
        &self,
        table: Table,
        query: impl Into<String>,
    ) -> TableQuestionAnswering {
        TableQuestionAnswering::new(
            self,
            TableQuestionAnsweringInput {
                query: query.into(),
                table,
            },
        )
    }
}
