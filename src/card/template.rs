//! Rendering cards from Jinja templates (spec §2), with minijinja set up to behave like Python's
//! Jinja2: lenient undefined values, no auto-escaping, Python string and dict methods
//! (`.items()`, `.strip()`, …) and `tojson`.

use minijinja::{AutoEscape, Environment, UndefinedBehavior};
use serde_json::{Map, Value};

use super::data::{CardData, ModelCardData};
use super::front_matter::LineEnding;
use super::{ModelCard, RepoCard, yaml};
use crate::error::{Error, Result};

/// hfkit's default model card template (`templates/modelcard.md.jinja`).
///
/// Variables it uses besides the metadata: `model_id`, `model_summary`, `model_description`,
/// `developers`, `model_type`, `repo_url`, `docs_url`, `paper_url`, `usage`, `model_type_name`,
/// `repo_id`, `intended_uses`, `limitations`, `training_data`, `training_procedure`,
/// `hyperparameters` (a mapping, shown as a table), `evaluation`, `citation_bibtex`,
/// `hfkit_version` (defaults to this crate's version).
pub const DEFAULT_MODEL_CARD_TEMPLATE: &str = include_str!("../../templates/modelcard.md.jinja");

/// hfkit's default dataset card template (`templates/datasetcard.md.jinja`).
///
/// Variables it uses besides the metadata: `pretty_name`, `dataset_id`, `dataset_summary`,
/// `dataset_description`, `structure`, `citation_bibtex`, `hfkit_version`.
pub const DEFAULT_DATASET_CARD_TEMPLATE: &str =
    include_str!("../../templates/datasetcard.md.jinja");

/// Options for template rendering.
#[derive(Debug, Clone, Copy, Default)]
pub struct TemplateOptions {
    /// Fail on undefined variables instead of rendering them empty (catches typos).
    pub strict_undefined: bool,
}

fn template_error(e: &minijinja::Error) -> Error {
    let mut message = format!("template error: {}", e.kind());
    if let Some(d) = e.detail() {
        message.push_str(": ");
        message.push_str(d);
    }
    Error::Card {
        line: e.line(),
        message,
    }
}

/// Renders `template` with the context of spec §2.1, lowest priority first: every top-level key
/// of `data`, then `extra` (hfkit's own variables), then the caller's `vars`; `card_data` is the
/// YAML text of `data`.
pub(crate) fn render(
    data: &Map<String, Value>,
    extra: Map<String, Value>,
    template: &str,
    vars: Value,
    opts: TemplateOptions,
) -> Result<String> {
    let vars = match vars {
        Value::Null => Map::new(),
        Value::Object(m) => m,
        other => {
            return Err(Error::InvalidInput(format!(
                "template variables must be a JSON object, got {other}"
            )));
        }
    };
    if vars.contains_key("card_data") {
        return Err(Error::InvalidInput(
            "`card_data` is reserved: it is the YAML of the card's metadata".to_owned(),
        ));
    }
    let lb = LineEnding::detect(template);
    let map = data.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    let card_data = yaml::to_yaml(&map, lb.as_str());

    let mut ctx = data.clone();
    ctx.extend(extra);
    ctx.extend(vars);
    ctx.insert("card_data".to_owned(), Value::String(card_data));

    let mut env = Environment::new();
    env.set_undefined_behavior(if opts.strict_undefined {
        UndefinedBehavior::Strict
    } else {
        UndefinedBehavior::Lenient
    });
    env.set_auto_escape_callback(|_| AutoEscape::None);
    env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
    minijinja_contrib::add_to_environment(&mut env);
    env.add_template("card", template)
        .map_err(|e| template_error(&e))?;
    let tmpl = env.get_template("card").map_err(|e| template_error(&e))?;
    tmpl.render(minijinja::Value::from(minijinja::value::Serde(
        Value::Object(ctx),
    )))
    .map_err(|e| template_error(&e))
}

impl<D: CardData> RepoCard<D> {
    /// Renders a card from a Jinja template string and parses the result (spec §2.1).
    ///
    /// The template sees every metadata key, `card_data` (the metadata as YAML, for the front
    /// matter) and the caller's `vars` (a JSON object; they win over metadata keys).
    pub fn from_template_str(data: &D, template: &str, vars: Value) -> Result<Self> {
        Self::from_template_str_with(data, template, vars, TemplateOptions::default())
    }

    /// [`from_template_str`](Self::from_template_str) with options.
    pub fn from_template_str_with(
        data: &D,
        template: &str,
        vars: Value,
        opts: TemplateOptions,
    ) -> Result<Self> {
        let ctx: Map<String, Value> = data
            .map()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let text = render(&ctx, Map::new(), template, vars, opts)?;
        Self::parse(&text)
    }
}

impl ModelCard {
    /// Renders a model card from a template (`None`: hfkit's
    /// [default template](DEFAULT_MODEL_CARD_TEMPLATE)) and parses the result.
    ///
    /// Besides the metadata keys, the template sees `eval_results` (the flat list of
    /// [`EvalResult`](super::EvalResult)s, for tables), `hfkit_version`, `card_data` and the
    /// caller's `vars`.
    ///
    /// ```
    /// use hfkit::card::{ModelCard, ModelCardData};
    /// let mut data = ModelCardData::new();
    /// data.set_license(Some("mit"));
    /// let card = ModelCard::from_template(
    ///     data,
    ///     Some("---\n{{ card_data }}\n---\n\n# {{ model_name | default('MyModel', true) }}\n"),
    ///     serde_json::json!({}),
    /// )?;
    /// assert_eq!(card.text(), "---\nlicense: mit\n---\n\n# MyModel");
    /// # Ok::<(), hfkit::Error>(())
    /// ```
    pub fn from_template(
        data: ModelCardData,
        template: Option<&str>,
        vars: Value,
    ) -> Result<ModelCard> {
        Self::from_template_with(data, template, vars, TemplateOptions::default())
    }

    /// [`from_template`](Self::from_template) with options.
    pub fn from_template_with(
        data: ModelCardData,
        template: Option<&str>,
        vars: Value,
        opts: TemplateOptions,
    ) -> Result<ModelCard> {
        let template = template.unwrap_or(DEFAULT_MODEL_CARD_TEMPLATE);
        let ctx: Map<String, Value> = data
            .map()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let mut extra = Map::new();
        extra.insert(
            "hfkit_version".to_owned(),
            Value::String(env!("CARGO_PKG_VERSION").to_owned()),
        );
        let results = serde_json::to_value(data.eval_results())
            .map_err(|e| Error::json("eval results for the template", e))?;
        extra.insert("eval_results".to_owned(), results);
        let text = render(&ctx, extra, template, vars, opts)?;
        ModelCard::parse(&text)
    }
}
