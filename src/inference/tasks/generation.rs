//! `text_generation`, whole or streamed (inference.md §5.5, §6).

use super::{json_value, shape_error, task_builder};
use crate::error::{Error, Result};
use crate::inference::InferenceClient;
use crate::inference::TextGenerationStream;
use crate::inference::request::{self, Payload};
use crate::inference::routing::{self, Target};
use crate::inference::task::Task;
use crate::inference::types::*;

/// Options of a `text_generation` call: the TGI parameters and the top-level `stream` flag.
#[derive(Debug, Clone, Default)]
pub struct TextGenerationOptions {
    /// The TGI parameters.
    pub parameters: TextGenerationParameters,
    /// Top-level `stream` (sent only when set; `.await` accepts only `false`, `.stream()` sends
    /// `true`).
    pub stream: Option<bool>,
    /// Extra keys (into `parameters`).
    pub extra: Extra,
}

task_builder! {
    /// A `text_generation` call; `.await` it for the generated text (and details if asked).
    TextGeneration -> TextGenerationOutput { input: String, params: TextGenerationOptions }
    options {
        /// LoRA adapter id.
        adapter_id: impl Into<String> => parameters.adapter_id;
        /// Generate `n` sequences and return the best (needs sampling).
        best_of: u32 => parameters.best_of;
        /// Return prompt token details (needs `details`).
        decoder_input_details: bool => parameters.decoder_input_details;
        /// Return generation details.
        details: bool => parameters.details;
        /// Sample instead of greedy decoding.
        do_sample: bool => parameters.do_sample;
        /// Frequency penalty.
        frequency_penalty: f64 => parameters.frequency_penalty;
        /// A grammar (`{"type":"json","value":…}`), sent as given.
        grammar: impl Into<serde_json::Value> => parameters.grammar;
        /// Most new tokens.
        max_new_tokens: u32 => parameters.max_new_tokens;
        /// Repetition penalty.
        repetition_penalty: f64 => parameters.repetition_penalty;
        /// Prepend the prompt to the output.
        return_full_text: bool => parameters.return_full_text;
        /// Random seed.
        seed: u64 => parameters.seed;
        /// Temperature.
        temperature: f64 => parameters.temperature;
        /// Top-k sampling.
        top_k: u32 => parameters.top_k;
        /// Most likely tokens per step.
        top_n_tokens: u32 => parameters.top_n_tokens;
        /// Nucleus sampling.
        top_p: f64 => parameters.top_p;
        /// Keep the last `n` input tokens.
        truncate: u32 => parameters.truncate;
        /// Typical sampling.
        typical_p: f64 => parameters.typical_p;
        /// Watermark the output.
        watermark: bool => parameters.watermark;
    }
    lists {
        /// Stop sequences.
        stop => parameters.stop;
    }
}

/// The parameter names of a transformers backend's "`model_kwargs` are not used" 400.
pub(crate) fn rejected_kwargs(message: &str) -> Option<Vec<String>> {
    let marker = "are not used by the model: [";
    let start = message.find(marker)? + marker.len();
    let end = start + message[start..].find(']')?;
    let names: Vec<String> = message[start..end]
        .split(',')
        .map(|s| {
            s.trim()
                .trim_matches(|c| c == '\'' || c == '"')
                .trim()
                .to_owned()
        })
        .filter(|s| !s.is_empty())
        .collect();
    (!names.is_empty()).then_some(names)
}

fn strip(body: &mut serde_json::Value, names: &[String]) {
    if let Some(p) = body.get_mut("parameters").and_then(|p| p.as_object_mut()) {
        for n in names {
            p.remove(n);
        }
    }
}

impl TextGeneration {
    /// Sends the top-level `stream` key with this value, as Python's `stream=False` does
    /// (unset, the key is omitted). Awaiting the call accepts only `false`; call
    /// [`.stream()`](Self::stream) to stream.
    pub fn stream_flag(mut self, value: bool) -> Self {
        self.params.stream = Some(value);
        self
    }

    /// Resolves the target and builds the body (the §5.5 memory applied).
    async fn prepare(&self, stream: bool) -> Result<(Target, serde_json::Value)> {
        let mut parameters = self.params.parameters.clone();
        parameters.extra.extend(self.params.extra.clone());
        if parameters.decoder_input_details == Some(true) && parameters.details != Some(true) {
            tracing::warn!("decoder_input_details needs details=true; sending it as false");
            parameters.decoder_input_details = Some(false);
        }
        let client = &self.client;
        let target = routing::resolve(client, Task::TextGeneration, self.model.as_deref()).await?;
        // TGI's `/generate_stream` streams without the flag; every other route needs it.
        let stream_flag = if stream {
            let dedicated = url::Url::parse(&target.url)
                .is_ok_and(|u| u.path().trim_end_matches('/').ends_with("/generate_stream"));
            (!dedicated).then_some(true)
        } else {
            self.params.stream
        };
        let request = TextGenerationRequest {
            inputs: self.input.clone(),
            parameters,
            stream: stream_flag,
        };
        let mut body = drop_nulls(
            serde_json::to_value(&request).map_err(|e| Error::json("text generation body", e))?,
        );
        let known = remembered(client, &target.key);
        if !known.is_empty() {
            tracing::warn!(
                "{} rejects {:?}; not sending them",
                target.key,
                known.join(", ")
            );
            strip(&mut body, &known);
        }
        Ok((target, body))
    }

