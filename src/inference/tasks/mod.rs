//! Task methods: one file per family. Each method returns a request builder; set options by
//! name, then `.await` it.

mod audio;
mod binary;
mod chat;
mod generation;
mod media;
mod multimodal;
mod raw;
mod tabular;
mod text;
mod vision;

pub use audio::*;
pub use binary::*;
pub use chat::{ChatCompletion, ChatCompletionOptions};
pub use generation::{TextGeneration, TextGenerationOptions};
pub use multimodal::*;
pub use raw::Post;
pub use tabular::*;
pub use text::*;
pub use vision::*;

use futures::future::BoxFuture;

use super::InferenceClient;
use super::request::{self, Payload, RawResponse};
use super::routing;
use super::task::Task;
use super::types::drop_nulls;
use crate::error::{Error, Result};

/// A boxed future of a task call.
pub type TaskFuture<T> = BoxFuture<'static, Result<T>>;

/// Defines a task request builder: the struct, `model`, `header`, `parameter` and the named
/// option setters, `IntoFuture`, and the blocking twin's forwarding setters.
macro_rules! task_builder {
    (
        $(#[$doc:meta])*
        $name:ident -> $out:ty { input: $input:ty, params: $params:ty }
        options { $( $(#[$od:meta])* $opt:ident : $oty:ty => $($ofield:ident).+ ; )* }
        lists { $( $(#[$ld:meta])* $list:ident => $($lfield:ident).+ ; )* }
    ) => {
        $(#[$doc])*
        #[must_use = "a task request does nothing until it is awaited"]
        pub struct $name {
            pub(crate) client: $crate::inference::InferenceClient,
            pub(crate) model: Option<String>,
            pub(crate) headers: Vec<(String, String)>,
            pub(crate) input: $input,
            pub(crate) params: $params,
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($name))
                    .field("model", &self.model)
                    .field("params", &self.params)
                    .finish_non_exhaustive()
            }
        }

        impl $name {
            pub(crate) fn new(client: &$crate::inference::InferenceClient, input: $input) -> Self {
                $name {
                    client: client.clone(),
                    model: None,
                    headers: Vec::new(),
                    input,
                    params: Default::default(),
                }
            }

            /// The model of this call: a Hub id or a URL (overrides the client's).
            pub fn model(mut self, model: impl Into<String>) -> Self {
                self.model = Some(model.into());
                self
            }

            /// A header for this call (overrides the client's and hfkit's of the same name).
            pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
                self.headers.push((name.into(), value.into()));
                self
            }

            /// An extra key sent with the parameters (for options hfkit does not name).
            pub fn parameter(mut self, key: impl Into<String>, value: impl Into<serde_json::Value>) -> Self {
                self.params.extra.insert(key.into(), value.into());
                self
            }

            $(
                $(#[$od])*
                #[allow(clippy::useless_conversion)]
                pub fn $opt(mut self, value: $oty) -> Self {
                    self.params.$($ofield).+ = Some(value.into());
                    self
                }
            )*

            $(
                $(#[$ld])*
                pub fn $list<I, S>(mut self, values: I) -> Self
                where
                    I: IntoIterator<Item = S>,
                    S: Into<String>,
                {
                    self.params.$($lfield).+ = Some(values.into_iter().map(Into::into).collect());
                    self
                }
            )*
        }

        impl std::future::IntoFuture for $name {
            type Output = $crate::error::Result<$out>;
            type IntoFuture = $crate::inference::tasks::TaskFuture<$out>;
            fn into_future(self) -> Self::IntoFuture {
                Box::pin(self.send())
            }
        }

        #[cfg(feature = "blocking")]
        impl $crate::blocking::Call<$name> {
            /// The model of this call: a Hub id or a URL (overrides the client's).
            pub fn model(self, model: impl Into<String>) -> Self {
                self.map(|b| b.model(model))
            }

            /// A header for this call.
            pub fn header(self, name: impl Into<String>, value: impl Into<String>) -> Self {
                self.map(|b| b.header(name, value))
            }

            /// An extra key sent with the parameters.
            pub fn parameter(self, key: impl Into<String>, value: impl Into<serde_json::Value>) -> Self {
                self.map(|b| b.parameter(key, value))
            }

            $(
                $(#[$od])*
                pub fn $opt(self, value: $oty) -> Self {
                    self.map(|b| b.$opt(value))
                }
            )*

            $(
                $(#[$ld])*
                pub fn $list<I, S>(self, values: I) -> Self
                where
                    I: IntoIterator<Item = S>,
                    S: Into<String>,
                {
                    self.map(|b| b.$list(values))
                }
            )*
        }
    };
}
pub(crate) use task_builder;

/// [`run_json`] with a task builder's own `client`, `model` and `headers`:
/// `send_json!(self, Task::X, &body).await`.
macro_rules! send_json {
    ($builder:ident, $task:expr, $body:expr) => {
        $crate::inference::tasks::run_json(
            &$builder.client,
            $task,
            $builder.model.as_deref(),
            &$builder.headers,
            $body,
        )
    };
}
pub(crate) use send_json;

/// Resolves the target and sends a JSON body (nulls dropped).
pub(crate) async fn run_json<T: serde::Serialize>(
    client: &InferenceClient,
    task: Task,
    model: Option<&str>,
    headers: &[(String, String)],
    body: &T,
) -> Result<RawResponse> {
    let target = routing::resolve(client, task, model).await?;
    let bytes = serde_json::to_vec(body).map_err(|e| Error::json("inference request body", e))?;
    // Typed options skip unset keys already; only a `null` from a caller's extra value needs
    // the slower pass that drops them (a text merely containing "null" takes it harmlessly).
    let payload = if bytes.windows(4).any(|w| w == b"null") {
        let value: serde_json::Value =
            serde_json::from_slice(&bytes).map_err(|e| Error::json("inference request body", e))?;
        Payload::json(&drop_nulls(value))?
    } else {
        Payload::Json(bytes.into())
    };
    request::send(client, Some(task), &target, payload, headers).await
}

/// Parses a JSON answer as a value, or says it is not JSON.
pub(crate) fn json_value(resp: &RawResponse) -> Result<serde_json::Value> {
    resp.json()
}

/// A "wrong shape" error for an answer.
pub(crate) fn shape_error(resp: &RawResponse, what: &str, v: &serde_json::Value) -> Error {
    let mut shown = v.to_string();
    if shown.len() > 200 {
        let mut cut = 200;
        while !shown.is_char_boundary(cut) {
            cut -= 1;
        }
        shown.truncate(cut);
        shown.push('…');
    }
    Error::MalformedResponse {
        url: resp.url.clone(),
        message: format!("expected {what}, got {shown}"),
    }
}

/// Deserialises `v` into `T`, or a "wrong shape" error.
pub(crate) fn from_value<T: serde::de::DeserializeOwned>(
    resp: &RawResponse,
    what: &str,
    v: serde_json::Value,
) -> Result<T> {
    T::deserialize(&v).map_err(|_| shape_error(resp, what, &v))
}

/// Element 0 of a list, or the object itself (summarization, translation, table QA).
pub(crate) fn first_or_object<T: serde::de::DeserializeOwned>(
    resp: &RawResponse,
    what: &str,
) -> Result<T> {
    let v = json_value(resp)?;
    let item = match v {
        serde_json::Value::Array(mut a) if !a.is_empty() => a.swap_remove(0),
        serde_json::Value::Array(_) => return Err(shape_error(resp, what, &serde_json::json!([]))),
        other => other,
    };
    from_value(resp, what, item)
}
