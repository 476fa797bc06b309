//! Repository cards: `README.md` files with YAML metadata ("front matter") and a Markdown body.
//!
//! [`RepoCard`] keeps the metadata as an ordered map with typed accessors ([`ModelCardData`],
//! [`DatasetCardData`], [`SpaceCardData`]), the body verbatim, the card's line ending and the
//! original front-matter text, so that a card loaded and saved without edits is byte-identical.
//! Edited metadata is written in PyYAML's style so Python's `huggingface_hub` reads the same data.
//!
//! YAML is read with YAML 1.2 semantics as on the Hub (`no` is a string, `0123` is a string).
//! Front matter larger than [`MAX_FRONT_MATTER_BYTES`] (1 MiB), nested deeper than
//! [`MAX_DEPTH`], or expanding more than [`MAX_EVENTS`] nodes through aliases is rejected with
//! [`crate::Error::Card`].
//!
//! ```
//! use hfkit::card::ModelCard;
//! let mut card: ModelCard = "---\nlicense: mit\n---\n# My model\n".parse()?;
//! assert_eq!(card.data().license(), Some("mit"));
//! card.data_mut().set_tags(["vision"]);
//! assert_eq!(card.text(), "---\nlicense: mit\ntags:\n- vision\n---\n# My model\n");
//! # Ok::<(), hfkit::Error>(())
//! ```

mod data;
mod eval;
mod front_matter;
mod push;
mod quoting;
mod template;
mod update;
mod yaml;

use std::fmt;
use std::io::Write;
use std::path::Path;
use std::str::FromStr;

use serde_json::Value;

pub use data::{CardData, DatasetCardData, ModelCardData, SpaceCardData};
pub use eval::{EvalResult, ModelIndexEntry, eval_results_to_model_index, parse_model_index};
pub use front_matter::LineEnding;
pub use push::PushOptions;
pub use template::{DEFAULT_DATASET_CARD_TEMPLATE, DEFAULT_MODEL_CARD_TEMPLATE, TemplateOptions};
pub use update::MetadataUpdateOptions;
pub use yaml::{MAX_DEPTH, MAX_EVENTS, MAX_FRONT_MATTER_BYTES};

use crate::error::{Error, Result};
use crate::hub::{ApiRepo, HubClient};

/// A model card (`README.md` of a model repository).
pub type ModelCard = RepoCard<ModelCardData>;
/// A dataset card.
pub type DatasetCard = RepoCard<DatasetCardData>;
/// A Space card.
pub type SpaceCard = RepoCard<SpaceCardData>;

/// Options for reading a card.
#[derive(Debug, Clone, Copy, Default)]
pub struct LoadOptions {
    /// Relax the semantic checks of known keys (an invalid `model-index` is kept raw, with a
    /// warning, and the card has no eval results). YAML errors and non-mapping metadata still fail.
    pub ignore_metadata_errors: bool,
}

/// What the Hub's YAML validation said about a card it accepted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ValidationReport {
    /// The server's warnings (e.g. empty metadata).
    pub warnings: Vec<String>,
}

/// A repository card: metadata `D` plus a Markdown body.
#[derive(Debug, Clone, PartialEq)]
pub struct RepoCard<D: CardData> {
    data: D,
    body: String,
    line_ending: LineEnding,
    /// The original text up to the closing fence and the data parsed from it (spec S1).
    original: Option<(String, D)>,
    /// Whether the card was parsed without front matter (written back as the body alone while
    /// its data stays empty).
    no_front_matter: bool,
}

impl<D: CardData> RepoCard<D> {
    /// A new card from data and a Markdown body (line ending `\n`).
    pub fn new(data: D, body: impl Into<String>) -> Self {
        RepoCard {
            data,
            body: body.into(),
            line_ending: LineEnding::Lf,
            original: None,
            no_front_matter: false,
        }
    }

    /// Parses a card's text, strictly (see [`LoadOptions`]).
    pub fn parse(text: &str) -> Result<Self> {
        Self::parse_with(text, LoadOptions::default())
    }

