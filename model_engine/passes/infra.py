"""Pass infrastructure: every pass is ``graph -> PassResult(graph, modified)``; the manager runs a list of them.

The manager verifies the graph after each pass (on by default, always on in tests) and names the pass that broke
it; with ``fixed_point=True`` it repeats the list until no pass changes anything. Ordering constraints between
passes are data (:class:`PassConstraint`, as torch.fx's ``this_before_that_pass_constraint``): a manager given
constraints refuses a pass list that breaks one, before running anything.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from model_engine.errors import GraphError, ModelEngineError, PassError
from model_engine.ir.graph import Graph
from model_engine.ops.verify import verify_graph


@dataclass(frozen=True)
class PassResult:
    """A pass's output graph, whether it differs from the input, and optional notes for the caller."""

    graph: Graph
    modified: bool
    notes: Mapping[str, Any] = field(default_factory=dict)


GraphPass = Callable[[Graph], PassResult]


def pass_name(graph_pass: GraphPass) -> str:
    return str(getattr(graph_pass, "__name__", type(graph_pass).__name__))


@dataclass(frozen=True)
class PassConstraint:
    """Pass ``before`` must run before pass ``after`` whenever a list holds both (``reason`` says why).

    "Before" means the first ``before`` precedes the first ``after`` in the list; later repetitions (a final
    clean-up, the rounds of a fixed point) are free.
    """

    before: str
    after: str
    reason: str

    def violated_by(self, names: Sequence[str]) -> bool:
        """Whether the pass names, in list order, break this constraint."""
        if self.before not in names or self.after not in names:
            return False
        return names.index(self.after) < names.index(self.before)

    def __str__(self) -> str:
        return f"{self.before} must run before {self.after} ({self.reason})"


def check_order(passes: Sequence[GraphPass], constraints: Sequence[PassConstraint]) -> None:
    """Raise :class:`PassError` naming every constraint the pass list breaks."""
    names = [pass_name(p) for p in passes]
    broken = [str(c) for c in constraints if c.violated_by(names)]
    if broken:
        raise PassError(f"the pass order {names} is refused: " + "; ".join(broken))


@dataclass(frozen=True)
class PassStat:
    """One pass application: its name, whether it changed the graph, node counts and time taken."""

    name: str
    modified: bool
    nodes_before: int
    nodes_after: int
    seconds: float
    notes: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "modified": self.modified,
            "nodes_before": self.nodes_before,
            "nodes_after": self.nodes_after,
            "seconds": round(self.seconds, 6),
            "notes": {k: _jsonable(v) for k, v in self.notes.items()},
        }


def _jsonable(value: Any) -> Any:
    if isinstance(value, (tuple, list)):
        return [_jsonable(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return value if isinstance(value, (str, int, float, bool)) or value is None else str(value)


@dataclass(frozen=True)
class PipelineResult:
    """The final graph and the statistics of every pass application, in order."""

    graph: Graph
    stats: tuple[PassStat, ...]

    @property
    def modified(self) -> bool:
        return any(s.modified for s in self.stats)


class PassManager:
    """Run passes in order, verifying after each; optionally repeat the whole list to a fixed point.

    ``constraints`` are checked against the list when the manager is built (see :class:`PassConstraint`).

    >>> from model_engine.ir import DType
    >>> from model_engine.ops import GraphBuilder
    >>> from model_engine.passes import eliminate_dead_nodes
    >>> b = GraphBuilder()
    >>> x = b.input("x", DType.FLOAT64, 2)
    >>> _ = b.op("tanh", x)  # read by nothing
    >>> b.output("y", b.op("exp", x))
    >>> result = PassManager([eliminate_dead_nodes], fixed_point=True).run(b.build())
    >>> result.graph.op_counts(), [(s.name, s.modified) for s in result.stats]
    ({'exp': 1}, [('eliminate_dead_nodes', True), ('eliminate_dead_nodes', False)])
    """

    def __init__(
        self,
        passes: Sequence[GraphPass],
        *,
        verify: bool = True,
        fixed_point: bool = False,
        max_iterations: int = 10,
        constraints: Sequence[PassConstraint] = (),
    ) -> None:
        check_order(passes, constraints)
        self.passes = list(passes)
        self.verify = verify
        self.fixed_point = fixed_point
        self.max_iterations = max_iterations

    def run(self, graph: Graph) -> PipelineResult:
        stats: list[PassStat] = []
        for _ in range(self.max_iterations if self.fixed_point else 1):
            changed = False
            for graph_pass in self.passes:
                graph, stat = self._apply(graph_pass, graph)
                stats.append(stat)
                changed |= stat.modified
            if not changed:
                break
        else:
            if self.fixed_point:
                raise PassError(
                    f"passes did not reach a fixed point in {self.max_iterations} rounds; a pass keeps changing "
                    f"the graph: {[s.name for s in stats[-len(self.passes) :] if s.modified]}"
                )
        return PipelineResult(graph, tuple(stats))

    def _apply(self, graph_pass: GraphPass, graph: Graph) -> tuple[Graph, PassStat]:
        name = pass_name(graph_pass)
        started = time.perf_counter()
        try:
            result = graph_pass(graph)
        except ModelEngineError as exc:
            raise PassError(f"pass {name} failed: {exc}") from exc
        elapsed = time.perf_counter() - started
        if self.verify:
            try:
                verify_graph(result.graph)
            except GraphError as exc:
                raise PassError(f"pass {name} left an invalid graph: {exc}") from exc
        stat = PassStat(name, result.modified, len(graph.nodes), len(result.graph.nodes), elapsed, result.notes)
        return result.graph, stat
