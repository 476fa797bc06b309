//! The escape hatch: `client.post(task_or_path)` with any body, returning the raw answer.

use bytes::Bytes;

use crate::error::{Error, Result};
use crate::http::TokenMode;
use crate::inference::InferenceClient;
use crate::inference::request::{self, Payload, RawResponse};
use crate::inference::routing::{self, Mode, Target};
use crate::inference::task::Task;

/// A raw inference request: JSON or bytes to a task's route, a URL, or a router path.
#[must_use = "a request does nothing until it is awaited"]
pub struct Post {
    client: InferenceClient,
    target: String,
    model: Option<String>,
    headers: Vec<(String, String)>,
    body: Option<Payload>,
}

impl std::fmt::Debug for Post {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Post")
            .field("target", &self.target)
            .field("model", &self.model)
            .finish_non_exhaustive()
    }
}

impl Post {
    /// The model (Hub id or URL) when the target is a task.
    pub fn model(mut self, model: impl Into<String>) -> Self {
        self.model = Some(model.into());
        self
    }

    /// A header for this call.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// A JSON body (`null`s are kept: the body is sent as given).
    pub fn json(mut self, body: serde_json::Value) -> Self {
        self.body = Some(Payload::Json(Bytes::from(body.to_string())));
        self
    }

    /// A raw body with an optional content type.
    pub fn bytes(mut self, body: impl Into<Bytes>, content_type: Option<&str>) -> Self {
        self.body = Some(Payload::Raw(body.into(), content_type.map(str::to_owned)));
        self
    }

    /// Sends the request.
    pub async fn send(self) -> Result<RawResponse> {
        let client = &self.client;
        let payload = self
            .body
            .clone()
            .unwrap_or_else(|| Payload::Json(Bytes::from_static(b"{}")));
        let (task, target) = if let Ok(task) = self.target.parse::<Task>() {
            (
                Some(task),
                routing::resolve(client, task, self.model.as_deref()).await?,
            )
        } else if self.target.starts_with("http://") || self.target.starts_with("https://") {
            // A URL target is a direct call: resolve it as a URL model of a generic task.
            let mut t =
                routing::resolve(client, Task::TextClassification, Some(&self.target)).await?;
            t.url = self.target.clone();
            t.parsed = None;
            (None, t)
        } else if self.target.starts_with('/') {
            let url = format!("{}{}", client.inner.router_url, self.target);
            (
                None,
                Target {
                    mode: Mode::HfInference,
                    key: url.clone(),
                    url,
                    body_model: String::new(),
                    token: TokenMode::Auto,
                    trust_origin: false,
                    provider_headers: &[],
                    parsed: None,
                },
            )
        } else {
            return Err(Error::InvalidInput(format!(
                "post target {:?} is neither a task name, an http(s) URL, nor a router path \
                 starting with `/`",
                self.target
            )));
        };
        request::send(client, task, &target, payload, &self.headers).await
    }
}

impl std::future::IntoFuture for Post {
    type Output = Result<RawResponse>;
    type IntoFuture = super::TaskFuture<RawResponse>;
    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.send())
    }
}

impl InferenceClient {
    /// A raw request: `target` is a task name (routed like that task), an `http(s)` URL, or a
    /// path on the router (`/hf-inference/models/org/m`). The answer comes back unparsed.
    pub fn post(&self, target: impl Into<String>) -> Post {
        Post {
            client: self.clone(),
            target: target.into(),
            model: None,
            headers: Vec::new(),
            body: None,
        }
    }
}