    /// Parses a card's text with options.
    pub fn parse_with(text: &str, opts: LoadOptions) -> Result<Self> {
        let line_ending = LineEnding::detect(text);
        let split = front_matter::split(text);
        let Some(prefix) = split.prefix else {
            tracing::warn!("the card has no YAML front matter (metadata); its data is empty");
            return Ok(RepoCard {
                data: D::default(),
                body: text.to_owned(),
                line_ending,
                original: None,
                no_front_matter: true,
            });
        };
        let line_offset = count_lines(&text[..split.yaml_offset]);
        let map = yaml::parse_mapping(split.yaml, line_offset)?;
        let data = D::from_map(map, opts.ignore_metadata_errors)?;
        Ok(RepoCard {
            original: Some((prefix.to_owned(), data.clone())),
            data,
            body: split.body.to_owned(),
            line_ending,
            no_front_matter: false,
        })
    }

    /// Reads a card from a file, or from a directory's `README.md`.
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        Self::load_with(path, LoadOptions::default())
    }

    /// [`load`](Self::load) with options.
    pub fn load_with(path: impl AsRef<Path>, opts: LoadOptions) -> Result<Self> {
        let mut path = path.as_ref().to_path_buf();
        if path.is_dir() {
            path = path.join("README.md");
        }
        let bytes = std::fs::read(&path)
            .map_err(|e| Error::io(format!("reading the card {}", path.display()), e))?;
        let text = String::from_utf8(bytes).map_err(|e| Error::Card {
            line: None,
            message: format!(
                "{} is not valid UTF-8 (invalid byte at offset {})",
                path.display(),
                e.utf8_error().valid_up_to()
            ),
        })?;
        Self::parse_with(&text, opts)
    }

    /// Downloads the repository's `README.md` (through the cache) and parses it.
    ///
    /// ```no_run
    /// # async fn demo() -> hfkit::Result<()> {
    /// use hfkit::{HubClient, card::ModelCard};
    /// let hub = HubClient::new()?;
    /// let card = ModelCard::load_from_hub(&hub.model("openai-community/gpt2")).await?;
    /// println!("{:?}", card.data().license());
    /// # Ok(()) }
    /// ```
    pub async fn load_from_hub(repo: &ApiRepo) -> Result<Self> {
        Self::load_from_hub_with(repo, LoadOptions::default()).await
    }

    /// [`load_from_hub`](Self::load_from_hub) with options.
    pub async fn load_from_hub_with(repo: &ApiRepo, opts: LoadOptions) -> Result<Self> {
        let path = repo.download("README.md").await?;
        Self::load_with(path, opts)
    }

    /// The metadata.
    pub fn data(&self) -> &D {
        &self.data
    }

    /// The metadata, for editing.
    pub fn data_mut(&mut self) -> &mut D {
        &mut self.data
    }

    /// Replaces the metadata.
    pub fn set_data(&mut self, data: D) {
        self.data = data;
    }

    /// The Markdown body: everything after the front matter, verbatim (Python's `card.text`).
    pub fn body(&self) -> &str {
        &self.body
    }

    /// Replaces the Markdown body.
    pub fn set_body(&mut self, body: impl Into<String>) {
        self.body = body.into();
    }

    /// The card's line ending (spec P5), used for regenerated front matter.
    pub fn line_ending(&self) -> LineEnding {
        self.line_ending
    }

    /// The metadata as Python's `CardData.to_dict()` returns it (see [`CardData::to_python_dict`]).
    pub fn to_python_dict(&self) -> serde_json::Map<String, Value> {
        self.data.to_python_dict()
    }

    /// The YAML text of the metadata, without fences, in the card's line ending.
    pub fn metadata_yaml(&self) -> String {
        yaml::to_yaml(self.data.map(), self.line_ending.as_str())
    }

    /// The whole card as it would be saved. Unedited metadata is written exactly as it was read;
    /// edited metadata is regenerated (`---`, YAML, `---`, then the body).
    pub fn text(&self) -> String {
        if let Some((prefix, data)) = &self.original
            && *data == self.data
        {
            return format!("{prefix}{}", self.body);
        }
        if self.no_front_matter && self.data.map().is_empty() {
            return self.body.clone();
        }
        let lb = self.line_ending.as_str();
        format!("---{lb}{}{lb}---{lb}{}", self.metadata_yaml(), self.body)
    }

    /// The whole card (Python's `card.content`); the same as [`text`](Self::text).
    pub fn content(&self) -> String {
        self.text()
    }

    /// Writes the card to `path` (a temporary file in the same folder, then a rename).
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => std::path::PathBuf::from("."),
        };
        std::fs::create_dir_all(&dir)
            .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "README.md".to_owned());
        let tmp = dir.join(format!(".{name}.{:08x}.tmp", fastrand::u32(..)));
        let write = || -> std::io::Result<()> {
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(self.text().as_bytes())?;
            f.sync_all()?;
            std::fs::rename(&tmp, path)
        };
        write().map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            Error::io(format!("writing the card {}", path.display()), e)
        })
    }

    /// Asks the Hub to validate the card (`POST {endpoint}/api/validate-yaml`). Accepted cards
    /// give the server's warnings; rejected ones an [`Error::Card`] listing its complaints.
    pub async fn validate(&self, hub: &HubClient) -> Result<ValidationReport> {
        self.validate_as(hub, D::REPO_TYPE).await
    }

    /// [`validate`](Self::validate) for a repository of type `repo_type`.
    pub(crate) async fn validate_as(
        &self,
        hub: &HubClient,
        repo_type: crate::repo::RepoType,
    ) -> Result<ValidationReport> {
        let url = format!(
            "{}/api/validate-yaml",
            hub.settings().endpoint().trim_end_matches('/')
        );
        let body = serde_json::json!({
            "repoType": repo_type.as_str(),
            "content": self.text(),
        });
        let resp = hub
            .http()
            .post(&url)?
            .header("Accept", "application/json")?
            .json(&body)?
            .send_unchecked()
            .await?;
        let status = resp.status().as_u16();
        if status != 200 && status != 400 {
            crate::http::check(resp, "POST", &crate::http::ErrorScope::default()).await?;
            return Ok(ValidationReport::default());
        }
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| crate::http::body_error(&e, "POST", &url))?;
        let parsed: Option<Value> = serde_json::from_slice(&bytes).ok();
        let messages = |key: &str| -> Vec<String> {
            parsed
                .as_ref()
                .and_then(|v| v.get(key))
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .map(|m| match m.get("message").and_then(Value::as_str) {
                            Some(s) => s.to_owned(),
                            None => m.to_string(),
                        })
                        .collect()
                })
                .unwrap_or_default()
        };
        let warnings = messages("warnings");
        for w in &warnings {
            tracing::warn!("card validation: {w}");
        }
        if status == 200 {
            return Ok(ValidationReport { warnings });
        }
        let mut errors = messages("errors");
        if parsed.is_none() || errors.is_empty() {
            errors.push(String::from_utf8_lossy(&bytes).trim().to_owned());
        }
        let mut message = format!("the Hub rejected the card: {}", errors.join("; "));
        if !warnings.is_empty() {
            message.push_str(&format!(" (warnings: {})", warnings.join("; ")));
        }
        Err(Error::Card {
            line: None,
            message,
        })
    }
}

fn count_lines(prefix: &str) -> usize {
    let b = prefix.as_bytes();
    let mut n = 0;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\r' if b.get(i + 1) == Some(&b'\n') => {
                n += 1;
                i += 1;
            }
            b'\r' | b'\n' => n += 1,
            _ => {}
        }
        i += 1;
    }
    n
}

impl<D: CardData> Default for RepoCard<D> {
    fn default() -> Self {
        RepoCard::new(D::default(), "")
    }
}

impl<D: CardData> FromStr for RepoCard<D> {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::parse(s)
    }
}

impl<D: CardData> fmt::Display for RepoCard<D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text())
    }
}
