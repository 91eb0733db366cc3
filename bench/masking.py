"""Masking: the cost of `domains.chat.masking.mask` per message over the test corpus (CPU
only, no database), p50/p99/max in µs, per kind of text and overall.

    .venv/bin/python -m bench.masking [--rounds 200]

Target: p99 <= 200 µs per message. Prints a table and writes bench/results/masking.json.
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


def measure(texts: list[str], rounds: int) -> list[float]:
    for text in texts:  # warm the regex caches
        mask(text)
    samples: list[float] = []
    clock = time.perf_counter
    for _ in range(rounds):
        for text in texts:
            started = clock()
            mask(text)
            samples.append(clock() - started)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=200, help="passes over the corpus")
    args = parser.parse_args()
    corpus = json.loads(CORPUS.read_text())
    contacts = [text for _, text in corpus["contacts"]]
    ordinary = list(corpus["ordinary"])
    rows = []
    everything: list[float] = []
    for name, texts in (("contacts", contacts), ("ordinary", ordinary)):
        samples = measure(texts, args.rounds)
        everything += samples
        rows.append({"texts": name, "messages": len(samples), **_micros(samples)})
    overall = _micros(everything)
    rows.append({"texts": "all", "messages": len(everything), **overall})
    report(
        "masking", rows, {"target_p99_us": TARGET_P99_US, "met": overall["p99_us"] <= TARGET_P99_US}
    )


if __name__ == "__main__":
    main()
