"""Benchmark: the item analysis of 20,000 candidates, each sitting 30 items drawn from 300.

The whole analysis (``accredit.analysis.psychometrics.analyse`` and its flags:
facility, corrected point-biserial, upper and lower 27%, discriminative
efficiency, every option's statistics, test statistics with reliability, the
statements' sub-scores) runs on a generated matrix with missing cells. The
baseline, timed in the same run on the same matrix, is a bare NumPy computation
of facility and item-rest point-biserial alone. The two must agree on those.

    .venv/bin/python bench/item_analysis.py [--candidates 20000] [--pool 300] [--form 30]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from accredit.analysis.psychometrics import (
    NO_CHOICE,
    ItemSpec,
    Responses,
    analyse,
    flag_items,
)

OPTIONS = ("a", "b", "c", "d")


def cohort(candidates: int, pool: int, form: int, seed: int = 1) -> Responses:
    rng = np.random.default_rng(seed)
    ability = rng.normal(0, 1, candidates)
    difficulty = rng.normal(0, 1, pool)
    marks = np.full((candidates, pool), np.nan)
    choices = np.full((candidates, pool), NO_CHOICE, dtype=np.intp)
    seen = np.argsort(rng.random((candidates, pool)), axis=1)[:, :form]
    rows = np.repeat(np.arange(candidates), form)
    cols = seen.ravel()
    p = 1 / (1 + np.exp(-1.7 * (ability[rows] - difficulty[cols])))
    right = rng.random(rows.size) < p
    marks[rows, cols] = right.astype(float)
    wrong = 1 + rng.integers(0, 3, rows.size)  # options 1-3 are distractors, 0 is the key
    choices[rows, cols] = np.where(right, 0, wrong)
    items = tuple(
        ItemSpec(f"i{j:03d}", options=OPTIONS, keys=frozenset({"a"}),
                 competencies=(f"S{j % 8 + 1}",))
        for j in range(pool)
    )  # fmt: skip
    return Responses(
        candidates=tuple(f"c{i}" for i in range(candidates)), items=items,
        marks=marks, choices=choices,
    )  # fmt: skip


def bare(marks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Facility and item-rest point-biserial (rest in percent of the rest of the form)."""
    seen = ~np.isnan(marks)
    filled = np.where(seen, marks, 0.0)
    total, count = filled.sum(axis=1, keepdims=True), seen.sum(axis=1, keepdims=True)
    facility = filled.sum(axis=0) / seen.sum(axis=0)
    rest = np.where(seen, (total - filled) / np.maximum(count - 1, 1) * 100, np.nan)
    correlations = np.empty(marks.shape[1])
    for j in range(marks.shape[1]):
        mask = seen[:, j]
        correlations[j] = np.corrcoef(filled[mask, j], rest[mask, j])[0, 1]
    return facility, correlations


def whole(responses: Responses) -> tuple[object, object]:
    analysis = analyse(responses)
    return analysis, flag_items(analysis)


def best_of(runs: int, work) -> tuple[float, object]:  # type: ignore[no-untyped-def]
    best, value = float("inf"), None
    for _ in range(runs):
        started = time.perf_counter()
        value = work()
        best = min(best, time.perf_counter() - started)
    return best, value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidates", type=int, default=20_000)
    parser.add_argument("--pool", type=int, default=300)
    parser.add_argument("--form", type=int, default=30)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    responses = cohort(args.candidates, args.pool, args.form)
    full, found = best_of(args.runs, lambda: whole(responses))
    plain, baseline = best_of(args.runs, lambda: bare(responses.marks))
    analysis, _flags = found  # type: ignore[misc]
    facility, correlations = baseline  # type: ignore[misc]
    ours = np.array([item.facility for item in analysis.items])
    pb = np.array([item.point_biserial for item in analysis.items], dtype=float)
    assert np.allclose(ours, facility), "facilities disagree"
    assert np.allclose(pb, correlations, atol=1e-9), "point-biserials disagree"
    print(f"{args.candidates:,} candidates, {args.form} of {args.pool} items each")
    print(f"  whole analysis with flags: {full:.3f} s (best of {args.runs})")
    print(f"  bare NumPy facility and point-biserial: {plain:.3f} s")
    print(f"  ratio (bare / whole): {plain / full:.2f}")
    print(f"  under 2 s: {'yes' if full < 2 else 'NO'}")


if __name__ == "__main__":
    main()
