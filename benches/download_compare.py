#!/usr/bin/env python3
"""Download benchmarks for hfkit against curl and Python ``huggingface_hub``.

Run from the repository root::

    python3 benches/download_compare.py

What it measures, everything on loopback against ``hfkit serve`` (release build):

1. One 1 GiB LFS file: ``curl -s -o OUT URL`` vs ``hfkit download REPO FILE --cache-dir C --quiet``
   (fresh cache each run, runs alternate). hfkit's time includes its sha256 verification.
   Reports median MB/s (1 MB = 10^6 bytes), the hfkit/curl ratio and hfkit's peak RSS.
2. 1,000 small files (1-4 KB, in a few folders): ``hfkit download REPO --max-workers 8`` vs
   ``snapshot_download(repo, cache_dir=C, max_workers=8)`` in the Python venv (fresh HF_HOME and
   cache each run, runs alternate). Reports median seconds and the speedup.

With ``--cdn nginx`` the 1 GiB test runs the way the Hub serves big files: ``hfkit serve --cdn-url``
answers the resolve URL with a ``302`` to an nginx (``sendfile on``) serving the same root, as the
Hub redirects LFS files to its CDN; ``curl -L`` and hfkit both follow it. On a 2-core machine this
keeps the server from eating the core the client's hashing needs (nginx must be installed, e.g.
``apt-get install -y nginx-light``).

The Python interpreter is taken from ``--python``, else ``$HFKIT_TEST_PYTHON``, else
``./.venv/bin/python`` (the one ``bash .ci/run`` creates). Only the standard library is used here;
the Python client runs in that venv. Not part of CI and never run by ``cargo test``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

GIB = 1 << 30
MB = 1_000_000
BIG_REPO = "bench/big-file"
BIG_FILE = "model.bin"
SMALL_REPO = "bench/small-files"
SMALL_COUNT = 1000
SMALL_FOLDERS = ("config", "data/train", "data/test", "docs", "tokenizer")
# Room for the served file, one downloaded copy and slack.
NEEDED_FREE = 3 * GIB

PY_SNAPSHOT = """
import sys, time
from huggingface_hub import snapshot_download
t0 = time.perf_counter()
snapshot_download(sys.argv[1], cache_dir=sys.argv[2], max_workers=8)
print(time.perf_counter() - t0)
"""


@dataclass
class Run:
    """One finished child process."""

    seconds: float
    max_rss_kb: int
    stdout: str


def fail(msg: str) -> None:
    print(f"error: {msg}", file=sys.stderr)
    sys.exit(1)


GNU_TIME = "/usr/bin/time"


def run_timed(cmd: list[str], env: dict[str, str] | None = None) -> Run:
    """Runs `cmd` to completion: wall time and the child's own peak RSS.

    The peak RSS comes from GNU time (`/usr/bin/time -f %M`) when installed. Python's own
    `wait4`/`RUSAGE_CHILDREN` figure would be wrong here: Linux carries the parent's high-water
    mark over a vfork+exec, so every child would "peak" at this driver's size (~90 MB after it
    wrote the 1 GiB file). Without GNU time the figure is left blank.
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, \
            tempfile.NamedTemporaryFile() as rss:
        gnu_time = os.access(GNU_TIME, os.X_OK)
        full = [GNU_TIME, "-f", "%M", "-o", rss.name, *cmd] if gnu_time else cmd
        t0 = time.perf_counter()
        code = subprocess.run(full, stdout=out, stderr=err, env=env).returncode
        seconds = time.perf_counter() - t0
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode(errors="replace")
        if code != 0:
            fail(f"{' '.join(cmd)} exited with {code}:\n{err.read().decode(errors='replace')}")
        max_rss_kb = -1
        if gnu_time:
            lines = Path(rss.name).read_text().split()
            max_rss_kb = int(lines[-1]) if lines else -1
    return Run(seconds, max_rss_kb, stdout)


def find_python(arg: str | None, repo_root: Path) -> str:
    for cand in (arg, os.environ.get("HFKIT_TEST_PYTHON"), str(repo_root / ".venv/bin/python")):
        if cand and Path(cand).is_file():
            return cand
    fail("no Python with huggingface_hub: pass --python, set HFKIT_TEST_PYTHON or run `bash .ci/run`")
    raise AssertionError


def build_hfkit(repo_root: Path) -> Path:
    print("building: cargo build --release --bin hfkit", file=sys.stderr)
    subprocess.run(
        ["cargo", "build", "--release", "--bin", "hfkit"], cwd=repo_root, check=True
    )
    meta = subprocess.run(
        ["cargo", "metadata", "--format-version", "1", "--no-deps"],
        cwd=repo_root,
        check=True,
        capture_output=True,
        text=True,
    )
    binary = Path(json.loads(meta.stdout)["target_directory"]) / "release" / "hfkit"
    if not binary.is_file():
        fail(f"{binary} was not built")
    return binary


