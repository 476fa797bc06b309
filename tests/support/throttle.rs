//! Loopback plumbing for tests that run real processes: the `hfkit serve` mirror as a child
//! process, and a throttling TCP proxy in front of it that also records the request heads it
//! forwards.
//!
//! Both are plain std threads/processes, so they work from sync tests; both stop in `Drop`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// The real `hfkit serve --root DIR --port 0` as a child process, killed on drop.
pub struct MirrorProcess {
    child: Child,
    url: String,
    addr: SocketAddr,
}

impl MirrorProcess {
    /// Starts the mirror over `root` (with an optional `--token`), waiting at most 30 s for the URL
    /// it prints first on stdout.
    pub fn start(root: &Path, token: Option<&str>) -> MirrorProcess {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_hfkit"));
        cmd.arg("serve")
            .arg("--root")
            .arg(root)
            .arg("--port")
            .arg("0")
            .env_remove("HFKIT_SERVE_TOKEN")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        if let Some(t) = token {
            cmd.arg("--token").arg(t);
        }
        let mut child = cmd.spawn().expect("starting hfkit serve");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            let first = lines.next().and_then(|l| l.ok());
            let _ = tx.send(first);
            // Keep draining so the server never blocks on a full pipe.
            for _ in lines {}
        });
        let url = match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(Some(url)) => url.trim().to_owned(),
            other => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("hfkit serve printed no URL within 30 s: {other:?}");
            }
        };
        let addr: SocketAddr = url
            .strip_prefix("http://")
            .unwrap_or_else(|| panic!("unexpected URL {url:?}"))
            .trim_end_matches('/')
            .parse()
            .unwrap_or_else(|e| panic!("unexpected URL {url:?}: {e}"));
        MirrorProcess { child, url, addr }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The listening address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for MirrorProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An `http://127.0.0.1:PORT` URL where nothing listens (the port was bound, then released).
pub fn closed_port_url() -> String {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    drop(l);
    format!("http://{addr}")
}

struct State {
    /// Server→client bytes per second per connection; 0 = unlimited.
    rate: AtomicU64,
    /// Bytes forwarded server→client, all connections together.
    down: AtomicU64,
    /// Request heads seen client→server, in arrival order.
    requests: Mutex<Vec<String>>,
    stop: AtomicBool,
}

/// A loopback TCP proxy in front of `upstream` that forwards both ways, limits the server→client
/// rate of each connection, and records every HTTP request head it forwards. Stops on drop.
pub struct Throttle {
    addr: SocketAddr,
    state: Arc<State>,
}

/// Starts a proxy in front of `upstream` limiting each connection's download to `bytes_per_sec`
/// (0 = unlimited).
pub fn start(upstream: SocketAddr, bytes_per_sec: u64) -> Throttle {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let state = Arc::new(State {
        rate: AtomicU64::new(bytes_per_sec),
        down: AtomicU64::new(0),
        requests: Mutex::new(Vec::new()),
        stop: AtomicBool::new(false),
    });
    let st = state.clone();
    thread::spawn(move || {
        for conn in listener.incoming() {
            if st.stop.load(Ordering::SeqCst) {
                break;
            }
            let Ok(client) = conn else { continue };
            let Ok(server) = TcpStream::connect(upstream) else {
                continue;
            };
            let _ = client.set_nodelay(true);
            let _ = server.set_nodelay(true);
            let st = st.clone();
            thread::spawn(move || serve_conn(client, server, st));
        }
    });
    Throttle { addr, state }
}

impl Throttle {
    /// The proxy's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDR` of the proxy: the Hub URL to hand to clients.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Changes the rate (bytes/s per connection; 0 = unlimited) for data sent from now on.
    pub fn set_rate(&self, bytes_per_sec: u64) {
        self.state.rate.store(bytes_per_sec, Ordering::SeqCst);
    }

    /// Bytes sent server→client so far.
    pub fn bytes_down(&self) -> u64 {
        self.state.down.load(Ordering::SeqCst)
    }

    /// The request heads (request line + headers, `\r\n`-separated) seen so far.
    pub fn requests(&self) -> Vec<String> {
        self.state.requests.lock().unwrap().clone()
    }

    /// Forgets the recorded requests and the byte count.
    pub fn reset(&self) {
        self.state.requests.lock().unwrap().clear();
        self.state.down.store(0, Ordering::SeqCst);
    }

    /// The request lines (`GET /path HTTP/1.1`) seen so far.
    pub fn request_lines(&self) -> Vec<String> {
        self.requests()
            .iter()
            .map(|h| h.lines().next().unwrap_or("").to_owned())
            .collect()
    }
}

impl Drop for Throttle {
    fn drop(&mut self) {
        self.state.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(self.addr);
    }
}

/// The value of header `name` (case-insensitive) in a recorded request head.
pub fn header(head: &str, name: &str) -> Option<String> {
    head.lines().skip(1).find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim()
            .eq_ignore_ascii_case(name)
            .then(|| v.trim().to_owned())
    })
}

fn serve_conn(client: TcpStream, server: TcpStream, st: Arc<State>) {
    let (c2, s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
    let st_up = st.clone();
    let up = thread::spawn(move || upstream_pump(client, server, st_up));
    downstream_pump(s2, c2, st);
    let _ = up.join();
}

/// Client → server: forwards everything, parsing request heads (and skipping bodies by their
/// `Content-Length`) to record them.
fn upstream_pump(mut client: TcpStream, mut server: TcpStream, st: Arc<State>) {
    let mut buf = [0u8; 16 * 1024];
    let mut pending: Vec<u8> = Vec::new();
    let mut body_left: usize = 0;
    loop {
        let n = match client.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if server.write_all(&buf[..n]).is_err() {
            break;
        }
        pending.extend_from_slice(&buf[..n]);
        loop {
            if body_left > 0 {
                let k = body_left.min(pending.len());
                pending.drain(..k);
                body_left -= k;
            }
            if pending.is_empty() {
                break;
            }
            let Some(end) = pending.windows(4).position(|w| w == b"\r\n\r\n") else {
                break;
            };
            let head = String::from_utf8_lossy(&pending[..end]).into_owned();
            pending.drain(..end + 4);
            body_left = header(&head, "content-length")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            st.requests.lock().unwrap().push(head);
        }
    }
    let _ = server.shutdown(Shutdown::Write);
}

/// Server → client, at most `rate` bytes/s.
fn downstream_pump(mut server: TcpStream, mut client: TcpStream, st: Arc<State>) {
    let mut buf = [0u8; 16 * 1024];
    let mut window_start = Instant::now();
    let mut window_bytes: u64 = 0;
    loop {
        let rate = st.rate.load(Ordering::SeqCst);
        let chunk = if rate == 0 {
            buf.len()
        } else {
            // Chunks of about 1/50 s worth of data keep the pacing smooth.
            (rate / 50).clamp(512, buf.len() as u64) as usize
        };
        let n = match server.read(&mut buf[..chunk]) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if rate > 0 {
            window_bytes += n as u64;
            let due = Duration::from_secs_f64(window_bytes as f64 / rate as f64);
            let elapsed = window_start.elapsed();
            if due > elapsed {
                thread::sleep(due - elapsed);
            }
            if window_start.elapsed() > Duration::from_secs(1) {
                window_start = Instant::now();
                window_bytes = 0;
            }
        }
        if client.write_all(&buf[..n]).is_err() {
            break;
        }
        st.down.fetch_add(n as u64, Ordering::SeqCst);
    }
    let _ = client.shutdown(Shutdown::Both);
    let _ = server.shutdown(Shutdown::Both);
}
