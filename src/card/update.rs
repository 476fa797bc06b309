//! `metadata_update`: merging a metadata patch into a repository's card and committing it
//! (spec cards-and-mixin.md §3).

use indexmap::IndexMap;
use serde_json::{Map, Value, json};

use super::data::{CardData, DatasetCardData, ModelCardData, SpaceCardData};
use super::eval::{EvalResult, eval_results_to_model_index, parse_model_index};
use super::push::PushOptions;
use super::template::DEFAULT_DATASET_CARD_TEMPLATE;
use super::{DatasetCard, ModelCard, RepoCard};
use crate::error::{Error, Result};
use crate::hub::ApiRepo;
use crate::hub::commit::CommitInfo;
use crate::repo::RepoType;

/// The commit title [`ApiRepo::metadata_update`] uses when none is given.
pub(crate) const DEFAULT_UPDATE_MESSAGE: &str = "Update metadata with hfkit";

/// Known keys of each card type in Python's constructor order: where Python places keys that a
/// patch adds (before new unknown keys).
const MODEL_KEYS: &[&str] = &[
    "base_model",
    "datasets",
    "language",
    "library_name",
    "license",
    "license_name",
    "license_link",
    "metrics",
    "pipeline_tag",
    "tags",
];
const DATASET_KEYS: &[&str] = &[
    "language",
    "license",
    "annotations_creators",
    "language_creators",
    "multilinguality",
    "size_categories",
    "source_datasets",
    "task_categories",
    "task_ids",
    "paperswithcode_id",
    "pretty_name",
    "train-eval-index",
    "config_names",
];

/// How [`ApiRepo::metadata_update`] merges and commits.
///
/// ```
/// use hfkit::card::MetadataUpdateOptions;
/// let opts = MetadataUpdateOptions::default().overwrite(true).create_pr(true);
/// assert!(opts.overwrite && opts.create_pr);
/// ```
#[derive(Debug, Clone, Default)]
pub struct MetadataUpdateOptions {
    /// Replace existing values (and remove keys the patch sets to `null`); without it a
    /// differing existing value is a [`MetadataConflict`](Error::MetadataConflict).
    pub overwrite: bool,
    /// The commit title (default `Update metadata with hfkit`).
    pub commit_message: Option<String>,
    /// The commit description (default empty).
    pub commit_description: Option<String>,
    /// Open a pull request from the handle's revision instead of committing to it.
    pub create_pr: bool,
    /// The commit the branch head must be (5–40 hex digits).
    pub parent_commit: Option<String>,
}

impl MetadataUpdateOptions {
    /// Whether existing values may be replaced.
    pub fn overwrite(mut self, yes: bool) -> Self {
        self.overwrite = yes;
        self
    }

    /// The commit title.
    pub fn commit_message(mut self, m: impl Into<String>) -> Self {
        self.commit_message = Some(m.into());
        self
    }

    /// The commit description.
    pub fn commit_description(mut self, d: impl Into<String>) -> Self {
        self.commit_description = Some(d.into());
        self
    }

    /// Open a pull request.
    pub fn create_pr(mut self, yes: bool) -> Self {
        self.create_pr = yes;
        self
    }

    /// The expected parent commit.
    pub fn parent_commit(mut self, c: impl Into<String>) -> Self {
        self.parent_commit = Some(c.into());
        self
    }
}

