//! Binary answers: images, audio and video as bytes with their content type.

use bytes::Bytes;

/// A binary answer (image, audio or video bytes) with the response's content type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BinaryOutput {
    /// The bytes, as received.
    pub bytes: Bytes,
    /// The response `Content-Type` (`image/jpeg`, `audio/flac`, …), if the server sent one.
    pub content_type: Option<String>,
}

impl BinaryOutput {
    /// The media type without parameters, lower-cased (`image/jpeg`).
    pub fn media_type(&self) -> Option<String> {
        self.content_type.as_deref().map(|c| {
            c.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        })
    }

    /// A file extension for the content (from the content type, else the bytes), without a dot.
    pub fn extension(&self) -> Option<&'static str> {
        let by_type = self.media_type().and_then(|m| {
            Some(match m.as_str() {
                "image/jpeg" | "image/jpg" => "jpg",
                "image/png" => "png",
                "image/webp" => "webp",
                "image/gif" => "gif",
                "audio/flac" | "audio/x-flac" => "flac",
                "audio/wav" | "audio/x-wav" | "audio/wave" => "wav",
                "audio/mpeg" => "mp3",
                "audio/ogg" => "ogg",
                "video/mp4" => "mp4",
                "video/webm" => "webm",
                _ => return None,
            })
        });
        by_type.or_else(|| infer::get(&self.bytes).map(|t| t.extension()))
    }

    /// Decodes the bytes as an image (PNG, JPEG, WebP or GIF).
    pub fn to_image(&self) -> crate::Result<image::DynamicImage> {
        image::load_from_memory(&self.bytes).map_err(|e| {
            crate::Error::InvalidInput(format!(
                "the {} bytes{} are not a decodable image: {e}",
                self.bytes.len(),
                self.content_type
                    .as_deref()
                    .map(|c| format!(" ({c})"))
                    .unwrap_or_default()
            ))
        })
    }
}
