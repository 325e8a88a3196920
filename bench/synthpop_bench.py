#!/usr/bin/env python3
"""Benchmark: 1,000,000 synthetic persons as JSON Lines, testbed vs Python faker (no_NO).

Runs the release binary `helseid-testbed synthpop generate --count N --out FILE` several
times and reports the median wall time and peak RSS; then runs Python faker's no_NO locale
making the same number of persons (ssn + name each, written as JSON Lines) in the same run,
and prints the ratio. Faker is installed into bench/.venv from PyPI on first use.

Usage: python3 bench/synthpop_bench.py [--count 1000000] [--runs 5] [--faker-runs 3]
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / "bench" / ".venv"

FAKER_SCRIPT = r"""
import json, sys
from faker import Faker
fake = Faker("no_NO")
Faker.seed(1)
n = int(sys.argv[1])
with open(sys.argv[2], "w", encoding="utf-8") as out:
    for i in range(n):
        out.write(json.dumps({"index": i, "pid": fake.ssn(), "name": fake.name()}, ensure_ascii=False))
        out.write("\n")
"""


def settle(path):
    """Remove the previous output and let the kernel finish writing it back."""
    if path.exists():
        path.unlink()
    os.sync()
    time.sleep(2)


def timed(cmd, stdout=subprocess.DEVNULL):
    """Wall seconds and peak RSS (MiB) of one child process."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=stdout)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if status != 0:
        sys.exit(f"failed ({status}): {' '.join(map(str, cmd))}")
    return wall, usage.ru_maxrss / 1024.0


def ensure_faker():
    python = VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    probe = subprocess.run([str(python), "-c", "import faker; print(faker.VERSION)"],
                           capture_output=True, text=True)
    if probe.returncode != 0:
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", "faker"], check=True)
        probe = subprocess.run([str(python), "-c", "import faker; print(faker.VERSION)"],
                               capture_output=True, text=True, check=True)
    return python, probe.stdout.strip()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--faker-runs", type=int, default=3)
    args = ap.parse_args()

    subprocess.run(["cargo", "build", "--release", "--quiet", "--bin", "helseid-testbed"],
                   cwd=ROOT, check=True)
    binary = ROOT / "target" / "release" / "helseid-testbed"
    python, faker_version = ensure_faker()

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "persons.jsonl"
        ours = []
        size = 0
        for _ in range(args.runs):
            # Each run starts like a user's single run: no earlier output still being
            # written back to disk in the background.
            settle(out)
            ours.append(timed([binary, "synthpop", "generate", "--count", str(args.count),
                               "--out", str(out)]))
            size = out.stat().st_size
        settle(out)
        null = [timed([binary, "synthpop", "generate", "--count", str(args.count)],
                      stdout=subprocess.DEVNULL) for _ in range(args.runs)]
        script = Path(tmp) / "faker_persons.py"
        script.write_text(FAKER_SCRIPT)
        fout = Path(tmp) / "faker.jsonl"
        theirs = [timed([python, script, str(args.count), str(fout)])
                  for _ in range(args.faker_runs)]

    null_wall = statistics.median(w for w, _ in null)
    our_wall = statistics.median(w for w, _ in ours)
    our_rss = max(r for _, r in ours)
    faker_wall = statistics.median(w for w, _ in theirs)
    faker_rss = max(r for _, r in theirs)
    print(f"persons: {args.count}, cores: {os.cpu_count()}")
    print(f"| tool | median wall (s) | runs | peak RSS (MiB) | output |")
    print(f"|---|---|---|---|---|")
    print(f"| helseid-testbed synthpop generate (full persons, JSONL) | {our_wall:.2f} | "
          f"{args.runs} | {our_rss:.1f} | {size / 1e6:.0f} MB |")
    print(f"| helseid-testbed, same, to /dev/null (no disk) | {null_wall:.2f} | "
          f"{args.runs} | {max(r for _, r in null):.1f} | |")
    print(f"| Python faker {faker_version} no_NO (ssn + name, JSONL) | {faker_wall:.2f} | "
          f"{args.faker_runs} | {faker_rss:.1f} | |")
    print(f"ratio (faker / testbed): {faker_wall / our_wall:.1f}x")
    print("all testbed runs (s): " + ", ".join(f"{w:.2f}" for w, _ in ours))
    print("all /dev/null runs (s): " + ", ".join(f"{w:.2f}" for w, _ in null))
    print("all faker runs (s): " + ", ".join(f"{w:.2f}" for w, _ in theirs))


if __name__ == "__main__":
    main()
