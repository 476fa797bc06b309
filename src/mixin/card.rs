//! Library identity declared on a model type ([`MixinInfo`]) and the model card a mixin writes
//! (spec §2.3–2.4, §4.5).

use serde_json::{Map, Value};

use crate::card::{EvalResult, ModelCard, ModelCardData};
use crate::error::Result;

/// The tag every mixin-generated card carries.
pub const MIXIN_TAG: &str = "model_hub_mixin";
/// The tag naming hfkit on every mixin-generated card.
pub const HFKIT_TAG: &str = "hfkit";

/// What a model type declares once about itself: written into its cards (spec §2.4) and used
/// for the card's links. Start from [`MixinInfo::EMPTY`]:
///
/// ```
/// use hfkit::mixin::MixinInfo;
/// const INFO: MixinInfo = MixinInfo {
///     library_name: Some("my-lib"),
///     tags: &["vision"],
///     repo_url: Some("https://github.com/o/r"),
///     ..MixinInfo::EMPTY
/// };
/// assert_eq!(INFO.license, None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MixinInfo {
    /// `library_name` of the card.
    pub library_name: Option<&'static str>,
    /// Tags, merged with `model_hub_mixin` and `hfkit`.
    pub tags: &'static [&'static str],
    /// Link to the code (template variable `repo_url`, never a YAML key).
    pub repo_url: Option<&'static str>,
    /// Link to the documentation (template variable `docs_url`).
    pub docs_url: Option<&'static str>,
    /// Link to the paper (template variable `paper_url`).
    pub paper_url: Option<&'static str>,
    /// `pipeline_tag` of the card.
    pub pipeline_tag: Option<&'static str>,
    /// `license` of the card.
    pub license: Option<&'static str>,
    /// `license_name` of the card (for `license: other`).
    pub license_name: Option<&'static str>,
    /// `license_link` of the card (for `license: other`).
    pub license_link: Option<&'static str>,
    /// `language` of the card (one code is written as a string, several as a list).
    pub language: &'static [&'static str],
    /// The card template (Jinja); `None`: hfkit's default template.
    pub model_card_template: Option<&'static str>,
}

impl MixinInfo {
    /// Nothing declared.
    pub const EMPTY: MixinInfo = MixinInfo {
        library_name: None,
        tags: &[],
        repo_url: None,
        docs_url: None,
        paper_url: None,
        pipeline_tag: None,
        license: None,
        license_name: None,
        license_link: None,
        language: &[],
        model_card_template: None,
    };
}

impl Default for MixinInfo {
    fn default() -> Self {
        MixinInfo::EMPTY
    }
}

/// Per-call card settings (spec §2.4): values that win over the declared ones, per-call-only
/// metadata, the template and its variables.
#[derive(Debug, Clone, Default)]
pub struct CardOptions {
    /// `pipeline_tag` (wins over the declared one).
    pub pipeline_tag: Option<String>,
    /// `license` (wins over the declared one).
    pub license: Option<String>,
    /// `license_name` (wins over the declared one).
    pub license_name: Option<String>,
    /// `license_link` (wins over the declared one).
    pub license_link: Option<String>,
    /// `language` (wins over the declared one).
    pub language: Option<Vec<String>>,
    /// `base_model`.
    pub base_model: Vec<String>,
    /// `datasets`.
    pub datasets: Vec<String>,
    /// `metrics`.
    pub metrics: Vec<String>,
    /// Evaluation results with the model name of their `model-index` entry.
    pub eval_results: Option<(String, Vec<EvalResult>)>,
    /// A template (Jinja text) instead of the declared or default one.
    pub template: Option<String>,
    /// Template variables (`model_summary`, `model_description`, `usage`, `hyperparameters`, …;
    /// see [`DEFAULT_MODEL_CARD_TEMPLATE`](crate::card::DEFAULT_MODEL_CARD_TEMPLATE)); they win
    /// over hfkit's own variables.
    pub vars: Map<String, Value>,
}

impl CardOptions {
    /// Sets a template variable.
    pub fn var(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.vars.insert(key.into(), value.into());
        self
    }
    /// Sets the license.
    pub fn license(mut self, license: impl Into<String>) -> Self {
        self.license = Some(license.into());
        self
    }
    /// Sets the pipeline tag.
    pub fn pipeline_tag(mut self, tag: impl Into<String>) -> Self {
        self.pipeline_tag = Some(tag.into());
        self
    }
    /// Sets the base models.
    pub fn base_model<I: IntoIterator<Item = S>, S: Into<String>>(mut self, m: I) -> Self {
        self.base_model = m.into_iter().map(Into::into).collect();
        self
    }
    /// Sets the datasets.
    pub fn datasets<I: IntoIterator<Item = S>, S: Into<String>>(mut self, d: I) -> Self {
        self.datasets = d.into_iter().map(Into::into).collect();
        self
    }
    /// Uses this template.
    pub fn template(mut self, template: impl Into<String>) -> Self {
        self.template = Some(template.into());
        self
    }
}

fn one_or_list(items: &[String]) -> Value {
    match items {
        [one] => Value::String(one.clone()),
        many => Value::Array(many.iter().cloned().map(Value::String).collect()),
    }
}

