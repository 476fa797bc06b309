//! `hfkit infer TASK [INPUT]`: one inference call, its parsed answer printed as JSON.

use std::path::PathBuf;

use hfkit::blocking::InferenceClient;
use hfkit::inference::types::{AudioToAudioOutput, BinaryOutput, ChatMessage, Table};
use hfkit::inference::{BinaryInput, Provider, Task};
use hfkit::{Error, Result};
use serde_json::Value;

/// `hfkit infer`
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The task, kebab-case (`text-classification`, `fill-mask`, `text-to-image`, …).
    pub task: String,
    /// The input: text (or a prompt), or a file path / URL for audio and image tasks.
    pub input: Option<String>,
    /// The model: a Hub id or a URL.
    #[arg(long)]
    pub model: Option<String>,
    /// The provider (`auto`, `hf-inference`, `together`, …).
    #[arg(long)]
    pub provider: Option<String>,
    /// A server URL to call directly (instead of a model).
    #[arg(long)]
    pub base_url: Option<String>,
    /// A task parameter, `KEY=VALUE` (VALUE is read as JSON when it parses, else as text).
    #[arg(long = "param", value_name = "KEY=VALUE")]
    pub params: Vec<String>,
    /// Task parameters as one JSON object.
    #[arg(long, value_name = "JSON")]
    pub params_json: Option<String>,
    /// Write the answer to this file; stdout then gets a JSON description of it (required for
    /// tasks that answer with an image, audio or video).
    #[arg(long)]
    pub output: Option<PathBuf>,
    /// Print the server's answer as it came, unparsed.
    #[arg(long)]
    pub raw: bool,
    /// The question (question answering, visual and document question answering).
    #[arg(long)]
    pub question: Option<String>,
    /// The context (question answering).
    #[arg(long)]
    pub context: Option<String>,
    /// Candidate labels, comma-separated (zero-shot text and image classification).
    #[arg(long, value_delimiter = ',')]
    pub labels: Vec<String>,
    /// Sentences to compare with INPUT, comma-separated (sentence similarity).
    #[arg(long, value_delimiter = ',')]
    pub sentences: Vec<String>,
    /// A JSON file with the table, `{"column": ["cell", …]}` (table question answering, tabular
    /// classification and regression).
    #[arg(long)]
    pub table: Option<PathBuf>,
    /// The image, a file path or URL (image tasks; instead of INPUT; visual and document question
    /// answering take the question from --question or INPUT).
    #[arg(long)]
    pub image: Option<String>,
    /// Access token (default: HF_TOKEN, then the stored token).
    #[arg(long)]
    pub token: Option<String>,
}

fn params(a: &Args) -> Result<serde_json::Map<String, Value>> {
    let mut map = match &a.params_json {
        Some(j) => match serde_json::from_str::<Value>(j) {
            Ok(Value::Object(m)) => m,
            Ok(_) => {
                return Err(Error::InvalidInput(
                    "--params-json must be a JSON object".into(),
                ));
            }
            Err(e) => return Err(Error::InvalidInput(format!("--params-json: {e}"))),
        },
        None => serde_json::Map::new(),
    };
    for p in &a.params {
        let (k, v) = p
            .split_once('=')
            .ok_or_else(|| Error::InvalidInput(format!("--param {p:?} is not KEY=VALUE")))?;
        let v = serde_json::from_str(v).unwrap_or_else(|_| Value::String(v.to_owned()));
        map.insert(k.trim().to_owned(), v);
    }
    Ok(map)
}

fn text(a: &Args, what: &str) -> Result<String> {
    a.input
        .clone()
        .ok_or_else(|| Error::InvalidInput(format!("{} needs INPUT ({what})", a.task)))
}

fn binary(a: &Args) -> Result<BinaryInput> {
    let s = a.image.clone().or_else(|| a.input.clone()).ok_or_else(|| {
        Error::InvalidInput(format!("{} needs INPUT (a file path or URL)", a.task))
    })?;
    BinaryInput::parse(&s)
}

