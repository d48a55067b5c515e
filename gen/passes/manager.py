"""The pass manager: passes registered by name, run in stages, each stage
to a fixed point (the qonnx `Transformation.apply(model) -> (model, changed)`
pattern, with the graph changed in place).

A pass is a function `graph -> bool` (True when it changed the graph)
registered with `@register("name")`. A stage is a list of names; the
manager applies the stage's passes in order, again and again, until none
changes the graph. `graph.meta["passes"]` records the stages that ran, so
that later code asks "is this graph lowered?" by name (`is_lowered`).
"""

from __future__ import annotations

from typing import Callable

from hlsgen.errors import InternalError
from hlsgen.ir.graph import Graph

PASSES: dict[str, Callable[[Graph], bool]] = {}
MAX_ROUNDS = 1000   # a stage still changing after this many rounds is a bug in a pass


def register(name: str):
    """Registers a pass `graph -> bool` under `name`."""
    def add(fn):
        if name in PASSES:
            raise InternalError(f"two passes are registered as '{name}'")
        PASSES[name] = fn
        return fn
    return add


def run_stage(graph: Graph, names: list[str]) -> int:
    """Applies the passes `names` until none changes the graph; the number of
    changes made."""
    missing = [n for n in names if n not in PASSES]
    if missing:
        raise InternalError(f"no pass is registered as {', '.join(missing)}")
    changes = 0
    for _ in range(MAX_ROUNDS):
        changed = False
        for name in names:
            if PASSES[name](graph):
                changed, changes = True, changes + 1
        if not changed:
            return changes
    raise InternalError(f"the passes {', '.join(names)} did not reach a fixed point in "
                        f"{MAX_ROUNDS} rounds")


def run_pipeline(graph: Graph, stages: list[tuple[str, list[str]]]) -> Graph:
    """Runs the stages (name, pass names) in order; records them in
    graph.meta["passes"]."""
    done = graph.meta.setdefault("passes", [])
    for stage, names in stages:
        run_stage(graph, names)
        done.append(stage)
    return graph


def is_lowered(graph: Graph) -> bool:
    """Whether the passes have typed and lowered the graph."""
    return "lower" in graph.meta.get("passes", [])
