"""Per-transaction parts of the stream worker, each against the code it replaced, in the same run.

* ``slots``: the embedded feature store giving slots to the entities a batch meets for the first time:
  ``InMemoryStateStore.begin`` as it was, one ``slot_of`` per new key with the arena's size checked per key
  (before), against ``begin`` allocating a batch's new keys at once (after); batches of ``--batch`` keys over
  ``--entities`` entities, on a fresh store per measurement, so that most keys are new, as at a stream's start.

Each side runs ``--repeat`` times, interleaved, CPU time of this thread; the best is kept (the machine is shared).

    python bench/stream_parts.py --repeat 5 --json bench-stream-parts.json
"""

# ruff: noqa: E402  (the import path is fixed before the project packages are imported)
from __future__ import annotations

import sys
from pathlib import Path

_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]  # bench/features.py is not features
sys.path.insert(0, str(_HERE.parent))

import argparse
import json
import os
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from features import InMemoryStateStore
from features.state import StateBatch

Side = Callable[[], int]


class _SlotPerKeyStore(InMemoryStateStore):
    """The embedded store with ``begin`` as it was before new keys were allocated at once."""

    def begin(self, requests: Any) -> StateBatch:
        arenas, slots = {}, {}
        for kind, keys in requests.items():
            arena, known = self._kind(kind)
            found = list(map(known.get, keys))
            if None in found:
                found = [self.slot_of(kind, k) if s is None else s for s, k in zip(found, keys, strict=True)]
            slots[kind] = np.array(found, dtype=np.int64)
            arenas[kind] = arena
        return StateBatch(arenas=arenas, slots=slots)


def slots_sides(batch: int, batches: int, entities: int) -> dict[str, Callable[[], Side]]:
    """Each side: a fresh store, then the batches' keys given slots (returns how many keys)."""
    rng = np.random.default_rng(7)
    keys = [[f"card-{k:06d}" for k in rng.integers(0, entities, batch).tolist()] for _ in range(batches)]

    def side(store: InMemoryStateStore) -> Callable[[], Side]:
        def prepare() -> Side:
            fresh = type(store)()

            def run() -> int:
                for chunk in keys:
                    fresh.begin({"card": chunk})
                return batch * batches

            return run

        return prepare

    return {
        "begin, slot_of per new key (before)": side(_SlotPerKeyStore()),
        "begin, new keys at once (after)": side(InMemoryStateStore()),
    }


def measure(sides: dict[str, Callable[[], Side]], repeat: int) -> dict[str, Any]:
    runs: dict[str, list[float]] = {name: [] for name in sides}
    for _ in range(repeat):
        for name, prepare in sides.items():
            run = prepare()
            began = time.thread_time()
            items = run()
            runs[name].append(1e6 * (time.thread_time() - began) / items)
    best = {name: min(values) for name, values in runs.items()}
    before, after = list(best.values())
    return {"us_per_item": best, "runs": runs, "speedup": before / after}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=2_000)
    parser.add_argument("--batches", type=int, default=30)
    parser.add_argument("--entities", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args()
    figures: dict[str, Any] = {"load_average": os.getloadavg(), "batch": args.batch}
    figures["slots"] = measure(slots_sides(args.batch, args.batches, args.entities), args.repeat)
    print(f"load average {figures['load_average']}")
    for part in ("slots",):
        result = figures[part]
        for name, value in result["us_per_item"].items():
            print(f"  {part}: {name:<40} {value:8.3f} us a key (best of {args.repeat})")
        print(f"  {part}: speed-up {result['speedup']:.2f}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
