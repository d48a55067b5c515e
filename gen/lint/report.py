"""The lint report: the rules and the documents they come from (RULES), one
violation (rule, file:line, message), one row per rule (pass/fail/skip),
the report of a project (LintReport: to_json for report.json "lint",
summary for generate) and format_report (what `hlsgen lint` prints)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


# rule -> (what it checks, where the rule comes from). UG1399: Vitis HLS User
# Guide; UG1448: Vitis HLS Messaging; PG021: AXI DMA product guide.
RULES: dict[str, tuple[str, str]] = {
    "sources": ("the synthesis branch's sources are complete (every quoted #include found)",
                "UG1399 'Coding C/C++ Functions'"),
    "widths": ("ap_int/ap_uint/ap_fixed widths: 1024 bits, or up to 4096 with AP_INT_MAX_W "
               "defined before ap_int.h",
               "UG1399 'Arbitrary Precision Integer Types'"),
    "interface-widths": ("top-level ports: AXI-Stream at most 1024 bits (the AXI DMA's stream "
                         "side), m_axi data and max_widen_bitwidth at most 1024",
                         "PG021 'AXI DMA' stream data width; UG1448 'Burst Inference Failure 14'"),
    "pragmas": ("known HLS pragma names, options and values; variables and ports that exist",
                "UG1399 'HLS Pragmas'"),
    "trip-counts": ("constant trip counts where loops are unrolled (inside pipelined loops and "
                    "functions, and under UNROLL)",
                    "UG1399 'pragma HLS pipeline', 'Function Pipelining', 'pragma HLS unroll'; "
                    "UG1448 200-936"),
    "synthesizable": ("no dynamic memory, standard containers, OS calls or recursion",
                      "UG1399 'Unsupported C/C++ Constructs' (Dynamic Memory Usage, Standard "
                      "Template Libraries, Recursive Functions)"),
    "streams": ("every stream of the DATAFLOW region: one producer, one consumer, forward",
                "UG1399 'Dataflow Optimization Limitations' (single-producer-consumer), "
                "'Canonical Forms'"),
    "partitions": ("arrays accessed in II=1 pipelined regions partitioned enough for their "
                   "accesses (an unpartitioned array is one memory of 2 ports)",
                   "UG1399 'pragma HLS array_partition', 'Array Partitioning'"),
    "compile": ("the synthesis branch type-checks with clang++ and g++ (-fsyntax-only)",
                "clang is the Vitis HLS front end"),
}


@dataclass
class Violation:
    rule: str
    where: str          # file:line, relative to the project folder
    message: str

    def text(self) -> str:
        return f"{self.where}: error: [{self.rule}] {self.message} (see {RULES[self.rule][1]})"


@dataclass
class LintRow:
    rule: str
    status: str         # "pass", "fail", "skip"
    detail: str


@dataclass
class LintReport:
    project: Path
    rows: list[LintRow] = field(default_factory=list)
    violations: list[Violation] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.violations

    def failed_rules(self) -> list[str]:
        return [r.rule for r in self.rows if r.status == "fail"]

    def to_json(self) -> dict:
        """What goes into report.json under "lint"."""
        return {"ok": self.ok, "seconds": round(self.seconds, 3),
                "rules": [{"rule": r.rule, "status": r.status, "detail": r.detail,
                           "document": RULES[r.rule][1]} for r in self.rows],
                "violations": [{"rule": v.rule, "where": v.where, "message": v.message,
                                "document": RULES[v.rule][1]} for v in self.violations]}

    def summary(self) -> str:
        """One line: what generate prints."""
        n = len(self.violations)
        if not n:
            return f"lint: {len(self.rows)} rules checked, no violations ({self.seconds:.2f} s)"
        return (f"lint: {n} violation{'s' * (n != 1)} of {', '.join(self.failed_rules())} "
                f"(hlsgen lint {self.project} for the list)")


def format_report(report: LintReport, max_per_rule: int = 20) -> str:
    lines = [f"lint of {report.project} (synthesis branch: __SYNTHESIS__ and HLSGEN_SYNTHESIS "
             f"defined), {report.seconds:.2f} s"]
    w = max(len(r.rule) for r in report.rows) if report.rows else 8
    for r in report.rows:
        lines.append(f"  {r.rule.ljust(w)}  {r.status.upper():4}  {r.detail}")
    shown: dict[str, int] = {}
    for v in report.violations:
        shown[v.rule] = shown.get(v.rule, 0) + 1
        if shown[v.rule] <= max_per_rule:
            lines.append(v.text())
    for rule, n in shown.items():
        if n > max_per_rule:
            lines.append(f"... and {n - max_per_rule} more [{rule}] violations")
    lines.append(report.summary())
    return "\n".join(lines)
