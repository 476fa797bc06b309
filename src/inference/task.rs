//! The inference tasks hfkit knows, by their Hub pipeline tag.

use std::fmt;
use std::str::FromStr;

use crate::error::Error;

macro_rules! tasks {
    ($( $(#[$m:meta])* $variant:ident = $tag:literal, )*) => {
        /// An inference task, named as the Hub's `pipeline_tag` (`text-classification`, …).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum Task {
            $( $(#[$m])* $variant, )*
        }

        impl Task {
            /// Every task, in declaration order.
            pub const ALL: &'static [Task] = &[$(Task::$variant,)*];

            /// The kebab-case name (the Hub pipeline tag).
            pub fn as_str(self) -> &'static str {
                match self { $( Task::$variant => $tag, )* }
            }
        }
    };
}

tasks! {
    /// `audio-classification`
    AudioClassification = "audio-classification",
    /// `audio-to-audio`
    AudioToAudio = "audio-to-audio",
    /// `automatic-speech-recognition`
    AutomaticSpeechRecognition = "automatic-speech-recognition",
    /// `chat-completion` (OpenAI-compatible; the Hub's mapping calls it `conversational`)
    ChatCompletion = "chat-completion",
    /// `document-question-answering`
    DocumentQuestionAnswering = "document-question-answering",
    /// `feature-extraction`
    FeatureExtraction = "feature-extraction",
    /// `fill-mask`
    FillMask = "fill-mask",
    /// `image-classification`
    ImageClassification = "image-classification",
    /// `image-segmentation`
    ImageSegmentation = "image-segmentation",
    /// `image-to-image`
    ImageToImage = "image-to-image",
    /// `image-to-text`
    ImageToText = "image-to-text",
    /// `image-to-video`
    ImageToVideo = "image-to-video",
    /// `object-detection`
    ObjectDetection = "object-detection",
    /// `question-answering`
    QuestionAnswering = "question-answering",
    /// `sentence-similarity`
    SentenceSimilarity = "sentence-similarity",
    /// `summarization`
    Summarization = "summarization",
    /// `table-question-answering`
    TableQuestionAnswering = "table-question-answering",
    /// `tabular-classification`
    TabularClassification = "tabular-classification",
    /// `tabular-regression`
    TabularRegression = "tabular-regression",
    /// `text-classification`
    TextClassification = "text-classification",
    /// `text-generation`
    TextGeneration = "text-generation",
    /// `text-to-image`
    TextToImage = "text-to-image",
    /// `text-to-speech`
    TextToSpeech = "text-to-speech",
    /// `text-to-video`
    TextToVideo = "text-to-video",
    /// `token-classification`
    TokenClassification = "token-classification",
    /// `translation`
    Translation = "translation",
    /// `visual-question-answering`
    VisualQuestionAnswering = "visual-question-answering",
    /// `zero-shot-classification`
    ZeroShotClassification = "zero-shot-classification",
    /// `zero-shot-image-classification`
    ZeroShotImageClassification = "zero-shot-image-classification",
}

impl Task {
    /// The task name the Hub's provider mapping uses (`conversational` for chat).
    pub fn mapping_name(self) -> &'static str {
        match self {
            Task::ChatCompletion => "conversational",
            t => t.as_str(),
        }
    }

    /// Whether the task's accept header is `image/png` (inference.md §2.3).
    pub fn wants_png(self) -> bool {
        matches!(self, Task::TextToImage | Task::ImageToImage)
    }
}

impl fmt::Display for Task {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Task {
    type Err = Error;

    /// Parses a kebab- or snake-case task name (`text-classification`, `text_classification`);
    /// `conversational` means chat completion.
    fn from_str(s: &str) -> Result<Self, Error> {
        let norm = s.trim().to_ascii_lowercase().replace('_', "-");
        if norm == "conversational" {
            return Ok(Task::ChatCompletion);
        }
        Task::ALL
            .iter()
            .copied()
            .find(|t| t.as_str() == norm)
            .ok_or_else(|| {
                Error::InvalidInput(format!(
                    "unknown inference task {s:?}; known tasks: {}",
                    Task::ALL
                        .iter()
                        .map(|t| t.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for t in Task::ALL {
            assert_eq!(t.as_str().parse::<Task>().unwrap(), *t);
        }
        assert_eq!(
            "text_classification".parse::<Task>().unwrap(),
            Task::TextClassification
        );
        assert!("text-to-banana".parse::<Task>().is_err());
    }
}
