"""`hlsgen lint`: the rules Vitis HLS enforces that can be checked without it.

The code checked is the synthesis branch of the project: the top function's
translation unit (firmware/<name>.cpp and every project header it includes)
as Vitis HLS sees it, i.e. with `__SYNTHESIS__` and `HLSGEN_SYNTHESIS`
defined, so host code guarded by `#ifndef __SYNTHESIS__` (parameter loaders,
caches, the testbench) is excluded. hlsgen's own sources are preprocessed
here, line for line (conditionals only, external headers not expanded), and
read by a small C++ structure scanner written for what the generator emits:
functions, structs, loops, pragmas, declarations, calls. Where a rule uses
the generator's structured output (report.json), its row says so.

Every violation names the rule, the place (file:line) and the document the
rule comes from (UG1399 Vitis HLS User Guide, UG1448 Vitis HLS Messaging,
PG021 AXI DMA).

    lint_project(folder, compilers=False) -> LintReport
    LintReport.ok, .rows (rule, status, detail), .violations (rule, where,
    message), .summary() (one line), .to_json() (for report.json "lint")
    format_report(report) -> str (what `hlsgen lint` prints)

How each rule is checked:
  sources        quoted #includes of the translation unit resolve in the project
  widths         literal ap_[u]int/ap_[u]fixed/axis_word widths, and widths the
                 library's templates compute (typedefs of every struct and
                 function instance reached from the top, evaluated with its
                 template arguments), against 1024 or AP_INT_MAX_W (defined
                 before the first ap header, or -D in build_prj.tcl), at most 4096
  interface-widths  the top function's ports and INTERFACE pragmas
  pragmas        every `#pragma HLS` of the synthesis branch: name, options,
                 integer or constant values, variables/ports declared, partition
                 dims within the array's
  trip-counts    loops inside pipelined loops/functions or under UNROLL:
                 initial value, condition and step compile-time constants
  synthesizable  tokens of the synthesis branch (new/delete, malloc..., std::
                 containers, file/OS calls) and cycles in its call graph
  streams        the DATAFLOW region's process calls; which stream arguments a
                 process reads or writes follows from the library function's
                 body (read()/write(), through calls); stream names cross-checked
                 with report.json's stream list
  partitions     a walk from the top through every instance (template arguments
                 bound, helpers and requantization functors inlined): in each
                 II=1 pipelined region, the accesses per cycle of every array
                 (lanes of the unrolled loops in its indices) against the
                 ARRAY_PARTITION/ARRAY_RESHAPE pragmas naming it
  compile        (compilers=True) clang++ and g++ -fsyntax-only -std=c++14
                 -DHLSGEN_SYNTHESIS on firmware/<name>.cpp

Modules (each depends only on those above it; report on none):
  report         RULES (rule -> what, document), Violation, LintRow, LintReport,
                 format_report
  preprocess     the C preprocessor: comments, #if/#ifdef/#elif/#else,
                 #define/#undef, #include of project files, #error
  tokens         Tok and tokenize; bracket matching and comma splitting
  scan           declarations, HLS pragmas, the parsed program model (Program:
                 functions, loops, structs, typedefs, globals)
  consteval      types and integer constant expressions under template bindings
  project        Project and load() (the translation unit read and scanned, the
                 top function, AP_INT_MAX_W); reachable() functions
  constness      compile-time constants of a function without a binding
  sources, partitions, widths, pragmas, trip_counts, synthesizable, streams,
  compilers      one rule each (widths also interface-widths; partitions holds
                 the instance walk that widths uses too)
  __init__       lint_project: load, run the rules in order, the report
"""

from __future__ import annotations

import time
from pathlib import Path

from hlsgen.errors import HlsgenError
from hlsgen.lint.compilers import compile_check
from hlsgen.lint.partitions import rule_partitions
from hlsgen.lint.pragmas import rule_pragmas
from hlsgen.lint.project import load
from hlsgen.lint.report import RULES, LintReport, LintRow, Violation, format_report
from hlsgen.lint.sources import rule_sources, unbalanced
from hlsgen.lint.streams import rule_streams
from hlsgen.lint.synthesizable import rule_synthesizable
from hlsgen.lint.trip_counts import rule_trip_counts
from hlsgen.lint.widths import rule_interface_widths, rule_widths

__all__ = ["RULES", "LintReport", "LintRow", "Violation", "format_report", "lint_project"]


_CHECKS = [("sources", rule_sources), ("widths", rule_widths),
           ("interface-widths", rule_interface_widths), ("pragmas", rule_pragmas),
           ("trip-counts", rule_trip_counts), ("synthesizable", rule_synthesizable),
           ("streams", rule_streams), ("partitions", rule_partitions)]


def lint_project(folder, compilers: bool = False) -> LintReport:
    """Checks the project in `folder` against the rules above. With
    compilers=True, also type-checks the synthesis branch with clang++ and
    g++ (-fsyntax-only; a compiler that is not installed is skipped with a
    note). Raises HlsgenError when `folder` is not an hlsgen project."""
    t0 = time.perf_counter()
    try:
        p = load(Path(folder))
    except HlsgenError:
        raise
    except Exception as e:  # sources the scanner cannot read: say so, do not crash
        rep = LintReport(Path(folder))
        rep.violations.append(Violation("sources", "firmware:1", f"the synthesis branch could not "
                                        f"be read ({e!r}); hlsgen lint --compile shows the "
                                        "compilers' view"))
        rep.rows = [LintRow("sources", "fail", "the sources could not be read")] + [
            LintRow(rule, "skip", "not checked: the sources could not be read")
            for rule, _ in _CHECKS[1:]]
        rep.seconds = time.perf_counter() - t0
        return rep
    rep = LintReport(Path(folder))
    broken = unbalanced(p)
    if broken:
        rep.violations += broken
        rep.rows.append(LintRow("sources", "fail", "the synthesis branch does not parse "
                                "(unbalanced brackets); hlsgen lint --compile shows the compilers' "
                                "view"))
        rep.rows += [LintRow(rule, "skip", "not checked: the sources do not parse")
                     for rule, _ in _CHECKS[1:]]
    for rule, fn in ([] if broken else _CHECKS):
        found: list[Violation] = []
        try:
            detail = fn(p, found)
        except Exception as e:  # a lint bug must not hide the other rules
            rep.rows.append(LintRow(rule, "fail", f"internal error of the checker: {e!r}"))
            rep.violations.append(Violation(rule, f"firmware/{p.name}.cpp:1",
                                            f"the checker failed ({e!r}); please report it"))
            continue
        rep.violations += found
        n = len(found)
        rep.rows.append(LintRow(rule, "fail" if n else "pass",
                                detail + (f"; {n} violation{'s' * (n != 1)}" if n else "")))
    if compilers:
        found = []
        status, detail = compile_check(p, found)
        rep.violations += found
        rep.rows.append(LintRow("compile", status, detail))
    rep.seconds = time.perf_counter() - t0
    return rep