def write_big_file(path: Path) -> None:
    """1 GiB of random bytes (incompressible), written in 64 MiB chunks."""
    path.parent.mkdir(parents=True, exist_ok=True)
    chunk = 64 << 20
    with open(path, "wb") as f:
        for _ in range(GIB // chunk):
            f.write(os.urandom(chunk))


def write_small_repo(root: Path) -> None:
    rng = random.Random(1234)
    for i in range(SMALL_COUNT):
        folder = root / SMALL_FOLDERS[i % len(SMALL_FOLDERS)]
        folder.mkdir(parents=True, exist_ok=True)
        size = rng.randint(1024, 4096)
        (folder / f"file_{i:04}.txt").write_bytes(rng.randbytes(size))


class Nginx:
    """nginx serving ROOT as static files (sendfile) on a free loopback port: the CDN."""

    def __init__(self, root: Path, work: Path):
        import socket

        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        if not os.access(nginx, os.X_OK):
            fail("--cdn nginx needs nginx (e.g. `apt-get install -y nginx-light`)")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        conf = work / "nginx.conf"
        # Run as root, nginx hands its worker to `nobody`, which cannot enter mkdtemp's 0700 folder.
        user = "user root;" if hasattr(os, "geteuid") and os.geteuid() == 0 else ""
        conf.write_text(f"""
{user}
worker_processes 1;
daemon off;
pid {work}/nginx.pid;
error_log {work}/nginx-error.log;
events {{ worker_connections 64; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    client_body_temp_path {work}/nginx-body;
    proxy_temp_path {work}/nginx-proxy;
    fastcgi_temp_path {work}/nginx-fastcgi;
    uwsgi_temp_path {work}/nginx-uwsgi;
    scgi_temp_path {work}/nginx-scgi;
    types {{ }}
    default_type application/octet-stream;
    server {{
        listen 127.0.0.1:{port};
        root {root};
    }}
}}
""")
        self.proc = subprocess.Popen([nginx, "-c", str(conf), "-p", str(work)],
                                     stderr=subprocess.DEVNULL)
        self.url = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                urllib.request.urlopen(self.url + "/", timeout=1)
                break
            except urllib.error.HTTPError:
                break
            except OSError:
                time.sleep(0.05)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=15)


