"""The sweep's Pareto figure: frames/s against LUT and against BRAM, one
panel each, the Pareto front drawn (more frames/s for fewer resources),
exactness marked (C simulation of both branches equal to golden)."""

from __future__ import annotations

from pathlib import Path

# (panel, synthesis column, estimate column)
PANELS = (("LUT", "synth_lut", "est_lut"), ("BRAM18", "synth_bram18", "est_bram18"))
MARKS = {True: ("o", "#1e8449", "exact"), False: ("X", "#c0392b", "NOT exact"),
         None: ("s", "#7f8c8d", "not simulated")}


def number(value) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def resource(row: dict, synth: str, est: str) -> float | None:
    """The synthesis figure where the point was built, else the estimate."""
    value = number(row.get(synth))
    return value if value is not None else number(row.get(est))


def pareto_front(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """(resource, fps) points no other point beats (as many fps or more for
    as few resources or fewer), by resource."""
    front, best = [], float("-inf")
    for r, fps in sorted(points, key=lambda p: (p[0], -p[1])):
        if fps > best:
            front.append((r, fps))
            best = fps
    return front


def write_pareto(rows: list[dict], path: Path) -> bool:
    """Writes the figure of the rows done; False when none has figures."""
    done = [r for r in rows if r.get("status") in ("ok", "skipped") and number(r.get("est_fps"))]
    if not done:
        return False
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, len(PANELS), figsize=(11, 4.2))
    for ax, (name, synth, est) in zip(axes, PANELS):
        pts = [(resource(r, synth, est), number(r["est_fps"]), r.get("exact")) for r in done]
        pts = [p for p in pts if p[0] is not None]
        for exact, (marker, color, text) in MARKS.items():
            mine = [p for p in pts if _exact(p[2]) is exact]
            if mine:
                ax.scatter([p[0] for p in mine], [p[1] for p in mine], marker=marker, c=color,
                           label=text, zorder=3)
        front = pareto_front([(p[0], p[1]) for p in pts])
        if len(front) > 1:
            ax.step([p[0] for p in front], [p[1] for p in front], where="post", color="#2e86c1",
                    linewidth=1, label="Pareto front", zorder=2)
        ax.set_xlabel(f"{name} (synthesis where built, else estimate)")
        ax.set_ylabel("frames/s (estimate)")
        ax.set_yscale("log")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(f"{len(done)} design points")
    fig.tight_layout()
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.savefig(tmp, dpi=100)
    plt.close(fig)
    tmp.replace(path)        # never a half-written figure
    return True


def _exact(value) -> bool | None:
    """exact as recorded (a bool in a row, a string in a CSV)."""
    if value in (True, "True"):
        return True
    if value in (False, "False"):
        return False
    return None
