"""CPU time of running processes, from Linux's /proc: what a benchmark charges to the process under test,
the processes it started included (the audit trail's recording process beside a scoring process)."""

from __future__ import annotations

import os
from pathlib import Path


def _stats() -> list[tuple[int, int, int, int]]:
    """(pid, ppid, process group, CPU clock ticks) of every live process."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()  # after the command name: state, ppid, pgrp, ...
        except OSError:
            continue  # a process that ended meanwhile
        out.append((int(stat.parent.name), int(fields[1]), int(fields[2]), int(fields[11]) + int(fields[12])))
    return out


def tree_cpu_seconds(pid: int) -> float:
    """CPU time (user and system, every thread) of process ``pid`` and its live descendants so far."""
    return _tree_ticks(pid, _stats()) / os.sysconf("SC_CLK_TCK")


def descendants_cpu_seconds(pid: int) -> float:
    """CPU time of the live descendants of process ``pid`` (not its own)."""
    stats = _stats()
    own = next((used for process, _, _, used in stats if process == pid), 0)
    return (_tree_ticks(pid, stats) - own) / os.sysconf("SC_CLK_TCK")


def _tree_ticks(pid: int, stats: list[tuple[int, int, int, int]]) -> int:
    children: dict[int, list[int]] = {}
    ticks = {}
    for process, parent, _, used in stats:
        children.setdefault(parent, []).append(process)
        ticks[process] = used
    total, todo = 0, [pid]
    while todo:
        process = todo.pop()
        total += ticks.get(process, 0)
        todo += children.get(process, [])
    return total


def group_cpu_seconds(group: int) -> float:
    """CPU time (user and system) of the live processes of one process group (a service and its workers)."""
    return sum(used for _, _, pgrp, used in _stats() if pgrp == group) / os.sysconf("SC_CLK_TCK")
