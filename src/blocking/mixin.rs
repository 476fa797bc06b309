//! Blocking twins of the [`crate::mixin::ModelHubMixin`] methods, as free
//! functions (so they never clash with the async trait methods in scope).
//!
//! Network work runs on a background runtime thread and file work on the caller's thread, so
//! these work in a plain `main`, inside `spawn_blocking`, and on a thread that already runs a
//! tokio runtime (where `Runtime::block_on` would panic).
//!
//! ```no_run
//! # use hfkit::mixin::{HubModel, ModelHubMixin};
//! # fn demo<M: ModelHubMixin>(model: &M) -> hfkit::Result<()> {
//! use hfkit::blocking::mixin;
//! mixin::save_pretrained(model, "out/model")?;
//! let again: M = mixin::from_pretrained("./out/model")?;
//! # let _ = again; Ok(()) }
//! ```

use std::path::Path;

use serde::de::DeserializeOwned;

use super::runtime::Runtime;
use crate::error::Result;
use crate::hub::commit::CommitInfo;
use crate::mixin::{
    CardWrite, HubModel, LoadContext, LoadOptions, ModelFiles, ModelHubMixin, PushOptions,
    SaveOptions, SavedModel, TempFolder, WeightFormat, load_with, prepare, push_client,
    save_folder, save_for_push, save_sync, upload,
};

/// Connections of the caller's runtime must not be reused from the background one.
fn fresh_pool(mut opts: LoadOptions) -> Result<LoadOptions> {
    if let Some(h) = &opts.hub {
        opts.hub = Some(crate::HubClient::from_http(h.http().fresh_pool()?));
    }
    Ok(opts)
}

/// Blocking [`HubModel::from_pretrained`].
pub fn from_pretrained<M: HubModel>(source: impl Into<String>) -> Result<M> {
    from_pretrained_with(source, LoadOptions::default())
}

/// Blocking [`HubModel::from_pretrained_with`].
pub fn from_pretrained_with<M: HubModel>(
    source: impl Into<String>,
    opts: LoadOptions,
) -> Result<M> {
    let source = source.into();
    let opts = fresh_pool(opts)?;
    Runtime::new()?.block_on(async move {
        load_with(source, opts, M::weight_format, M::extra_files, M::load).await
    })
}

/// Blocking [`load_pretrained`](crate::mixin::load_pretrained).
pub fn load_pretrained<C, T, L>(
    source: impl Into<String>,
    opts: LoadOptions,
    loader: L,
) -> Result<T>
where
    C: DeserializeOwned + Send + 'static,
    T: Send + 'static,
    L: FnOnce(C, &ModelFiles, &LoadContext) -> Result<T> + Send + 'static,
{
    let source = source.into();
    let opts = fresh_pool(opts)?;
    Runtime::new()?.block_on(async move {
        load_with(
            source,
            opts,
            |_: &C| WeightFormat::Safetensors,
            |_: &C| Vec::new(),
            loader,
        )
        .await
    })
}

/// Blocking [`ModelHubMixin::save_pretrained`].
pub fn save_pretrained<M: ModelHubMixin>(model: &M, dir: impl AsRef<Path>) -> Result<SavedModel> {
    save_pretrained_with(model, dir, SaveOptions::default())
}

/// Blocking [`ModelHubMixin::save_pretrained_with`].
pub fn save_pretrained_with<M: ModelHubMixin>(
    model: &M,
    dir: impl AsRef<Path>,
    opts: SaveOptions,
) -> Result<SavedModel> {
    let dir = dir.as_ref();
    let files = save_sync(model, dir, &opts, &opts.card, CardWrite::Generate)?;
    let commit = match &opts.push_to_hub {
        Some(push) => {
            let repo_id = match &opts.push_repo_id {
                Some(id) => id.clone(),
                None => dir
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
            };
            Some(push_to_hub_with(model, repo_id, (**push).clone())?)
        }
        None => None,
    };
    Ok(SavedModel { files, commit })
}

/// Blocking [`ModelHubMixin::push_to_hub`].
pub fn push_to_hub<M: ModelHubMixin>(model: &M, repo_id: impl Into<String>) -> Result<CommitInfo> {
    push_to_hub_with(model, repo_id, PushOptions::default())
}

/// Blocking [`ModelHubMixin::push_to_hub_with`]: the save runs on the caller's thread, the
/// requests on the background runtime.
pub fn push_to_hub_with<M: ModelHubMixin>(
    model: &M,
    repo_id: impl Into<String>,
    opts: PushOptions,
) -> Result<CommitInfo> {
    let repo_id = repo_id.into();
    let rt = Runtime::new()?;
    let hub = push_client(&opts)?;
    // Requests go through a fresh pool owned by the background runtime.
    let hub = crate::HubClient::from_http(hub.http().fresh_pool()?);
    let (id, skip_card) = {
        let hub = hub.clone();
        let opts = opts.clone();
        rt.block_on(async move { prepare(&hub, &repo_id, &opts).await })?
    };
    let tmp = TempFolder::new()?;
    let dir = save_folder(&tmp, &id);
    save_for_push(model, &dir, &id, &opts, skip_card)?;
    let result = {
        let dir = dir.clone();
        rt.block_on(async move { upload(&hub, &id, &dir, &opts).await })
    };
    drop(tmp);
    result
}
