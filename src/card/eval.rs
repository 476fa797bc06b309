//! Evaluation results: the flat [`EvalResult`] form and the `model-index` metadata (spec §1.5).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::{Error, Result};

/// One metric of one evaluation, in the flat form Python's `EvalResult` uses (same field names).
///
/// A `model-index` result with several metrics gives one `EvalResult` per metric;
/// [`eval_results_to_model_index`] groups them back.
///
/// ```
/// use hfkit::card::EvalResult;
/// let r = EvalResult::new("image-classification", "beans", "Beans", "accuracy", 0.9.into());
/// assert_eq!(r.metric_type, "accuracy");
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct EvalResult {
    /// The task identifier (`task.type`), e.g. `image-classification`.
    pub task_type: String,
    /// The dataset identifier (`dataset.type`), e.g. `beans`.
    pub dataset_type: String,
    /// The dataset's pretty name (`dataset.name`).
    pub dataset_name: String,
    /// The metric identifier (`metrics[].type`), e.g. `accuracy`.
    pub metric_type: String,
    /// The metric value: any scalar (`0.9`, `"20.0 ± 1.2"`).
    pub metric_value: Value,
    /// The task's pretty name (`task.name`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_name: Option<String>,
    /// The dataset configuration (`dataset.config`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dataset_config: Option<String>,
    /// The dataset split (`dataset.split`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dataset_split: Option<String>,
    /// The dataset revision (`dataset.revision`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dataset_revision: Option<String>,
    /// Dataset arguments (`dataset.args`), any value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dataset_args: Option<Value>,
    /// The metric's pretty name (`metrics[].name`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric_name: Option<String>,
    /// The metric configuration (`metrics[].config`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric_config: Option<String>,
    /// Metric arguments (`metrics[].args`), any value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric_args: Option<Value>,
    /// Whether the Hub verified the value (`metrics[].verified`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verified: Option<bool>,
    /// The Hub's verification token (`metrics[].verifyToken`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify_token: Option<String>,
    /// Where the result comes from (`source.name`); needs `source_url`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_name: Option<String>,
    /// Where the result comes from (`source.url`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_url: Option<String>,
}

impl EvalResult {
    /// A result with the required fields; set the optional ones directly.
    pub fn new(
        task_type: impl Into<String>,
        dataset_type: impl Into<String>,
        dataset_name: impl Into<String>,
        metric_type: impl Into<String>,
        metric_value: Value,
    ) -> Self {
        EvalResult {
            task_type: task_type.into(),
            dataset_type: dataset_type.into(),
            dataset_name: dataset_name.into(),
            metric_type: metric_type.into(),
            metric_value,
            ..Default::default()
        }
    }

    /// The grouping identity: results sharing it form one `model-index` result.
    fn group_key(&self) -> (&str, &str, Option<&str>, Option<&str>, Option<&str>) {
        (
            &self.task_type,
            &self.dataset_type,
            self.dataset_config.as_deref(),
            self.dataset_split.as_deref(),
            self.dataset_revision.as_deref(),
        )
    }
}

fn invalid(path: &str, reason: &str) -> Error {
    Error::Card {
        line: None,
        message: format!("invalid model-index at {path}: {reason}"),
    }
}

fn str_field(
    obj: &Map<String, Value>,
    key: &str,
    path: &str,
    required: bool,
) -> Result<Option<String>> {
    match obj.get(key) {
        None | Some(Value::Null) if required => Err(invalid(path, &format!("`{key}` is missing"))),
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(Value::Bool(b)) => Ok(Some(b.to_string())),
        Some(_) => Err(invalid(path, &format!("`{key}` must be a string"))),
    }
}

fn mapping<'a>(v: Option<&'a Value>, path: &str) -> Result<&'a Map<String, Value>> {
    match v {
        Some(Value::Object(m)) => Ok(m),
        None | Some(Value::Null) => Err(invalid(path, "missing")),
        Some(_) => Err(invalid(path, "must be a mapping")),
    }
}

fn list<'a>(v: Option<&'a Value>, path: &str) -> Result<&'a Vec<Value>> {
    match v {
        Some(Value::Array(a)) => Ok(a),
        None | Some(Value::Null) => Err(invalid(path, "missing")),
        Some(_) => Err(invalid(path, "must be a list")),
    }
}

