//! A loopback TCP proxy that forwards HTTP/1.1 both ways and, once, cuts the connection in the
//! middle of the body of the first request whose request line contains a needle — the server
//! "drops the connection during a part". Every request line it forwards is recorded.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

struct State {
    needle: String,
    /// Body bytes forwarded before the cut.
    after: usize,
    armed: AtomicBool,
    lines: Mutex<Vec<String>>,
    stop: AtomicBool,
}

/// The proxy; stops accepting on drop.
pub struct Cutter {
    addr: SocketAddr,
    state: Arc<State>,
}

/// Starts a proxy in front of `upstream` that cuts the first request matching `needle` after
/// `after` body bytes.
pub fn start(upstream: SocketAddr, needle: &str, after: usize) -> Cutter {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let state = Arc::new(State {
        needle: needle.to_owned(),
        after,
        armed: AtomicBool::new(true),
        lines: Mutex::new(Vec::new()),
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
            let st = st.clone();
            thread::spawn(move || serve(client, server, st));
        }
    });
    Cutter { addr, state }
}

impl Cutter {
    /// `http://ADDR`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Whether the cut happened.
    pub fn cut(&self) -> bool {
        !self.state.armed.load(Ordering::SeqCst)
    }

    /// The request lines forwarded (a cut request included).
    pub fn request_lines(&self) -> Vec<String> {
        self.state.lines.lock().unwrap().clone()
    }
}

impl Drop for Cutter {
    fn drop(&mut self) {
        self.state.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
    }
}

fn content_length(head: &str) -> usize {
    head.lines()
        .skip(1)
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())?
        })
        .unwrap_or(0)
}

fn serve(mut client: TcpStream, mut server: TcpStream, st: Arc<State>) {
    let (mut c2, mut s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
    let down = thread::spawn(move || {
        let mut buf = [0u8; 16 * 1024];
        loop {
            match s2.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if c2.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
            }
        }
        let _ = c2.shutdown(Shutdown::Both);
    });
    let mut buf = [0u8; 16 * 1024];
    let mut pending: Vec<u8> = Vec::new();
    let mut body_left = 0usize;
    'conn: loop {
        let n = match client.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        pending.extend_from_slice(&buf[..n]);
        loop {
            if body_left > 0 {
                let k = body_left.min(pending.len());
                if server.write_all(&pending[..k]).is_err() {
                    break 'conn;
                }
                pending.drain(..k);
                body_left -= k;
                if body_left > 0 {
                    break;
                }
            }
            let Some(end) = pending.windows(4).position(|w| w == b"\r\n\r\n") else {
                break;
            };
            let head = String::from_utf8_lossy(&pending[..end]).into_owned();
            let line = head.lines().next().unwrap_or("").to_owned();
            st.lines.lock().unwrap().push(line.clone());
            let len = content_length(&head);
            if line.contains(&st.needle) && st.armed.swap(false, Ordering::SeqCst) {
                // Forward the head and part of the body, then drop both sides.
                let k = (end + 4 + st.after.min(len)).min(pending.len());
                let _ = server.write_all(&pending[..k]);
                thread::sleep(Duration::from_millis(50));
                let _ = client.shutdown(Shutdown::Both);
                let _ = server.shutdown(Shutdown::Both);
                break 'conn;
            }
            if server.write_all(&pending[..end + 4]).is_err() {
                break 'conn;
            }
            pending.drain(..end + 4);
            body_left = len;
        }
    }
    let _ = server.shutdown(Shutdown::Write);
    let _ = down.join();
}
