//! # hfkit
//!
//! Use the Hugging Face Hub from Rust the way Python users do with `huggingface_hub`:
//! download files and snapshots into the **same cache** Python uses (so both share it), query
//! repositories, and run a local Hub mirror.
//!
//! ## Layers
//!
//! Data flows one way: [`config`] → [`http`] → domain clients ([`hub`]) → [`blocking`] twins and
//! the `hfkit` CLI. Nothing lower imports anything higher.
//!
//! ```no_run
//! # async fn demo() -> hfkit::Result<()> {
//! use hfkit::HubClient;
//! let hub = HubClient::new()?;
//! let path = hub.model("openai-community/gpt2").download("config.json").await?;
//! println!("{}", path.display());
//! # Ok(()) }
//! ```
#![warn(missing_docs)]

pub mod auth;
pub mod card;
pub mod config;
pub mod error;
pub mod http;
pub mod hub;
pub mod inference;
pub mod mixin;
pub mod repo;

#[cfg(feature = "blocking")]
pub mod blocking;
#[cfg(feature = "server")]
pub mod mirror;

pub use auth::Token;
pub use config::{Settings, SettingsBuilder};
pub use error::{Error, HttpContext, Result};
pub use hub::HubClient;
pub use inference::InferenceClient;
pub use mixin::{HubModel, ModelHubMixin};
pub use repo::{Repo, RepoId, RepoType};

/// The README's Rust examples, compiled as doctests so that they stay true to the API.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