/// The card metadata of spec §2.4 for a type declaring `info`, with `extra_tags` (the candle
/// adapter passes `["candle"]`) and the per-call `opts`. Keys in Python's constructor order,
/// absent values omitted; `tags` = declared ∪ `model_hub_mixin` ∪ `hfkit` ∪ `extra_tags`,
/// de-duplicated and sorted by code point.
pub fn default_card_data(
    info: &MixinInfo,
    opts: &CardOptions,
    extra_tags: &[&str],
) -> Result<ModelCardData> {
    let mut data = ModelCardData::new();
    let put = |data: &mut ModelCardData, key: &str, v: Option<Value>| -> Result<()> {
        match v {
            Some(v) => data.set(key, v),
            None => Ok(()),
        }
    };
    let text = |call: &Option<String>, declared: Option<&str>| -> Option<Value> {
        call.clone()
            .or_else(|| declared.map(str::to_owned))
            .map(Value::String)
    };
    let list = |items: &[String]| (!items.is_empty()).then(|| one_or_list(items));
    put(&mut data, "base_model", list(&opts.base_model))?;
    if !opts.datasets.is_empty() {
        data.set_datasets(opts.datasets.iter().cloned());
    }
    let declared_language: Vec<String> = info.language.iter().map(|s| (*s).to_owned()).collect();
    let language = opts.language.as_deref().unwrap_or(&declared_language);
    put(&mut data, "language", list(language))?;
    put(
        &mut data,
        "library_name",
        info.library_name.map(|s| Value::String(s.to_owned())),
    )?;
    put(&mut data, "license", text(&opts.license, info.license))?;
    put(
        &mut data,
        "license_name",
        text(&opts.license_name, info.license_name),
    )?;
    put(
        &mut data,
        "license_link",
        text(&opts.license_link, info.license_link),
    )?;
    if !opts.metrics.is_empty() {
        data.set_metrics(opts.metrics.iter().cloned());
    }
    put(
        &mut data,
        "pipeline_tag",
        text(&opts.pipeline_tag, info.pipeline_tag),
    )?;
    let mut tags: Vec<String> = info
        .tags
        .iter()
        .chain([MIXIN_TAG, HFKIT_TAG].iter())
        .chain(extra_tags.iter())
        .map(|s| (*s).to_owned())
        .collect();
    tags.sort();
    tags.dedup();
    data.set_tags(tags);
    if let Some((name, results)) = &opts.eval_results {
        data.set_eval_results(name, results.clone())?;
    }
    Ok(data)
}

/// The last path segment of a type name (`my_crate::Mlp` → `Mlp`), for the card's usage snippet.
pub fn short_type_name<T: ?Sized>() -> String {
    let full = std::any::type_name::<T>();
    let base = full.split('<').next().unwrap_or(full);
    base.rsplit("::").next().unwrap_or(base).to_owned()
}

/// Renders the model card of a type declaring `info`: `data` through the per-call template, else
/// the declared one, else hfkit's default, with the variables `repo_url`, `docs_url`,
/// `paper_url` (declared), `model_type_name`, then the caller's `opts.vars` (which win).
pub fn render_model_card(
    info: &MixinInfo,
    data: ModelCardData,
    opts: &CardOptions,
    model_type_name: &str,
) -> Result<ModelCard> {
    let mut vars = Map::new();
    for (k, v) in [
        ("repo_url", info.repo_url),
        ("docs_url", info.docs_url),
        ("paper_url", info.paper_url),
    ] {
        if let Some(v) = v {
            vars.insert(k.to_owned(), Value::String(v.to_owned()));
        }
    }
    vars.insert(
        "model_type_name".to_owned(),
        Value::String(model_type_name.to_owned()),
    );
    vars.extend(opts.vars.clone());
    let template = opts.template.as_deref().or(info.model_card_template);
    ModelCard::from_template(data, template, Value::Object(vars))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declared_metadata_matches_python_bytes() {
        let info = MixinInfo {
            library_name: Some("my-lib"),
            tags: &["vision", "Zeta"],
            repo_url: Some("https://github.com/o/r"),
            license: Some("apache-2.0"),
            pipeline_tag: Some("image-classification"),
            ..MixinInfo::EMPTY
        };
        let data = default_card_data(&info, &CardOptions::default(), &[]).unwrap();
        let card = crate::card::ModelCard::new(data, "");
        assert_eq!(
            card.text(),
            "---\nlibrary_name: my-lib\nlicense: apache-2.0\npipeline_tag: image-classification\n\
             tags:\n- Zeta\n- hfkit\n- model_hub_mixin\n- vision\n---\n"
        );
    }

    #[test]
    fn per_call_values_win_and_candle_tag_is_added() {
        let info = MixinInfo {
            license: Some("mit"),
            ..MixinInfo::EMPTY
        };
        let opts = CardOptions::default()
            .license("apache-2.0")
            .base_model(["org/base"]);
        let data = default_card_data(&info, &opts, &["candle"]).unwrap();
        assert_eq!(data.license(), Some("apache-2.0"));
        assert_eq!(data.base_model(), vec!["org/base".to_owned()]);
        assert_eq!(data.tags(), vec!["candle", "hfkit", "model_hub_mixin"]);
    }

    #[test]
    fn short_names() {
        assert_eq!(short_type_name::<CardOptions>(), "CardOptions");
        assert_eq!(short_type_name::<Vec<u8>>(), "Vec");
    }
}
