"""Runs fuzz models through the whole path and checks the invariant:
generate either refuses in one line (HlsgenError, nothing written) or
writes a project whose two branches of C simulation both equal the golden
executor on every output, and whose golden executor equals the framework or
has every difference explained.

Usage: python tests/fuzz/campaign.py --seed S -n N [--frameworks qkeras,brevitas] [--out DIR]
Each failing model is kept in DIR with a one-line reproduction."""

from __future__ import annotations

import argparse
import collections
import json
import shutil
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

FAILURES = ("crash", "compile", "lint", "mismatch", "unexplained", "half-written", "bad-message")


@dataclass
class Outcome:
    seed: int
    framework: str
    description: str
    category: str            # exact | explained | refused | one of FAILURES
    detail: str = ""
    seconds: float = 0.0
    figures: dict = field(default_factory=dict)

    @property
    def failed(self) -> bool:
        return self.category in FAILURES


def _refusal_ok(message: str) -> bool:
    """A user-facing refusal: one line that names the thing and (after ';'
    or ':') the fix; never an internal inconsistency shown as advice."""
    return "\n" not in message.strip() and (";" in message or ":" in message)


def _framework_check(res, project: Path) -> tuple[str, str]:
    """exact | explained | unexplained, with a detail."""
    from hlsgen.sim.summary import differences_line
    fw = res.framework_figures()
    if fw is None or fw["equal_values"] == fw["values"]:
        return "exact", ""
    line = differences_line(project)
    report = json.loads((project / "report.json").read_text())
    rounding = [l["id"] for l in report.get("layers", []) if l.get("float32_exact") is False]
    if (line and "NOT explained" not in line) or rounding:
        return "explained", line or f"float32 rounding in {', '.join(rounding)}"
    return "unexplained", f"{fw['values'] - fw['equal_values']}/{fw['values']} values differ, no explanation"


def run_one(seed: int, framework: str, work: Path, tf=None, n_vectors: int = 40,
            synthesis_frames: int = 8) -> Outcome:
    from hlsgen.errors import HlsgenError
    from hlsgen.flow import generate
    from hlsgen.sim.csim import csim
    t0 = time.perf_counter()
    folder = work / f"{framework}_{seed}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    project = folder / "prj"
    description = "?"
    try:
        if framework == "qkeras":
            from fuzz.qkeras_models import random_qkeras_model
            model, description, _ = random_qkeras_model(tf, seed)
            source = folder / "model.h5"
            model.save(source)
            kwargs = {}
        else:
            import torch
            from fuzz.brevitas_models import random_brevitas_model
            from hlsgen.frontends.brevitas.loader import export_module
            import onnx
            model, description, shape = random_brevitas_model(seed)
            try:
                proto = export_module(model, shape)
            except HlsgenError as e:
                return Outcome(seed, framework, description, "skipped", f"export: {e}",
                               time.perf_counter() - t0)
            source = folder / "model.onnx"
            onnx.save(proto, str(source))
            torch.save(model.state_dict(), folder / "model.pt")
            kwargs = {}
        output = "argmax" if seed % 5 == 0 else "logits"
        try:
            gen = generate(str(source), project, n_vectors=n_vectors, output=output, seed=seed,
                           log=lambda line: None, **kwargs)
        except HlsgenError as e:
            msg = str(e)
            if project.exists():
                return Outcome(seed, framework, description, "half-written", msg, time.perf_counter() - t0)
            if not _refusal_ok(msg) or "bug" in msg:
                return Outcome(seed, framework, description, "bad-message", msg, time.perf_counter() - t0)
            return Outcome(seed, framework, description, "refused", msg, time.perf_counter() - t0)
        if not gen.lint.ok:
            return Outcome(seed, framework, description, "lint",
                           "; ".join(v.text() for v in gen.lint.violations[:3]), time.perf_counter() - t0)
        try:
            res = csim(gen.out, synthesis_frames=synthesis_frames)
        except HlsgenError as e:
            return Outcome(seed, framework, description, "compile", str(e), time.perf_counter() - t0)
        figures = {"values": res.values, "csim_mismatches": res.csim_mismatches,
                   "synthesis_mismatches": res.synthesis.mismatches, "synthesis_values": int(res.synthesis.golden.size)}
        if res.mismatches:
            return Outcome(seed, framework, description, "mismatch",
                           f"C-sim branch {res.csim_mismatches}, synthesis branch {res.synthesis.mismatches} "
                           "outputs differ from golden", time.perf_counter() - t0, figures)
        category, detail = _framework_check(res, gen.out)
        return Outcome(seed, framework, description, category, detail, time.perf_counter() - t0, figures)
    except Exception as e:  # anything but HlsgenError from hlsgen is a crash
        tb = traceback.format_exc().strip().splitlines()
        return Outcome(seed, framework, description, "crash", f"{type(e).__name__}: {e} | {tb[-3] if len(tb) > 2 else ''}",
                       time.perf_counter() - t0)


