"""Plots of a training run (PNG, matplotlib without a display) from its ``*.metrics.jsonl``.

- ``firing_heatmap.png``: firing rate of every LIF layer at every epoch (the
  paper's Fig. 5), with the shortcut layers' rates per epoch underneath;
- ``firing_rates.png``: per-layer firing rates at the last epoch, shortcuts
  marked, silent ones labelled;
- ``curves.png``: training and evaluation loss, evaluation accuracy.

``python -m model_export plot RUN`` and the end of ``train`` call :func:`plot_run`.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

METRICS_SUFFIX = ".metrics.jsonl"
PLOT_FILES = ("firing_heatmap.png", "firing_rates.png", "curves.png")


def metrics_path(run: str | Path) -> Path:
    """The metrics file of RUN: a checkpoint, its metrics file, or a directory holding exactly one."""
    run = Path(run)
    if run.is_dir():
        found = sorted(run.glob(f"*{METRICS_SUFFIX}"))
        if len(found) != 1:
            raise FileNotFoundError(f"{run}: expected one *{METRICS_SUFFIX} file (written by `train`), found "
                                    f"{[p.name for p in found] or 'none'}; name the checkpoint instead")
        return found[0]
    path = run if run.name.endswith(METRICS_SUFFIX) else run.with_suffix(METRICS_SUFFIX)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: metrics file not found (`train` writes it beside the checkpoint)")
    return path


def read_metrics(path: str | Path) -> list[dict]:
    """One record per epoch; a line that is not JSON is an error naming its line number."""
    path = Path(path)
    records = []
    for i, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError as e:
            raise ValueError(f"{path}:{i}: not a JSON line ({e}); expected one object per epoch") from None
    if not records:
        raise ValueError(f"{path}: no epochs logged yet")
    return records


def _figure(w: float, h: float):
    """A figure on the Agg canvas: no pyplot, so no display and no global backend state."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    fig = Figure(figsize=(w, h), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _epoch_labels(records: list[dict]) -> list[str]:
    return [f"{'q' if r['phase'] == 'qat' else ''}{r['epoch']}" for r in records]


def _xlabel(records: list[dict]) -> str:
    return "epoch (q: quantisation-aware)" if any(r["phase"] == "qat" for r in records) else "epoch"


def _phase_boundary(ax, records: list[dict], vertical: bool = True) -> None:
    """Mark where the quantisation-aware phase starts."""
    first_qat = next((i for i, r in enumerate(records) if r["phase"] == "qat"), None)
    if first_qat:
        ax.axvline(first_qat - 0.5, color="red", lw=1, ls="--", label="quantisation-aware from here")


