//! `push_to_hub` (spec §4.4): token check, `create_repo(exist_ok)`, a save into a temporary
//! folder removed on every exit path, then one commit.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::ModelHubMixin;
use super::files::client_for;
use super::options::{CardMode, PushOptions};
use super::save::{CardWrite, blocking_section, save_sync};
use crate::error::{Error, HttpContext, Result};
use crate::hub::HubClient;
use crate::hub::commit::CommitInfo;
use crate::hub::repos::CreateRepo;
use crate::hub::upload::UploadFolderOptions;

/// The default commit title of a push.
pub const DEFAULT_PUSH_MESSAGE: &str = "Push model using hfkit.";

/// A temporary folder removed when dropped (also when the push future is cancelled).
pub(crate) struct TempFolder(PathBuf);

impl TempFolder {
    pub(crate) fn new() -> Result<Self> {
        let base = std::env::temp_dir().join(format!("hfkit-push-{:016x}", fastrand::u64(..)));
        std::fs::create_dir_all(&base)
            .map_err(|e| Error::io(format!("creating {}", base.display()), e))?;
        Ok(TempFolder(base))
    }

    pub(crate) fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempFolder {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_dir_all(&self.0) {
            tracing::warn!(
                "could not remove the temporary folder {}: {e}",
                self.0.display()
            );
        }
    }
}

/// The client of a push, refusing before any I/O when it has no token.
pub(crate) fn push_client(opts: &PushOptions) -> Result<HubClient> {
    let hub = client_for(opts.hub.clone(), opts.token.clone(), None)?;
    if hub.settings().resolve_token().is_none() {
        return Err(Error::Unauthorized(Box::new(HttpContext {
            method: "POST".into(),
            url: format!("{}/api/repos/create", hub.settings().endpoint()),
            server_message: Some(
                "pushing needs a token with write access: pass PushOptions::token, set HF_TOKEN, or run `hfkit login`"
                    .into(),
            ),
            ..HttpContext::default()
        })));
    }
    Ok(hub)
}

/// Steps 2 and 4 of the push: the repository (canonical id) and whether the card is written.
pub(crate) async fn prepare(
    hub: &HubClient,
    repo_id: &str,
    opts: &PushOptions,
) -> Result<(String, bool)> {
    let mut req = CreateRepo::new(repo_id).exist_ok(true);
    if let Some(p) = opts.private {
        req = req.private(p);
    }
    let created = hub.create_repo(req).await?;
    let id = created.repo_id;
    let skip_card = match &opts.card {
        CardMode::KeepRemote => {
            let branch = opts.branch.clone().unwrap_or_else(|| "main".to_owned());
            hub.model(id.clone())
                .revision(branch)
                .file_exists(super::weights::README_NAME)
                .await?
        }
        _ => false,
    };
    Ok((id, skip_card))
}

/// Step 5: one commit of the folder.
pub(crate) async fn upload(
    hub: &HubClient,
    repo_id: &str,
    folder: &Path,
    opts: &PushOptions,
) -> Result<CommitInfo> {
    let mut up = UploadFolderOptions {
        allow_patterns: opts.allow_patterns.clone(),
        ignore_patterns: opts.ignore_patterns.clone(),
        delete_patterns: opts.delete_patterns.clone(),
        message: Some(
            opts.commit_message
                .clone()
                .unwrap_or_else(|| DEFAULT_PUSH_MESSAGE.to_owned()),
        ),
        description: opts.commit_description.clone(),
        create_pr: opts.create_pr,
        ..UploadFolderOptions::default()
    };
    up.path_in_repo = None;
    let branch = opts.branch.clone().unwrap_or_else(|| "main".to_owned());
    hub.model(repo_id.to_owned())
        .revision(branch)
        .upload_folder(folder, up)
        .await
}

/// The folder name of the save (the repository's name).
pub(crate) fn save_folder(tmp: &TempFolder, repo_id: &str) -> PathBuf {
    let name = repo_id.rsplit('/').next().unwrap_or(repo_id);
    tmp.path().join(name)
}

/// Saves `model` for a push to `repo_id` (blocking).
pub(crate) fn save_for_push<M: ModelHubMixin>(
    model: &M,
    dir: &Path,
    repo_id: &str,
    opts: &PushOptions,
    skip_card: bool,
) -> Result<()> {
    let mut card_opts = opts.save.card.clone();
    for key in ["repo_id", "model_id"] {
        card_opts
            .vars
            .entry(key.to_owned())
            .or_insert_with(|| Value::String(repo_id.to_owned()));
    }
    let card = match (&opts.card, skip_card) {
        (_, true) => CardWrite::Skip,
        (CardMode::Provided(c), _) => CardWrite::Provided(c),
        _ => CardWrite::Generate,
    };
    let mut save = opts.save.clone();
    save.overwrite_card = true;
    save.push_to_hub = None;
    save_sync(model, dir, &save, &card_opts, card).map(|_| ())
}

/// The whole push, async.
pub(crate) async fn push<M: ModelHubMixin>(
    model: &M,
    repo_id: &str,
    opts: &PushOptions,
) -> Result<CommitInfo> {
    let hub = push_client(opts)?;
    let (id, skip_card) = prepare(&hub, repo_id, opts).await?;
    let tmp = TempFolder::new()?;
    let dir = save_folder(&tmp, &id);
    blocking_section(|| save_for_push(model, &dir, &id, opts, skip_card))?;
    let info = upload(&hub, &id, &dir, opts).await;
    drop(tmp);
    info
}
