//! Binary inputs of audio and vision tasks (inference.md §4): bytes, a file, a URL, a reader, an
//! [`image::DynamicImage`] or a base64 data URL, with the content type Python would send.

use std::path::{Path, PathBuf};

use base64::Engine;
use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncReadExt};

use crate::error::{Error, Result};
use crate::http::{Redirects, TokenMode};

use super::InferenceClient;

/// An audio, image or video input.
pub struct BinaryInput {
    source: Source,
    mime: Option<String>,
}

enum Source {
    Bytes(Bytes),
    Path(PathBuf),
    Url(String),
    Reader(Box<dyn AsyncRead + Send + Unpin>, Option<String>),
    Image(Box<image::DynamicImage>),
}

impl std::fmt::Debug for BinaryInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let what = match &self.source {
            Source::Bytes(b) => format!("{} bytes", b.len()),
            Source::Path(p) => format!("file {}", p.display()),
            Source::Url(u) => format!("URL {u}"),
            Source::Reader(_, n) => format!("reader {n:?}"),
            Source::Image(i) => format!("{}×{} image", i.width(), i.height()),
        };
        f.debug_struct("BinaryInput")
            .field("source", &what)
            .field("mime", &self.mime)
            .finish()
    }
}

impl BinaryInput {
    /// Raw bytes (no content type unless [`mime`](Self::mime) sets one).
    pub fn bytes(b: impl Into<Bytes>) -> Self {
        BinaryInput {
            source: Source::Bytes(b.into()),
            mime: None,
        }
    }

    /// A local file, read fully when the request is sent; its extension gives the content type.
    pub fn path(p: impl Into<PathBuf>) -> Self {
        BinaryInput {
            source: Source::Path(p.into()),
            mime: None,
        }
    }

    /// An `http(s)` URL, fetched by the client (without the token unless it is on the Hub's
    /// origin); the answer's `Content-Type` is the content type.
    pub fn url(u: impl Into<String>) -> Self {
        BinaryInput {
            source: Source::Url(u.into()),
            mime: None,
        }
    }

    /// Any async reader, read to its end; `file_name` (if any) gives the content type.
    pub fn reader(r: impl AsyncRead + Send + Unpin + 'static, file_name: Option<&str>) -> Self {
        BinaryInput {
            source: Source::Reader(Box::new(r), file_name.map(str::to_owned)),
            mime: None,
        }
    }

    /// A decoded image, sent PNG-encoded as `image/png` (inference.md §4.1).
    pub fn image(img: image::DynamicImage) -> Self {
        BinaryInput {
            source: Source::Image(Box::new(img)),
            mime: None,
        }
    }

    /// A `data:{mime};base64,{b64}` URL.
    pub fn data_url(s: &str) -> Result<Self> {
        let rest = s
            .strip_prefix("data:")
            .ok_or_else(|| Error::InvalidInput("a data URL starts with `data:`".into()))?;
        let (meta, data) = rest
            .split_once(',')
            .ok_or_else(|| Error::InvalidInput("a data URL needs a `,` before its data".into()))?;
        let meta = meta.strip_suffix(";base64").ok_or_else(|| {
            Error::InvalidInput("only base64 data URLs (`;base64,`) are accepted".into())
        })?;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(data.trim())
            .map_err(|e| Error::InvalidInput(format!("the data URL is not valid base64: {e}")))?;
        Ok(BinaryInput {
            source: Source::Bytes(bytes.into()),
            mime: (!meta.is_empty()).then(|| meta.to_owned()),
        })
    }

    /// Parses a CLI-style input: a `data:` URL, an `http(s)` URL, else a file path.
    pub fn parse(s: &str) -> Result<Self> {
        if s.starts_with("data:") {
            Self::data_url(s)
        } else if s.starts_with("http://") || s.starts_with("https://") {
            Ok(Self::url(s))
        } else {
            Ok(Self::path(s))
        }
    }

    /// Sets the content type explicitly (it wins over every other source).
    pub fn mime(mut self, mime: impl Into<String>) -> Self {
        self.mime = Some(mime.into());
        self
    }

    /// Reads the input: its bytes and the content type to send (inference.md §4.2).
    pub(crate) async fn resolve(self, client: &InferenceClient) -> Result<(Bytes, Option<String>)> {
        let explicit = self.mime;
        let (bytes, found) = match self.source {
            Source::Bytes(b) => (b, None),
            Source::Path(p) => {
                let b = tokio::fs::read(&p)
                    .await
                    .map_err(|e| Error::io(format!("reading the input file {}", p.display()), e))?;
                (Bytes::from(b), mime_from_name(&p))
            }
            Source::Reader(mut r, name) => {
                let mut buf = Vec::new();
                r.read_to_end(&mut buf)
                    .await
                    .map_err(|e| Error::io("reading the input stream", e))?;
                (
                    Bytes::from(buf),
                    name.as_deref().and_then(|n| mime_from_name(Path::new(n))),
                )
            }
            Source::Url(u) => fetch(client, &u).await?,
            Source::Image(img) => (encode_png(&img)?, Some("image/png".to_owned())),
        };
        if bytes.is_empty() {
            return Err(Error::InvalidInput("the binary input is empty".into()));
        }
        let mime = explicit.or(found).or_else(|| {
            client
                .inner
                .sniff_mime
                .then(|| sniff(&bytes))
                .flatten()
                .map(str::to_owned)
        });
        Ok((bytes, mime))
    }
}

