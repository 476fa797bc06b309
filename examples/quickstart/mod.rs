//! The quickstart's steps, shared by `examples/quickstart.rs` and `tests/quickstart.rs`.

pub mod hub;
pub mod model;
pub mod serve;
pub mod train;

use std::io::Write;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use futures::StreamExt;
use hfkit::HubClient;
use hfkit::Settings;
use hfkit::inference::InferenceClient;
use hfkit::inference::types::{ChatCompletionAccumulator, ChatMessage, StreamOptions};
use hfkit::mirror::Mirror;

use model::{CharLm, CharLmConfig};

/// The bundled training text (written for this example; public domain).
pub const CORPUS: &str = include_str!("corpus.txt");

/// The repository the model is pushed to on the local mirror.
pub const REPO_ID: &str = "quickstart/char-lm";

/// What to run.
#[derive(Debug, Clone)]
pub struct Options {
    /// How long to train.
    pub train: train::Budget,
    /// The chat prompt (the model continues it).
    pub prompt: String,
    /// Characters to generate.
    pub max_tokens: u32,
    /// Sampling temperature.
    pub temperature: f64,
    /// Seed of training and sampling.
    pub seed: u64,
    /// `--model`: also stream a chat from the HF router with this model (needs `hf_token`).
    pub router_model: Option<String>,
    /// `HF_TOKEN`, for the HF router step only (never sent to the local servers).
    pub hf_token: Option<String>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            train: train::Budget::Time(Duration::from_secs(8)),
            prompt: "The lamp on the hill".into(),
            max_tokens: 240,
            temperature: 0.6,
            seed: 7,
            router_model: None,
            hf_token: None,
        }
    }
}

/// What a run measured, for callers that check it.
#[derive(Debug, Clone)]
#[allow(dead_code)] // Read by tests/quickstart.rs; the example prints instead.
pub struct Summary {
    /// Training steps taken.
    pub steps: usize,
    /// Loss at the start and the end of training.
    pub loss: (f32, f32),
    /// Weight values compared after the round trip (all equal).
    pub values_compared: usize,
    /// The text the local model streamed.
    pub streamed: String,
    /// Chunks received from the local chat route.
    pub chunks: u64,
}

macro_rules! say {
    ($out:expr, $($arg:tt)*) => {{
        writeln!($out, $($arg)*)?;
        $out.flush()?;
    }};
}