/// One parsed `model-index` entry: a model name and its flat results.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelIndexEntry {
    /// The entry's `name`.
    pub name: String,
    /// Every metric of every result of the entry.
    pub eval_results: Vec<EvalResult>,
}

/// Validates a `model-index` value and flattens it: one [`EvalResult`] per metric of each result
/// of each entry. Errors name the offending node (`model-index[0].results[0].dataset`).
pub fn parse_model_index(value: &Value) -> Result<Vec<ModelIndexEntry>> {
    let entries = list(Some(value), "model-index")?;
    let mut out = Vec::with_capacity(entries.len());
    for (i, entry) in entries.iter().enumerate() {
        let p = format!("model-index[{i}]");
        let entry = mapping(Some(entry), &p)?;
        let name = str_field(entry, "name", &p, true)?.unwrap_or_default();
        let results = list(entry.get("results"), &format!("{p}.results"))?;
        let mut flat = Vec::new();
        for (j, result) in results.iter().enumerate() {
            let rp = format!("{p}.results[{j}]");
            let result = mapping(Some(result), &rp)?;
            let tp = format!("{rp}.task");
            let task = mapping(result.get("task"), &tp)?;
            let dp = format!("{rp}.dataset");
            let dataset = mapping(result.get("dataset"), &dp)?;
            let task_type = str_field(task, "type", &tp, true)?.unwrap_or_default();
            let task_name = str_field(task, "name", &tp, false)?;
            let dataset_type = str_field(dataset, "type", &dp, true)?.unwrap_or_default();
            let dataset_name = str_field(dataset, "name", &dp, true)?.unwrap_or_default();
            let dataset_config = str_field(dataset, "config", &dp, false)?;
            let dataset_split = str_field(dataset, "split", &dp, false)?;
            let dataset_revision = str_field(dataset, "revision", &dp, false)?;
            let dataset_args = dataset.get("args").filter(|v| !v.is_null()).cloned();
            let sp = format!("{rp}.source");
            let (source_url, source_name) = match result.get("source") {
                None | Some(Value::Null) => (None, None),
                Some(Value::Object(s)) => {
                    let url = str_field(s, "url", &sp, false)?;
                    let name = str_field(s, "name", &sp, false)?;
                    if name.is_some() && url.is_none() {
                        return Err(invalid(&sp, "`name` is given without `url`"));
                    }
                    (url, name)
                }
                Some(_) => return Err(invalid(&sp, "must be a mapping")),
            };
            let metrics = list(result.get("metrics"), &format!("{rp}.metrics"))?;
            for (k, metric) in metrics.iter().enumerate() {
                let mp = format!("{rp}.metrics[{k}]");
                let metric = mapping(Some(metric), &mp)?;
                let metric_type = str_field(metric, "type", &mp, true)?.unwrap_or_default();
                let metric_value = match metric.get("value") {
                    None | Some(Value::Null) => return Err(invalid(&mp, "`value` is missing")),
                    Some(v) => v.clone(),
                };
                let verified = match metric.get("verified") {
                    None | Some(Value::Null) => None,
                    Some(Value::Bool(b)) => Some(*b),
                    Some(_) => return Err(invalid(&mp, "`verified` must be true or false")),
                };
                flat.push(EvalResult {
                    task_type: task_type.clone(),
                    dataset_type: dataset_type.clone(),
                    dataset_name: dataset_name.clone(),
                    metric_type,
                    metric_value,
                    task_name: task_name.clone(),
                    dataset_config: dataset_config.clone(),
                    dataset_split: dataset_split.clone(),
                    dataset_revision: dataset_revision.clone(),
                    dataset_args: dataset_args.clone(),
                    metric_name: str_field(metric, "name", &mp, false)?,
                    metric_config: str_field(metric, "config", &mp, false)?,
                    metric_args: metric.get("args").filter(|v| !v.is_null()).cloned(),
                    verified,
                    verify_token: str_field(metric, "verifyToken", &mp, false)?,
                    source_name: source_name.clone(),
                    source_url: source_url.clone(),
                });
            }
        }
        out.push(ModelIndexEntry {
            name,
            eval_results: flat,
        });
    }
    Ok(out)
}

