//! `hfkit`: the Hugging Face Hub from the shell — downloads into the shared cache, cache
//! management, tokens, and a local Hub mirror.

/// `println!` for command output: a failed write (stdout closed) is an `Err` of the enclosing
/// command instead of a panic, and `main` ends quietly on a broken pipe.
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::write_stdout(format_args!("{}\n", format_args!($($arg)*)))?
    };
}

/// `print!` for command output (see `outln!`).
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::write_stdout(format_args!($($arg)*))?
    };
}

mod cmd;
mod progress;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// The Hugging Face Hub from the shell. Downloads share Python's cache.
#[derive(Parser, Debug)]
#[command(name = "hfkit", version, about, long_about = None, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Download files or a whole repository; prints the resulting path last.
    Download(cmd::download::Args),
    /// List what the cache holds (repos, revisions, sizes).
    ScanCache(cmd::cache::ScanArgs),
    /// Delete cached revisions of a repository.
    DeleteCache(cmd::cache::DeleteArgs),
    /// Show the account of the current token.
    Whoami(cmd::auth::WhoamiArgs),
    /// Store a token (checked against the Hub) and make it the active one.
    Login(cmd::auth::LoginArgs),
    /// Remove a stored token (or all of them).
    Logout(cmd::auth::LogoutArgs),
    /// Print the settings hfkit resolves from the environment.
    Env(cmd::env::Args),
    /// Serve a folder of repositories over the Hub protocol (a local Hub mirror).
    Serve(cmd::serve::Args),
    /// Repository cards (README.md metadata): show, validate.
    #[command(subcommand)]
    Card(cmd::card::Command),
    /// Run one inference task and print the parsed answer as JSON.
    Infer(cmd::infer::Args),
    /// Chat with a model, streaming its answer to stdout; without PROMPT, an interactive chat.
    Chat(cmd::chat::ChatArgs),
    /// Generate text from a prompt (TGI); --stream prints the tokens as they come.
    Generate(cmd::chat::GenerateArgs),
    /// Upload a file or a folder in one commit; prints the commit URL last.
    Upload(cmd::upload::Args),
    /// Upload a big folder resumably (re-run after an interruption); prints the commit URL last.
    UploadLargeFolder(cmd::upload_large_folder::Args),
    /// Create, delete or configure repositories, branches and tags.
    Repo(cmd::repo::Args),
}

/// Caps glibc's malloc arenas. glibc gives each thread that allocates concurrently an arena of its
/// own (up to 8 per core) and keeps freed memory in each; transfers that hash and read on many
/// blocking threads then hold far more resident memory than they use (uploading 1,000 small files:
/// 73 MB peak RSS with the default, 45 MB with two arenas, same speed). `MALLOC_ARENA_MAX` in the
/// environment still wins.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn limit_malloc_arenas() {
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        // SAFETY: `mallopt` only sets an allocator tunable; it is called before any thread exists.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, 2);
        }
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn limit_malloc_arenas() {}

fn main() -> ExitCode {
    limit_malloc_arenas();
    let cli = Cli::parse();
    init_logging();
    let result = match cli.command {
        Command::Download(a) => cmd::download::run(a),
        Command::ScanCache(a) => cmd::cache::scan(a),
        Command::DeleteCache(a) => cmd::cache::delete(a),
        Command::Whoami(a) => cmd::auth::whoami(a),
        Command::Login(a) => cmd::auth::login(a),
        Command::Logout(a) => cmd::auth::logout(a),
        Command::Env(a) => cmd::env::run(a),
        Command::Serve(a) => cmd::serve::run(a),
        Command::Card(c) => cmd::card::run(c),
        Command::Infer(a) => cmd::infer::run(a),
        Command::Chat(a) => cmd::chat::chat(a),
        Command::Generate(a) => cmd::chat::generate(a),
        Command::Upload(a) => cmd::upload::run(a),
        Command::UploadLargeFolder(a) => cmd::upload_large_folder::run(a),
        Command::Repo(a) => cmd::repo::run(a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // The reader of stdout went away (`hfkit chat … | head`): stop quietly, as Unix tools do.
        Err(hfkit::Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::BrokenPipe => {
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Warnings from the library go to stderr; `HF_HUB_VERBOSITY` / `HF_DEBUG` raise the level.
fn init_logging() {
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(max_level())
        .without_time()
        .with_target(false)
        .try_init();
}

fn max_level() -> tracing::Level {
    let debug = std::env::var("HF_DEBUG").is_ok_and(|v| hfkit::config::is_truthy(&v));
    if debug {
        return tracing::Level::DEBUG;
    }
    match std::env::var("HF_HUB_VERBOSITY")
        .unwrap_or_default()
        .to_ascii_lowercase()
        .as_str()
    {
        "debug" => tracing::Level::DEBUG,
        "info" => tracing::Level::INFO,
        "error" | "critical" => tracing::Level::ERROR,
        _ => tracing::Level::WARN,
    }
}

/// Writes command output to stdout.
fn write_stdout(args: std::fmt::Arguments<'_>) -> hfkit::Result<()> {
    use std::io::Write;
    std::io::stdout()
        .lock()
        .write_fmt(args)
        .map_err(|e| hfkit::Error::io("writing to stdout", e))
}
