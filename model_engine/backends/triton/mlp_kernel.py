"""The fused MLP kernel: a block of rows per program, the whole network on chip, one pass over the input.

Each program loads ``BLOCK_M`` rows once, runs every layer (``tl.dot`` + bias + activation epilogue) in
registers and writes only the output columns, so the only memory traffic is the input row and the result.
Logistic regression is the one-layer case (a single-unit layer becomes a row reduction, not a padded dot).
Float32 with ``input_precision="ieee"`` by default so results match the CPU; ``tf32`` and ``fp16`` are
explicit opt-ins that trade exactness for tensor-core speed.
"""

from __future__ import annotations

import triton
import triton.language as tl


@triton.jit
def _activate(h, ACT: tl.constexpr):
    # Codes follow mlp_layout.Activation. tanh is written through exp (no libdevice call) so the interpreter
    # runs the same code; its absolute error near zero is about 1e-7.
    if ACT == 1:
        h = tl.maximum(h, 0.0, propagate_nan=tl.PropagateNan.ALL)
    elif ACT == 2:
        h = 1.0 - 2.0 / (tl.exp(2.0 * h) + 1.0)
    elif ACT == 3:
        h = 1.0 / (1.0 + tl.exp(-h))
    return h


@triton.jit
def _dense(h, w_ptr, b_ptr, K: tl.constexpr, M: tl.constexpr, ACT: tl.constexpr, PRECISION: tl.constexpr):
    k = tl.arange(0, K)
    m = tl.arange(0, M)
    w = tl.load(w_ptr + k[:, None] * M + m[None, :])
    b = tl.load(b_ptr + m)
    if PRECISION == "fp16":
        acc = tl.dot(h.to(tl.float16), w.to(tl.float16), out_dtype=tl.float32)
    else:
        acc = tl.dot(h, w, input_precision=PRECISION)
    return _activate(acc + b[None, :], ACT)


@triton.jit
def mlp_kernel(
    x_ptr, out_ptr, n_rows, stride_x, stride_out,
    w0, b0, w1, b1, w2, b2, w3, b3, wh, bh,
    N_FEATURES: tl.constexpr, N_UNITS: tl.constexpr, N_DENSE: tl.constexpr, SCALAR_HEAD: tl.constexpr,
    K0: tl.constexpr, K1: tl.constexpr, K2: tl.constexpr, K3: tl.constexpr, K4: tl.constexpr, KH: tl.constexpr,
    A0: tl.constexpr, A1: tl.constexpr, A2: tl.constexpr, A3: tl.constexpr, AH: tl.constexpr,
    OUTPUT: tl.constexpr, PRECISION: tl.constexpr, BLOCK_M: tl.constexpr,
):  # fmt: skip
    pid = tl.program_id(0)
    rows = pid * BLOCK_M + tl.arange(0, BLOCK_M)
    row_ok = rows < n_rows
    rows64 = rows.to(tl.int64)
    cols = tl.arange(0, K0)
    h = tl.load(
        x_ptr + rows64[:, None] * stride_x + cols[None, :],
        mask=row_ok[:, None] & (cols[None, :] < N_FEATURES),
        other=0.0,
    )
    if N_DENSE >= 1:
        h = _dense(h, w0, b0, K0, K1, A0, PRECISION)
    if N_DENSE >= 2:
        h = _dense(h, w1, b1, K1, K2, A1, PRECISION)
    if N_DENSE >= 3:
        h = _dense(h, w2, b2, K2, K3, A2, PRECISION)
    if N_DENSE >= 4:
        h = _dense(h, w3, b3, K3, K4, A3, PRECISION)
    if SCALAR_HEAD:
        wv = tl.load(wh + tl.arange(0, KH))
        z = _activate(tl.sum(h * wv[None, :], axis=1) + tl.load(bh), AH)
        if OUTPUT == 2:  # binary sigmoid: [1 - p, p]
            p = 1.0 / (1.0 + tl.exp(-z))
            tl.store(out_ptr + rows64 * stride_out, 1.0 - p, mask=row_ok)
            tl.store(out_ptr + rows64 * stride_out + 1, p, mask=row_ok)
        elif OUTPUT == 1:
            tl.store(out_ptr + rows64 * stride_out, 1.0 / (1.0 + tl.exp(-z)), mask=row_ok)
        else:
            tl.store(out_ptr + rows64 * stride_out, z, mask=row_ok)
    else:
        units = tl.arange(0, KH)
        unit_ok = units < N_UNITS
        if OUTPUT == 3:  # softmax over the real units only
            z = tl.where(unit_ok[None, :], h, float("-inf"))
            e = tl.exp(z - tl.max(z, axis=1)[:, None])
            h = e / tl.sum(e, axis=1)[:, None]
        elif OUTPUT == 1:
            h = 1.0 / (1.0 + tl.exp(-h))
        tl.store(out_ptr + rows64[:, None] * stride_out + units[None, :], h, mask=row_ok[:, None] & unit_ok[None, :])