def reproduction(o: Outcome) -> str:
    return (f"python tests/fuzz/campaign.py --seed {o.seed} -n 1 --frameworks {o.framework}"
            f"   # {o.category}: {o.description}")


def run_campaign(seed: int, n: int, frameworks=("qkeras", "brevitas"), out: Path = Path("fuzz_runs"),
                 progress: bool = True, keep_passing: bool = False) -> list[Outcome]:
    """Model i of the campaign has seed seed+i; frameworks take turns
    (3 QKeras : 1 Brevitas when both run)."""
    tf = None
    if "qkeras" in frameworks:
        from hlsgen.frontends.qkeras.env import import_qkeras
        tf, _, _ = import_qkeras()
    plan = []
    for i in range(n):
        fw = frameworks[0] if len(frameworks) == 1 else ("brevitas" if i % 4 == 3 else "qkeras")
        plan.append((seed + i, fw))
    outcomes = []
    from tqdm import tqdm
    bar = tqdm(plan, desc="fuzz", unit="model", disable=not progress)
    for s, fw in bar:
        o = run_one(s, fw, out, tf)
        outcomes.append(o)
        bar.set_postfix_str(f"{o.category}")
        folder = out / f"{fw}_{s}"
        if o.failed:
            (folder / "REPRODUCE.txt").write_text(reproduction(o) + "\n" + o.detail + "\n")
        elif not keep_passing:
            shutil.rmtree(folder, ignore_errors=True)
    return outcomes


def table(outcomes: list[Outcome]) -> str:
    by = collections.defaultdict(collections.Counter)
    for o in outcomes:
        by[o.framework][o.category] += 1
    cats = ["exact", "explained", "refused", "skipped", *FAILURES]
    rows = [("framework", *cats, "models")]
    for fw, c in sorted(by.items()):
        rows.append((fw, *(str(c[k]) for k in cats), str(sum(c.values()))))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(v.ljust(w) for v, w in zip(r, widths)) for r in rows]
    refusals = collections.Counter(o.detail.split(";")[0][:90] for o in outcomes if o.category == "refused")
    if refusals:
        lines.append("refusals:")
        lines += [f"  {n} x {msg}" for msg, n in refusals.most_common()]
    fails = [o for o in outcomes if o.failed]
    if fails:
        lines.append("failures (reproduce with):")
        lines += [f"  {reproduction(o)}\n    {o.detail[:300]}" for o in fails]
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("-n", type=int, default=20)
    p.add_argument("--frameworks", default="qkeras,brevitas")
    p.add_argument("--out", default="fuzz_runs", help="failing models are kept here")
    args = p.parse_args(argv)
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    t0 = time.perf_counter()
    outcomes = run_campaign(args.seed, args.n, tuple(args.frameworks.split(",")), Path(args.out))
    print(table(outcomes))
    print(f"{len(outcomes)} models in {time.perf_counter() - t0:.0f} s; seeds {args.seed}..{args.seed + args.n - 1}")
    return 1 if any(o.failed for o in outcomes) else 0


if __name__ == "__main__":
    sys.exit(main())
