//! Card metadata: ordered maps with typed accessors for the keys the Hub knows (spec §1.4).

use indexmap::IndexMap;
use serde_json::{Map, Value};

use super::eval::{self, EvalResult, ModelIndexEntry};
use crate::error::{Error, Result};
use crate::repo::RepoType;

/// What every card-data type offers: the ordered map of all keys, built from parsed YAML.
pub trait CardData: Clone + Default + std::fmt::Debug + PartialEq {
    /// The repository type whose cards carry this data.
    const REPO_TYPE: RepoType;

    /// Builds the data from a parsed front matter, validating the known keys. With `lenient`,
    /// an invalid known key (e.g. `model-index`) is kept raw with a warning instead of failing.
    fn from_map(map: IndexMap<String, Value>, lenient: bool) -> Result<Self>;

    /// Every key, in order (top-level nulls are never stored).
    fn map(&self) -> &IndexMap<String, Value>;

    /// The data as Python's `CardData.to_dict()` gives it: `tags` de-duplicated (a string made a
    /// list), `model-index` rebuilt from the eval results (dropped when empty or invalid).
    fn to_python_dict(&self) -> Map<String, Value> {
        self.map()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }
}

/// A string-or-list value as a list of strings.
fn string_list(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|v| match v {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                Value::Bool(b) => Some(b.to_string()),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

fn unique(list: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(list.len());
    for s in list {
        if !out.contains(&s) {
            out.push(s);
        }
    }
    out
}

/// Python's `_to_unique_list` on a raw value: a string becomes a one-item list, lists lose
/// repeated items (first kept).
fn unique_value(v: &Value) -> Value {
    match v {
        Value::String(_) => Value::Array(vec![v.clone()]),
        Value::Array(a) => {
            let mut out: Vec<Value> = Vec::with_capacity(a.len());
            for x in a {
                if !out.contains(x) {
                    out.push(x.clone());
                }
            }
            Value::Array(out)
        }
        other => other.clone(),
    }
}

fn list_value<I, S>(items: I) -> Value
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    Value::Array(items.into_iter().map(|s| Value::String(s.into())).collect())
}

/// Map access shared by the three data types.
macro_rules! map_access {
    ($t:ty) => {
        impl $t {
            /// An empty card data.
            pub fn new() -> Self {
                Self::default()
            }

            /// The value of any key.
            pub fn get(&self, key: &str) -> Option<&Value> {
                self.map.get(key)
            }

            /// Whether the key is present.
            pub fn contains_key(&self, key: &str) -> bool {
                self.map.contains_key(key)
            }

            /// Number of keys.
            pub fn len(&self) -> usize {
                self.map.len()
            }

            /// Whether there are no keys.
            pub fn is_empty(&self) -> bool {
                self.map.is_empty()
            }

            /// All keys and values, in order.
            pub fn iter(&self) -> impl Iterator<Item = (&String, &Value)> {
                self.map.iter()
            }

            /// Removes a key, keeping the order of the others.
            pub fn remove(&mut self, key: &str) -> Option<Value> {
                self.map.shift_remove(key)
            }

            fn str_key(&self, key: &str) -> Option<&str> {
                self.map.get(key).and_then(Value::as_str)
            }

            fn set_str(&mut self, key: &str, value: Option<String>) {
                match value {
                    Some(v) => {
                        self.map.insert(key.to_owned(), Value::String(v));
                    }
                    None => {
                        self.map.shift_remove(key);
                    }
                }
            }
        }
    };
}

/// Generates typed string getters and setters.
macro_rules! str_keys {
    ($t:ty { $($get:ident, $set:ident, $key:literal;)* }) => {
        impl $t {
            $(
                #[doc = concat!("The `", $key, "` value, when it is a string.")]
                pub fn $get(&self) -> Option<&str> {
                    self.str_key($key)
                }
                #[doc = concat!("Sets `", $key, "` (`None` removes it).")]
                pub fn $set(&mut self, value: Option<impl Into<String>>) {
                    self.set_str($key, value.map(Into::into));
                }
            )*
        }
    };
}

/// Generates typed string-or-list getters and list setters.
macro_rules! list_keys {
    ($t:ty { $($get:ident, $set:ident, $key:literal;)* }) => {
        impl $t {
            $(
                #[doc = concat!("The `", $key, "` value as a list (a single string gives one item).")]
                pub fn $get(&self) -> Vec<String> {
                    string_list(self.map.get($key))
                }
                #[doc = concat!("Sets `", $key, "` to a list.")]
                pub fn $set<I: IntoIterator<Item = S>, S: Into<String>>(&mut self, items: I) {
                    self.map.insert($key.to_owned(), list_value(items));
                }
            )*
        }
    };
}

// ---------------------------------------------------------------------------------------------

/// Metadata of a model card.
///
/// ```
/// use hfkit::card::ModelCardData;
/// let mut data = ModelCardData::new();
/// data.set_license(Some("mit"));
/// data.set_tags(["vision"]);
/// assert_eq!(data.license(), Some("mit"));
/// ```
#[derive(Debug, Clone, Default)]
pub struct ModelCardData {
    map: IndexMap<String, Value>,
    /// Typed view of a valid `model-index` (`None` when absent, or invalid and loaded leniently).
    index: Option<Vec<ModelIndexEntry>>,
}

map_access!(ModelCardData);

impl PartialEq for ModelCardData {
    /// Equal when the metadata maps are equal (the typed view derives from the map).
    fn eq(&self, other: &Self) -> bool {
        self.map == other.map
    }
}
str_keys!(ModelCardData {
    license, set_license, "license";
    license_name, set_license_name, "license_name";
    license_link, set_license_link, "license_link";
    library_name, set_library_name, "library_name";
    pipeline_tag, set_pipeline_tag, "pipeline_tag";
});
list_keys!(ModelCardData {
    language, set_language, "language";
    datasets, set_datasets, "datasets";
    metrics, set_metrics, "metrics";
    base_model, set_base_model, "base_model";
});

impl ModelCardData {
    /// The `tags`, de-duplicated (first occurrence kept).
    pub fn tags(&self) -> Vec<String> {
        unique(string_list(self.map.get("tags")))
    }

    /// Sets `tags`.
    pub fn set_tags<I: IntoIterator<Item = S>, S: Into<String>>(&mut self, items: I) {
        self.map.insert("tags".to_owned(), list_value(items));
    }

    /// The `widget` value (examples for the Hub's inference widget), kept as is.
    pub fn widget(&self) -> Option<&Value> {
        self.map.get("widget")
    }

    /// The model name of the `model-index` (the last entry's `name`, as Python reads it).
    pub fn model_name(&self) -> Option<&str> {
        self.index
            .as_ref()
            .and_then(|e| e.last())
            .map(|e| e.name.as_str())
    }

    /// Every evaluation result of the `model-index`, flat (one per metric).
    pub fn eval_results(&self) -> Vec<EvalResult> {
        self.index
            .iter()
            .flatten()
            .flat_map(|e| e.eval_results.iter().cloned())
            .collect()
    }

    /// The typed `model-index` entries (empty when absent or invalid).
    pub fn model_index(&self) -> &[ModelIndexEntry] {
        self.index.as_deref().unwrap_or(&[])
    }

    /// Replaces the evaluation results: `model-index` becomes one entry named `model_name` whose
    /// results group `results` as spec §1.5 says. An empty list removes `model-index`.
    pub fn set_eval_results(&mut self, model_name: &str, results: Vec<EvalResult>) -> Result<()> {
        if results.is_empty() {
            self.map.shift_remove("model-index");
            self.index = None;
            return Ok(());
        }
        for r in &results {
            if r.source_name.is_some() && r.source_url.is_none() {
                return Err(Error::Card {
                    line: None,
                    message: format!(
                        "eval result `{}` has a source_name but no source_url",
                        r.metric_type
                    ),
                });
            }
        }
        let value = eval::eval_results_to_model_index(model_name, &results)?;
        // The typed view is read back from the written value, so it lists the results grouped,
        // as a reload of the saved card would.
        self.index = Some(eval::parse_model_index(&value)?);
        self.map.insert("model-index".to_owned(), value);
        Ok(())
    }

    /// Sets any key; `null` removes it. A `model-index` value is validated.
    pub fn set(&mut self, key: impl Into<String>, value: Value) -> Result<()> {
        let key = key.into();
        if value.is_null() {
            self.remove(&key);
            if key == "model-index" {
                self.index = None;
            }
            return Ok(());
        }
        if key == "model-index" {
            self.index = Some(eval::parse_model_index(&value)?);
        }
        self.map.insert(key, value);
        Ok(())
    }
}

impl CardData for ModelCardData {
    const REPO_TYPE: RepoType = RepoType::Model;

    fn from_map(map: IndexMap<String, Value>, lenient: bool) -> Result<Self> {
        let index = match map.get("model-index") {
            None => None,
            Some(v) => match eval::parse_model_index(v) {
                Ok(entries) => Some(entries),
                Err(e) if lenient => {
                    tracing::warn!("{e}; loading the card without eval results");
                    None
                }
                Err(e) => return Err(e),
            },
        };
        Ok(ModelCardData { map, index })
    }

    fn map(&self) -> &IndexMap<String, Value> {
        &self.map
    }

    fn to_python_dict(&self) -> Map<String, Value> {
        self.python_dict().unwrap_or_default()
    }
}

impl ModelCardData {
    fn python_dict(&self) -> Result<Map<String, Value>> {
        let mut out = Map::new();
        for (k, v) in &self.map {
            match k.as_str() {
                "tags" => {
                    out.insert(k.clone(), unique_value(v));
                }
                "model-index" => {
                    if self.index.as_ref().is_some_and(|e| !e.is_empty()) {
                        let name = self.model_name().unwrap_or_default();
                        let mi = eval::build_model_index(name, &self.eval_results(), false)?;
                        out.insert(k.clone(), mi);
                    }
                }
                _ => {
                    out.insert(k.clone(), v.clone());
                }
            }
        }
        Ok(out)
    }
}

// ---------------------------------------------------------------------------------------------

/// Metadata of a dataset card.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DatasetCardData {
    map: IndexMap<String, Value>,
}