impl ApiRepo {
    /// Merges `patch` into the metadata of this repository's `README.md` (at the handle's
    /// revision) and commits the card (spec cards-and-mixin.md §3):
    ///
    /// - a key whose existing value differs is a [`MetadataConflict`](Error::MetadataConflict)
    ///   unless `opts.overwrite`; `null` removes a key (which, for an existing key, needs
    ///   `overwrite`); new keys are added where Python adds them (known keys first, before a
    ///   trailing `model-index`);
    /// - `model-index` (model repositories) is merged result by result: a result equal to an
    ///   existing one in every field but the metric value (and verification token) replaces its
    ///   value (a conflict without `overwrite`), others are appended; a card without results
    ///   takes the patch's results and model name (the repository id when the patch has none);
    /// - a model or dataset repository without `README.md` starts from hfkit's default card
    ///   template; a Space without one is an error.
    ///
    /// ```no_run
    /// # async fn demo() -> hfkit::Result<()> {
    /// use hfkit::card::MetadataUpdateOptions;
    /// let hub = hfkit::HubClient::new()?;
    /// let patch = serde_json::json!({"license": "mit", "tags": ["vision"]});
    /// let info = hub
    ///     .model("me/my-model")
    ///     .metadata_update(patch.as_object().cloned().unwrap_or_default(), MetadataUpdateOptions::default())
    ///     .await?;
    /// println!("{}", info.commit_url);
    /// # Ok(()) }
    /// ```
    pub async fn metadata_update(
        &self,
        patch: Map<String, Value>,
        opts: MetadataUpdateOptions,
    ) -> Result<CommitInfo> {
        let repo = self.repo()?;
        let repo_id = repo.id().to_string();
        match repo.repo_type() {
            RepoType::Model => {
                let mut card = match load::<ModelCardData>(self).await? {
                    Some(c) => c,
                    None => ModelCard::from_template(
                        ModelCardData::new(),
                        None,
                        json!({"model_id": repo_id, "repo_id": repo_id}),
                    )?,
                };
                merge_into(&mut card, &patch, opts.overwrite, &repo_id)?;
                self.push_merged(&card, opts).await
            }
            RepoType::Dataset => {
                let mut card = match load::<DatasetCardData>(self).await? {
                    Some(c) => c,
                    None => DatasetCard::from_template_str(
                        &DatasetCardData::new(),
                        DEFAULT_DATASET_CARD_TEMPLATE,
                        json!({"dataset_id": repo_id, "hfkit_version": env!("CARGO_PKG_VERSION")}),
                    )?,
                };
                merge_into(&mut card, &patch, opts.overwrite, &repo_id)?;
                self.push_merged(&card, opts).await
            }
            RepoType::Space => {
                let Some(mut card) = load::<SpaceCardData>(self).await? else {
                    return Err(Error::Card {
                        line: None,
                        message: format!(
                            "cannot update the metadata of the Space {repo_id}: it has no README.md \
                             (a Space cannot exist without one)"
                        ),
                    });
                };
                merge_into(&mut card, &patch, opts.overwrite, &repo_id)?;
                self.push_merged(&card, opts).await
            }
        }
    }

    async fn push_merged<D: CardData>(
        &self,
        card: &RepoCard<D>,
        opts: MetadataUpdateOptions,
    ) -> Result<CommitInfo> {
        let push = PushOptions {
            repo_type: Some(self.repo_type()),
            revision: Some(self.revision_str().to_owned()),
            commit_message: Some(
                opts.commit_message
                    .unwrap_or_else(|| DEFAULT_UPDATE_MESSAGE.to_owned()),
            ),
            commit_description: opts.commit_description,
            create_pr: opts.create_pr,
            parent_commit: opts.parent_commit,
            skip_validation: false,
        };
        card.push_to_hub(self.hub(), self.id(), push).await
    }
}

/// The repository's card, or `None` when it has no `README.md`.
async fn load<D: CardData>(repo: &ApiRepo) -> Result<Option<RepoCard<D>>> {
    match RepoCard::<D>::load_from_hub(repo).await {
        Ok(card) => Ok(Some(card)),
        Err(Error::EntryNotFound { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Equality as Python's `==` sees parsed YAML/JSON values: numbers compare by value (`1 == 1.0`).
fn py_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(i), Some(j)) => i == j,
            _ => x.as_f64() == y.as_f64(),
        },
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| py_eq(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| py_eq(v, w)))
        }
        _ => a == b,
    }
}

fn conflict(key: &str, existing: &Value, new: &Value) -> Error {
    Error::MetadataConflict {
        key: key.to_owned(),
        message: format!("the card has {existing}, the update has {new}"),
    }
}