impl From<Vec<u8>> for BinaryInput {
    fn from(b: Vec<u8>) -> Self {
        Self::bytes(b)
    }
}

impl From<Bytes> for BinaryInput {
    fn from(b: Bytes) -> Self {
        Self::bytes(b)
    }
}

impl From<&[u8]> for BinaryInput {
    fn from(b: &[u8]) -> Self {
        Self::bytes(Bytes::copy_from_slice(b))
    }
}

impl From<image::DynamicImage> for BinaryInput {
    fn from(img: image::DynamicImage) -> Self {
        Self::image(img)
    }
}

impl From<&image::DynamicImage> for BinaryInput {
    fn from(img: &image::DynamicImage) -> Self {
        Self::image(img.clone())
    }
}

/// PNG-encodes an image input.
pub(crate) fn encode_png(img: &image::DynamicImage) -> Result<Bytes> {
    if img.width() == 0 || img.height() == 0 {
        return Err(Error::InvalidInput(
            "the image input is empty (0 pixels)".into(),
        ));
    }
    let mut buf = std::io::Cursor::new(Vec::new());
    img.write_to(&mut buf, image::ImageFormat::Png)
        .map_err(|e| {
            Error::InvalidInput(format!(
                "the {}×{} image input cannot be PNG-encoded: {e}",
                img.width(),
                img.height()
            ))
        })?;
    Ok(Bytes::from(buf.into_inner()))
}

impl From<PathBuf> for BinaryInput {
    fn from(p: PathBuf) -> Self {
        Self::path(p)
    }
}

impl From<&Path> for BinaryInput {
    fn from(p: &Path) -> Self {
        Self::path(p)
    }
}

/// GETs an input URL: the token goes only to the Hub's own origin; a non-2xx answer is an error.
async fn fetch(client: &InferenceClient, url: &str) -> Result<(Bytes, Option<String>)> {
    let parsed = url::Url::parse(url)
        .map_err(|e| Error::InvalidInput(format!("invalid input URL {url:?}: {e}")))?;
    let hub = url::Url::parse(&client.inner.hub_url).ok();
    let same_as_hub = hub.is_some_and(|h| h.origin() == parsed.origin());
    let resp = client
        .inner
        .http
        .get(url)?
        .token(if same_as_hub {
            TokenMode::Auto
        } else {
            TokenMode::Never
        })
        .redirects(Redirects::All)
        .send()
        .await?;
    let ct = resp
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = resp
        .bytes()
        .await
        .map_err(|e| crate::http::body_error(&e, "GET", url))?;
    Ok((body, ct))
}

/// The content type of a file name by its extension, with Python's `mimetypes` table for the
/// media types inference uses, then `mime_guess`.
pub fn mime_from_name(p: &Path) -> Option<String> {
    let ext = p.extension()?.to_str()?.to_ascii_lowercase();
    let known = match ext.as_str() {
        "flac" => "audio/flac",
        "wav" => "audio/x-wav",
        "mp3" => "audio/mpeg",
        "ogg" => "audio/ogg",
        "m4a" => "audio/mp4",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "bmp" => "image/bmp",
        "tif" | "tiff" => "image/tiff",
        "avif" => "image/avif",
        "mp4" => "video/mp4",
        "webm" => "video/webm",
        "pdf" => "application/pdf",
        _ => "",
    };
    if !known.is_empty() {
        return Some(known.to_owned());
    }
    mime_guess::from_ext(&ext).first_raw().map(str::to_owned)
}

/// The content type from magic bytes (opt-in).
pub fn sniff(bytes: &[u8]) -> Option<&'static str> {
    let t = infer::get(bytes)?;
    Some(match t.mime_type() {
        "audio/x-wav" | "audio/wav" => "audio/wav",
        "audio/x-flac" => "audio/flac",
        m => m,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extension_table() {
        assert_eq!(
            mime_from_name(Path::new("a.wav")).as_deref(),
            Some("audio/x-wav")
        );
        assert_eq!(
            mime_from_name(Path::new("a.FLAC")).as_deref(),
            Some("audio/flac")
        );
        assert_eq!(
            mime_from_name(Path::new("a.jpg")).as_deref(),
            Some("image/jpeg")
        );
        assert_eq!(mime_from_name(Path::new("noext")), None);
    }

    #[test]
    fn magic_bytes() {
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"), Some("image/png"));
        assert_eq!(sniff(b"RIFF\x24\0\0\0WAVEfmt "), Some("audio/wav"));
        assert_eq!(sniff(b"hello"), None);
    }

    #[test]
    fn images_are_png_encoded() {
        let img = image::DynamicImage::new_rgb8(3, 2);
        let png = encode_png(&img).unwrap();
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
        let back = image::load_from_memory(&png).unwrap();
        assert_eq!((back.width(), back.height()), (3, 2));
        assert!(encode_png(&image::DynamicImage::new_rgb8(0, 0)).is_err());
    }

    #[test]
    fn data_urls() {
        let i = BinaryInput::data_url("data:image/png;base64,iVBORw0KGgo=").unwrap();
        assert_eq!(i.mime.as_deref(), Some("image/png"));
        assert!(BinaryInput::data_url("data:text/plain,hi").is_err());
    }
}
