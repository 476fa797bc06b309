//! Blocking twins of the async clients, with the same methods.
//!
//! They forward every call to a tokio runtime on a background thread (the pattern of
//! `reqwest::blocking`), so they work in a plain `main`, inside `spawn_blocking`, and even when
//! called from a thread that already runs a tokio runtime. Paginated results are lazy iterators;
//! dropping one cancels its request.
//!
//! ```no_run
//! let hub = hfkit::blocking::HubClient::new()?;
//! let path = hub.model("openai-community/gpt2").download("config.json")?;
//! for file in hub.model("openai-community/gpt2").list_files()? {
//!     println!("{file}");
//! }
//! # let _ = path;
//! # Ok::<(), hfkit::Error>(())
//! ```

mod hub;
mod inference;
pub mod mixin;
mod runtime;

pub use hub::{ApiRepo, HubClient};
pub use inference::{Call, InferenceClient};
pub use runtime::BlockingIter;
