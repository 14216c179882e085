"""The forest kernel: rows x chunks of trees per program, per-row accumulators, a fixed summation order.

Program ``(r, c)`` walks rows block ``r`` through the trees of chunk ``c`` (a fixed number of trees per chunk,
set when the model is loaded, never by the batch size) and writes one partial sum per row. A second small
kernel adds the chunks in chunk order, aggregates (sum or mean), adds the base score and applies the
post-transform. No float atomics: a row's score depends only on the model, never on the batch it came in.
When the ensemble fits one chunk the first kernel finishes the rows itself.
"""

from __future__ import annotations

import triton
import triton.language as tl


@triton.jit
def _split(word):
    # A node is one 64-bit word (forest_layout.node_words): the code in the low half, the float32 threshold's
    # bits in the high half, so a traversal step issues one table load instead of two.
    code = word.to(tl.int32)
    threshold = (word >> 32).to(tl.int32).to(tl.float32, bitcast=True)
    return code, threshold


@triton.jit
def _finish(acc, base_ptr, divisor, cols, N_OUTPUTS: tl.constexpr, OUTPUT: tl.constexpr):
    # acc: [BLOCK_R, C_PAD] raw sums. Codes follow forest_layout.ForestOutput.
    z = acc / divisor + tl.load(base_ptr + cols)[None, :]
    if OUTPUT == 1 or OUTPUT == 2:
        z = 1.0 / (1.0 + tl.exp(-z))
    elif OUTPUT == 3:
        z = tl.where((cols < N_OUTPUTS)[None, :], z, float("-inf"))
        e = tl.exp(z - tl.max(z, axis=1)[:, None])
        z = e / tl.sum(e, axis=1)[:, None]
    return z


@triton.jit
def _store_result(z, out_ptr, rows64, row_ok, stride_out, cols, N_OUTPUTS: tl.constexpr, OUTPUT: tl.constexpr):
    if OUTPUT == 2:  # one logit -> [1 - p, p]
        p = tl.sum(tl.where((cols == 0)[None, :], z, 0.0), axis=1)
        tl.store(out_ptr + rows64 * stride_out, 1.0 - p, mask=row_ok)
        tl.store(out_ptr + rows64 * stride_out + 1, p, mask=row_ok)
    else:
        ptrs = out_ptr + rows64[:, None] * stride_out + cols[None, :]
        tl.store(ptrs, z, mask=row_ok[:, None] & (cols < N_OUTPUTS)[None, :])


@triton.jit
def _emit(acc, chunk, part_ptr, base_ptr, out_ptr, n_rows, divisor, stride_out, rows64, row_ok, cols,
          C_PAD: tl.constexpr, N_OUTPUTS: tl.constexpr, OUTPUT: tl.constexpr, FINISH: tl.constexpr):  # fmt: skip
    if FINISH:
        z = _finish(acc, base_ptr, divisor, cols, N_OUTPUTS, OUTPUT)
        _store_result(z, out_ptr, rows64, row_ok, stride_out, cols, N_OUTPUTS, OUTPUT)
    else:
        ptrs = part_ptr + (chunk * n_rows + rows64)[:, None] * C_PAD + cols[None, :]
        tl.store(ptrs, acc, mask=row_ok[:, None])


