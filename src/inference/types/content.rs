//! The parts of a chat message: text, and images by URL or inline, as `data:` URLs made from a
//! local file, bytes or a decoded image (inference.md §7.1, OpenAI's `image_url` part).

use std::path::Path;

use base64::Engine as _;

use super::chat::{ContentPart, ImageUrl};
use crate::error::{Error, Result};
use crate::inference::input::{encode_png, mime_from_name, sniff};

impl ContentPart {
    /// A text part.
    pub fn text(text: impl Into<String>) -> Self {
        ContentPart::Text { text: text.into() }
    }

    /// An image by URL: an `http(s)` URL the server fetches itself, or a `data:` URL, sent as
    /// given.
    pub fn image_url(url: impl Into<String>) -> Self {
        ContentPart::ImageUrl {
            image_url: ImageUrl { url: url.into() },
        }
    }

    /// An image sent inline: `bytes` as a `data:{mime};base64,…` URL. `mime` is a bare
    /// `type/subtype` such as `image/png`.
    pub fn image_bytes(bytes: &[u8], mime: &str) -> Result<Self> {
        let well_formed = mime.split_once('/').is_some_and(|(t, s)| {
            !t.is_empty()
                && !s.is_empty()
                && mime
                    .bytes()
                    .all(|b| b.is_ascii_graphic() && !b",;\"".contains(&b))
        });
        if !well_formed {
            return Err(Error::InvalidInput(format!(
                "{mime:?} is not a media type for a data URL (expected `type/subtype`, e.g. \
                 `image/png`)"
            )));
        }
        if bytes.is_empty() {
            return Err(Error::InvalidInput("the image is empty (0 bytes)".into()));
        }
        let b64 = base64::engine::general_purpose::STANDARD.encode(bytes);
        Ok(Self::image_url(format!("data:{mime};base64,{b64}")))
    }

    /// A local image file sent inline as a `data:` URL. Its media type comes from the file's
    /// extension (as Python's `mimetypes` gives it), else from its first bytes; a file that is
    /// not an image is refused. The file is read whole, synchronously.
    ///
    /// ```no_run
    /// use hfkit::inference::InferenceClient;
    /// use hfkit::inference::types::{ChatMessage, ContentPart};
    /// # async fn run() -> hfkit::Result<()> {
    /// let client = InferenceClient::new()?;
    /// let out = client
    ///     .chat_completion([ChatMessage::user_parts(vec![
    ///         ContentPart::text("What is in this picture?"),
    ///         ContentPart::image_file("cat.jpg")?,
    ///     ])])
    ///     .model("Qwen/Qwen2.5-VL-7B-Instruct")
    ///     .await?;
    /// println!("{}", out.text().unwrap_or_default());
    /// # Ok(())
    /// # }
    /// ```
    pub fn image_file(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let bytes = std::fs::read(path)
            .map_err(|e| Error::io(format!("reading the image {}", path.display()), e))?;
        let mime = mime_from_name(path)
            .filter(|m| m.starts_with("image/"))
            .or_else(|| sniff(&bytes).map(str::to_owned))
            .filter(|m| m.starts_with("image/"))
            .ok_or_else(|| {
                Error::InvalidInput(format!(
                    "{} is not an image (neither its extension nor its content says so)",
                    path.display()
                ))
            })?;
        Self::image_bytes(&bytes, &mime)
    }

    /// A decoded image sent inline, PNG-encoded.
    pub fn image(img: &image::DynamicImage) -> Result<Self> {
        Self::image_bytes(&encode_png(img)?, "image/png")
    }

    /// The image URL of an `image_url` part.
    pub fn as_image_url(&self) -> Option<&str> {
        match self {
            ContentPart::ImageUrl { image_url } => Some(&image_url.url),
            ContentPart::Text { .. } => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inference::BinaryInput;

    fn png() -> Vec<u8> {
        let img = image::DynamicImage::new_rgb8(2, 3);
        encode_png(&img).unwrap().to_vec()
    }

    #[test]
    fn parts_serialise_as_openai_shapes() {
        let parts = vec![
            ContentPart::text("hi"),
            ContentPart::image_url("https://x.test/a.png"),
        ];
        assert_eq!(
            serde_json::to_value(&parts).unwrap(),
            serde_json::json!([
                {"type": "text", "text": "hi"},
                {"type": "image_url", "image_url": {"url": "https://x.test/a.png"}}
            ])
        );
    }

    #[test]
    fn files_become_data_urls_that_decode_to_the_same_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let bytes = png();
        // By extension (Python's table: .jpg is image/jpeg even if the bytes are a PNG).
        let jpg = dir.path().join("cat.JPG");
        std::fs::write(&jpg, &bytes).unwrap();
        let url = ContentPart::image_file(&jpg).unwrap();
        let url = url.as_image_url().unwrap();
        assert!(url.starts_with("data:image/jpeg;base64,"), "{url}");
        // No extension: sniffed from the bytes.
        let bare = dir.path().join("picture");
        std::fs::write(&bare, &bytes).unwrap();
        let part = ContentPart::image_file(&bare).unwrap();
        let url = part.as_image_url().unwrap();
        assert!(url.starts_with("data:image/png;base64,"), "{url}");
        // The URL carries the file's bytes, and hfkit's own data-URL parser accepts it.
        let b64 = url.strip_prefix("data:image/png;base64,").unwrap();
        let back = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap();
        assert_eq!(back, bytes);
        BinaryInput::data_url(url).unwrap();
    }

    #[test]
    fn decoded_images_are_png() {
        let img = image::DynamicImage::new_rgb8(4, 4);
        let part = ContentPart::image(&img).unwrap();
        let url = part.as_image_url().unwrap();
        let b64 = url.strip_prefix("data:image/png;base64,").unwrap();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap();
        let back = image::load_from_memory(&bytes).unwrap();
        assert_eq!((back.width(), back.height()), (4, 4));
        assert!(ContentPart::image(&image::DynamicImage::new_rgb8(0, 0)).is_err());
    }

    #[test]
    fn bad_inputs_are_typed_errors() {
        let dir = tempfile::tempdir().unwrap();
        let txt = dir.path().join("notes.txt");
        std::fs::write(&txt, b"just text").unwrap();
        let e = ContentPart::image_file(&txt).unwrap_err();
        assert!(
            matches!(&e, Error::InvalidInput(m) if m.contains("notes.txt")),
            "{e}"
        );
        let e = ContentPart::image_file(dir.path().join("missing.png")).unwrap_err();
        assert!(matches!(&e, Error::Io { .. }), "{e}");
        let empty = dir.path().join("empty.png");
        std::fs::write(&empty, b"").unwrap();
        assert!(matches!(
            ContentPart::image_file(&empty),
            Err(Error::InvalidInput(_))
        ));
        for mime in ["", "image", "image/png;x=1", "image/p ng", "/png", "a,b/c"] {
            assert!(
                matches!(
                    ContentPart::image_bytes(b"x", mime),
                    Err(Error::InvalidInput(_))
                ),
                "{mime:?}"
            );
        }
    }
}