/// Merges `patch` into `card`'s metadata (rules 2–3 of spec §3); `repo_id` names a nameless
/// `model-index` of a card without results.
pub(crate) fn merge_into<D: CardData>(
    card: &mut RepoCard<D>,
    patch: &Map<String, Value>,
    overwrite: bool,
    repo_id: &str,
) -> Result<()> {
    let known: &[&str] = match D::REPO_TYPE {
        RepoType::Model => MODEL_KEYS,
        RepoType::Dataset => DATASET_KEYS,
        RepoType::Space => &[],
    };
    let index_patch = match D::REPO_TYPE {
        RepoType::Model => patch.get("model-index"),
        _ => None,
    };
    let mut map: IndexMap<String, Value> = card.data().map().clone();
    let mut added: Vec<(String, Value)> = Vec::new();
    for (key, value) in patch {
        if index_patch.is_some() && key == "model-index" {
            continue;
        }
        match map.get(key) {
            Some(existing) => {
                if !overwrite && !py_eq(existing, value) {
                    return Err(conflict(key, existing, value));
                }
                if value.is_null() {
                    map.shift_remove(key);
                } else {
                    map.insert(key.clone(), value.clone());
                }
            }
            None if value.is_null() => {}
            None => added.push((key.clone(), value.clone())),
        }
    }
    // Python writes new known keys in its constructor order, then new unknown keys, all before
    // `model-index` (which it always writes last).
    added.sort_by_key(|(k, _)| known.iter().position(|x| x == k).unwrap_or(usize::MAX));
    let at = match map.last() {
        Some((k, _)) if k == "model-index" => map.len() - 1,
        _ => map.len(),
    };
    for (i, (k, v)) in added.into_iter().enumerate() {
        map.shift_insert(at + i, k, v);
    }
    if let Some(value) = index_patch {
        let current = ModelCardData::from_map(card.data().map().clone(), false)?;
        let merged = merge_model_index(&current, value, overwrite, repo_id)?;
        // Replaces in place when present, else appends (last, as Python writes it).
        map.insert("model-index".to_owned(), merged);
    }
    card.set_data(D::from_map(map, false)?);
    Ok(())
}

/// Whether two results describe the same metric: equal in every field but the value and the
/// verification token.
fn same_metric(a: &EvalResult, b: &EvalResult) -> bool {
    a.task_type == b.task_type
        && a.task_name == b.task_name
        && a.dataset_type == b.dataset_type
        && a.dataset_name == b.dataset_name
        && a.dataset_config == b.dataset_config
        && a.dataset_split == b.dataset_split
        && a.dataset_revision == b.dataset_revision
        && opt_eq(&a.dataset_args, &b.dataset_args)
        && a.metric_type == b.metric_type
        && a.metric_name == b.metric_name
        && a.metric_config == b.metric_config
        && opt_eq(&a.metric_args, &b.metric_args)
        && a.verified == b.verified
        && a.source_name == b.source_name
        && a.source_url == b.source_url
}

fn opt_eq(a: &Option<Value>, b: &Option<Value>) -> bool {
    match (a, b) {
        (Some(x), Some(y)) => py_eq(x, y),
        (None, None) => true,
        _ => false,
    }
}

/// The merged `model-index` value (rule 3 of spec §3).
fn merge_model_index(
    current: &ModelCardData,
    patch: &Value,
    overwrite: bool,
    repo_id: &str,
) -> Result<Value> {
    let mut patch = patch.clone();
    if let Some(Value::Object(first)) = patch.as_array_mut().and_then(|a| a.first_mut())
        && !first.contains_key("name")
    {
        first.insert("name".to_owned(), Value::String(repo_id.to_owned()));
    }
    let entries = parse_model_index(&patch)?;
    let new_results: Vec<EvalResult> = entries
        .iter()
        .flat_map(|e| e.eval_results.iter().cloned())
        .collect();
    if current.model_index().is_empty() {
        let name = entries.last().map(|e| e.name.as_str()).unwrap_or(repo_id);
        return eval_results_to_model_index(name, &new_results);
    }
    let name = current.model_name().unwrap_or(repo_id).to_owned();
    let mut results = current.eval_results();
    for new in new_results {
        let mut found = false;
        for existing in results.iter_mut() {
            if !same_metric(&new, existing) {
                continue;
            }
            let differs = !py_eq(&new.metric_value, &existing.metric_value)
                || new.verify_token != existing.verify_token;
            if differs && !overwrite {
                return Err(Error::MetadataConflict {
                    key: "model-index".to_owned(),
                    message: format!(
                        "the metric `{}`{} on task `{}` / dataset `{}` has the value {}, the \
                         update has {}",
                        new.metric_type,
                        new.metric_name
                            .as_deref()
                            .map(|n| format!(" ({n})"))
                            .unwrap_or_default(),
                        new.task_type,
                        new.dataset_type,
                        existing.metric_value,
                        new.metric_value
                    ),
                });
            }
            found = true;
            existing.metric_value = new.metric_value.clone();
            if existing.verified == Some(true) {
                existing.verify_token = new.verify_token.clone();
            }
        }
        if !found {
            results.push(new);
        }
    }
    eval_results_to_model_index(&name, &results)
}

#[cfg(test)]
#[path = "update_tests.rs"]
mod tests;
