"""The batch partitioner picks exactly the partitions of kafka-python's default partitioner."""

from __future__ import annotations

import random

import pytest
from kafka.partitioner.default import murmur2

from ingest.kafka.partitioning import key_partitions, murmur2_hashes


def _keys(seed: int, count: int, lengths: range) -> list[bytes]:
    rng = random.Random(seed)
    return [rng.randbytes(rng.choice(lengths)) for _ in range(count)]


@pytest.mark.parametrize(
    "keys",
    [
        pytest.param(_keys(1, 3000, range(41)), id="every length from 0 to 40"),
        pytest.param(_keys(2, 500, range(36, 37)), id="one length (transaction ids)"),
        pytest.param([b"\xff" * 7, b"\x00" * 9, b"\x80\x7f\xff\x01"], id="extreme bytes"),
        pytest.param([b"t1", b"t1", b"card-0042"], id="repeated keys"),
    ],
)
def test_hashes_equal_kafka_pythons_murmur2(keys: list[bytes]) -> None:
    assert murmur2_hashes(keys).tolist() == [murmur2(k) for k in keys]


@pytest.mark.parametrize("partitions", [[0], [0, 1, 2, 3, 4, 5], [5, 3, 1, 0, 2, 4, 6]])
def test_partitions_equal_the_default_partitioners(partitions: list[int]) -> None:
    keys = _keys(3, 1000, range(1, 40))
    ordered = sorted(partitions)
    expected = [ordered[(murmur2(k) & 0x7FFFFFFF) % len(ordered)] for k in keys]
    assert key_partitions(keys, partitions) == expected


def test_no_keys_and_no_partitions() -> None:
    assert key_partitions([], [0, 1]) == []
    with pytest.raises(ValueError, match="at least one partition"):
        key_partitions([b"k"], [])
