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

/// What Jinja2 does and minijinja (with its Python-compatibility add-ons) does not: floats
/// printed as Python's `repr` (`1e-05`, `1e+16`) and the `wordcount` filter.
fn add_jinja2_compat(env: &mut Environment<'_>) {
    env.set_formatter(|out, state, value| {
        if value.kind() == minijinja::value::ValueKind::Number
            && !value.is_integer()
            && let Ok(f) = f64::try_from(value.clone())
        {
            return out.write_str(&python_float_repr(f)).map_err(|e| {
                minijinja::Error::new(minijinja::ErrorKind::WriteFailure, e.to_string())
            });
        }
        minijinja::escape_formatter(out, state, value)
    });
    env.add_filter("wordcount", |s: String| -> usize {
        // Jinja2 counts runs of `\w` (letters, digits, `_`).
        let mut n = 0;
        let mut in_word = false;
        for c in s.chars() {
            let w = c.is_alphanumeric() || c == '_';
            if w && !in_word {
                n += 1;
            }
            in_word = w;
        }
        n
    });
}

/// A float as Python's `repr` writes it: the shortest digits that read back, in fixed notation
/// for exponents -4 to 15 (with `.0` when integral), else scientific with a signed, two-digit
/// exponent.
pub(crate) fn python_float_repr(f: f64) -> String {
    if f.is_nan() {
        return "nan".to_owned();
    }
    if f.is_infinite() {
        return if f > 0.0 { "inf" } else { "-inf" }.to_owned();
    }
    let sci = format!("{f:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => ("-", m),
        None => ("", mantissa),
    };
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let body = if (-4..16).contains(&exp) {
        let point = exp + 1;
        if point <= 0 {
            format!("0.{}{digits}", "0".repeat(point.unsigned_abs() as usize))
        } else {
            let point = point as usize;
            if point >= digits.len() {
                format!("{digits}{}.0", "0".repeat(point - digits.len()))
            } else {
                format!("{}.{}", &digits[..point], &digits[point..])
            }
        }
    } else {
        let m = if digits.len() > 1 {
            format!("{}.{}", &digits[..1], &digits[1..])
        } else {
            digits
        };
        format!(
            "{m}e{}{:02}",
            if exp < 0 { '-' } else { '+' },
            exp.unsigned_abs()
        )
    };
    format!("{sign}{body}")
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
    add_jinja2_compat(&mut env);
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

#[cfg(test)]
mod tests {
    use super::python_float_repr;

    #[test]
    fn floats_like_python_repr() {
        for (f, want) in [
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (1.0, "1.0"),
            (0.1 + 0.2, "0.30000000000000004"),
            (1e-5, "1e-05"),
            (0.0001, "0.0001"),
            (1e16, "1e+16"),
            (1.5e20, "1.5e+20"),
            (123.456, "123.456"),
            (-2.5e-7, "-2.5e-07"),
            (1e15, "1000000000000000.0"),
            (f64::INFINITY, "inf"),
        ] {
            assert_eq!(python_float_repr(f), want, "{f}");
        }
    }
}