@triton.jit
def perfect_forest_kernel(
    x_ptr, node_ptr, val_ptr, part_ptr, base_ptr, out_ptr, leaf_ptr,
    n_rows, stride_x, stride_out, n_trees, trees_per_chunk, divisor,
    DEPTH: tl.constexpr, C_PAD: tl.constexpr, N_OUTPUTS: tl.constexpr, OUTPUT: tl.constexpr,
    FINISH: tl.constexpr, STORE_LEAVES: tl.constexpr, BLOCK_R: tl.constexpr,
):  # fmt: skip
    rows = tl.program_id(0) * BLOCK_R + tl.arange(0, BLOCK_R)
    chunk = tl.program_id(1)
    row_ok = rows < n_rows
    rows64 = rows.to(tl.int64)
    x_row = x_ptr + rows64 * stride_x
    cols = tl.arange(0, C_PAD)
    N_INTERNAL: tl.constexpr = (1 << DEPTH) - 1
    acc = tl.zeros([BLOCK_R, C_PAD], dtype=tl.float32)
    first = chunk * trees_per_chunk
    last = tl.minimum(first + trees_per_chunk, n_trees)
    for t in range(first, last):
        node = tl.zeros([BLOCK_R], dtype=tl.int32)
        for _ in tl.static_range(DEPTH):
            code, threshold = _split(tl.load(node_ptr + t * N_INTERNAL + node))
            xv = tl.load(x_row + (code >> 1), mask=row_ok, other=0.0)
            go_right = (xv > threshold) | ((xv != xv) & ((code & 1) == 0))
            node = 2 * node + 1 + go_right.to(tl.int32)
        leaf = node - N_INTERNAL
        if STORE_LEAVES:
            tl.store(leaf_ptr + rows64 * n_trees + t, leaf, mask=row_ok)
        acc += tl.load(val_ptr + ((t << DEPTH) + leaf)[:, None] * C_PAD + cols[None, :])
    _emit(acc, chunk, part_ptr, base_ptr, out_ptr, n_rows, divisor, stride_out, rows64, row_ok, cols,
          C_PAD, N_OUTPUTS, OUTPUT, FINISH)  # fmt: skip


@triton.jit
def compact_forest_kernel(
    x_ptr, node_ptr, left_ptr, root_ptr, val_ptr, part_ptr, base_ptr, out_ptr, leaf_ptr,
    n_rows, stride_x, stride_out, n_trees, trees_per_chunk, divisor,
    DEPTH: tl.constexpr, C_PAD: tl.constexpr, N_OUTPUTS: tl.constexpr, OUTPUT: tl.constexpr,
    FINISH: tl.constexpr, STORE_LEAVES: tl.constexpr, BLOCK_R: tl.constexpr,
):  # fmt: skip
    rows = tl.program_id(0) * BLOCK_R + tl.arange(0, BLOCK_R)
    chunk = tl.program_id(1)
    row_ok = rows < n_rows
    rows64 = rows.to(tl.int64)
    x_row = x_ptr + rows64 * stride_x
    cols = tl.arange(0, C_PAD)
    acc = tl.zeros([BLOCK_R, C_PAD], dtype=tl.float32)
    first = chunk * trees_per_chunk
    last = tl.minimum(first + trees_per_chunk, n_trees)
    for t in range(first, last):
        node = tl.zeros([BLOCK_R], dtype=tl.int32) + tl.load(root_ptr + t)
        for _ in range(DEPTH):
            code, threshold = _split(tl.load(node_ptr + node))
            left = tl.load(left_ptr + node)
            xv = tl.load(x_row + (code >> 1), mask=row_ok, other=0.0)
            go_right = (xv > threshold) | ((xv != xv) & ((code & 1) == 0))
            node = left + go_right.to(tl.int32)
        if STORE_LEAVES:
            tl.store(leaf_ptr + rows64 * n_trees + t, node, mask=row_ok)
        acc += tl.load(val_ptr + node[:, None] * C_PAD + cols[None, :])
    _emit(acc, chunk, part_ptr, base_ptr, out_ptr, n_rows, divisor, stride_out, rows64, row_ok, cols,
          C_PAD, N_OUTPUTS, OUTPUT, FINISH)  # fmt: skip


@triton.jit
def forest_finish_kernel(
    part_ptr, base_ptr, out_ptr, n_rows, n_chunks, stride_out, divisor,
    C_PAD: tl.constexpr, N_OUTPUTS: tl.constexpr, OUTPUT: tl.constexpr, BLOCK_R: tl.constexpr,
):  # fmt: skip
    rows = tl.program_id(0) * BLOCK_R + tl.arange(0, BLOCK_R)
    row_ok = rows < n_rows
    rows64 = rows.to(tl.int64)
    cols = tl.arange(0, C_PAD)
    acc = tl.zeros([BLOCK_R, C_PAD], dtype=tl.float32)
    for c in range(n_chunks):  # chunk order fixes the summation order
        acc += tl.load(part_ptr + (c * n_rows + rows64)[:, None] * C_PAD + cols[None, :], mask=row_ok[:, None])
    z = _finish(acc, base_ptr, divisor, cols, N_OUTPUTS, OUTPUT)
    _store_result(z, out_ptr, rows64, row_ok, stride_out, cols, N_OUTPUTS, OUTPUT)