/// Runs every step, printing to `out` as it goes.
pub async fn run(opts: &Options, out: &mut dyn Write) -> anyhow::Result<Summary> {
    let started = Instant::now();
    let work = tempfile::tempdir()?;

    // 1. Train.
    let cfg = CharLmConfig::for_text(CORPUS);
    let model = CharLm::new_trainable(&cfg)?;
    let params: usize = model
        .named_tensors()
        .iter()
        .map(|(_, t)| t.elem_count())
        .sum();
    let budget = match opts.train {
        train::Budget::Time(d) => format!("{:.1} s", d.as_secs_f64()),
        train::Budget::Steps(n) => format!("{n} steps"),
    };
    say!(
        out,
        "1. Training a character-level language model ({params} parameters, {} characters, \
         context {}) on the bundled text ({} characters) for {budget}",
        cfg.chars().len(),
        cfg.context,
        CORPUS.chars().count(),
    );
    let mut lines: Vec<String> = Vec::new();
    let report = train::train(&model, CORPUS, opts.train, opts.seed, |step, loss| {
        lines.push(format!("   step {step:>5}  loss {loss:.3}"));
    })?;
    for l in lines.iter().step_by(lines.len().div_ceil(6).max(1)) {
        say!(out, "{l}");
    }
    say!(
        out,
        "   trained: {} steps in {:.1} s, loss {:.3} -> {:.3}",
        report.steps,
        report.elapsed.as_secs_f64(),
        report.first_loss,
        report.last_loss
    );

    // 2–4. The Hub round trip, against a writable mirror on 127.0.0.1.
    let token = format!("hf_quickstart{:016x}", fastrand::u64(..));
    let root = work.path().join("hub");
    std::fs::create_dir_all(&root)?;
    let mirror = Mirror::new(&root)
        .allow_writes(true)
        .token(token.clone())
        .serve(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await?;
    let writer = HubClient::builder()
        .endpoint(mirror.url())
        .cache_dir(work.path().join("cache-writer"))
        .token(token.as_str())
        .offline(false)
        .build()?;
    let fresh_cache = work.path().join("fresh-cache");
    let reader = HubClient::builder()
        .endpoint(mirror.url())
        .cache_dir(&fresh_cache)
        .token(token.as_str())
        .offline(false)
        .build()?;
    let target = hub::HubTarget {
        writer: &writer,
        reader: &reader,
        repo_id: REPO_ID,
    };
    let dir = work.path().join("char-lm");
    let trip = hub::round_trip(&model, &dir, &target).await?;
    say!(out, "2. save_pretrained -> {}", trip.saved_dir.display());
    for (name, size) in &trip.saved_files {
        say!(out, "   {name} ({size} bytes)");
    }
    say!(
        out,
        "3. push_to_hub {REPO_ID} -> hfkit mirror with writes on at {}\n   commit {}",
        mirror.url(),
        trip.commit_url
    );
    let values = hub::assert_same_weights(&model, &trip.loaded)?;
    say!(
        out,
        "4. from_pretrained(\"{REPO_ID}\") into a fresh cache: {}\n   the loaded tensors equal \
         the saved ones ({} tensors, {values} values, bit for bit)",
        trip.snapshot.display(),
        model::TENSOR_NAMES.len()
    );
    say!(out, "5. The model card's metadata (README.md):");
    for line in trip.card.metadata_yaml().lines() {
        say!(out, "   {line}");
    }
    mirror.shutdown().await;

    // 6. Serve the loaded model on an OpenAI-compatible route.
    let server = serve::start(trip.loaded, REPO_ID, SocketAddr::from(([127, 0, 0, 1], 0))).await?;
    say!(
        out,
        "6. Serving the model at {} (OpenAI-compatible POST /chat/completions, streaming)",
        server.url()
    );

    // 7. Stream a chat from it with InferenceClient.
    say!(
        out,
        "7. InferenceClient(base_url) streams a chat; prompt: {:?}",
        opts.prompt
    );
    let local = InferenceClient::builder()
        .settings(Settings::builder().no_token().build()?)
        .base_url(server.url())
        .build()?;
    write!(out, "   {}", opts.prompt)?;
    let (streamed, chunks, finish) = stream_chat(&local, REPO_ID, opts, out).await?;
    say!(out, "");
    say!(
        out,
        "   {chunks} chunks, {} characters, finish reason {finish:?}",
        streamed.chars().count()
    );
    server.shutdown().await;

    // 8. Optionally, the real HF router.
    match (&opts.router_model, &opts.hf_token) {
        (Some(m), Some(t)) => {
            say!(out, "8. The same call on the Hugging Face router with {m}:");
            let remote = InferenceClient::builder().token(t.as_str()).build()?;
            write!(out, "   ")?;
            let (_, _, finish) = stream_chat(&remote, m, opts, out).await?;
            say!(out, "");
            say!(out, "   finish reason {finish:?}");
        }
        (Some(_), None) => say!(out, "8. Skipped: --model needs HF_TOKEN for the HF router"),
        (None, _) => say!(
            out,
            "8. (With HF_TOKEN set and --model M, the same call also streams from the HF router.)"
        ),
    }
    say!(out, "Done in {:.1} s.", started.elapsed().as_secs_f64());
    Ok(Summary {
        steps: report.steps,
        loss: (report.first_loss, report.last_loss),
        values_compared: values,
        streamed,
        chunks,
    })
}

/// Streams one chat answer to `out` as it arrives; returns the text, the chunk count and the
/// finish reason.
async fn stream_chat(
    client: &InferenceClient,
    model: &str,
    opts: &Options,
    out: &mut dyn Write,
) -> anyhow::Result<(String, u64, String)> {
    let mut stream = client
        .chat_completion([ChatMessage::user(opts.prompt.clone())])
        .model(model)
        .max_tokens(opts.max_tokens)
        .temperature(opts.temperature)
        .seed(opts.seed)
        .stream_options(StreamOptions {
            include_usage: true,
        })
        .stream()
        .await?;
    let mut acc = ChatCompletionAccumulator::new();
    let mut text = String::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        if let Some(piece) = chunk.delta_text() {
            // Keep the answer indented like the rest of the output.
            write!(out, "{}", piece.replace('\n', "\n   "))?;
            out.flush()?;
            text.push_str(piece);
        }
        acc.push(&chunk);
    }
    let chunks = acc.chunks();
    let done = acc.finish();
    let finish = done
        .choices
        .first()
        .and_then(|c| c.finish_reason.clone())
        .unwrap_or_default();
    Ok((text, chunks, finish))
}
