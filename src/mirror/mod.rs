//! A read-only local Hub mirror (feature `server`): serves the repositories found under a
//! directory over the Hub HTTP protocol, so that hfkit and Python `huggingface_hub` can use it as
//! their endpoint (`HF_ENDPOINT=http://127.0.0.1:PORT`).
//!
//! # Layout
//!
//! `ROOT/{models,datasets,spaces}/ORG/NAME/` is the repository `ORG/NAME` of that type; every file
//! below it (recursively) is one of its files, except anything under `.git/` or another
//! dot-directory such as `.cache/`. Each repository has one revision, `main`, whose commit id is
//! derived from its content (sha1 over the sorted `path`/blob-id pairs): it changes whenever a file
//! is added, removed or changed, and is stable otherwise. The directory is re-scanned on every
//! request, so edits show up at once; only files whose size or mtime changed are hashed again.
//!
//! Files of at least [`Mirror::lfs_threshold`] bytes are presented as LFS files (sha256 etag,
//! `X-Linked-Etag`/`X-Linked-Size`, `lfs` fields); smaller ones as regular git blobs (git blob sha1).
//!
//! # Routes
//!
//! `HEAD`/`GET {P}{repo}/resolve/{rev}/{path}` (with `Range`), `GET /api/{Ts}/{repo}` and
//! `…/revision/{rev}`, `…/tree/{rev}[/{path}]`, `POST …/paths-info/{rev}`, `…/refs`,
//! `…/commits/{rev}`, `GET /api/{Ts}` (search, author, sort, limit, full) and `/api/whoami-v2`.
//! Lists are paginated with `Link: <…>; rel="next"`. Errors carry `X-Error-Code`,
//! `X-Error-Message`, `X-Request-Id` and a `{"error": …}` body, as on the Hub.
//!
//! Nothing outside the root is ever served: request paths are validated and looked up in the
//! scanned listing, and links leading outside the root are ignored.
//!
//! ```no_run
//! # async fn demo() -> hfkit::Result<()> {
//! use hfkit::mirror::Mirror;
//! let running = Mirror::new("/srv/hub")
//!     .token("secret")
//!     .serve("127.0.0.1:0".parse().unwrap())
//!     .await?;
//! println!("HF_ENDPOINT={}", running.url());
//! running.shutdown().await;
//! # Ok(()) }
//! ```

mod api;
mod commits;
mod dispatch;
mod files;
mod hashing;
mod history;
mod lfs;
mod objects;
mod respond;
mod revision;
mod routes;
mod store;
mod time;
mod wire;
mod writes;

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::error::{Error, Result};
use dispatch::Shared;
use history::History;
use store::{REPO_TYPES, Store};

/// Default size from which files are presented as LFS files: 10 MiB.
pub const DEFAULT_LFS_THRESHOLD: u64 = 10 * 1024 * 1024;

/// Default part size of multipart LFS uploads: 100 MiB.
pub const DEFAULT_MULTIPART_CHUNK_SIZE: u64 = 100 * 1024 * 1024;

/// Default number of entries per page of paginated lists.
pub const DEFAULT_PAGE_SIZE: usize = 1000;

/// How long [`RunningMirror::shutdown`] waits for open requests to finish.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Configuration of a local Hub mirror over a directory; see the [module docs](self).
///
/// ```no_run
/// # async fn demo() -> hfkit::Result<()> {
/// use hfkit::mirror::Mirror;
/// // In-process, e.g. wrapped in a test's middleware:
/// let app = Mirror::new("/srv/hub").page_size(100).router();
/// # let _ = app;
/// // Or served on a port (0 = any free one):
/// let running = Mirror::new("/srv/hub").serve("127.0.0.1:0".parse().unwrap()).await?;
/// assert!(running.url().starts_with("http://127.0.0.1:"));
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Mirror {
    root: PathBuf,
    lfs_threshold: u64,
    page_size: usize,
    token: Option<String>,
    allow_writes: bool,
    multipart_chunk_size: u64,
    cdn: Option<String>,
}