def plot_heatmap(records: list[dict], path: Path, title: str) -> Path:
    layers = list(records[-1]["firing_rates"])
    rates = np.array([[r["firing_rates"].get(l, np.nan) for r in records] for l in layers])
    shortcuts = [l for l in layers if l.endswith(".short")]
    fig = _figure(max(6.0, 0.18 * len(records) + 3), 0.28 * len(layers) + 4.2)
    ax, ax2 = fig.subplots(2, 1, height_ratios=[len(layers), 7], sharex=True)
    top = np.nanmax(rates) if np.isfinite(rates).any() else 0.0
    im = ax.imshow(rates, aspect="auto", cmap="viridis", interpolation="nearest", vmin=0,
                   vmax=max(top, 1e-3))                 # an all-silent run still gets a 0-based scale
    ax.set_yticks(range(len(layers)), layers)
    for tick, name in zip(ax.get_yticklabels(), layers):
        if name in shortcuts:
            tick.set_color("tab:red")
    ax.set_title(f"{title}: firing rate of every LIF layer per epoch (shortcuts in red)")
    fig.colorbar(im, ax=ax, label="spikes / neuron / step")
    _phase_boundary(ax, records)
    x = np.arange(len(records))
    width = 0.8 / max(1, len(shortcuts))
    for k, name in enumerate(shortcuts):
        ax2.bar(x - 0.4 + (k + 0.5) * width, rates[layers.index(name)], width, label=name)
    _phase_boundary(ax2, records)
    ax2.set_ylabel("shortcut rate")
    if shortcuts:                               # beside the bars, never over them
        ax2.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)
    else:                                       # archs without the layer graph: neuron modules, no shortcuts
        ax2.text(0.5, 0.5, "no shortcut LIF layers in this model", ha="center", va="center", transform=ax2.transAxes)
    step = max(1, len(records) // 20)
    ax2.set_xticks(x[::step], _epoch_labels(records)[::step])
    ax2.set_xlabel(_xlabel(records))
    fig.savefig(path, dpi=110)
    return path


def plot_rates(records: list[dict], path: Path, title: str) -> Path:
    last = records[-1]
    layers = list(last["firing_rates"])
    rates = [last["firing_rates"][l] for l in layers]
    silent = set(last.get("silent_shortcuts", []))
    fig = _figure(max(6.0, 0.35 * len(layers) + 2), 4.2)
    ax = fig.subplots()
    colors = ["tab:red" if l.endswith(".short") else "tab:blue" for l in layers]
    ax.bar(range(len(layers)), rates, color=colors)
    for i, l in enumerate(layers):
        if l in silent:
            ax.annotate("silent", (i, 0), xytext=(0, 3), textcoords="offset points", ha="center",
                        rotation=90, fontsize="small", color="tab:red")
    ax.set_xticks(range(len(layers)), layers, rotation=70, ha="right")
    ax.set_ylabel("spikes / neuron / step")
    ax.set_title(f"{title}: firing rates after {last['phase']} epoch {last['epoch']} "
                 f"({last.get('eval_samples', '?')} evaluation samples; shortcuts red)")
    fig.savefig(path, dpi=110)
    return path


def plot_curves(records: list[dict], path: Path, title: str) -> Path:
    x = np.arange(len(records))
    fig = _figure(7.5, 5.5)
    ax, ax2 = fig.subplots(2, 1, sharex=True)
    ax.plot(x, [r["loss"] for r in records], label="training loss")
    if all("test_loss" in r for r in records):
        ax.plot(x, [r["test_loss"] for r in records], label="evaluation loss")
    ax.set_ylabel("loss")
    ax.set_yscale("log")
    _phase_boundary(ax, records)
    ax.legend()
    ax.set_title(title)
    ax2.plot(x, [r["test_acc"] for r in records], color="tab:green")
    ax2.set_ylabel("evaluation top-1 (%)")
    _phase_boundary(ax2, records)
    step = max(1, len(records) // 20)
    ax2.set_xticks(x[::step], _epoch_labels(records)[::step])
    ax2.set_xlabel(_xlabel(records))
    fig.savefig(path, dpi=110)
    return path


PACKAGE_DIR = Path(__file__).resolve().parent


def default_out_dir(mpath: Path) -> Path:
    """``<checkpoint>.plots/`` beside the run; for a run inside the installed package (the shipped
    checkpoint) ``./<checkpoint>.plots/`` in the working directory instead: never into the package."""
    stem = mpath.name[:-len(METRICS_SUFFIX)]
    beside = mpath.with_name(stem + ".plots")
    return Path.cwd() / beside.name if PACKAGE_DIR in mpath.resolve().parents else beside


def plot_run(run: str | Path, out_dir: str | Path | None = None, say=None) -> list[Path]:
    """Draw the plots of a run; returns the PNG paths (default directory: :func:`default_out_dir`).

    A plot that cannot be drawn is not skipped silently: ``say`` (default: print to stderr) gets one
    line naming it and why."""
    import sys
    say = say or (lambda msg: print(msg, file=sys.stderr))
    mpath = metrics_path(run)
    records = read_metrics(mpath)
    stem = mpath.name[:-len(METRICS_SUFFIX)]
    out = Path(out_dir) if out_dir else default_out_dir(mpath)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    with_rates = sum("firing_rates" in r for r in records)
    if with_rates == len(records):
        paths.append(plot_heatmap(records, out / PLOT_FILES[0], stem))
        paths.append(plot_rates(records, out / PLOT_FILES[1], stem))
    else:
        say(f"{mpath}: {PLOT_FILES[0]} and {PLOT_FILES[1]} not drawn: {len(records) - with_rates} of "
            f"{len(records)} epochs have no 'firing_rates' (the run was trained before `train` logged them, "
            "or without evaluation); retrain, or see `syna table RUN` for its firing rates now")
    paths.append(plot_curves(records, out / PLOT_FILES[2], stem))
    return paths