class Server:
    """`hfkit serve --root ROOT --port 0`, stopped with SIGINT (its Ctrl-C path)."""

    def __init__(self, binary: Path, root: Path, log: Path, cdn_url: str | None = None):
        self.log = open(log, "wb")
        extra = ["--cdn-url", cdn_url] if cdn_url else []
        self.proc = subprocess.Popen(
            [str(binary), "serve", "--root", str(root), "--port", "0", *extra],
            stdout=subprocess.PIPE,
            stderr=self.log,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().decode().strip()
        if not line.startswith("http"):
            self.stop()
            fail(f"hfkit serve printed {line!r} instead of its URL (log: {log})")
        self.url = line.rstrip("/")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def warm_up(url: str) -> None:
    """Makes the mirror hash both repos before anything is timed."""
    for u in (
        f"{url}/api/models/{BIG_REPO}/revision/main",
        f"{url}/api/models/{SMALL_REPO}/revision/main",
        f"{url}/{BIG_REPO}/resolve/main/{BIG_FILE}",
    ):
        req = urllib.request.Request(u, method="HEAD" if "/resolve/" in u else "GET")
        with urllib.request.urlopen(req, timeout=600) as resp:
            resp.read()


def first_line(cmd: list[str]) -> str:
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
        return out.splitlines()[0] if out else "?"
    except (OSError, subprocess.CalledProcessError):
        return "?"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def bench_big(args, binary: Path, server: Server, base_env: dict, work: Path, big: Path) -> list[str]:
    url = f"{server.url}/{BIG_REPO}/resolve/main/{BIG_FILE}"
    size = big.stat().st_size
    curl_s: list[float] = []
    modes = {
        "default": {},
        "high-throughput": {"HF_HUB_ENABLE_HF_TRANSFER": "1"},
    }
    hf_s: dict[str, list[float]] = {m: [] for m in modes}
    hf_rss: dict[str, list[int]] = {m: [] for m in modes}
    for i in range(args.runs):
        out = work / "curl.out"
        r = run_timed(["curl", "-s", "-f", "-L", "-o", str(out), url])
        if out.stat().st_size != size:
            fail(f"curl wrote {out.stat().st_size} bytes, expected {size}")
        out.unlink()
        curl_s.append(r.seconds)

        for mode, extra in modes.items():
            cache = work / f"cache-big-{mode}-{i}"
            r = run_timed(
                [str(binary), "download", BIG_REPO, BIG_FILE, "--cache-dir", str(cache), "--quiet"],
                env=base_env | {"HF_HOME": str(work / f"home-big-{mode}-{i}")} | extra,
            )
            got = Path(r.stdout.strip().splitlines()[-1])
            if got.stat().st_size != size:
                fail(f"hfkit produced {got.stat().st_size} bytes, expected {size}")
            shutil.rmtree(cache)
            hf_s[mode].append(r.seconds)
            hf_rss[mode].append(r.max_rss_kb)
        print(
            f"  1 GiB run {i + 1}: curl {curl_s[-1]:.2f} s, hfkit {hf_s['default'][-1]:.2f} s "
            f"({hf_rss['default'][-1] / 1024:.1f} MiB RSS), hfkit high-throughput "
            f"{hf_s['high-throughput'][-1]:.2f} s ({hf_rss['high-throughput'][-1] / 1024:.1f} MiB RSS)",
            file=sys.stderr,
        )

    t0 = time.perf_counter()
    subprocess.run(["sha256sum", str(big)], check=True, capture_output=True)
    sha_s = time.perf_counter() - t0

    curl_mbs = size / statistics.median(curl_s) / MB
    fmt = lambda xs: ", ".join(f"{size / s / MB:.0f}" for s in xs)  # noqa: E731
    rows = [
        "| 1 GiB LFS file | MB/s, median | MB/s, every run | ratio to curl (target >= 0.90) | peak RSS (target <= 64 MB) |",
        "|---|---|---|---|---|",
        f"| `curl -L -o` | {curl_mbs:.0f} | {fmt(curl_s)} | 1.00 | |",
    ]
    for mode in modes:
        mbs = size / statistics.median(hf_s[mode]) / MB
        ratio = mbs / curl_mbs
        rss_mb = max(hf_rss[mode]) * 1024 / MB
        rss = f"{rss_mb:.1f} MB" if rss_mb > 0 else "n/a (needs /usr/bin/time)"
        rows.append(
            f"| `hfkit download` ({mode}, incl. sha256) | {mbs:.0f} | {fmt(hf_s[mode])} | "
            f"{ratio:.2f} {'✅' if ratio >= 0.9 else '❌'} | {rss} {'✅' if 0 < rss_mb <= 64 else '❌'} |"
        )
    rows.append(f"| `sha256sum` of the same file (page cache) | {size / sha_s / MB:.0f} | | | |")
    return rows


def bench_small(args, binary: Path, python: str, base_env: dict, work: Path, server: Server) -> list[str]:
    hf_s: list[float] = []
    py_s: list[float] = []
    py_call_s: list[float] = []
    for i in range(args.runs):
        cache = work / f"cache-small-hf-{i}"
        r = run_timed(
            [
                str(binary), "download", SMALL_REPO, "--cache-dir", str(cache),
                "--quiet", "--max-workers", "8",
            ],
            env=base_env | {"HF_HOME": str(work / f"home-small-hf-{i}")},
        )
        check_snapshot(Path(r.stdout.strip().splitlines()[-1]), "hfkit")
        shutil.rmtree(cache)
        hf_s.append(r.seconds)

        cache = work / f"cache-small-py-{i}"
        r = run_timed(
            [python, "-c", PY_SNAPSHOT, SMALL_REPO, str(cache)],
            env=base_env | {"HF_HOME": str(work / f"home-small-py-{i}")},
        )
        snap = next((cache / "models--bench--small-files" / "snapshots").iterdir())
        check_snapshot(snap, "huggingface_hub")
        shutil.rmtree(cache)
        py_s.append(r.seconds)
        py_call_s.append(float(r.stdout.strip().splitlines()[-1]))
        print(
            f"  1,000 files run {i + 1}: hfkit {hf_s[-1]:.2f} s, python {py_s[-1]:.2f} s "
            f"(snapshot_download call {py_call_s[-1]:.2f} s)",
            file=sys.stderr,
        )
    hf = statistics.median(hf_s)
    py = statistics.median(py_s)
    py_call = statistics.median(py_call_s)
    fmt = lambda xs: ", ".join(f"{s:.2f}" for s in xs)  # noqa: E731
    ok = lambda x: "✅" if x >= 3 else "❌"  # noqa: E731
    return [
        "| 1,000 files of 1-4 KB, 8 workers | hfkit CLI | Python, whole process | Python, `snapshot_download` call only |",
        "|---|---|---|---|",
        f"| seconds, median of {args.runs} | {hf:.2f} | {py:.2f} | {py_call:.2f} |",
        f"| seconds, every run | {fmt(hf_s)} | {fmt(py_s)} | {fmt(py_call_s)} |",
        f"| hfkit speedup (target >= 3x) | | {py / hf:.1f}x {ok(py / hf)} | {py_call / hf:.1f}x {ok(py_call / hf)} |",
    ]


def check_snapshot(snap: Path, who: str) -> None:
    n = sum(1 for p in snap.rglob("*") if p.is_file())
    if n != SMALL_COUNT:
        fail(f"{who} snapshot {snap} holds {n} files, expected {SMALL_COUNT}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3, help="runs per tool and test (default 3)")
    ap.add_argument("--python", help="Python with huggingface_hub (default: $HFKIT_TEST_PYTHON, ./.venv/bin/python)")
    ap.add_argument("--skip-big", action="store_true", help="skip the 1 GiB test")
    ap.add_argument("--skip-small", action="store_true", help="skip the 1,000 files test")
    ap.add_argument("--cdn", choices=["none", "nginx"], default="none",
                    help="serve LFS files through a CDN redirect to nginx, as the Hub does (default none)")
    ap.add_argument("--work-dir", help="parent of the temporary folder (default: the system temp dir; "
                    "e.g. /dev/shm to take the disk out of the measurement)")
    args = ap.parse_args()

    repo_root = Path(__file__).resolve().parent.parent
    if not args.skip_big:
        for tool in ("curl", "sha256sum"):
            if shutil.which(tool) is None:
                fail(f"`{tool}` is not installed (e.g. `apt-get install -y curl coreutils`)")
    python = find_python(args.python, repo_root) if not args.skip_small else ""
    binary = build_hfkit(repo_root)

    work = Path(tempfile.mkdtemp(prefix="hfkit-bench-", dir=args.work_dir))
    if not args.skip_big and shutil.disk_usage(work).free < NEEDED_FREE:
        shutil.rmtree(work)
        fail(f"the 1 GiB test needs {NEEDED_FREE / GIB:.0f} GiB free in {work.parent}")
    server = None
    cdn = None
    try:
        root = work / "root"
        big = root / "models" / BIG_REPO / BIG_FILE
        print(f"preparing repos in {root}", file=sys.stderr)
        if not args.skip_big:
            write_big_file(big)
        else:
            big.parent.mkdir(parents=True)
            big.write_bytes(b"x")
        write_small_repo(root / "models" / SMALL_REPO)

        if args.cdn == "nginx":
            cdn = Nginx(root, work)
            print(f"nginx serves {root} at {cdn.url} (the CDN)", file=sys.stderr)
        server = Server(binary, root, work / "serve.log", cdn.url if cdn else None)
        print(f"hfkit serve at {server.url}; hashing the repos (warm-up)", file=sys.stderr)
        warm_up(server.url)
        base_env = dict(os.environ) | {
            "HF_ENDPOINT": server.url,
            "HF_HUB_DISABLE_XET": "1",
            "HF_HUB_DISABLE_TELEMETRY": "1",
            "HF_HUB_DISABLE_PROGRESS_BARS": "1",
        }
        base_env.pop("HF_HUB_CACHE", None)
        base_env.pop("HF_TOKEN", None)

        tables: list[list[str]] = []
        if not args.skip_big:
            tables.append(bench_big(args, binary, server, base_env, work, big))
        if not args.skip_small:
            tables.append(bench_small(args, binary, python, base_env, work, server))
    finally:
        if server is not None:
            server.stop()
        if cdn is not None:
            cdn.stop()
        shutil.rmtree(work, ignore_errors=True)

    hub_version = (
        first_line([python, "-c", "import huggingface_hub as h; print(h.__version__)"]) if python else "-"
    )
    print(f"\n{time.strftime('%Y-%m-%d')}, {os.cpu_count()} CPUs ({cpu_model()}), "
          f"{platform.system()} {platform.release()}, loopback, `hfkit serve` (release build"
          f"{', LFS files redirected to nginx' if args.cdn == 'nginx' else ''}), "
          f"files written under {work.parent}")
    print(f"{first_line(['curl', '--version'])}; huggingface_hub {hub_version}; "
          f"{first_line([str(binary), '--version'])}\n")
    for t in tables:
        print("\n".join(t))
        print()


if __name__ == "__main__":
    main()
