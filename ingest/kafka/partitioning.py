"""Kafka's default partitioner for a whole batch of keys at once.

A keyed record goes to partition ``(murmur2(key) & 0x7FFFFFFF) % count`` of its topic's sorted partitions (the
Java client's ``Utils.murmur2``, kafka-python's ``DefaultPartitioner``). kafka-python computes it in pure Python
for every record it is handed without a partition; :func:`key_partitions` computes the same partitions for a
batch in a few numpy operations per distinct key length, so a producer can name each record's partition itself.

>>> from kafka.partitioner.default import murmur2
>>> keys = [b"t1", b"card-0042", b""]
>>> key_partitions(keys, [0, 1, 2, 3, 4, 5]) == [(murmur2(k) & 0x7FFFFFFF) % 6 for k in keys]
True
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

_SEED = 0x9747B28C
_M = np.uint32(0x5BD1E995)


def murmur2_hashes(keys: Sequence[bytes]) -> np.ndarray:
    """Kafka's murmur2 hash of each key (uint32), equal to ``kafka.partitioner.default.murmur2``."""
    out = np.empty(len(keys), dtype=np.uint32)
    lengths = np.fromiter((len(k) for k in keys), dtype=np.int64, count=len(keys))
    for length in np.unique(lengths).tolist():
        rows = np.flatnonzero(lengths == length)
        data = np.frombuffer(b"".join([keys[i] for i in rows.tolist()]), dtype=np.uint8).reshape(len(rows), length)
        out[rows] = _murmur2_same_length(data, length)
    return out


def _murmur2_same_length(data: np.ndarray, length: int) -> np.ndarray:
    """murmur2 of each row of ``data`` (n rows of ``length`` bytes); uint32 arithmetic wraps like the Java int's."""
    with np.errstate(over="ignore"):
        h = np.full(len(data), (_SEED ^ length) & 0xFFFFFFFF, dtype=np.uint32)
        whole = length // 4
        if whole:
            words = np.ascontiguousarray(data[:, : whole * 4]).view("<u4").astype(np.uint32)
            for i in range(whole):
                k = words[:, i] * _M
                k ^= k >> np.uint32(24)
                k *= _M
                h *= _M
                h ^= k
        tail = length % 4
        base = whole * 4
        if tail >= 3:
            h ^= data[:, base + 2].astype(np.uint32) << np.uint32(16)
        if tail >= 2:
            h ^= data[:, base + 1].astype(np.uint32) << np.uint32(8)
        if tail >= 1:
            h ^= data[:, base].astype(np.uint32)
            h *= _M
        h ^= h >> np.uint32(13)
        h *= _M
        h ^= h >> np.uint32(15)
    return h


def key_partitions(keys: Sequence[bytes], partitions: Sequence[int]) -> list[int]:
    """The partition Kafka's default partitioner picks for each key, among the topic's ``partitions``."""
    ordered = np.array(sorted(partitions), dtype=np.int64)
    if not len(ordered):
        raise ValueError("a topic has at least one partition")
    if not len(keys):
        return []
    index = (murmur2_hashes(keys) & np.uint32(0x7FFFFFFF)).astype(np.int64) % len(ordered)
    result: list[int] = ordered[index].tolist()
    return result
