//! (model | URL | base_url, task, provider) → where a request goes (inference.md §1.2–1.7).

use crate::error::{Error, Result};
use crate::http::TokenMode;

use super::InferenceClient;
use super::provider::{Provider, ProviderMapping, parse_mapping};
use super::task::Task;

/// How a request is routed (inference.md §1.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Mode {
    /// **U**: the model is a URL, called directly.
    Url,
    /// **L**: the legacy serverless API.
    Legacy,
    /// **H**: Hugging Face's hosted inference through the router.
    HfInference,
    /// **P**: a third-party provider through the router.
    Provider(Provider),
    /// **A**: the chat auto-router.
    AutoRouter,
}

/// A resolved request target.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    pub mode: Mode,
    pub url: String,
    /// The model id as the server knows it: `model` of chat bodies.
    pub body_model: String,
    /// The model a §5.5 memory is keyed by.
    pub key: String,
    pub token: TokenMode,
    pub trust_origin: bool,
    pub provider_headers: &'static [(&'static str, &'static str)],
    /// [`url`](Self::url) already parsed, when the client had it (its own URL model).
    pub parsed: Option<url::Url>,
}

pub(crate) fn is_url(m: &str) -> bool {
    m.starts_with("http://") || m.starts_with("https://")
}

pub(crate) fn check_id(id: &str) -> Result<()> {
    let bad = id.is_empty()
        || id.starts_with('/')
        || id.ends_with('/')
        || id
            .chars()
            .any(|c| c.is_whitespace() || matches!(c, '?' | '#' | '%' | '\\'))
        || id.split('/').any(|s| s == ".." || s == "." || s.is_empty());
    if bad {
        return Err(Error::InvalidInput(format!(
            "{id:?} is neither a model id (`name` or `org/name`) nor an http(s) URL"
        )));
    }
    Ok(())
}

/// The host of an `http(s)://` URL, lower-cased, without user info or port.
#[cfg(test)]
fn host_of(url: &str) -> String {
    host_slice(url).to_ascii_lowercase()
}

/// Whether the URL's host is an Inference Endpoint's (`*.endpoints.huggingface.cloud`, any
/// case).
fn is_endpoint_host(url: &str) -> bool {
    const SUFFIX: &str = ".endpoints.huggingface.cloud";
    let host = host_slice(url).as_bytes();
    host.len() >= SUFFIX.len()
        && host[host.len() - SUFFIX.len()..].eq_ignore_ascii_case(SUFFIX.as_bytes())
}

/// The host of an `http(s)://` URL as written, without user info or port (no full parse: this
/// runs on every request of a URL model).
fn host_slice(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if let Some(v6) = host.strip_prefix('[') {
        v6.split_once(']').map_or(v6, |(h, _)| h)
    } else {
        host.split(':').next().unwrap_or_default()
    }
}

/// The token of a request to a user-supplied URL (inference.md §2.1): the client's explicit
/// token, with the URL's origin trusted; else the implicit one only for an Inference Endpoint
/// host (`*.endpoints.huggingface.cloud`); else none.
pub(crate) fn url_token(client: &InferenceClient, url: &str) -> (TokenMode, bool) {
    match &client.inner.http.settings().token {
        Some(t) => (TokenMode::Explicit(t.clone()), true),
        None if is_endpoint_host(url) => (TokenMode::Auto, true),
        None => (TokenMode::Never, false),
    }
}

/// The chat URL of a base URL (inference.md §1.6).
pub(crate) fn chat_url(base: &str) -> Result<String> {
    let mut u = url::Url::parse(base)
        .map_err(|e| Error::InvalidInput(format!("invalid model URL {base:?}: {e}")))?;
    let path = u.path().trim_end_matches('/').to_owned();
    let path = if path.ends_with("/chat/completions") {
        path
    } else if path.ends_with("/v1") {
        format!("{path}/chat/completions")
    } else {
        format!("{path}/v1/chat/completions")
    };
    u.set_path(&path);
    Ok(u.to_string())
}