    async fn send(self) -> Result<TextGenerationOutput> {
        if self.params.stream == Some(true) {
            return Err(Error::InvalidInput(
                "`stream(true)` cannot be awaited as one answer; call `.stream()` for the stream \
                 of tokens"
                    .into(),
            ));
        }
        let client = &self.client;
        let (target, mut body) = self.prepare(false).await?;
        let headers = &self.headers;
        let target_ref = &target;
        let send = |body: &serde_json::Value| {
            let payload = Payload::json(body);
            async move {
                request::send(
                    client,
                    Some(Task::TextGeneration),
                    target_ref,
                    payload?,
                    headers,
                )
                .await
            }
        };
        let resp = match send(&body).await {
            Err(Error::BadRequest(ctx))
                if ctx
                    .server_message
                    .as_deref()
                    .and_then(rejected_kwargs)
                    .is_some() =>
            {
                let names = ctx
                    .server_message
                    .as_deref()
                    .and_then(rejected_kwargs)
                    .unwrap_or_default();
                tracing::warn!(
                    "{} is not a TGI server; resending without {}",
                    target.key,
                    names.join(", ")
                );
                remember(client, &target.key, &names);
                strip(&mut body, &names);
                send(&body).await?
            }
            other => other?,
        };
        // `[{generated_text, details?}]` (TGI `/`, legacy API) or `{…}` (`/generate`); providers'
        // `{choices: [{text}]}` too.
        let v = json_value(&resp)?;
        let item = match &v {
            serde_json::Value::Array(a) => a.first().cloned(),
            serde_json::Value::Object(o) if o.contains_key("choices") => o
                .get("choices")
                .and_then(|c| c.get(0))
                .and_then(|c| c.get("text"))
                .map(|t| serde_json::json!({ "generated_text": t })),
            serde_json::Value::Object(_) => Some(v.clone()),
            _ => None,
        };
        let item = item.ok_or_else(|| shape_error(&resp, "[{generated_text}]", &v))?;
        serde_json::from_value(item.clone())
            .map_err(|_| shape_error(&resp, "{generated_text, details?}", &item))
    }

    /// Sends the request with `stream: true` and returns the stream of generated tokens as
    /// soon as the server answers (inference.md §6). Errors before the answer (HTTP status,
    /// connection) are retried like any call; nothing is retried once the stream is returned.
    /// An error event inside the stream is an [`Error::Stream`] item; dropping the stream
    /// cancels the request.
    ///
    /// ```no_run
    /// # async fn demo() -> hfkit::Result<()> {
    /// use futures::StreamExt;
    /// let client = hfkit::inference::InferenceClient::builder()
    ///     .base_url("http://127.0.0.1:8080")
    ///     .build()?;
    /// let mut tokens = client.text_generation("The sky is").max_new_tokens(20).stream().await?;
    /// while let Some(chunk) = tokens.next().await {
    ///     print!("{}", chunk?.token.text);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn stream(self) -> Result<TextGenerationStream> {
        let client = &self.client;
        let (target, body) = self.prepare(true).await?;
        let payload = Payload::json(&body)?;
        let resp = match request::send_stream(
            client,
            Some(Task::TextGeneration),
            &target,
            payload,
            &self.headers,
        )
        .await
        {
            Err(Error::BadRequest(ctx))
                if ctx
                    .server_message
                    .as_deref()
                    .and_then(rejected_kwargs)
                    .is_some() =>
            {
                return Err(Error::InvalidInput(format!(
                    "{} is not a TGI server (it rejects TGI parameters: {}); it cannot stream \
                     text generation",
                    target.key,
                    ctx.server_message.as_deref().unwrap_or_default()
                )));
            }
            other => other?,
        };
        Ok(TextGenerationStream::new(
            resp,
            client.inner.stream_idle_timeout,
        ))
    }
}

fn remembered(client: &InferenceClient, key: &str) -> Vec<String> {
    client
        .inner
        .rejected_params
        .lock()
        .ok()
        .and_then(|m| m.get(key).cloned())
        .unwrap_or_default()
}

fn remember(client: &InferenceClient, key: &str, names: &[String]) {
    if let Ok(mut m) = client.inner.rejected_params.lock() {
        let e = m.entry(key.to_owned()).or_default();
        for n in names {
            if !e.contains(n) {
                e.push(n.clone());
            }
        }
    }
}

impl InferenceClient {
    /// Generates text from a prompt (TGI `generate`): `.await` the builder for the whole text,
    /// or call [`.stream()`](TextGeneration::stream) for the tokens as they come.
    pub fn text_generation(&self, prompt: impl Into<String>) -> TextGeneration {
        TextGeneration::new(self, prompt.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kwargs() {
        let m = "The following `model_kwargs` are not used by the model: ['watermark', 'stop', 'decoder_input_details'] (note: typos in the generate arguments will also show up in this list)";
        assert_eq!(
            rejected_kwargs(m).unwrap(),
            vec!["watermark", "stop", "decoder_input_details"]
        );
        assert!(rejected_kwargs("nope").is_none());
    }
}