impl fmt::Debug for Mirror {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mirror")
            .field("root", &self.root)
            .field("lfs_threshold", &self.lfs_threshold)
            .field("page_size", &self.page_size)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("allow_writes", &self.allow_writes)
            .field("multipart_chunk_size", &self.multipart_chunk_size)
            .field("cdn", &self.cdn)
            .finish()
    }
}

impl Mirror {
    /// A mirror of the repositories under `root`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Mirror {
            root: root.into(),
            lfs_threshold: DEFAULT_LFS_THRESHOLD,
            page_size: DEFAULT_PAGE_SIZE,
            token: None,
            allow_writes: false,
            multipart_chunk_size: DEFAULT_MULTIPART_CHUNK_SIZE,
            cdn: None,
        }
    }

    /// Serves the write API (create/delete/move repositories, settings, branches, tags,
    /// preupload, LFS uploads and commits). When a [`token`](Self::token) is set, every write
    /// and every read of a private repository needs `Authorization: Bearer {token}`.
    ///
    /// ```no_run
    /// # async fn demo() -> hfkit::Result<()> {
    /// use hfkit::mirror::Mirror;
    /// let running = Mirror::new("/srv/hub")
    ///     .allow_writes(true)
    ///     .token("team-secret")
    ///     .serve("127.0.0.1:0".parse().unwrap())
    ///     .await?;
    /// # let _ = running; Ok(()) }
    /// ```
    pub fn allow_writes(mut self, yes: bool) -> Self {
        self.allow_writes = yes;
        self
    }

    /// Redirects downloads of LFS files to a static file server that serves the mirror root at
    /// `base_url`, as the Hub redirects them to its CDN: `GET`/`HEAD` of such a file answer `302`
    /// with `Location: {base_url}/{path of the file under the root}` and the `X-Linked-*`
    /// metadata headers, and clients fetch the bytes from there (without their token). A server
    /// built for static files (nginx with `sendfile`, say) then carries the heavy traffic.
    /// Files of private repositories are never redirected; serve only content that the static
    /// server's audience may read.
    ///
    /// ```no_run
    /// # async fn demo() -> hfkit::Result<()> {
    /// use hfkit::mirror::Mirror;
    /// // nginx serves /srv/hub as http://127.0.0.1:8081/
    /// let running = Mirror::new("/srv/hub")
    ///     .cdn("http://127.0.0.1:8081")
    ///     .serve("127.0.0.1:0".parse().unwrap())
    ///     .await?;
    /// # let _ = running; Ok(()) }
    /// ```
    pub fn cdn(mut self, base_url: impl Into<String>) -> Self {
        let url: String = base_url.into();
        self.cdn = Some(url.trim_end_matches('/').to_string());
        self
    }

    /// LFS objects larger than `bytes` are uploaded in parts of `bytes` bytes (default
    /// [`DEFAULT_MULTIPART_CHUNK_SIZE`]; at least 1).
    pub fn multipart_chunk_size(mut self, bytes: u64) -> Self {
        self.multipart_chunk_size = bytes.max(1);
        self
    }

    /// Files of at least `bytes` bytes are LFS files (default [`DEFAULT_LFS_THRESHOLD`]).
    pub fn lfs_threshold(mut self, bytes: u64) -> Self {
        self.lfs_threshold = bytes;
        self
    }

    /// Entries per page of tree and repository lists (default [`DEFAULT_PAGE_SIZE`]; at least 1).
    pub fn page_size(mut self, n: usize) -> Self {
        self.page_size = n.max(1);
        self
    }

    /// Enables `/api/whoami-v2` for requests with `Authorization: Bearer {t}`; with
    /// [`allow_writes`](Self::allow_writes), writes and private reads require it.
    pub fn token(mut self, t: impl Into<String>) -> Self {
        self.token = Some(t.into());
        self
    }

    /// The mirror's routes as an axum router, to be served or wrapped (e.g. with fault injection).
    /// Each router has its own hash cache.
    pub fn router(&self) -> axum::Router {
        dispatch::router(self.shared())
    }

    fn shared(&self) -> Arc<Shared> {
        Arc::new(Shared {
            store: Store::new(self.root.clone(), self.lfs_threshold),
            page_size: self.page_size,
            token: self.token.clone(),
            history: History::new(&self.root),
            allow_writes: self.allow_writes,
            lfs_threshold: self.lfs_threshold,
            multipart_chunk_size: self.multipart_chunk_size,
            uploads: Default::default(),
            cdn: self.cdn.clone(),
        })
    }

    /// Binds `addr` (port 0 picks a free port) and serves the mirror on a background task until
    /// [`RunningMirror::shutdown`] or drop. Fails when the root is not a directory or the address
    /// cannot be bound. Hashing of all repositories starts in the background right away, so that
    /// first requests on big files are answered quickly.
    pub async fn serve(self, addr: SocketAddr) -> Result<RunningMirror> {
        let meta = tokio::fs::metadata(&self.root).await.map_err(|e| {
            Error::io(
                format!("opening the mirror root {}", self.root.display()),
                e,
            )
        })?;
        if !meta.is_dir() {
            return Err(Error::InvalidInput(format!(
                "the mirror root {} is not a directory",
                self.root.display()
            )));
        }
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| Error::io(format!("binding the mirror to {addr}"), e))?;
        let local = listener
            .local_addr()
            .map_err(|e| Error::io("reading the mirror's bound address", e))?;
        let shared = self.shared();
        let app = dispatch::router(shared.clone());
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            let stopped = async {
                let _ = stop_rx.await;
            };
            // Small JSON answers and file heads must not wait for delayed ACKs (~40 ms per
            // response on a reused connection without TCP_NODELAY).
            let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
                let _ = tcp.set_nodelay(true);
            });
            if let Err(e) = axum::serve(listener, app)
                .with_graceful_shutdown(stopped)
                .await
            {
                tracing::error!("mirror: server stopped: {e}");
            }
        });
        let warm = tokio::spawn(warm_up(shared));
        Ok(RunningMirror {
            addr: local,
            stop: Some(stop_tx),
            server: Some(server),
            warm,
        })
    }
}