fn table(a: &Args) -> Result<Table> {
    let path = a
        .table
        .clone()
        .ok_or_else(|| Error::InvalidInput(format!("{} needs --table FILE.json", a.task)))?;
    let raw = std::fs::read_to_string(&path)
        .map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
    let v: Value =
        serde_json::from_str(&raw).map_err(|e| Error::json(format!("{}", path.display()), e))?;
    Table::from_json(&v).map_err(Error::InvalidInput)
}

/// The image and the question of visual and document question answering: `--image` and
/// `--question`, or one of them as INPUT.
fn image_question(a: &Args) -> Result<(BinaryInput, String)> {
    let (image, question) = match (&a.image, &a.question) {
        (Some(i), Some(q)) => (i.clone(), q.clone()),
        (Some(i), None) => (i.clone(), text(a, "the question")?),
        (None, Some(q)) => (text(a, "the image path or URL")?, q.clone()),
        (None, None) => {
            return Err(Error::InvalidInput(format!(
                "{} needs --image FILE and --question TEXT",
                a.task
            )));
        }
    };
    Ok((BinaryInput::parse(&image)?, question))
}

/// Whether the task answers with media bytes (written to `--output`).
fn answers_with_media(task: Task) -> bool {
    matches!(
        task,
        Task::TextToImage
            | Task::ImageToImage
            | Task::TextToSpeech
            | Task::TextToVideo
            | Task::ImageToVideo
    )
}

/// Writes a media answer to `--output` and prints a JSON description of the file.
fn emit_media(a: &Args, out: &BinaryOutput, image: Option<&image::DynamicImage>) -> Result<()> {
    let path = a.output.as_ref().ok_or_else(|| {
        Error::InvalidInput(format!(
            "{} answers with media bytes: pass --output FILE",
            a.task
        ))
    })?;
    std::fs::write(path, &out.bytes)
        .map_err(|e| Error::io(format!("writing {}", path.display()), e))?;
    let mut desc = serde_json::json!({
        "output": path,
        "bytes": out.bytes.len(),
        "content_type": out.content_type,
    });
    if let Some(img) = image {
        desc["width"] = img.width().into();
        desc["height"] = img.height().into();
    }
    outln!("{desc}");
    Ok(())
}

/// Writes each clip to `--output` (one clip) or `STEM-N.EXT` (several) and describes them.
fn emit_clips(a: &Args, clips: &[AudioToAudioOutput]) -> Result<()> {
    let Some(path) = &a.output else {
        outln!(
            "{}",
            serde_json::to_string_pretty(&to_json(clips)?).map_err(|e| Error::json("answer", e))?
        );
        return Ok(());
    };
    let mut described = Vec::new();
    for (i, clip) in clips.iter().enumerate() {
        let target = if clips.len() == 1 {
            path.clone()
        } else {
            let stem = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            let name = match path.extension() {
                Some(ext) => format!("{stem}-{i}.{}", ext.to_string_lossy()),
                None => format!("{stem}-{i}"),
            };
            path.with_file_name(name)
        };
        std::fs::write(&target, &clip.blob)
            .map_err(|e| Error::io(format!("writing {}", target.display()), e))?;
        described.push(serde_json::json!({
            "label": clip.label,
            "content_type": clip.content_type,
            "output": target,
            "bytes": clip.blob.len(),
        }));
    }
    outln!("{}", Value::Array(described));
    Ok(())
}

fn to_json<T: serde::Serialize>(v: T) -> Result<Value> {
    serde_json::to_value(v).map_err(|e| Error::json("inference answer", e))
}

macro_rules! with_params {
    ($call:expr, $params:expr) => {{
        let mut c = $call;
        for (k, v) in $params.clone() {
            c = c.parameter(k, v);
        }
        c
    }};
}