/// Resolves the target of a `task` call with an optional per-call `model`.
pub(crate) async fn resolve(
    client: &InferenceClient,
    task: Task,
    call_model: Option<&str>,
) -> Result<Target> {
    let inner = &client.inner;
    let call_model = call_model.filter(|m| !m.trim().is_empty());
    let chat = task == Task::ChatCompletion;
    let route_model: Option<&str> = if chat {
        inner.model.as_deref().or(call_model)
    } else {
        call_model.or(inner.model.as_deref())
    };
    let provider = inner.provider;

    // 1. A URL is called directly.
    if let Some(m) = route_model.filter(|m| is_url(m)) {
        if !matches!(provider, Provider::Auto | Provider::HfInference) {
            tracing::warn!(
                "the model is a URL: provider {provider} is ignored and the URL is called directly"
            );
        }
        if provider == Provider::HfInference
            && matches!(
                task,
                Task::TabularRegression | Task::TextToVideo | Task::ImageToVideo
            )
        {
            provider.check(task)?;
        }
        let url = if chat { chat_url(m)? } else { m.to_owned() };
        let body_model = call_model
            .filter(|c| !is_url(c))
            .unwrap_or("dummy")
            .to_owned();
        let (token, trust_origin) = url_token(client, &url);
        // The client's own URL model was parsed when the client was built.
        let parsed = if chat || inner.model.as_deref() != Some(m) {
            None
        } else {
            inner.model_url.clone()
        };
        return Ok(Target {
            mode: Mode::Url,
            url,
            body_model,
            key: m.to_owned(),
            token,
            trust_origin,
            provider_headers: &[],
            parsed,
        });
    }

    // The named model, or (rows 3 and L) the recommended one.
    let model = match route_model {
        Some(m) => m.to_owned(),
        None => {
            if !matches!(provider, Provider::Auto | Provider::HfInference) {
                return Err(Error::InvalidInput(format!(
                    "provider {provider} needs a model: pass one to the call or the client"
                )));
            }
            recommended_model(client, task).await?
        }
    };
    check_id(&model)?;
    let body_model_h = if chat {
        call_model.unwrap_or(&model).to_owned()
    } else {
        model.clone()
    };

    // 2. Legacy serverless API.
    if inner.legacy {
        return Ok(Target {
            mode: Mode::Legacy,
            url: hf_path(&inner.legacy_url, task, &model, true),
            body_model: model.clone(),
            key: model,
            token: TokenMode::Auto,
            trust_origin: false,
            provider_headers: &[],
            parsed: None,
        });
    }

    let (provider, auto_entry) = match provider {
        Provider::HfInference => (Provider::HfInference, None),
        Provider::Auto if chat => {
            let token = inner.http.resolve_token();
            if !token
                .as_ref()
                .is_some_and(|t| t.expose().starts_with("hf_"))
            {
                return Err(Error::InvalidInput(
                    "chat completion through the auto-router needs a Hugging Face token (hf_…): \
                     set HF_TOKEN, or choose a provider or a model URL"
                        .into(),
                ));
            }
            return Ok(Target {
                mode: Mode::AutoRouter,
                url: format!("{}/v1/chat/completions", inner.router_url),
                body_model: model.clone(),
                key: model,
                token: TokenMode::Auto,
                trust_origin: false,
                provider_headers: &[],
                parsed: None,
            });
        }
        Provider::Auto => {
            let map = mapping(client, &model).await?;
            let first = map.into_iter().next().ok_or_else(|| {
                Error::InvalidInput(format!(
                    "no inference provider serves {model}: its provider mapping is empty"
                ))
            })?;
            warn_status(&model, &first);
            let p: Provider = first.provider.parse()?;
            (p, Some(first))
        }
        named => (named, None),
    };
    provider.check(task)?;
    if provider == Provider::HfInference {
        if inner.check_task {
            check_supported_task(client, &model, task).await?;
        }
        return Ok(Target {
            mode: Mode::HfInference,
            url: hf_path(
                &format!("{}/hf-inference", inner.router_url),
                task,
                &model,
                false,
            ),
            body_model: body_model_h,
            key: model,
            token: TokenMode::Auto,
            trust_origin: false,
            provider_headers: &[],
            parsed: None,
        });
    }
    // Mode P: the mapping gives the provider's id of the model.
    let entry = match auto_entry {
        Some(e) => e,
        None => {
            let map = mapping(client, &model).await?;
            let e = map
                .into_iter()
                .find(|e| e.provider == provider.as_str())
                .ok_or_else(|| {
                    Error::InvalidInput(format!(
                        "provider {provider} does not serve {model} (not in its provider mapping)"
                    ))
                })?;
            warn_status(&model, &e);
            e
        }
    };
    if entry.task != task.mapping_name() {
        return Err(Error::InvalidInput(format!(
            "{model} is mapped on {provider} for the task {:?}, not {}",
            entry.task,
            task.mapping_name()
        )));
    }
    let route = provider.route(task).unwrap_or_default();
    Ok(Target {
        mode: Mode::Provider(provider),
        url: format!("{}/{}{}", inner.router_url, provider.as_str(), route),
        body_model: entry.provider_id.clone(),
        key: model,
        token: TokenMode::Auto,
        trust_origin: false,
        provider_headers: provider.extra_headers(),
        parsed: None,
    })
}

