//! The hfkit quickstart, fully offline, in under a minute on two CPU cores:
//!
//! 1. trains a tiny character-level candle language model on a bundled text for a few seconds;
//! 2. `save_pretrained` writes `model.safetensors`, `config.json` and a rendered `README.md`;
//! 3. `push_to_hub` sends them to hfkit's own Hub mirror, served with writes on 127.0.0.1;
//! 4. `from_pretrained` loads the model back by repo id into a fresh cache (same tensors);
//! 5. prints the model card's metadata;
//! 6. serves the model through an OpenAI-compatible `/v1/chat/completions` route (streaming);
//! 7. an `InferenceClient` with `base_url` streams the generated text to the terminal;
//! 8. with `HF_TOKEN` set and `--model M`, the same chat also streams from the HF router.
//!
//! ```text
//! cargo run --release --features candle --example quickstart -- \
//!     [--train-seconds S | --train-steps N] [--prompt TEXT] [--max-tokens N] [--seed N] [--model M]
//! ```

#[path = "quickstart/mod.rs"]
mod app;

use std::time::Duration;

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn parsed<T: std::str::FromStr>(args: &[String], name: &str) -> anyhow::Result<Option<T>> {
    match arg(args, name) {
        None => Ok(None),
        Some(v) => v
            .parse()
            .map(Some)
            .map_err(|_| anyhow::anyhow!("{name}: cannot read {v:?}")),
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut opts = app::Options::default();
    if let Some(s) = parsed::<f64>(&args, "--train-seconds")? {
        anyhow::ensure!(
            s.is_finite() && (0.0..=600.0).contains(&s),
            "--train-seconds must be between 0 and 600"
        );
        opts.train = app::train::Budget::Time(Duration::from_secs_f64(s));
    }
    if let Some(n) = parsed::<usize>(&args, "--train-steps")? {
        opts.train = app::train::Budget::Steps(n);
    }
    if let Some(p) = arg(&args, "--prompt") {
        opts.prompt = p;
    }
    if let Some(n) = parsed(&args, "--max-tokens")? {
        opts.max_tokens = n;
    }
    if let Some(n) = parsed(&args, "--seed")? {
        opts.seed = n;
    }
    opts.router_model = arg(&args, "--model");
    opts.hf_token = std::env::var("HF_TOKEN").ok().filter(|t| !t.is_empty());
    let mut stdout = std::io::stdout();
    app::run(&opts, &mut stdout).await?;
    Ok(())
}
