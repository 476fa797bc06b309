//! Inference providers, their router routes (inference.md §1.5), and the Hub's provider mapping
//! (§1.4) with its per-client cache.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::task::Task;
use crate::error::{Error, Result};

macro_rules! providers {
    ($( $(#[$m:meta])* $variant:ident = $name:literal, )*) => {
        /// Who serves an inference request.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
        #[non_exhaustive]
        pub enum Provider {
            /// Let the Hub choose: chat goes to the auto-router, other tasks to the first provider
            /// of the model's mapping.
            #[default]
            Auto,
            $( $(#[$m])* $variant, )*
        }

        impl Provider {
            /// Every named provider (without `Auto`).
            pub const NAMED: &'static [Provider] = &[$(Provider::$variant,)*];

            /// The provider's name, as in router URLs (`hf-inference`, `together`, …).
            pub fn as_str(self) -> &'static str {
                match self {
                    Provider::Auto => "auto",
                    $( Provider::$variant => $name, )*
                }
            }
        }
    };
}

providers! {
    /// Baseten.
    Baseten = "baseten",
    /// Cerebras.
    Cerebras = "cerebras",
    /// Cohere.
    Cohere = "cohere",
    /// DeepInfra.
    DeepInfra = "deepinfra",
    /// fal.ai.
    FalAi = "fal-ai",
    /// Featherless AI.
    FeatherlessAi = "featherless-ai",
    /// Fireworks AI.
    FireworksAi = "fireworks-ai",
    /// Groq.
    Groq = "groq",
    /// Hugging Face's own hosted inference (`hf-inference`).
    HfInference = "hf-inference",
    /// Novita.
    Novita = "novita",
    /// Nscale.
    Nscale = "nscale",
    /// OpenAI (only with an OpenAI key, on its own host).
    OpenAi = "openai",
    /// OVHcloud.
    OvhCloud = "ovhcloud",
    /// Public AI.
    PublicAi = "publicai",
    /// Replicate.
    Replicate = "replicate",
    /// Scaleway.
    Scaleway = "scaleway",
    /// Together AI.
    Together = "together",
    /// WaveSpeed.
    WaveSpeed = "wavespeed",
    /// Z.ai.
    ZaiOrg = "zai-org",
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Provider {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let norm = s.trim().to_ascii_lowercase();
        if norm == "auto" {
            return Ok(Provider::Auto);
        }
        Provider::NAMED
            .iter()
            .copied()
            .find(|p| p.as_str() == norm)
            .ok_or_else(|| {
                Error::InvalidInput(format!(
                    "unknown inference provider {s:?}; known providers: auto, {}",
                    Provider::NAMED
                        .iter()
                        .map(|p| p.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })
    }
}

impl Provider {
    /// The path after `{router}/{provider}` that serves `task`, or `None` when hfkit cannot send
    /// that task to this provider (yet).
    pub fn route(self, task: Task) -> Option<&'static str> {
        use Provider::*;
        match (self, task) {
            (HfInference, Task::TabularRegression | Task::TextToVideo | Task::ImageToVideo) => None,
            (HfInference, _) => Some(""),
            (Auto, _) => None,
            (p, Task::ChatCompletion) => match p {
                Baseten | Cerebras | FeatherlessAi | Nscale | OvhCloud | PublicAi | Scaleway
                | Together => Some("/v1/chat/completions"),
                FireworksAi => Some("/inference/v1/chat/completions"),
                Groq => Some("/openai/v1/chat/completions"),
                Cohere => Some("/compatibility/v1/chat/completions"),
                Novita => Some("/v3/openai/chat/completions"),
                DeepInfra => Some("/v1/openai/chat/completions"),
                ZaiOrg => Some("/api/paas/v4/chat/completions"),
                _ => None,
            },
            _ => None,
        }
    }

    /// Extra headers a provider route wants (inference.md §1.5).
    pub fn extra_headers(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Provider::ZaiOrg => &[
                ("accept-language", "en-US,en"),
                ("x-source-channel", "hugging_face"),
            ],
            Provider::Replicate => &[("prefer", "wait")],
            _ => &[],
        }
    }

    /// Checks that hfkit can send `task` to this provider, before any request.
    pub fn check(self, task: Task) -> Result<()> {
        if self == Provider::Auto || self.route(task).is_some() {
            return Ok(());
        }
        Err(Error::InvalidInput(format!(
            "provider {self} does not serve the task {task} in hfkit (chat completion is \
             supported on the OpenAI-compatible providers; hf-inference serves every task but \
             tabular-regression, text-to-video and image-to-video)"
        )))
    }
}

/// One entry of a model's provider mapping.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProviderMapping {
    /// The provider's name (`together`, `hf-inference`, …).
    #[serde(default)]
    pub provider: String,
    /// The provider's own id of the model (the body `model` on OpenAI-style routes).
    #[serde(rename = "providerId", default)]
    pub provider_id: String,
    /// `live`, `staging` or `error`.
    #[serde(default)]
    pub status: String,
    /// The task it is mapped for (`conversational` for chat).
    #[serde(default)]
    pub task: String,
    /// `lora` for adapters.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub adapter: Option<String>,
    /// Weights file of an adapter.
    #[serde(
        rename = "adapterWeightsPath",
        skip_serializing_if = "Option::is_none",
        default
    )]
    pub adapter_weights_path: Option<String>,
    /// Every other key, kept.
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

/// Normalises the two forms of `inferenceProviderMapping` (object keyed by provider, or array
/// with `provider`) to a list in received order; `None` when the key is absent or null.
pub fn parse_mapping(model_info: &serde_json::Value) -> Option<Vec<ProviderMapping>> {
    let m = model_info.get("inferenceProviderMapping")?;
    match m {
        serde_json::Value::Object(map) => Some(
            map.iter()
                .filter_map(|(name, v)| {
                    let mut e: ProviderMapping = serde_json::from_value(v.clone()).ok()?;
                    e.provider = name.clone();
                    Some(e)
                })
                .collect(),
        ),
        serde_json::Value::Array(items) => Some(
            items
                .iter()
                .filter_map(|v| serde_json::from_value(v.clone()).ok())
                .collect(),
        ),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_mapping_forms() {
        let obj = serde_json::json!({"id":"org/m","inferenceProviderMapping":{"together":{"status":"live","providerId":"org/M-Turbo","task":"conversational"}}});
        let arr = serde_json::json!({"id":"org/m","inferenceProviderMapping":[{"provider":"together","providerId":"org/M-Turbo","status":"live","task":"conversational","adapter":"lora","adapterWeightsPath":"w.safetensors"}]});
        let a = parse_mapping(&obj).unwrap();
        let b = parse_mapping(&arr).unwrap();
        assert_eq!(a[0].provider, "together");
        assert_eq!(a[0].provider_id, "org/M-Turbo");
        assert_eq!(b[0].provider, "together");
        assert_eq!(b[0].adapter.as_deref(), Some("lora"));
        assert!(parse_mapping(&serde_json::json!({"id":"x"})).is_none());
        assert!(parse_mapping(&serde_json::json!({"inferenceProviderMapping":null})).is_none());
    }

    #[test]
    fn routes() {
        assert_eq!(
            Provider::Groq.route(Task::ChatCompletion),
            Some("/openai/v1/chat/completions")
        );
        assert!(Provider::Together.check(Task::FillMask).is_err());
        assert!(Provider::HfInference.check(Task::TextToVideo).is_err());
        assert!("nope".parse::<Provider>().is_err());
        assert_eq!(
            "hf-inference".parse::<Provider>().unwrap(),
            Provider::HfInference
        );
    }
}