map_access!(DatasetCardData);
str_keys!(DatasetCardData {
    paperswithcode_id, set_paperswithcode_id, "paperswithcode_id";
    pretty_name, set_pretty_name, "pretty_name";
});
list_keys!(DatasetCardData {
    annotations_creators, set_annotations_creators, "annotations_creators";
    language_creators, set_language_creators, "language_creators";
    language, set_language, "language";
    license, set_license, "license";
    multilinguality, set_multilinguality, "multilinguality";
    size_categories, set_size_categories, "size_categories";
    source_datasets, set_source_datasets, "source_datasets";
    task_categories, set_task_categories, "task_categories";
    task_ids, set_task_ids, "task_ids";
    config_names, set_config_names, "config_names";
});

impl DatasetCardData {
    /// The `train-eval-index` value, kept as is.
    pub fn train_eval_index(&self) -> Option<&Value> {
        self.map.get("train-eval-index")
    }

    /// Sets any key; `null` removes it.
    pub fn set(&mut self, key: impl Into<String>, value: Value) {
        let key = key.into();
        if value.is_null() {
            self.remove(&key);
        } else {
            self.map.insert(key, value);
        }
    }
}

impl CardData for DatasetCardData {
    const REPO_TYPE: RepoType = RepoType::Dataset;