/// Removes nulls at every depth, as Python's `model-index` writer does.
pub(crate) fn remove_nulls(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, remove_nulls(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(
            a.into_iter()
                .filter(|v| !v.is_null())
                .map(remove_nulls)
                .collect(),
        ),
        other => other,
    }
}

fn put(m: &mut Map<String, Value>, key: &str, v: Option<&str>) {
    if let Some(v) = v {
        m.insert(key.to_owned(), Value::String(v.to_owned()));
    }
}

/// Groups flat results into a `model-index` with a single entry named `model_name` (spec §1.5):
/// results sharing task type and dataset type, config, split and revision form one `results` item,
/// in first-seen order. Members of a group that disagree on task name, dataset name, dataset args
/// or source are rejected.
pub fn eval_results_to_model_index(model_name: &str, results: &[EvalResult]) -> Result<Value> {
    build_model_index(model_name, results, true)
}

/// Builds the `model-index`; with `strict` off, a group takes its first member's task name,
/// dataset name, args and source, as Python does.
pub(crate) fn build_model_index(
    model_name: &str,
    results: &[EvalResult],
    strict: bool,
) -> Result<Value> {
    let mut groups: Vec<Vec<&EvalResult>> = Vec::new();
    for r in results {
        match groups
            .iter_mut()
            .find(|g| g[0].group_key() == r.group_key())
        {
            Some(g) => {
                let f = g[0];
                let clash = if f.task_name != r.task_name {
                    Some("task name")
                } else if f.dataset_name != r.dataset_name {
                    Some("dataset name")
                } else if f.dataset_args != r.dataset_args {
                    Some("dataset args")
                } else if f.source_url != r.source_url || f.source_name != r.source_name {
                    Some("source")
                } else {
                    None
                };
                if let Some(what) = clash.filter(|_| strict) {
                    return Err(Error::Card {
                        line: None,
                        message: format!(
                            "inconsistent eval results: `{}` and `{}` on task `{}` / dataset `{}` disagree on the {what}",
                            f.metric_type, r.metric_type, r.task_type, r.dataset_type
                        ),
                    });
                }
                g.push(r);
            }
            None => groups.push(vec![r]),
        }
    }
    let mut items = Vec::with_capacity(groups.len());
    for g in groups {
        let f = g[0];
        let mut task = Map::new();
        put(&mut task, "type", Some(&f.task_type));
        put(&mut task, "name", f.task_name.as_deref());
        let mut dataset = Map::new();
        put(&mut dataset, "name", Some(&f.dataset_name));
        put(&mut dataset, "type", Some(&f.dataset_type));
        put(&mut dataset, "config", f.dataset_config.as_deref());
        put(&mut dataset, "split", f.dataset_split.as_deref());
        put(&mut dataset, "revision", f.dataset_revision.as_deref());
        if let Some(a) = &f.dataset_args {
            dataset.insert("args".into(), a.clone());
        }
        let metrics: Vec<Value> = g
            .iter()
            .map(|r| {
                let mut m = Map::new();
                put(&mut m, "type", Some(&r.metric_type));
                m.insert("value".into(), r.metric_value.clone());
                put(&mut m, "name", r.metric_name.as_deref());
                put(&mut m, "config", r.metric_config.as_deref());
                if let Some(a) = &r.metric_args {
                    m.insert("args".into(), a.clone());
                }
                if let Some(v) = r.verified {
                    m.insert("verified".into(), Value::Bool(v));
                }
                put(&mut m, "verifyToken", r.verify_token.as_deref());
                Value::Object(m)
            })
            .collect();
        let mut item = Map::new();
        item.insert("task".into(), Value::Object(task));
        item.insert("dataset".into(), Value::Object(dataset));
        item.insert("metrics".into(), Value::Array(metrics));
        if let Some(url) = &f.source_url {
            let mut source = Map::new();
            put(&mut source, "url", Some(url));
            put(&mut source, "name", f.source_name.as_deref());
            item.insert("source".into(), Value::Object(source));
        }
        items.push(Value::Object(item));
    }
    let mut entry = Map::new();
    entry.insert("name".into(), Value::String(model_name.to_owned()));
    entry.insert("results".into(), Value::Array(items));
    Ok(remove_nulls(Value::Array(vec![Value::Object(entry)])))
}
