//! What a deployed server says about itself: the `GET /info` answer of TGI and TEI
//! (inference.md §1.6, §8).

use serde_json::{Map, Value};

/// The answer of [`get_endpoint_info`](crate::inference::InferenceClient::get_endpoint_info):
/// the fields TGI (`openapi/tgi.json` `Info`) and TEI (`openapi/tei.json` `Info`) report, each
/// `None` when the server does not send it (or sends it with another JSON type), plus the whole
/// answer in [`raw`](Self::raw), so fields of other servers or versions are never lost.
///
/// A server that is neither (a plain `transformers` endpoint) may answer `{}`: every field is
/// then `None`.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct EndpointInfo {
    /// The served model (`model_id`, both servers).
    pub model_id: Option<String>,
    /// The model's revision (`model_sha`, both).
    pub model_sha: Option<String>,
    /// The weights' data type (`model_dtype`: TEI `float16`; older TGI `torch.float16`).
    pub model_dtype: Option<String>,
    /// The device the model runs on (`model_device_type`, older TGI: `cuda`, `cpu`).
    pub model_device_type: Option<String>,
    /// The model's Hub pipeline tag (`model_pipeline_tag`, TGI).
    pub model_pipeline_tag: Option<String>,
    /// The kind of TEI model (`model_type`): an object with one key, `embedding`, `classifier`
    /// or `reranker` (see [`model_kind`](Self::model_kind)).
    pub model_type: Option<Value>,
    /// The name the model is served under (`served_model_name`, TEI).
    pub served_model_name: Option<String>,
    /// Requests served at once (`max_concurrent_requests`, both).
    pub max_concurrent_requests: Option<u64>,
    /// Largest `best_of` (`max_best_of`, TGI).
    pub max_best_of: Option<u64>,
    /// Most stop sequences per request (`max_stop_sequences`, TGI).
    pub max_stop_sequences: Option<u64>,
    /// Most prompt tokens (`max_input_tokens`, TGI ≥ 2.1).
    pub max_input_tokens: Option<u64>,
    /// Most prompt tokens (`max_input_length`: TEI, and TGI before 2.1).
    pub max_input_length: Option<u64>,
    /// Most prompt plus generated tokens (`max_total_tokens`, TGI).
    pub max_total_tokens: Option<u64>,
    /// Most inputs in one request (`max_client_batch_size`, both); larger embedding batches must
    /// be split.
    pub max_client_batch_size: Option<u64>,
    /// Most tokens in one server batch (`max_batch_tokens`, TEI).
    pub max_batch_tokens: Option<u64>,
    /// Most requests in one server batch (`max_batch_requests`, TEI).
    pub max_batch_requests: Option<u64>,
    /// Most tokens of all requests of a batch (`max_batch_total_tokens`, older TGI).
    pub max_batch_total_tokens: Option<u64>,
    /// Most requests of a batch (`max_batch_size`, older TGI).
    pub max_batch_size: Option<u64>,
    /// Whether over-long inputs are truncated (`auto_truncate`, TEI).
    pub auto_truncate: Option<bool>,
    /// Tokenizer threads (`tokenization_workers`, TEI).
    pub tokenization_workers: Option<u64>,
    /// Validation threads (`validation_workers`, TGI).
    pub validation_workers: Option<u64>,
    /// The router's name (`router`, TGI: `text-generation-router`).
    pub router: Option<String>,
    /// The server's version (`version`, both).
    pub version: Option<String>,
    /// The server's build commit (`sha`, both).
    pub sha: Option<String>,
    /// The server's image label (`docker_label`, both).
    pub docker_label: Option<String>,
    /// The whole answer as received (serialise this to keep every field).
    pub raw: Map<String, Value>,
}

impl EndpointInfo {
    /// Reads the typed fields of a `/info` object; a field of another JSON type than expected
    /// is left `None` (it stays in [`raw`](Self::raw)).
    pub fn from_map(raw: Map<String, Value>) -> Self {
        let s = |k: &str| raw.get(k).and_then(Value::as_str).map(str::to_owned);
        let n = |k: &str| raw.get(k).and_then(Value::as_u64);
        EndpointInfo {
            model_id: s("model_id"),
            model_sha: s("model_sha"),
            model_dtype: s("model_dtype"),
            model_device_type: s("model_device_type"),
            model_pipeline_tag: s("model_pipeline_tag"),
            model_type: raw.get("model_type").filter(|v| !v.is_null()).cloned(),
            served_model_name: s("served_model_name"),
            max_concurrent_requests: n("max_concurrent_requests"),
            max_best_of: n("max_best_of"),
            max_stop_sequences: n("max_stop_sequences"),
            max_input_tokens: n("max_input_tokens"),
            max_input_length: n("max_input_length"),
            max_total_tokens: n("max_total_tokens"),
            max_client_batch_size: n("max_client_batch_size"),
            max_batch_tokens: n("max_batch_tokens"),
            max_batch_requests: n("max_batch_requests"),
            max_batch_total_tokens: n("max_batch_total_tokens"),
            max_batch_size: n("max_batch_size"),
            auto_truncate: raw.get("auto_truncate").and_then(Value::as_bool),
            tokenization_workers: n("tokenization_workers"),
            validation_workers: n("validation_workers"),
            router: s("router"),
            version: s("version"),
            sha: s("sha"),
            docker_label: s("docker_label"),
            raw,
        }
    }

    /// The kind of a TEI model: `embedding`, `classifier` or `reranker` (the key of
    /// `model_type`, or the value itself when a server sends a plain string).
    pub fn model_kind(&self) -> Option<&str> {
        match self.model_type.as_ref()? {
            Value::String(s) => Some(s),
            Value::Object(o) if o.len() == 1 => o.keys().next().map(String::as_str),
            _ => None,
        }
    }

    /// The longest prompt the server accepts, in tokens: `max_input_tokens`, else
    /// `max_input_length`.
    pub fn max_input(&self) -> Option<u64> {
        self.max_input_tokens.or(self.max_input_length)
    }

    /// Whether the server looks like TGI (it names a `router` or a token budget).
    pub fn is_tgi(&self) -> bool {
        self.router.is_some() || self.max_total_tokens.is_some()
    }

    /// Whether the server looks like TEI (it reports a `model_type`).
    pub fn is_tei(&self) -> bool {
        self.model_type.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    #[test]
    fn tgi_and_tei() {
        let tgi = EndpointInfo::from_map(map(json!({
            "model_id": "m", "model_sha": null, "max_input_tokens": 1024,
            "max_total_tokens": 2048, "max_client_batch_size": 4, "router": "text-generation-router",
            "version": "3.3.6", "unknown": [1]
        })));
        assert_eq!(tgi.model_id.as_deref(), Some("m"));
        assert_eq!(tgi.model_sha, None);
        assert_eq!(tgi.max_input(), Some(1024));
        assert!(tgi.is_tgi() && !tgi.is_tei());
        assert_eq!(tgi.raw["unknown"], json!([1]));
        let tei = EndpointInfo::from_map(map(json!({
            "model_id": "e", "model_type": {"embedding": {"pooling": "cls"}},
            "max_input_length": 512, "auto_truncate": false, "max_client_batch_size": "x"
        })));
        assert_eq!(tei.model_kind(), Some("embedding"));
        assert_eq!(tei.max_input(), Some(512));
        assert_eq!(tei.auto_truncate, Some(false));
        assert_eq!(tei.max_client_batch_size, None, "a wrong type is left out");
        assert!(tei.is_tei());
        assert_eq!(EndpointInfo::from_map(Map::new()), EndpointInfo::default());
    }
}
