"""Execution planning for compiled backends: row tiles and one memory arena per tile.

Each intermediate value of a tile gets a byte range of one arena, chosen from the values' lifetimes (first
definition to last use, in node order): two values whose lifetimes do not overlap may share bytes. The arena is
allocated once per tile size, so memory stays bounded by the tile, not the batch.
"""

from __future__ import annotations

from dataclasses import dataclass

from model_engine.ir.graph import Graph

ALIGN = 64  # cache-line alignment of every buffer


@dataclass(frozen=True)
class Buffer:
    """One intermediate: its arena offset and size for a tile, and the node indices where it lives."""

    value: str
    offset: int
    nbytes: int
    first: int
    last: int


@dataclass(frozen=True)
class MemoryPlan:
    """Where each intermediate of a tile lives in the arena."""

    tile_rows: int
    buffers: dict[str, Buffer]
    arena_bytes: int
    unshared_bytes: int  # what one allocation per value would take

    def summary(self) -> dict[str, int]:
        return {
            "tile_rows": self.tile_rows,
            "buffers": len(self.buffers),
            "arena_bytes": self.arena_bytes,
            "unshared_bytes": self.unshared_bytes,
        }


def _row_bytes(graph: Graph, name: str) -> int:
    t = graph.type_of(name)
    width = 1
    for d in t.shape[1:]:
        width *= int(d or 1)
    return width * t.dtype.numpy.itemsize


def plan_memory(graph: Graph, tile_rows: int) -> MemoryPlan:
    """Pack the batched intermediates (not graph outputs, which the caller keeps) into one arena, first fit."""
    outputs = set(graph.outputs.values())
    first: dict[str, int] = {}
    last: dict[str, int] = {}
    for i, node in enumerate(graph.nodes):
        for value in node.outputs:
            if value.type.batched and value.name not in outputs:
                first[value.name] = i
                last[value.name] = i
        for name in node.inputs:
            if name in first:
                last[name] = i
    placed: list[Buffer] = []
    for name in sorted(first, key=lambda n: (first[n], n)):
        size = -(-(_row_bytes(graph, name) * tile_rows) // ALIGN) * ALIGN
        live = sorted((b for b in placed if not (b.last < first[name] or b.first > last[name])), key=lambda b: b.offset)
        offset = 0
        for other in live:  # the first gap large enough between buffers alive at the same time
            if offset + size <= other.offset:
                break
            offset = max(offset, other.offset + other.nbytes)
        placed.append(Buffer(name, offset, size, first[name], last[name]))
    arena = max((b.offset + b.nbytes for b in placed), default=0)
    return MemoryPlan(tile_rows, {b.value: b for b in placed}, arena, sum(b.nbytes for b in placed))