/// Runs `infer`.
pub fn run(a: Args) -> Result<()> {
    let task: Task = a.task.parse()?;
    let mut b = hfkit::inference::InferenceClient::builder();
    if let Some(t) = a.token.as_deref().filter(|t| !t.is_empty()) {
        b = b.token(t);
    }
    if let Some(p) = &a.provider {
        b = b.provider(p.parse::<Provider>()?);
    }
    if let Some(u) = &a.base_url {
        b = b.base_url(u);
    }
    let client = InferenceClient::from_async(b.build()?)?;
    let p = params(&a)?;
    let model = a.model.clone().unwrap_or_default();
    if answers_with_media(task) && a.output.is_none() && !a.raw {
        return Err(Error::InvalidInput(format!(
            "{task} answers with media bytes: pass --output FILE"
        )));
    }
    let answer: Value = if a.raw {
        let body = match task {
            Task::FeatureExtraction => {
                let mut m = p.clone();
                m.insert("inputs".into(), Value::String(text(&a, "the text")?));
                Value::Object(m)
            }
            _ => serde_json::json!({"inputs": text(&a, "the input")?, "parameters": p}),
        };
        let mut call = client.post(task.as_str()).json(body);
        if !model.is_empty() {
            call = call.model(&model);
        }
        let resp = call.send()?;
        return emit_raw(&a, &resp.body);
    } else {
        match task {
            Task::TextClassification => to_json(
                with_params!(client.text_classification(text(&a, "the text")?), p)
                    .model(&model)
                    .send()?,
            )?,
            Task::TokenClassification => to_json(
                with_params!(client.token_classification(text(&a, "the text")?), p)
                    .model(&model)
                    .send()?,
            )?,
            Task::FillMask => to_json(
                with_params!(client.fill_mask(text(&a, "the text with a mask")?), p)
                    .model(&model)
                    .send()?,
            )?,
            Task::QuestionAnswering => {
                let question = a.question.clone().ok_or_else(|| {
                    Error::InvalidInput("question-answering needs --question".into())
                })?;
                let context = a
                    .context
                    .clone()
                    .or_else(|| a.input.clone())
                    .ok_or_else(|| {
                        Error::InvalidInput("question-answering needs --context (or INPUT)".into())
                    })?;
                to_json(
                    with_params!(client.question_answering(question, context), p)
                        .model(&model)
                        .send()?,
                )?
            }
            Task::Summarization => to_json(
                with_params!(client.summarization(text(&a, "the text")?), p)
                    .model(&model)
                    .send()?,
            )?,
            Task::Translation => to_json(
                with_params!(client.translation(text(&a, "the text")?), p)
                    .model(&model)
                    .send()?,
            )?,
            Task::ZeroShotClassification => to_json(
                with_params!(
                    client.zero_shot_classification(text(&a, "the text")?, a.labels.clone()),
                    p
                )
                .model(&model)
                .send()?,
            )?,
            Task::SentenceSimilarity => to_json(
                with_params!(
                    client
                        .sentence_similarity(text(&a, "the source sentence")?, a.sentences.clone()),
                    p
                )
                .model(&model)
                .send()?,
            )?,
            Task::FeatureExtraction => to_json(
                with_params!(client.feature_extraction(text(&a, "the text")?), p)
                    .model(&model)
                    .send()?,
            )?,
            Task::TableQuestionAnswering => {
                let path = a.table.clone().ok_or_else(|| {
                    Error::InvalidInput("table-question-answering needs --table FILE.json".into())
                })?;
                let raw = std::fs::read_to_string(&path)
                    .map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
                let v: Value = serde_json::from_str(&raw)
                    .map_err(|e| Error::json(format!("{}", path.display()), e))?;
                let table = Table::from_json(&v).map_err(Error::InvalidInput)?;
                to_json(
                    with_params!(
                        client.table_question_answering(table, text(&a, "the question")?),
                        p
                    )
                    .model(&model)
                    .send()?,
                )?
            }
            Task::TextGeneration => to_json(
                with_params!(client.text_generation(text(&a, "the prompt")?), p)
                    .model(&model)
                    .send()?,
            )?,
            Task::ChatCompletion => to_json(
                with_params!(
                    client.chat_completion([ChatMessage::user(text(&a, "the message")?)]),
                    p
                )
                .model(&model)
                .send()?,
            )?,
            Task::AudioClassification => to_json(
                with_params!(client.audio_classification(binary(&a)?), p)
                    .model(&model)
                    .send()?,
            )?,
            Task::ImageClassification => to_json(
                with_params!(client.image_classification(binary(&a)?), p)
                    .model(&model)
                    .send()?,
            )?,
            Task::ObjectDetection => to_json(
                with_params!(client.object_detection(binary(&a)?), p)
                    .model(&model)
                    .send()?,
            )?,
            Task::AutomaticSpeechRecognition => to_json(
                with_params!(client.automatic_speech_recognition(binary(&a)?), p)
                    .model(&model)
                    .send()?,
            )?,
            Task::ImageToText => to_json(
                with_params!(client.image_to_text(binary(&a)?), p)
                    .model(&model)
                    .send()?,
            )?,
            Task::TextToImage => {
                let out = with_params!(client.text_to_image(text(&a, "the prompt")?), p)
                    .model(&model)
                    .bytes()?;
                return emit_media(&a, &out, Some(&out.to_image()?));
            }
            Task::ImageToImage => {
                let out = with_params!(client.image_to_image(binary(&a)?), p)
                    .model(&model)
                    .bytes()?;
                return emit_media(&a, &out, Some(&out.to_image()?));
            }
            Task::TextToSpeech => {
                let out = with_params!(client.text_to_speech(text(&a, "the text")?), p)
                    .model(&model)
                    .send()?;
                return emit_media(&a, &out, None);
            }
            Task::TextToVideo => {
                let out = with_params!(client.text_to_video(text(&a, "the prompt")?), p)
                    .model(&model)
                    .send()?;
                return emit_media(&a, &out, None);
            }
            Task::ImageToVideo => {
                let out = with_params!(client.image_to_video(binary(&a)?), p)
                    .model(&model)
                    .send()?;
                return emit_media(&a, &out, None);
            }
            Task::AudioToAudio => {
                let clips = with_params!(client.audio_to_audio(binary(&a)?), p)
                    .model(&model)
                    .send()?;
                return emit_clips(&a, &clips);
            }
            Task::ImageSegmentation => to_json(
                with_params!(client.image_segmentation(binary(&a)?), p)
                    .model(&model)
                    .send()?,
            )?,
            Task::ZeroShotImageClassification => to_json(
                with_params!(
                    client.zero_shot_image_classification(binary(&a)?, a.labels.clone()),
                    p
                )
                .model(&model)
                .send()?,
            )?,
            Task::VisualQuestionAnswering => {
                let (image, question) = image_question(&a)?;
                to_json(
                    with_params!(client.visual_question_answering(image, question), p)
                        .model(&model)
                        .send()?,
                )?
            }
            Task::DocumentQuestionAnswering => {
                let (image, question) = image_question(&a)?;
                to_json(
                    with_params!(client.document_question_answering(image, question), p)
                        .model(&model)
                        .send()?,
                )?
            }
            Task::TabularClassification => to_json(
                with_params!(client.tabular_classification(table(&a)?), p)
                    .model(&model)
                    .send()?,
            )?,
            Task::TabularRegression => to_json(
                with_params!(client.tabular_regression(table(&a)?), p)
                    .model(&model)
                    .send()?,
            )?,
            other => {
                return Err(Error::InvalidInput(format!(
                    "hfkit infer does not support the task {other} yet"
                )));
            }
        }
    };
    let text = serde_json::to_string_pretty(&answer).map_err(|e| Error::json("answer", e))?;
    match &a.output {
        Some(path) => {
            std::fs::write(path, text.as_bytes())
                .map_err(|e| Error::io(format!("writing {}", path.display()), e))?;
            outln!(
                "{}",
                serde_json::json!({"output": path, "bytes": text.len(), "content_type": "application/json"})
            );
        }
        None => outln!("{text}"),
    }
    Ok(())
}

fn emit_raw(a: &Args, body: &[u8]) -> Result<()> {
    match &a.output {
        Some(path) => {
            std::fs::write(path, body)
                .map_err(|e| Error::io(format!("writing {}", path.display()), e))?;
            outln!(
                "{}",
                serde_json::json!({"output": path, "bytes": body.len()})
            );
        }
        None => {
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            out.write_all(body)
                .and_then(|_| out.write_all(b"\n"))
                .map_err(|e| Error::io("writing to stdout", e))?;
        }
    }
    Ok(())
}
