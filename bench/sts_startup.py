#!/usr/bin/env python3
"""Time from starting `helseid-testbed up` on an existing data directory until discovery answers.

Usage: python3 bench/sts_startup.py [--runs N] [--binary PATH]

Builds the release binary unless --binary is given, seeds a fresh data directory once (not
timed), then starts the server N times on it, polling the discovery document every 2 ms from the
moment the process is spawned. Prints each run and the median in milliseconds, and the
server's RSS (VmRSS) once it answers.
"""
import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request


def wait_for(url, proc, deadline):
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=0.5) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.002)
    raise SystemExit("the server did not answer within the deadline")


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--binary")
    args = ap.parse_args()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    binary = args.binary
    if not binary:
        subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=root, check=True)
        target = os.environ.get("CARGO_TARGET_DIR", os.path.join(root, "target"))
        binary = os.path.join(target, "release", "helseid-testbed")
    data = tempfile.mkdtemp(prefix="sts-startup-")
    port = "18473"
    url = f"http://127.0.0.1:{port}/.well-known/openid-configuration"
    try:
        # First start seeds the directory; not timed.
        p = subprocess.Popen([binary, "up", "--port", port, "--data-dir", data], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(url, p, time.monotonic() + 30)
        p.send_signal(signal.SIGTERM)
        p.wait()
        times, rss = [], []
        for _ in range(args.runs):
            start = time.monotonic()
            p = subprocess.Popen([binary, "up", "--port", port, "--data-dir", data], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            wait_for(url, p, start + 10)
            times.append((time.monotonic() - start) * 1000)
            rss.append(rss_kib(p.pid) / 1024)
            p.send_signal(signal.SIGTERM)
            p.wait()
        print("runs (ms):", ", ".join(f"{t:.1f}" for t in times))
        print(f"median time to answer discovery: {statistics.median(times):.1f} ms")
        print(f"median RSS when ready: {statistics.median(rss):.1f} MiB")
    finally:
        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
