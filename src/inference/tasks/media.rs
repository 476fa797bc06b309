//! Reading binary answers (inference.md §4.4): images, audio and video bytes with their content
//! type, and base64 blobs inside JSON answers. A JSON or text answer where media was expected, or
//! bytes that do not decode, is [`Error::MalformedResponse`].

use base64::Engine;
use bytes::Bytes;

use crate::error::{Error, Result};
use crate::inference::request::RawResponse;
use crate::inference::types::BinaryOutput;

/// The kind of media a task answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Media {
    Image,
    Audio,
    Video,
}

impl Media {
    fn family(self) -> &'static str {
        match self {
            Media::Image => "image",
            Media::Audio => "audio",
            Media::Video => "video",
        }
    }

    /// Whether a media type (lower-case, no parameters) fits: the family, a generic binary type,
    /// or a few well-known aliases.
    fn accepts(self, media_type: &str) -> bool {
        let (top, _) = media_type.split_once('/').unwrap_or((media_type, ""));
        top == self.family()
            || matches!(
                media_type,
                "application/octet-stream" | "binary/octet-stream" | ""
            )
            || (self == Media::Audio && media_type == "application/ogg")
    }
}

fn malformed(resp: &RawResponse, message: String) -> Error {
    Error::MalformedResponse {
        url: resp.url.clone(),
        message,
    }
}

/// The start of a body, for error messages.
fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned();
    if body.len() > 200 {
        format!("{text}…")
    } else {
        text
    }
}

/// Checks that `resp` carries `media` bytes: a fitting content type (or none) and a body.
pub(crate) fn binary_answer(resp: RawResponse, media: Media) -> Result<BinaryOutput> {
    let out = BinaryOutput {
        bytes: resp.body.clone(),
        content_type: resp.content_type().map(str::to_owned),
    };
    let media_type = out.media_type().unwrap_or_default();
    if !media.accepts(&media_type) {
        return Err(malformed(
            &resp,
            format!(
                "expected {} bytes, got a {media_type} answer: {}",
                media.family(),
                snippet(&resp.body)
            ),
        ));
    }
    if out.bytes.is_empty() {
        return Err(malformed(
            &resp,
            format!("expected {} bytes, got an empty body", media.family()),
        ));
    }
    Ok(out)
}

/// Decodes an image answer.
pub(crate) fn image_answer(resp: RawResponse) -> Result<image::DynamicImage> {
    let url = resp.url.clone();
    let out = binary_answer(resp, Media::Image)?;
    decode_image(&out.bytes, &url, "the answer")
}

/// Decodes image bytes (PNG, JPEG, WebP, GIF) received from `url`.
pub(crate) fn decode_image(bytes: &[u8], url: &str, what: &str) -> Result<image::DynamicImage> {
    image::load_from_memory(bytes).map_err(|e| Error::MalformedResponse {
        url: url.to_owned(),
        message: format!(
            "{what} is not a decodable image ({} bytes): {e}",
            bytes.len()
        ),
    })
}

/// Decodes a base64 field of a JSON answer (standard alphabet; padding optional; a `data:` URL
/// prefix is tolerated).
pub(crate) fn decode_b64(resp: &RawResponse, what: &str, s: &str) -> Result<Bytes> {
    let data = match s.strip_prefix("data:") {
        Some(rest) => rest.split_once(',').map(|(_, d)| d).unwrap_or(rest),
        None => s,
    };
    let compact: String = data.chars().filter(|c| !c.is_whitespace()).collect();
    base64::engine::general_purpose::STANDARD
        .decode(&compact)
        .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(&compact))
        .map(Bytes::from)
        .map_err(|e| malformed(resp, format!("{what} is not valid base64: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderValue};

    fn resp(ct: Option<&'static str>, body: &'static [u8]) -> RawResponse {
        let mut headers = HeaderMap::new();
        if let Some(c) = ct {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static(c));
        }
        RawResponse {
            status: 200,
            headers,
            body: Bytes::from_static(body),
            url: "http://x/models/m".into(),
        }
    }

    #[test]
    fn content_types() {
        assert!(binary_answer(resp(Some("image/jpeg"), b"\xff\xd8"), Media::Image).is_ok());
        assert!(binary_answer(resp(None, b"\xff\xd8"), Media::Image).is_ok());
        assert!(
            binary_answer(
                resp(Some("application/octet-stream"), b"fLaC"),
                Media::Audio
            )
            .is_ok()
        );
        let e = binary_answer(
            resp(Some("application/json"), br#"{"error":"x"}"#),
            Media::Image,
        )
        .unwrap_err();
        assert!(
            matches!(&e, Error::MalformedResponse { message, .. } if message.contains("application/json") && message.contains("\"error\"")),
            "{e}"
        );
        assert!(binary_answer(resp(Some("audio/flac"), b"fLaC"), Media::Image).is_err());
        assert!(binary_answer(resp(Some("image/png"), b""), Media::Image).is_err());
        assert!(binary_answer(resp(Some("text/html"), b"<html>"), Media::Video).is_err());
    }

    #[test]
    fn undecodable_image() {
        let e = image_answer(resp(Some("image/png"), b"\x89PNG\r\n\x1a\nbroken")).unwrap_err();
        assert!(matches!(e, Error::MalformedResponse { .. }), "{e}");
    }

    #[test]
    fn base64_forms() {
        let r = resp(None, b"");
        assert_eq!(&decode_b64(&r, "x", "aGk=").unwrap()[..], b"hi");
        assert_eq!(&decode_b64(&r, "x", "aGk").unwrap()[..], b"hi");
        assert_eq!(
            &decode_b64(&r, "x", "data:image/png;base64,aGk=").unwrap()[..],
            b"hi"
        );
        assert!(decode_b64(&r, "x", "!!!").is_err());
    }
}
