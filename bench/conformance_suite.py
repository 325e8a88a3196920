#!/usr/bin/env python3
"""Wall time of the bundled api suites against the reference API.

Usage: python3 bench/conformance_suite.py [--runs N] [--no-build]

Builds the release binaries (helseid-testbed, reference-api) unless --no-build, then for each
bundled api scenario, N times: picks a free port for the embedded STS, starts the reference API
configured as the scenario requires and trusting that issuer, and times
`helseid-testbed conformance run scenarios/<file> --target <api> --sts-port <port> --data-dir
<new temporary directory>` from spawn to exit (which must be 0): a cold start, the STS seeding
its population and making its key as on a first run. The reference API is restarted per run:
each run's STS has new keys. Prints every run and the medians.
"""
import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TESTBED = os.path.join(ROOT, "target", "release", "helseid-testbed")
REFERENCE_API = os.path.join(ROOT, "target", "release", "reference-api")

# Scenario file -> the reference API's flags for what it requires.
SUITES = {
    "api-system.yaml": ["--dpop"],
    "api-bearer.yaml": [],
    "api-user-level4.yaml": ["--dpop", "--level", "4"],
    "api-tillitsrammeverk.yaml": ["--dpop", "--level", "4", "--tillitsrammeverk", "--org", "999977774"],
    "api-multi-tenant.yaml": ["--dpop", "--org", "999977774"],
}
AUDIENCE = "nhn:conformance-api"
SCOPE = "nhn:conformance-api/read"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def one_run(scenario, flags):
    port = free_port()
    api = subprocess.Popen(
        [REFERENCE_API, "--issuer", f"http://127.0.0.1:{port}", "--audience", AUDIENCE,
         "--scope", SCOPE, "--port", "0", *flags],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        line = api.stdout.readline().strip()
        if not line.startswith("listening: "):
            raise SystemExit(f"reference-api said {line!r}")
        target = line.split(" ", 1)[1].rstrip("/") + "/api/records"
        with tempfile.TemporaryDirectory() as state:
            started = time.monotonic()
            done = subprocess.run(
                [TESTBED, "conformance", "run", os.path.join(ROOT, "scenarios", scenario),
                 "--target", target, "--sts-port", str(port), "--data-dir", state],
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                env={**os.environ, "NO_COLOR": "1"})
            elapsed = time.monotonic() - started
        if done.returncode != 0:
            sys.stderr.write(done.stdout)
            raise SystemExit(f"{scenario}: exit {done.returncode}")
        return elapsed
    finally:
        api.terminate()
        api.wait()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--no-build", action="store_true")
    args = ap.parse_args()
    if not args.no_build:
        subprocess.run(["cargo", "build", "--release", "--bin", "helseid-testbed"], cwd=ROOT, check=True)
        subprocess.run(["cargo", "build", "--release", "-p", "helseid-reference", "--bin", "reference-api"],
                       cwd=ROOT, check=True)
    medians = {}
    for scenario, flags in SUITES.items():
        runs = [one_run(scenario, flags) for _ in range(args.runs)]
        medians[scenario] = statistics.median(runs)
        print(f"{scenario}: runs (s) {', '.join(f'{r:.2f}' for r in runs)}; median {medians[scenario]:.2f}")
    print(f"all suites, sum of medians: {sum(medians.values()):.2f} s")


if __name__ == "__main__":
    main()