    fn from_map(map: IndexMap<String, Value>, _lenient: bool) -> Result<Self> {
        Ok(DatasetCardData { map })
    }

    fn map(&self) -> &IndexMap<String, Value> {
        &self.map
    }
}

// ---------------------------------------------------------------------------------------------

/// Metadata of a Space card.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SpaceCardData {
    map: IndexMap<String, Value>,
}

map_access!(SpaceCardData);
str_keys!(SpaceCardData {
    title, set_title, "title";
    sdk, set_sdk, "sdk";
    sdk_version, set_sdk_version, "sdk_version";
    python_version, set_python_version, "python_version";
    app_file, set_app_file, "app_file";
    license, set_license, "license";
    duplicated_from, set_duplicated_from, "duplicated_from";
});
list_keys!(SpaceCardData {
    models, set_models, "models";
    datasets, set_datasets, "datasets";
});

impl SpaceCardData {
    /// The `app_port`, when it is an integer.
    pub fn app_port(&self) -> Option<u64> {
        self.map.get("app_port").and_then(Value::as_u64)
    }

    /// The `tags`, de-duplicated.
    pub fn tags(&self) -> Vec<String> {
        unique(string_list(self.map.get("tags")))
    }

    /// Sets `tags`.
    pub fn set_tags<I: IntoIterator<Item = S>, S: Into<String>>(&mut self, items: I) {
        self.map.insert("tags".to_owned(), list_value(items));
    }

    /// Sets any key; `null` removes it.
    pub fn set(&mut self, key: impl Into<String>, value: Value) {
        let key = key.into();
        if value.is_null() {
            self.remove(&key);
        } else {
            self.map.insert(key, value);
        }
    }
}

impl CardData for SpaceCardData {
    const REPO_TYPE: RepoType = RepoType::Space;

    fn from_map(map: IndexMap<String, Value>, _lenient: bool) -> Result<Self> {
        Ok(SpaceCardData { map })
    }

    fn map(&self) -> &IndexMap<String, Value> {
        &self.map
    }

    fn to_python_dict(&self) -> Map<String, Value> {
        self.map
            .iter()
            .map(|(k, v)| {
                let v = if k == "tags" {
                    unique_value(v)
                } else {
                    v.clone()
                };
                (k.clone(), v)
            })
            .collect()
    }
}
