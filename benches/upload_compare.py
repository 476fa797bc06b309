#!/usr/bin/env python3
"""Upload benchmarks for hfkit against ``sha256sum`` and Python ``huggingface_hub``.

Run from the repository root::

    python3 benches/upload_compare.py --runs 3

What it measures, on loopback (release builds):

1. Hashing: one 1 GiB file of random bytes (in the page cache after a warm-up read),
   ``sha256sum FILE`` vs ``target/release/examples/sha256_file FILE`` (hfkit's upload hashing
   code), runs alternating. Reports median MB/s (1 MB = 10^6 bytes) and the hfkit/sha256sum
   ratio.
2. Uploading a 2 GiB folder (6 large files of 320 MiB and 1,000 small ones of 1-64 KiB) to a fresh
   ``hfkit serve --allow-writes`` mirror each run: ``hfkit upload REPO FOLDER --quiet`` vs
   ``HfApi().create_repo(...); upload_folder(...)`` in the Python venv, runs alternating. Reports
   median seconds, the speedup and hfkit's peak RSS (GNU time ``%M``).

The Python interpreter is taken from ``--python``, else ``$HFKIT_TEST_PYTHON``, else
``./.venv/bin/python``. Only the standard library is used here. Not part of CI, never run by
``cargo test``. It reuses the process helpers of ``benches/download_compare.py``.
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
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from download_compare import cpu_model, fail, find_python, first_line, run_timed  # noqa: E402

GIB = 1 << 30
MIB = 1 << 20
MB = 1_000_000
TOKEN = "hf_bench_write_token"
LARGE = 6
LARGE_SIZE = 320 * MIB
SMALL = 1000
# Source files, the 1 GiB hashing file, the mirror's copy and its temporaries.
NEEDED_FREE = 6 * GIB

PY_UPLOAD = """
import sys, time
t0 = time.perf_counter()
from huggingface_hub import HfApi
api = HfApi()
api.create_repo(sys.argv[1], exist_ok=True)
t1 = time.perf_counter()
api.upload_folder(repo_id=sys.argv[1], folder_path=sys.argv[2])
print(time.perf_counter() - t1)
"""


def build(repo_root: Path) -> tuple[Path, Path]:
    print("building: cargo build --release --bin hfkit --example sha256_file", file=sys.stderr)
    subprocess.run(
        ["cargo", "build", "--release", "--bin", "hfkit", "--example", "sha256_file"],
        cwd=repo_root,
        check=True,
    )
    meta = subprocess.run(
        ["cargo", "metadata", "--format-version", "1", "--no-deps"],
        cwd=repo_root, check=True, capture_output=True, text=True,
    )
    release = Path(json.loads(meta.stdout)["target_directory"]) / "release"
    binary, example = release / "hfkit", release / "examples" / "sha256_file"
    for p in (binary, example):
        if not p.is_file():
            fail(f"{p} was not built")
    return binary, example


def write_random(path: Path, size: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        left = size
        while left:
            n = min(left, 64 * MIB)
            f.write(os.urandom(n))
            left -= n


def write_folder(root: Path) -> int:
    rng = random.Random(42)
    total = 0
    for i in range(LARGE):
        write_random(root / "weights" / f"shard-{i:02}.bin", LARGE_SIZE)
        total += LARGE_SIZE
    for i in range(SMALL):
        size = rng.randint(1024, 64 * 1024)
        p = root / ("configs" if i % 3 else "data") / f"part-{i:04}.json"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(rng.randbytes(size))
        total += size
    return total


class Mirror:
    """A fresh writable `hfkit serve` on its own root, stopped with SIGINT."""

    def __init__(self, binary: Path, root: Path, log: Path):
        root.mkdir(parents=True)
        self.root = root
        self.log = open(log, "ab")
        self.proc = subprocess.Popen(
            [str(binary), "serve", "--root", str(root), "--port", "0",
             "--allow-writes", "--token", TOKEN],
            stdout=subprocess.PIPE, stderr=self.log,
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
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        shutil.rmtree(self.root, ignore_errors=True)


def bench_hash(args, example: Path, work: Path) -> list[str]:
    big = work / "hash.bin"
    write_random(big, GIB)
    subprocess.run(["sha256sum", str(big)], check=True, capture_output=True)  # page cache
    ref = subprocess.run(["sha256sum", str(big)], check=True, capture_output=True, text=True)
    want = ref.stdout.split()[0]
    sums: list[float] = []
    ours: list[float] = []
    for i in range(args.runs):
        sums.append(run_timed(["sha256sum", str(big)]).seconds)
        r = run_timed([str(example), str(big)])
        if r.stdout.split()[0] != want:
            fail(f"sha256_file printed {r.stdout!r}, sha256sum {want}")
        ours.append(r.seconds)
        print(f"  hash run {i + 1}: sha256sum {sums[-1]:.2f} s, hfkit {ours[-1]:.2f} s", file=sys.stderr)
    big.unlink()
    s_mbs = GIB / statistics.median(sums) / MB
    h_mbs = GIB / statistics.median(ours) / MB
    ratio = h_mbs / s_mbs
    fmt = lambda xs: ", ".join(f"{GIB / s / MB:.0f}" for s in xs)  # noqa: E731
    return [
        "| sha256 of 1 GiB (page cache) | MB/s, median | MB/s, every run | ratio (target >= 0.90) |",
        "|---|---|---|---|",
        f"| `sha256sum` | {s_mbs:.0f} | {fmt(sums)} | 1.00 |",
        f"| hfkit (`examples/sha256_file`) | {h_mbs:.0f} | {fmt(ours)} | {ratio:.2f} {'✅' if ratio >= 0.9 else '❌'} |",
    ]


def bench_upload(args, binary: Path, python: str, work: Path) -> list[str]:
    folder = work / "folder"
    total = write_folder(folder)
    print(f"  folder: {total / GIB:.2f} GiB in {LARGE + SMALL} files", file=sys.stderr)
    base_env = dict(os.environ) | {
        "HF_TOKEN": TOKEN,
        "HF_HUB_DISABLE_XET": "1",
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    }
    base_env.pop("HF_HUB_CACHE", None)
    hf_s: list[float] = []
    hf_rss: list[int] = []
    py_s: list[float] = []
    py_call: list[float] = []
    py_rss: list[int] = []
    for i in range(args.runs):
        for tool in ("hfkit", "python"):
            mirror = Mirror(binary, work / f"root-{tool}-{i}", work / "serve.log")
            env = base_env | {"HF_ENDPOINT": mirror.url, "HF_HOME": str(work / f"home-{tool}-{i}")}
            repo = f"bench/up-{tool}-{i}"
            try:
                if tool == "hfkit":
                    r = run_timed([str(binary), "upload", repo, str(folder), "--quiet"], env=env)
                    if f"/{repo}/commit/" not in r.stdout.strip().splitlines()[-1]:
                        fail(f"hfkit upload printed {r.stdout!r}")
                    hf_s.append(r.seconds)
                    hf_rss.append(r.max_rss_kb)
                else:
                    r = run_timed([python, "-c", PY_UPLOAD, repo, str(folder)], env=env)
                    py_s.append(r.seconds)
                    py_call.append(float(r.stdout.strip().splitlines()[-1]))
                    py_rss.append(r.max_rss_kb)
                stored = sum(p.stat().st_size for p in mirror.root.rglob("*") if p.is_file())
                if stored < total:
                    print(f"  warning: the mirror holds {stored} bytes after {tool}'s upload of {total}",
                          file=sys.stderr)
            finally:
                mirror.stop()
        print(
            f"  upload run {i + 1}: hfkit {hf_s[-1]:.2f} s ({hf_rss[-1] / 1024:.1f} MiB RSS), "
            f"python {py_s[-1]:.2f} s (upload_folder call {py_call[-1]:.2f} s, "
            f"{py_rss[-1] / 1024:.1f} MiB RSS)",
            file=sys.stderr,
        )
    hf, py, pc = statistics.median(hf_s), statistics.median(py_s), statistics.median(py_call)
    rss_mb = max(hf_rss) * 1024 / MB
    fmt = lambda xs: ", ".join(f"{s:.2f}" for s in xs)  # noqa: E731
    return [
        f"| {total / GIB:.2f} GiB folder, {LARGE} x 320 MiB + {SMALL} x 1-64 KiB | hfkit CLI | Python, whole process | Python, `upload_folder` call only |",
        "|---|---|---|---|",
        f"| seconds, median of {args.runs} | {hf:.2f} | {py:.2f} | {pc:.2f} |",
        f"| seconds, every run | {fmt(hf_s)} | {fmt(py_s)} | {fmt(py_call)} |",
        f"| hfkit speedup | | {py / hf:.2f}x | {pc / hf:.2f}x |",
        f"| peak RSS (hfkit target <= 64 MB) | {rss_mb:.1f} MB {'✅' if 0 < rss_mb <= 64 else '❌'} | "
        f"{max(py_rss) * 1024 / MB:.1f} MB | |",
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3, help="runs per tool and test (default 3)")
    ap.add_argument("--python", help="Python with huggingface_hub (default: $HFKIT_TEST_PYTHON, ./.venv/bin/python)")
    ap.add_argument("--skip-hash", action="store_true", help="skip the hashing test")
    ap.add_argument("--skip-upload", action="store_true", help="skip the upload test")
    ap.add_argument("--work-dir", help="parent of the temporary folder (default: the system temp dir)")
    args = ap.parse_args()
    if not os.access("/usr/bin/time", os.X_OK):
        fail("GNU time (/usr/bin/time) is needed for the peak RSS")
    if shutil.which("sha256sum") is None:
        fail("`sha256sum` is not installed")
    repo_root = Path(__file__).resolve().parent.parent
    python = find_python(args.python, repo_root) if not args.skip_upload else ""
    binary, example = build(repo_root)
    work = Path(tempfile.mkdtemp(prefix="hfkit-upbench-", dir=args.work_dir))
    if shutil.disk_usage(work).free < NEEDED_FREE:
        shutil.rmtree(work)
        fail(f"needs {NEEDED_FREE / GIB:.0f} GiB free in {work.parent}")
    tables: list[list[str]] = []
    try:
        if not args.skip_hash:
            tables.append(bench_hash(args, example, work))
        if not args.skip_upload:
            tables.append(bench_upload(args, binary, python, work))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    hub_version = (
        first_line([python, "-c", "import huggingface_hub as h; print(h.__version__)"]) if python else "-"
    )
    print(f"\n{time.strftime('%Y-%m-%d')}, {os.cpu_count()} CPUs ({cpu_model()}), "
          f"{platform.system()} {platform.release()}, loopback, `hfkit serve --allow-writes` (release)")
    print(f"{first_line(['sha256sum', '--version'])}; huggingface_hub {hub_version}; "
          f"{first_line([str(binary), '--version'])}\n")
    for t in tables:
        print("\n".join(t))
        print()


if __name__ == "__main__":
    main()