/// Hashes every repository once so that later requests find the hashes cached.
async fn warm_up(shared: Arc<Shared>) {
    for repo_type in REPO_TYPES {
        let Ok(repos) = shared.store.list(repo_type).await else {
            continue;
        };
        for repo in repos {
            if let Err(e) = shared.store.revision(repo_type, &repo.id).await {
                tracing::warn!("mirror: could not scan {}: {e}", repo.id);
            }
        }
    }
}

/// A mirror being served; stops on [`shutdown`](Self::shutdown) or when dropped.
#[derive(Debug)]
pub struct RunningMirror {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<()>>,
    warm: JoinHandle<()>,
}

impl RunningMirror {
    /// The bound address (with the real port when port 0 was asked).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The base URL to use as `HF_ENDPOINT`, e.g. `http://127.0.0.1:PORT` (a loopback address
    /// when bound to all interfaces).
    pub fn url(&self) -> String {
        let ip = match self.addr.ip() {
            IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
            ip => ip,
        };
        format!("http://{}", SocketAddr::new(ip, self.addr.port()))
    }

    /// Stops accepting connections and waits (up to a few seconds) for open requests to finish.
    pub async fn shutdown(mut self) {
        self.warm.abort();
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(mut server) = self.server.take()
            && tokio::time::timeout(SHUTDOWN_GRACE, &mut server)
                .await
                .is_err()
        {
            server.abort();
        }
    }
}

impl Drop for RunningMirror {
    fn drop(&mut self) {
        self.warm.abort();
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
