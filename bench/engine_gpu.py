"""Model engine on the GPU (Triton kernels) against a plain PyTorch implementation on the same GPU, the engine's
CPU backend, and the memory-bandwidth bound, in the same run.

Models: an MLP 30-64-32-1 (scikit-learn MLPClassifier (64, 32), logistic output) and a random forest of 500
trees of depth 8, both trained on make_classification (30 float32 features, 1 % positives) and compiled with
``compile_model``. Batches from 1,000 to 4,000,000 rows, timed two ways: data already on the GPU
(``run_tensors``) and NumPy in / NumPy out (``run_device``: pinned staging, copies, synchronisation included).
The bound is the measured device copy bandwidth divided by the bytes a row must move (30 float32 in, one
float32 out: 124 bytes), about 27 G rows/s on an H100.

    python bench/engine_gpu.py [--json FILE] [--batches 1000,...] [--mlp-precisions ieee,tf32] [--cpu-max-rows N]

Needs a CUDA GPU with torch and triton (the ``gpu`` extra); exits with a message otherwise.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np

N_FEATURES = 30
BYTES_PER_ROW = N_FEATURES * 4 + 4
DEFAULT_BATCHES = (1_000, 10_000, 100_000, 1_000_000, 4_000_000)


def _require_gpu() -> Any:
    try:
        import torch
        import triton  # noqa: F401
    except ImportError as exc:
        sys.exit(f"engine_gpu: torch and triton are needed (pip install '.[gpu]'): {exc}")
    if not torch.cuda.is_available():
        sys.exit("engine_gpu: no CUDA GPU is visible (torch.cuda.is_available() is False); run this on a GPU machine")
    return torch


def gpu_seconds(torch: Any, fn: Callable[[], Any], min_seconds: float = 0.2) -> float:
    """Best of three: seconds per call from CUDA events around a loop long enough to last ``min_seconds``."""
    fn()
    torch.cuda.synchronize()
    calls, best = 1, float("inf")
    for _ in range(3):
        while True:
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            for _ in range(calls):
                fn()
            end.record()
            end.synchronize()
            elapsed = start.elapsed_time(end) / 1e3
            if elapsed >= min_seconds:
                break
            calls = max(calls * 2, int(calls * min_seconds / max(elapsed, 1e-6)))
        best = min(best, elapsed / calls)
    return best


def host_seconds(fn: Callable[[], Any], min_seconds: float = 0.2) -> float:
    fn()
    best = float("inf")
    for _ in range(3):
        calls, start = 0, time.perf_counter()
        while time.perf_counter() - start < min_seconds:
            fn()
            calls += 1
        best = min(best, (time.perf_counter() - start) / calls)
    return best


def copy_bandwidth(torch: Any) -> float:
    """Bytes/s of a large device-to-device copy (read + write)."""
    src = torch.empty(1 << 28, dtype=torch.uint8, device="cuda")
    dst = torch.empty_like(src)
    seconds = gpu_seconds(torch, lambda: dst.copy_(src))
    return float(2 * src.numel() / seconds)


def train(rows: int) -> dict[str, Any]:
    from sklearn.datasets import make_classification
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.neural_network import MLPClassifier

    X, y = make_classification(rows, N_FEATURES, n_informative=12, weights=[0.99], random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mlp = MLPClassifier((64, 32), max_iter=30, random_state=0).fit(X, y)
        forest = RandomForestClassifier(500, max_depth=8, random_state=0, n_jobs=-1).fit(X, y)
    return {"mlp_30_64_32_1": mlp, "forest_500x8": forest}


def torch_mlp(torch: Any, estimator: Any, device: str = "cuda") -> Callable[[Any], Any]:
    """The network as a PyTorch user would write it: addmm + relu per layer, sigmoid, [1 - p, p]."""
    weights = [torch.tensor(w, dtype=torch.float32, device=device) for w in estimator.coefs_]
    biases = [torch.tensor(b, dtype=torch.float32, device=device) for b in estimator.intercepts_]

    def run(x: Any) -> Any:
        h = x
        for i, (w, b) in enumerate(zip(weights, biases, strict=True)):
            h = torch.addmm(b, h, w)
            if i < len(weights) - 1:
                h = torch.relu(h)
        p = torch.sigmoid(h)
        return torch.cat([1 - p, p], dim=1)

    return run


def torch_forest(torch: Any, graph: Any, device: str = "cuda", chunk_rows: int = 131_072) -> Callable[[Any], Any]:
    """Perfect-tree traversal vectorised over rows x trees with gathers (Hummingbird's strategy), in row chunks."""
    from model_engine.backends.triton.forest_layout import TreeTables, pack_perfect, perfect_from_arrays

    (node,) = [n for n in graph.nodes if n.op.startswith("tree_")]
    tables = [graph.constants[name] for name in node.inputs[1:]]
    if node.op == "tree_traverse_perfect":
        feature, threshold, missing_left, leaf_value = tables
        layout = perfect_from_arrays(feature, threshold, missing_left, leaf_value, depth=int(node.attrs["depth"]))
    else:
        feature, threshold, left, right, value, missing, roots = tables
        layout = pack_perfect(TreeTables(feature, threshold, left, right, missing, value, roots))
    depth, n_trees, n_out = layout.depth, layout.n_trees, layout.n_outputs
    n_int, n_leaf = (1 << depth) - 1, 1 << depth
    code = torch.tensor(layout.code.astype(np.int64), device=device)
    feature_t, missing_left = code >> 1, (code & 1).bool()
    threshold_t = torch.tensor(layout.threshold, device=device)
    leaves = torch.tensor(layout.leaf_value[:, :n_out], device=device)
    tree_base = torch.arange(n_trees, device=device) * n_int
    leaf_base = torch.arange(n_trees, device=device) * n_leaf
    divisor = n_trees if node.attrs.get("aggregation") == "mean" else 1

    def run(x: Any) -> Any:
        out = torch.empty((x.shape[0], n_out), device=device)
        for start in range(0, x.shape[0], chunk_rows):
            xs = x[start : start + chunk_rows]
            idx = torch.zeros((xs.shape[0], n_trees), dtype=torch.int64, device=device)
            for _ in range(depth):
                flat = idx + tree_base
                xv = xs.gather(1, feature_t[flat])
                right = (xv > threshold_t[flat]) | (torch.isnan(xv) & ~missing_left[flat])
                idx = 2 * idx + 1 + right.long()
            out[start : start + chunk_rows] = leaves[idx - n_int + leaf_base].sum(dim=1) / divisor
        return out

    return run


def measure(
    torch: Any, executable: Any, peer: Any, cpu: Any, cpu_name: str, batches: list[int], bound: float, cpu_max: int
) -> list[dict[str, Any]]:
    """Time the engine (data on the GPU, and NumPy in/out), the PyTorch peer and the CPU backend per batch."""
    rng = np.random.default_rng(1)
    width = executable.graph.inputs[0].type.shape[1]
    print(f"{'rows':>9} {'triton G/s':>11} {'torch G/s':>10} {'vs torch':>9} {'+host G/s':>10} "
          f"{cpu_name + ' M/s':>10} {'vs cpu':>8} {'% bound':>8}")  # fmt: skip
    rows_out = []
    for n in batches:
        x_host = np.ascontiguousarray(rng.normal(size=(n, N_FEATURES)).astype(np.float32)[:, :width])
        x_dev = torch.from_numpy(x_host).cuda()
        t_dev = gpu_seconds(torch, partial(executable.run_tensors, x_dev))
        t_torch = gpu_seconds(torch, partial(peer, x_dev))
        t_host = host_seconds(partial(executable.run_device, x_host))
        t_cpu = host_seconds(partial(cpu.run, x_host)) if n <= cpu_max else None
        rows_out.append({"rows": n, "triton_rows_per_s": n / t_dev, "torch_rows_per_s": n / t_torch,
                         "triton_with_transfers_rows_per_s": n / t_host,
                         "cpu_rows_per_s": None if t_cpu is None else n / t_cpu})  # fmt: skip
        cpu_text = "-" if t_cpu is None else f"{n / t_cpu / 1e6:.1f}"
        vs_cpu = "-" if t_cpu is None else f"{t_cpu / t_dev:.0f}x"
        print(f"{n:>9} {n / t_dev / 1e9:>11.3f} {n / t_torch / 1e9:>10.3f} {t_torch / t_dev:>8.1f}x "
              f"{n / t_host / 1e9:>10.3f} {cpu_text:>10} {vs_cpu:>8} {100 * n / t_dev / bound:>7.1f}%")  # fmt: skip
        del x_dev
    return rows_out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", help="write the figures to this file")
    parser.add_argument("--batches", default=",".join(map(str, DEFAULT_BATCHES)))
    parser.add_argument("--mlp-precisions", default="ieee,tf32", help="MLP products: ieee (default, exact), tf32, fp16")
    parser.add_argument("--cpu-max-rows", type=int, default=100_000, help="largest batch timed on the CPU backend")
    parser.add_argument("--train-rows", type=int, default=20_000)
    args = parser.parse_args()
    torch = _require_gpu()
    torch.backends.cuda.matmul.allow_tf32 = False  # the PyTorch peer computes in full fp32, like the engine

    from model_engine import compile_model
    from model_engine.backends import get_backend
    from model_engine.backends.triton.backend import TritonBackend

    batches = [int(b) for b in args.batches.split(",")]
    bandwidth = copy_bandwidth(torch)
    bound = bandwidth / BYTES_PER_ROW
    card = torch.cuda.get_device_name()
    print(f"{card}: copy bandwidth {bandwidth / 1e9:.0f} GB/s -> bound {bound / 1e9:.1f} G rows/s at 124 B/row")
    try:
        cpu_name = "numba"
        get_backend(cpu_name)
    except Exception:  # the CPU peer falls back to the reference backend where numba is unavailable
        cpu_name = "numpy"
    results: dict[str, Any] = {"card": card, "bandwidth_bytes_per_s": bandwidth, "bound_rows_per_s": bound,
                               "cpu_backend": cpu_name, "models": {}}  # fmt: skip
    precisions = args.mlp_precisions.split(",")
    for name, estimator in train(args.train_rows).items():
        model = compile_model(estimator, [f"f{i}" for i in range(N_FEATURES)], dtype="float32")  # Triton: float32
        cpu = get_backend(cpu_name).prepare(model.graph)
        peer = torch_mlp(torch, estimator) if name.startswith("mlp") else torch_forest(torch, model.graph)
        for precision in precisions if name.startswith("mlp") else ["ieee"]:
            executable = TritonBackend(precision=precision, min_rows=0).prepare(model.graph)
            label = f"{name}/{precision}"
            lowering = [kind for kind, _ in executable.lowering()]
            print(f"\n{label}: lowered to {lowering}")
            rows_out = measure(torch, executable, peer, cpu, cpu_name, batches, bound, args.cpu_max_rows)
            results["models"][label] = {"lowering": lowering, "precision": precision, "batches": rows_out}
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(results, handle, indent=2)
        print(f"\nwrote {args.json}")


if __name__ == "__main__":
    main()