fn warn_status(model: &str, e: &ProviderMapping) {
    if e.status != "live" {
        tracing::warn!(
            "{model} on {} has the status {:?}; the request may fail",
            e.provider,
            e.status
        );
    }
}

/// The hf-inference path of a task (inference.md §1.3); `legacy` puts `pipeline/{task}` first.
fn hf_path(base: &str, task: Task, id: &str, legacy: bool) -> String {
    match (task, legacy) {
        (Task::FeatureExtraction | Task::SentenceSimilarity, true) => {
            format!("{base}/pipeline/{}/{id}", task.as_str())
        }
        (Task::FeatureExtraction | Task::SentenceSimilarity, false) => {
            format!("{base}/models/{id}/pipeline/{}", task.as_str())
        }
        (Task::ChatCompletion, _) => format!("{base}/models/{id}/v1/chat/completions"),
        _ => format!("{base}/models/{id}"),
    }
}

/// The model's provider mapping, fetched once per client.
async fn mapping(client: &InferenceClient, model: &str) -> Result<Vec<ProviderMapping>> {
    let inner = &client.inner;
    if let Some(m) = inner
        .mappings
        .lock()
        .ok()
        .and_then(|c| c.get(model).cloned())
    {
        return Ok(m);
    }
    let url = format!("{}/api/models/{model}", inner.hub_url);
    let info: serde_json::Value = inner
        .http
        .get(&url)?
        .query([("expand", "inferenceProviderMapping")])
        .redirects(crate::http::Redirects::Trusted)
        .scope(crate::http::ErrorScope {
            repo: Some(format!("model/{model}")),
            ..Default::default()
        })
        .send_json()
        .await?;
    let map = parse_mapping(&info).ok_or_else(|| {
        Error::InvalidInput(format!(
            "{model} has no inference provider mapping on the Hub: no provider serves it"
        ))
    })?;
    if let Ok(mut c) = inner.mappings.lock() {
        c.insert(model.to_owned(), map.clone());
    }
    Ok(map)
}

/// Whether a model whose Hub `pipeline_tag` is `tag` (with `tags`) serves `task` on
/// hf-inference, by Python's rule (inference.md §1.3).
fn task_supported(tag: Option<&str>, tags: &[String], task: Task) -> bool {
    if matches!(task, Task::TextGeneration | Task::ChatCompletion) && tag == Some("text-generation")
    {
        return true;
    }
    match tag {
        Some("text2text-generation") => return task == Task::TextGeneration,
        Some("image-text-to-text") => return task == Task::ChatCompletion,
        _ => {}
    }
    if matches!(task, Task::FeatureExtraction | Task::SentenceSimilarity)
        && matches!(tag, Some("feature-extraction" | "sentence-similarity"))
        && tags.iter().any(|t| t == task.as_str())
    {
        return true;
    }
    tag == Some(task.mapping_name())
}

