//! `hfkit repo create|delete|settings|branch|tag`.

use hfkit::hub::repos::CreateRepo;
use hfkit::{RepoType, Result};

/// `hfkit repo …`
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    pub action: Action,
}

/// Options naming a repository.
#[derive(clap::Args, Debug)]
pub struct Target {
    /// The repository, e.g. `me/my-model`.
    pub repo_id: String,
    /// Repository type.
    #[arg(long, default_value = "model", value_parser = ["model", "dataset", "space"])]
    pub repo_type: String,
    /// Access token (default: HF_TOKEN, then the stored token).
    #[arg(long)]
    pub token: Option<String>,
}

/// What to do.
#[derive(clap::Subcommand, Debug)]
pub enum Action {
    /// Create a repository; prints its URL.
    Create {
        #[command(flatten)]
        target: Target,
        /// Private repository.
        #[arg(long)]
        private: bool,
        /// SDK of a Space (gradio, streamlit, docker, static).
        #[arg(long)]
        space_sdk: Option<String>,
        /// No error when it already exists.
        #[arg(long)]
        exist_ok: bool,
    },
    /// Delete a repository.
    Delete {
        #[command(flatten)]
        target: Target,
        /// No error when it does not exist.
        #[arg(long)]
        missing_ok: bool,
    },
    /// Change visibility.
    Settings {
        #[command(flatten)]
        target: Target,
        /// Make it private.
        #[arg(long, conflicts_with = "public")]
        private: bool,
        /// Make it public.
        #[arg(long)]
        public: bool,
    },
    /// Create (or with --delete, delete) a branch.
    Branch {
        #[command(flatten)]
        target: Target,
        /// The branch.
        name: String,
        /// Where it starts (default: main's head).
        #[arg(long)]
        revision: Option<String>,
        /// Delete it instead.
        #[arg(long)]
        delete: bool,
    },
    /// Create (or with --delete, delete) a tag.
    Tag {
        #[command(flatten)]
        target: Target,
        /// The tag.
        name: String,
        /// What it points at (default: main).
        #[arg(long, default_value = "main")]
        revision: String,
        /// Tag message.
        #[arg(long, short)]
        message: Option<String>,
        /// Delete it instead.
        #[arg(long)]
        delete: bool,
    },
}

/// Runs the command.
pub fn run(a: Args) -> Result<()> {
    match a.action {
        Action::Create {
            target,
            private,
            space_sdk,
            exist_ok,
        } => {
            let repo_type: RepoType = target.repo_type.parse()?;
            let hub = super::client(target.token.as_deref(), None)?;
            let mut req = CreateRepo::new(target.repo_id)
                .repo_type(repo_type)
                .exist_ok(exist_ok);
            if private {
                req = req.private(true);
            }
            if let Some(sdk) = space_sdk {
                req = req.space_sdk(sdk);
            }
            outln!("{}", hub.create_repo(req)?.url);
        }
        Action::Delete { target, missing_ok } => {
            let repo_type: RepoType = target.repo_type.parse()?;
            let hub = super::client(target.token.as_deref(), None)?;
            hub.delete_repo(&target.repo_id, repo_type, missing_ok)?;
            eprintln!("Deleted {}", target.repo_id);
        }
        Action::Settings {
            target,
            private,
            public,
        } => {
            let repo_type: RepoType = target.repo_type.parse()?;
            let hub = super::client(target.token.as_deref(), None)?;
            let visibility = (private || public).then_some(private);
            hub.typed(target.repo_id, repo_type)
                .update_repo_settings(visibility, None)?;
        }
        Action::Branch {
            target,
            name,
            revision,
            delete,
        } => {
            let repo_type: RepoType = target.repo_type.parse()?;
            let hub = super::client(target.token.as_deref(), None)?;
            let repo = hub.typed(target.repo_id, repo_type);
            if delete {
                repo.delete_branch(&name)?;
            } else {
                repo.create_branch(&name, revision.as_deref(), false)?;
            }
        }
        Action::Tag {
            target,
            name,
            revision,
            message,
            delete,
        } => {
            let repo_type: RepoType = target.repo_type.parse()?;
            let hub = super::client(target.token.as_deref(), None)?;
            let repo = hub.typed(target.repo_id, repo_type).revision(revision);
            if delete {
                repo.delete_tag(&name)?;
            } else {
                repo.create_tag(&name, message.as_deref(), false)?;
            }
        }
    }
    Ok(())
}
