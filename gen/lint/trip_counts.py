"""Rule `trip-counts`: loops that are unrolled (inside pipelined loops or
functions, or under UNROLL) have compile-time constant bounds."""

from __future__ import annotations

from hlsgen.lint.constness import is_const_expr
from hlsgen.lint.project import Project, reachable
from hlsgen.lint.report import Violation


def rule_trip_counts(p: Project, out: list[Violation]) -> str:
    n_checked, n_var_pipelined = 0, 0
    for f in reachable(p):
        function_pipelined = any(pr.name == "PIPELINE" and p.prog.loop_at(f, pr.index) is None
                                 for pr in f.pragmas)
        for lp in f.loops:
            anc, in_pipeline = lp.parent, function_pipelined
            while anc is not None:
                if anc.pipelined():
                    in_pipeline = True
                anc = anc.parent
            must_unroll = in_pipeline or lp.unrolled() is not None
            const = lp.var is not None and lp.init is not None and bool(lp.cond) and all(
                is_const_expr(p, f, [x for x in part if x != lp.var], lp.start)
                for part in (lp.init, lp.cond, lp.step))
            if must_unroll:
                n_checked += 1
                if not const:
                    why = ("inside a pipelined loop or function (so unrolled)" if in_pipeline
                           else "under UNROLL")
                    bound = " ".join(lp.cond) if lp.cond else "(none)"
                    out.append(Violation("trip-counts", p.toks[lp.start].where,
                                         f"loop over {lp.var} in {f.name}() is {why} but its bound "
                                         f"'{bound}' is not a compile-time constant"))
            elif lp.pipelined() and not const:
                n_var_pipelined += 1
    return (f"{n_checked} unrolled loops have constant bounds checked; {n_var_pipelined} "
            "pipelined loops have variable trip counts (allowed; their latency is reported as '?')")
