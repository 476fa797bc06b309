//! `hfkit chat [PROMPT]` and `hfkit generate PROMPT`: streamed generation to stdout.
//!
//! Only generated text goes to stdout (flushed after every piece), so the output can be piped;
//! prompts and diagnostics go to stderr.

use std::io::{BufRead, IsTerminal, Write};

use hfkit::blocking::InferenceClient;
use hfkit::inference::Provider;
use hfkit::inference::types::{ChatCompletionAccumulator, ChatMessage, ContentPart};
use hfkit::{Error, Result};

/// Where to send the request (shared by `chat` and `generate`).
#[derive(clap::Args, Debug, Clone)]
pub struct Target {
    /// The model: a Hub id, or the model name an OpenAI-compatible server expects (with
    /// --base-url).
    #[arg(long)]
    pub model: Option<String>,
    /// A server to call directly: TGI, llama.cpp, vLLM, any OpenAI-compatible URL.
    #[arg(long)]
    pub base_url: Option<String>,
    /// The provider (`auto`, `hf-inference`, `together`, …).
    #[arg(long)]
    pub provider: Option<String>,
    /// Access token (default: HF_TOKEN, then the stored token).
    #[arg(long)]
    pub token: Option<String>,
}

/// `hfkit chat`
#[derive(clap::Args, Debug)]
pub struct ChatArgs {
    /// The message; without it, an interactive chat reads one message per line from stdin.
    pub prompt: Option<String>,
    #[command(flatten)]
    pub target: Target,
    /// A system message sent first.
    #[arg(long)]
    pub system: Option<String>,
    /// Most tokens per answer.
    #[arg(long)]
    pub max_tokens: Option<u32>,
    /// Sampling temperature.
    #[arg(long)]
    pub temperature: Option<f64>,
    /// Random seed of the sampling (the same seed gives the same answer on servers that honour
    /// it).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Print each streamed chunk as one JSON line instead of the text.
    #[arg(long)]
    pub json: bool,
    /// An image (a local file, sent inline as a `data:` URL, or an `http(s)` URL) to attach to
    /// the first message, for vision-language models; repeatable.
    #[arg(long = "image", value_name = "FILE_OR_URL")]
    pub images: Vec<String>,
}

/// `hfkit generate`
#[derive(clap::Args, Debug)]
pub struct GenerateArgs {
    /// The prompt.
    pub prompt: String,
    #[command(flatten)]
    pub target: Target,
    /// Most new tokens.
    #[arg(long)]
    pub max_new_tokens: Option<u32>,
    /// Random seed of the sampling.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Print the tokens as they are generated.
    #[arg(long)]
    pub stream: bool,
}

fn client(t: &Target, chat: bool) -> Result<InferenceClient> {
    let mut b = hfkit::inference::InferenceClient::builder();
    if let Some(tok) = t.token.as_deref().filter(|t| !t.is_empty()) {
        b = b.token(tok);
    }
    if let Some(p) = &t.provider {
        b = b.provider(p.parse::<Provider>()?);
    }
    match (&t.base_url, &t.model) {
        (Some(u), _) => b = b.base_url(u),
        (None, Some(m)) if !chat => b = b.model(m),
        (None, Some(_)) => {}
        (None, None) => {
            return Err(Error::InvalidInput(
                "give --model (a Hub id) or --base-url (a server)".into(),
            ));
        }
    }
    InferenceClient::from_async(b.build()?)
}

/// Writes streamed text to stdout, flushing each piece; remembers whether a line is open.
struct Out {
    stdout: std::io::Stdout,
    open_line: bool,
}

impl Out {
    fn new() -> Self {
        Out {
            stdout: std::io::stdout(),
            open_line: false,
        }
    }

    fn piece(&mut self, s: &str) -> Result<()> {
        if s.is_empty() {
            return Ok(());
        }
        let mut lock = self.stdout.lock();
        lock.write_all(s.as_bytes())
            .and_then(|()| lock.flush())
            .map_err(|e| Error::io("writing to stdout", e))?;
        self.open_line = !s.ends_with('\n');
        Ok(())
    }

    fn line(&mut self, s: &str) -> Result<()> {
        self.piece(s)?;
        self.piece("\n")
    }

    fn end_line(&mut self) -> Result<()> {
        if self.open_line {
            self.piece("\n")?;
        }
        Ok(())
    }
}

