"""C-simulation results as text: the exactness table `hlsgen csim` prints,
and the explanation of any difference between golden and the framework."""

from __future__ import annotations

import json
from pathlib import Path

from hlsgen.project.tables import table


def format_csim(res) -> str:
    """The exactness table of a CsimResult, with its header lines and, where
    golden and the framework differ, why."""
    lines = []
    s = res.summary()
    cg = s["csim_vs_golden"]
    ok = cg["equal_values"] == cg["values"]
    rows = [("C-simulation branch vs golden", f"{cg['equal_values']}/{cg['values']}",
             f"{100.0 * cg['equal_values'] / cg['values']:.2f}%",
             f"{cg['rows_exact']}/{s['frames']}", "0" if ok else
             str(int(abs(res.csim - res.golden).max())), "", "PASS" if ok else "FAIL")]
    sy = res.synthesis
    if sy is not None:
        sok = sy.mismatches == 0
        rows.append(("synthesis branch vs golden", f"{sy.golden.size - sy.mismatches}/{sy.golden.size}",
                     f"{100.0 * (1 - sy.mismatches / max(sy.golden.size, 1)):.2f}%",
                     f"{sy.rows_exact}/{sy.frames}",
                     "0" if sok else str(int(abs(sy.out - sy.golden).max())), "", "PASS" if sok else "FAIL"))
    fw = s["golden_vs_framework"]
    if fw:
        rows.append(("golden vs framework", f"{fw['equal_values']}/{fw['values']}",
                     f"{100.0 * fw['equal_values'] / fw['values']:.2f}%",
                     f"{fw['rows_exact']}/{s['frames']}", f"{fw['max_abs_diff']:g}",
                     f"{100.0 * fw['top1_agreement']:.2f}%",
                     "exact" if fw["equal_values"] == fw["values"] else "differs"))
    build = "cached" if s["build_cached"] else f"{s['build_seconds']:.2f} s"
    lines.append(f"C simulation of {res.project}: {s['frames']} frames, build {build}, "
                 f"run {s['run_seconds']:.3f} s")
    if sy is not None:
        sbuild = "cached" if sy.build_cached else f"{sy.build_seconds:.2f} s"
        sample = (f"the first {sy.frames} of {s['frames']} frames (--synthesis-frames all: every one)"
                  if sy.frames < s["frames"] else f"{sy.frames} frames")
        lines.append(f"synthesis branch (the code Vitis HLS compiles): {sample}, "
                     f"build {sbuild}, run {sy.run_seconds:.3f} s")
    else:
        lines.append("synthesis branch not run (--fast): only the C-simulation branch is proven")
    lines.append(table(rows, ("comparison", "equal values", "exact", "exact rows", "max |diff|",
                              "top-1", "result")))
    if res.framework_note:
        lines.append(f"golden vs framework: not compared: {res.framework_note}")
    if fw and fw["equal_values"] != fw["values"]:
        # New inputs: the frontend's explanation of this run; test vectors: generate's.
        new_inputs = "golden" in res.stage_seconds
        lines.append((differences_text(res.framework_differences) if new_inputs
                      else differences_line(res.project)) or
                     explain_framework_differences(res.project, fw["values"] - fw["equal_values"]))
    if "golden" in res.stage_seconds:
        lines.append("seconds: " + ", ".join(f"{STAGES[k]} {v:.1f}"
                                             for k, v in res.stage_seconds.items()))
    return "\n".join(lines)


STAGES = {"framework_load": "loading the framework",
          "golden": "golden executor", "framework": "framework", "csim": "C simulation",
          "synthesis": "synthesis branch"}


def explain_framework_differences(project: Path, n: int) -> str:
    """Why the golden executor (the exact value) and the framework differ."""
    layers = json.loads((Path(project) / "report.json").read_text()).get("layers", [])
    rounding = [l["id"] for l in layers if l.get("float32_exact") is False]
    if rounding:
        return (f"{n} output values differ from the framework: layer(s) {', '.join(rounding)} "
                "accumulate beyond float32's 24-bit significand, where the framework's float32 "
                "arithmetic rounds; the hardware and the golden executor compute the exact value")
    return (f"{n} output values differ from the framework although every layer is float32-exact; "
            "this is a bug, please report it with the model")


def differences_line(project: Path) -> str:
    """The differences counted and explained, frame by frame, by the model's
    frontend at generate time (the QONNX frontend records them in the IR's
    meta); "" when it did not."""
    try:
        d = json.loads((Path(project) / "ir" / "graph.json").read_text())["meta"].get(
            "framework_differences")
    except (OSError, ValueError, KeyError):
        d = None
    return differences_text(d)


def differences_text(d: dict | None) -> str:
    """One explain() record (hlsgen/frontends/qonnx/compare.py) as a line; ""
    when it explains nothing."""
    if not d or "explained_values" not in d:
        return ""
    where = ", ".join(f"{k} in {v} frame{'s' * (v > 1)}"
                      for k, v in d["first_differing_quantizer"].items())
    line = (f"golden vs framework: {d['values']} output values differ in {d['frames']} "
            f"frame{'s' * (d['frames'] != 1)}; "
            f"{d['explained_values']} explained: {d['cause']} (first differing quantizer: {where}")
    if d.get("max_boundary_distance_steps") is not None:
        line += f"; at most {d['max_boundary_distance_steps']:.2g} steps from it"
    line += ")"
    if d["unexplained_values"]:
        line += f"; {d['unexplained_values']} NOT explained: a bug, please report it"
    return line
