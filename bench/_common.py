"""Shared by the benchmarks: timing with warm-up, and the catalogue."""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def per_call(fn: Callable[[], object], *, min_seconds: float = 0.5, rounds: int = 5) -> float:
    """Median seconds per call over ``rounds`` rounds, each long enough to be measurable."""
    fn()
    n = 1
    while True:
        start = time.perf_counter()
        for _ in range(n):
            fn()
        elapsed = time.perf_counter() - start
        if elapsed >= min_seconds / rounds:
            break
        n *= 2
    samples = [elapsed / n]
    for _ in range(rounds - 1):
        start = time.perf_counter()
        for _ in range(n):
            fn()
        samples.append((time.perf_counter() - start) / n)
    return statistics.median(samples)


def catalogue_files() -> list[Path]:
    return sorted((ROOT / "forms" / "catalogue").glob("*.yaml"))