fn json_line<T: serde::Serialize>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| Error::json("a streamed chunk", e))
}

/// Streams one answer to stdout and returns the assistant's message.
fn answer(
    c: &InferenceClient,
    a: &ChatArgs,
    history: &[ChatMessage],
    out: &mut Out,
) -> Result<String> {
    let mut call = c.chat_completion(history.iter().cloned());
    if let Some(m) = &a.target.model {
        call = call.model(m);
    }
    if let Some(n) = a.max_tokens {
        call = call.max_tokens(n);
    }
    if let Some(t) = a.temperature {
        call = call.temperature(t);
    }
    if let Some(s) = a.seed {
        call = call.seed(s);
    }
    let mut acc = ChatCompletionAccumulator::new();
    let result = (|| {
        for chunk in call.stream()? {
            let chunk = chunk?;
            if a.json {
                out.line(&json_line(&chunk)?)?;
            } else if let Some(t) = chunk.delta_text() {
                out.piece(t)?;
            }
            acc.push(&chunk);
        }
        Ok(())
    })();
    out.end_line()?;
    result?;
    Ok(acc.finish().text().unwrap_or_default().to_owned())
}

/// Runs `chat`.
pub fn chat(a: ChatArgs) -> Result<()> {
    let c = client(&a.target, true)?;
    let mut history = Vec::new();
    if let Some(s) = &a.system {
        history.push(ChatMessage::system(s));
    }
    // Read the images first: a bad file fails before any request.
    let mut images = a
        .images
        .iter()
        .map(|i| image_part(i))
        .collect::<Result<Vec<_>>>()?;
    let mut out = Out::new();
    if let Some(p) = &a.prompt {
        history.push(user_message(p, &mut images));
        answer(&c, &a, &history, &mut out)?;
        return Ok(());
    }
    let stdin = std::io::stdin();
    let interactive = stdin.is_terminal();
    if interactive {
        eprintln!(
            "Chatting with {}; an empty line or Ctrl-D ends.",
            who(&a.target)
        );
    }
    let mut lines = stdin.lock().lines();
    loop {
        if interactive {
            eprint!("> ");
            let _ = std::io::stderr().flush();
        }
        let Some(line) = lines.next() else { break };
        let line = line.map_err(|e| Error::io("reading stdin", e))?;
        let line = line.trim_end_matches(['\r', '\n']);
        if line.trim().is_empty() {
            if interactive {
                break;
            }
            continue;
        }
        history.push(user_message(line, &mut images));
        let text = answer(&c, &a, &history, &mut out)?;
        history.push(ChatMessage::assistant(text));
    }
    Ok(())
}

/// A `--image` value as a message part.
fn image_part(arg: &str) -> Result<ContentPart> {
    if arg.starts_with("http://") || arg.starts_with("https://") || arg.starts_with("data:") {
        Ok(ContentPart::image_url(arg))
    } else {
        ContentPart::image_file(arg)
    }
}

/// A user message; the images not sent yet go with it.
fn user_message(text: &str, images: &mut Vec<ContentPart>) -> ChatMessage {
    if images.is_empty() {
        return ChatMessage::user(text);
    }
    let mut parts = vec![ContentPart::text(text)];
    parts.append(images);
    ChatMessage::user_parts(parts)
}

fn who(t: &Target) -> String {
    match (&t.base_url, &t.model) {
        (Some(u), Some(m)) => format!("{m} at {u}"),
        (Some(u), None) => u.clone(),
        (None, Some(m)) => m.clone(),
        (None, None) => "the default model".into(),
    }
}

/// Runs `generate`.
pub fn generate(a: GenerateArgs) -> Result<()> {
    let c = client(&a.target, false)?;
    let mut call = c.text_generation(&a.prompt);
    if let Some(n) = a.max_new_tokens {
        call = call.max_new_tokens(n);
    }
    if let Some(s) = a.seed {
        call = call.seed(s);
    }
    let mut out = Out::new();
    if !a.stream {
        let text = call.send()?.generated_text;
        return out.line(&text);
    }
    let result = (|| {
        for chunk in call.stream()? {
            let chunk = chunk?;
            if !chunk.token.special {
                out.piece(&chunk.token.text)?;
            }
        }
        Ok(())
    })();
    out.end_line()?;
    result
}
