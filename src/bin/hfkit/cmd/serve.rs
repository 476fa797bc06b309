//! `hfkit serve`: the local Hub mirror.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use hfkit::mirror::Mirror;
use hfkit::{Error, Result};

/// `hfkit serve --root DIR`
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Folder holding `models/ORG/NAME/`, `datasets/ORG/NAME/`, `spaces/ORG/NAME/`.
    #[arg(long)]
    pub root: PathBuf,
    /// Address to bind (loopback unless told otherwise).
    #[arg(long, default_value = "127.0.0.1")]
    pub host: IpAddr,
    /// Port (0 picks a free one).
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
    /// Token that `whoami` accepts and that writes and private reads require.
    #[arg(long, env = "HFKIT_SERVE_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Accept uploads (create repositories, commits, LFS, branches, tags); needs --token.
    #[arg(long, requires = "token")]
    pub allow_writes: bool,
    /// Files of at least this many bytes are LFS files.
    #[arg(long, default_value_t = hfkit::mirror::DEFAULT_LFS_THRESHOLD)]
    pub lfs_threshold: u64,
    /// Part size of multipart LFS uploads.
    #[arg(long, default_value_t = hfkit::mirror::DEFAULT_MULTIPART_CHUNK_SIZE)]
    pub multipart_chunk_size: u64,
    /// Redirect downloads of LFS files of public repositories to a static file server (nginx, a
    /// CDN) that serves --root at this URL, as the Hub redirects them to its CDN.
    #[arg(long, value_name = "URL")]
    pub cdn_url: Option<String>,
}

/// Runs the mirror until Ctrl-C.
pub fn run(a: Args) -> Result<()> {
    if !a.root.is_dir() {
        return Err(Error::InvalidInput(format!(
            "--root {} is not a directory",
            a.root.display()
        )));
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::io("starting the runtime", e))?;
    rt.block_on(async move {
        let mut mirror = Mirror::new(a.root.clone())
            .allow_writes(a.allow_writes)
            .lfs_threshold(a.lfs_threshold)
            .multipart_chunk_size(a.multipart_chunk_size);
        if let Some(t) = a.token {
            mirror = mirror.token(t);
        }
        if let Some(url) = a.cdn_url {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(Error::InvalidInput(format!(
                    "--cdn-url {url} is not an http(s) URL"
                )));
            }
            mirror = mirror.cdn(url);
        }
        let running = mirror.serve(SocketAddr::new(a.host, a.port)).await?;
        // The URL goes to stdout so scripts can read it; everything else to stderr.
        outln!("{}", running.url());
        eprintln!(
            "Serving {} at {} (HF_ENDPOINT={}); Ctrl-C to stop.",
            a.root.display(),
            running.url(),
            running.url()
        );
        let _ = tokio::signal::ctrl_c().await;
        running.shutdown().await;
        Ok(())
    })
}
