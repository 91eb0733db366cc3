"""Masking: the cost of `domains.chat.masking.mask` per message over the test corpus (CPU
only, no database), p50/p99/max in µs, per kind of text and overall.

    .venv/bin/python -m bench.masking [--rounds 200]

Target: p99 <= 200 µs per message (wall clock; the CPU time is shown beside it, which a busy
machine does not inflate). Prints a table and writes bench/results/masking.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from bench.common import report
from domains.chat.masking import mask

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "chat_masking_corpus.json"
TARGET_P99_US = 200.0


def _micros(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    q = statistics.quantiles(ordered, n=100)
    return {
        "p50_us": round(q[49] * 1e6, 1),
        "p99_us": round(q[98] * 1e6, 1),
        "max_us": round(ordered[-1] * 1e6, 1),
    }


def measure(texts: list[str], rounds: int) -> tuple[list[float], list[float]]:
    """Wall-clock and CPU (this thread's) seconds per message: on a busy machine the wall
    clock also counts the time the OS gave other processes, the CPU time does not."""
    for text in texts:  # warm the regex caches
        mask(text)
    wall: list[float] = []
    cpu: list[float] = []
    clock, thread = time.perf_counter, time.thread_time
    for _ in range(rounds):
        for text in texts:
            started, started_cpu = clock(), thread()
            mask(text)
            cpu.append(thread() - started_cpu)
            wall.append(clock() - started)
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=200, help="passes over the corpus")
    args = parser.parse_args()
    corpus = json.loads(CORPUS.read_text())
    contacts = [text for _, text in corpus["contacts"]]
    ordinary = list(corpus["ordinary"])
    rows = []
    everything: list[float] = []
    everything_cpu: list[float] = []
    for name, texts in (("contacts", contacts), ("ordinary", ordinary)):
        wall, cpu = measure(texts, args.rounds)
        everything += wall
        everything_cpu += cpu
        cpu_row = {f"cpu_{k}": v for k, v in _micros(cpu).items()}
        rows.append({"texts": name, "messages": len(wall), **_micros(wall), **cpu_row})
    overall = _micros(everything)
    cpu_all = {f"cpu_{k}": v for k, v in _micros(everything_cpu).items()}
    rows.append({"texts": "all", "messages": len(everything), **overall, **cpu_all})
    report(
        "masking", rows, {"target_p99_us": TARGET_P99_US, "met": overall["p99_us"] <= TARGET_P99_US}
    )


if __name__ == "__main__":
    main()