/// Checks once per client and (model, task) that the model's Hub pipeline tag serves `task`
/// (`GET {hub}/api/models/{id}`, inference.md §1.3), before the first inference request.
async fn check_supported_task(client: &InferenceClient, model: &str, task: Task) -> Result<()> {
    let inner = &client.inner;
    let key = (model.to_owned(), task);
    if inner.checked.lock().is_ok_and(|c| c.contains(&key)) {
        return Ok(());
    }
    let url = format!("{}/api/models/{model}", inner.hub_url);
    // As Python: the implicit (environment or stored) token only, never the client's own.
    let settings = inner.http.settings();
    let implicit = if settings.disable_implicit_token {
        None
    } else {
        settings.stored_or_env_token()
    };
    let info: serde_json::Value = inner
        .http
        .get(&url)?
        .token(implicit.map_or(TokenMode::Never, TokenMode::Explicit))
        .redirects(crate::http::Redirects::Trusted)
        .scope(crate::http::ErrorScope {
            repo: Some(format!("model/{model}")),
            ..Default::default()
        })
        .send_json()
        .await?;
    let tag = info.get("pipeline_tag").and_then(|t| t.as_str());
    let tags: Vec<String> = info
        .get("tags")
        .and_then(|t| t.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|t| t.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    if !task_supported(tag, &tags, task) {
        return Err(Error::InvalidInput(format!(
            "{model} does not serve the task {task} on hf-inference: its pipeline tag is {}",
            tag.map_or_else(|| "not set".to_owned(), |t| format!("{t:?}"))
        )));
    }
    if let Ok(mut c) = inner.checked.lock() {
        c.insert(key);
    }
    Ok(())
}

/// The Hub's recommended model of a task (`GET {hub}/api/tasks`, `widgetModels[0]`), when the
/// client allows it.
async fn recommended_model(client: &InferenceClient, task: Task) -> Result<String> {
    let inner = &client.inner;
    if !inner.use_recommended_model {
        return Err(Error::InvalidInput(format!(
            "no model given for {task}: pass a model to the call or the client (or enable \
             use_recommended_model)"
        )));
    }
    let cached = inner.recommended.lock().ok().and_then(|c| c.clone());
    let table = match cached {
        Some(t) => t,
        None => {
            let url = format!("{}/api/tasks", inner.hub_url);
            let v: serde_json::Value = inner.http.get(&url)?.send_json().await?;
            let mut t = std::collections::HashMap::new();
            if let Some(o) = v.as_object() {
                for (name, info) in o {
                    if let Some(m) = info
                        .get("widgetModels")
                        .and_then(|w| w.get(0))
                        .and_then(|m| m.as_str())
                        .filter(|m| !m.is_empty())
                    {
                        t.insert(name.clone(), m.to_owned());
                    }
                }
            }
            if let Ok(mut c) = inner.recommended.lock() {
                *c = Some(t.clone());
            }
            t
        }
    };
    table.get(task.as_str()).cloned().ok_or_else(|| {
        Error::InvalidInput(format!(
            "the Hub recommends no model for {task}: pass one explicitly"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chat_urls() {
        for (base, want) in [
            (
                "http://127.0.0.1:8080",
                "http://127.0.0.1:8080/v1/chat/completions",
            ),
            (
                "http://127.0.0.1:8080/",
                "http://127.0.0.1:8080/v1/chat/completions",
            ),
            (
                "http://127.0.0.1:8080/v1/",
                "http://127.0.0.1:8080/v1/chat/completions",
            ),
            (
                "https://host/openai/v1?api-version=2",
                "https://host/openai/v1/chat/completions?api-version=2",
            ),
            ("http://h/x/chat/completions", "http://h/x/chat/completions"),
        ] {
            assert_eq!(chat_url(base).unwrap(), want, "{base}");
        }
    }

    #[test]
    fn hosts() {
        assert_eq!(
            host_of("https://x.us-east-1.aws.endpoints.huggingface.cloud/a?b"),
            "x.us-east-1.aws.endpoints.huggingface.cloud"
        );
        assert_eq!(host_of("http://u:p@Host.Example:8080/x"), "host.example");
        assert_eq!(host_of("http://127.0.0.1:9"), "127.0.0.1");
        assert_eq!(
            host_of("http://evil.com#.endpoints.huggingface.cloud"),
            "evil.com"
        );
        assert_eq!(host_of("http://[::1]:80/"), "::1");
    }

    #[test]
    fn supported_tasks() {
        let tags = |t: &[&str]| t.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(task_supported(Some("fill-mask"), &[], Task::FillMask));
        assert!(!task_supported(
            Some("fill-mask"),
            &[],
            Task::TextClassification
        ));
        assert!(!task_supported(None, &[], Task::FillMask));
        assert!(task_supported(
            Some("text-generation"),
            &[],
            Task::ChatCompletion
        ));
        assert!(task_supported(
            Some("image-text-to-text"),
            &[],
            Task::ChatCompletion
        ));
        assert!(!task_supported(
            Some("image-text-to-text"),
            &[],
            Task::ImageToText
        ));
        assert!(task_supported(
            Some("text2text-generation"),
            &[],
            Task::TextGeneration
        ));
        assert!(!task_supported(
            Some("text2text-generation"),
            &[],
            Task::Summarization
        ));
        let both = tags(&["feature-extraction", "sentence-similarity"]);
        assert!(task_supported(
            Some("sentence-similarity"),
            &both,
            Task::FeatureExtraction
        ));
        assert!(!task_supported(
            Some("sentence-similarity"),
            &[],
            Task::FeatureExtraction
        ));
    }

    #[test]
    fn paths() {
        assert_eq!(
            hf_path("L", Task::FeatureExtraction, "a/b", true),
            "L/pipeline/feature-extraction/a/b"
        );
        assert_eq!(
            hf_path("R/hf-inference", Task::SentenceSimilarity, "a/b", false),
            "R/hf-inference/models/a/b/pipeline/sentence-similarity"
        );
        assert_eq!(
            hf_path("L", Task::ChatCompletion, "a/b", true),
            "L/models/a/b/v1/chat/completions"
        );
        assert!(check_id("a/../b").is_err());
        assert!(check_id("a b").is_err());
        assert!(check_id("org/name").is_ok());
    }
}
