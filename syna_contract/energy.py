"""Spike counts, synaptic operations and the paper's energy estimate (Eq. 11, 45 nm).

``E = E_MAC * MAC + E_AC * AC`` with E_MAC = 4.6 pJ and E_AC = 0.9 pJ, reported in mJ
per sample. Counting rules (per sample, all T steps):

- spikes: mean over the samples of the layer's total output spikes (all T steps);
  every non-fc layer has a count (max-pools and merges too).
- spikes per neuron: spikes / (C*H*W of the layer's output), i.e. summed over all
  T steps; firing rate: spikes / (C*H*W * T). The whole-network figures count
  the LIF neurons only (``conv_lif`` layers), as the paper's "0.8 spikes per
  neuron" does: max-pool and merge outputs are logic, not neurons.
- FLOPs of a conv: Ho*Wo*Cout*Cin*K*K*T (dense). The encoder conv (multi-bit
  input) does them all as MACs. Every other conv does FLOPs * fr ACs, fr being
  the firing rate of its INPUT spike map (the layer named in ``inputs``): Eq. 11
  as written. The exact number of accumulate events (input spikes times the
  output positions each one reaches) is not recoverable from counts alone near
  borders and with stride, so Eq. 11's estimate is used.
- fc: the global average pool feeds a dense FC at every step, as in the float
  model (``fc(mean_hw(s)).mean_t``): FLOPs = Cin*classes*T, AC = FLOPs * fr of
  its input map. The pool's own adds are not counted (Eq. 11 does not either).
- attention (MA/IA), which the paper's released script left out, is counted:
  pooling (one add and one compare per current value: 2*T*C*H*W ACs), the avg
  rescale and output rescale (``size`` MACs each), the shared MLP on the avg and
  max paths (4*size*hidden MACs), the MA gate multiply (T*C*H*W MACs; IA's gate
  is a binary AND: no MAC, but its LIF adds T*size ACs for dim C, T for dim T).
- not counted, as in Eq. 11: bias adds, LIF updates, max-pool and merge logic.

With ``spike_counts=None`` every spiking layer is assumed to fire at
``uniform_rate`` (a what-if, flagged ``measured=False`` in the report).
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from .layers import Attention, ConvLif, Fc, as_layers

E_MAC_PJ = 4.6   # 45 nm 32-bit float multiply-accumulate (paper Eq. 11)
E_AC_PJ = 0.9    # 45 nm 32-bit float add (paper Eq. 11)
PJ_PER_MJ = 1e9


ENERGY_UNITS = (("mJ", 1.0), ("µJ", 1e-3), ("nJ", 1e-6), ("pJ", 1e-9))     # name, value of one unit in mJ


def energy_unit(values_mj) -> tuple[str, float]:
    """The unit (name, size in mJ) that shows the largest of ``values_mj`` as 1 or more, so a table
    reads ``1.02 µJ`` rather than ``0.001017 mJ``."""
    top = max((abs(v) for v in values_mj), default=0.0)
    for name, size in ENERGY_UNITS:
        if top >= size:
            return name, size
    return ENERGY_UNITS[-1]


def format_energy(mj: float) -> str:
    """``0.001017`` mJ -> ``'1.017 µJ'``."""
    name, size = energy_unit([mj])
    return f"{mj / size:.4g} {name}"


def eq11_mj(mac: float, ac: float) -> float:
    """Eq. 11: ``E_MAC * MAC + E_AC * AC`` in mJ."""
    return (E_MAC_PJ * mac + E_AC_PJ * ac) / PJ_PER_MJ


@dataclass
class LayerEnergy:
    name: str
    kind: str
    neurons: int             # C*H*W of the output (0 for fc)
    spikes: float            # mean per sample, all T steps
    spikes_per_neuron: float
    firing_rate: float       # of the output map
    input_rate: float        # of the input spike map (nan for the encoder)
    flops: int               # dense synaptic FLOPs over T
    mac: float               # synaptic MACs + attention MACs
    ac: float                # synaptic ACs + attention ACs
    att_mac: float
    att_ac: float

    @property
    def energy_mj(self) -> float:
        return eq11_mj(self.mac, self.ac)

    def to_dict(self) -> dict:
        return dict(asdict(self), energy_mj=self.energy_mj)


@dataclass
class EnergyReport:
    layers: list[LayerEnergy]
    steps: int
    n_samples: int
    measured: bool           # False when a uniform firing rate was assumed

    @property
    def _lif(self) -> list[LayerEnergy]:
        return [l for l in self.layers if l.kind == "conv_lif"]

    @property
    def total_spikes(self) -> float:
        """Mean spikes per sample over all LIF layers and all T steps."""
        return sum(l.spikes for l in self._lif)

    @property
    def total_neurons(self) -> int:
        return sum(l.neurons for l in self._lif)

    @property
    def spikes_per_neuron(self) -> float:
        return self.total_spikes / self.total_neurons

    @property
    def total_mac(self) -> float:
        return sum(l.mac for l in self.layers)

    @property
    def total_ac(self) -> float:
        return sum(l.ac for l in self.layers)

    @property
    def total_mj(self) -> float:
        return sum(l.energy_mj for l in self.layers)

    def to_dict(self) -> dict:
        return dict(steps=self.steps, n_samples=self.n_samples, measured=self.measured,
                    e_mac_pj=E_MAC_PJ, e_ac_pj=E_AC_PJ,
                    totals=dict(spikes=self.total_spikes, neurons=self.total_neurons,
                                spikes_per_neuron=self.spikes_per_neuron, mac=self.total_mac,
                                ac=self.total_ac, energy_mj=self.total_mj),
                    layers=[l.to_dict() for l in self.layers])

    def table(self) -> str:
        """Table III columns (spikes K, MAC M, AC M, energy in the unit that reads best) per layer and in total."""
        src = "measured" if self.measured else "ASSUMED uniform firing rate"
        unit, size = energy_unit([self.total_mj])
        head = (f"{'layer':<12}{'kind':<11}{'neurons':>9}{'spikes (K)':>12}{'spk/neuron':>11}{'fr in':>8}"
                f"{'fr out':>8}{'MAC (M)':>11}{'AC (M)':>10}{f'energy ({unit})':>13}")
        lines = [f"Energy per sample (Eq. 11: {E_MAC_PJ} pJ/MAC, {E_AC_PJ} pJ/AC), T={self.steps}, "
                 f"{self.n_samples} sample(s), spikes {src}", head]
        for l in self.layers:
            fr_in = "-" if math.isnan(l.input_rate) else f"{l.input_rate:.3f}"
            fr_out = f"{l.firing_rate:.3f}" if l.neurons else "-"
            spn = f"{l.spikes_per_neuron:.3f}" if l.neurons else "-"
            lines.append(f"{l.name:<12}{l.kind:<11}{l.neurons:>9,}{l.spikes / 1e3:>12.2f}{spn:>11}{fr_in:>8}"
                         f"{fr_out:>8}{l.mac / 1e6:>11.2f}{l.ac / 1e6:>10.2f}{l.energy_mj / size:>13.4f}")
        lines.append(f"{'total (LIF)':<23}{self.total_neurons:>9,}{self.total_spikes / 1e3:>12.2f}"
                     f"{self.spikes_per_neuron:>11.3f}{'':>16}{self.total_mac / 1e6:>11.2f}"
                     f"{self.total_ac / 1e6:>10.2f}{self.total_mj / size:>13.4f}")
        lines.append("total spikes and spikes/neuron count LIF layers only; MAC/AC include attention ops")
        return "\n".join(lines)


def _attention_ops(a: Attention, neurons: int, steps: int) -> tuple[int, int]:
    """(MACs, ACs) of one MA/IA unit on a layer of ``neurons`` outputs; see the module doc."""
    size, hidden = a.size, a.hidden
    mac = 2 * size + 4 * size * hidden
    ac = 2 * steps * neurons
    if a.kind == "MA":
        mac += steps * neurons
    else:
        ac += steps * (size if a.dim == "C" else 1)
    return mac, ac


def energy_report(layers, input_spec: dict, spike_counts: dict[str, np.ndarray] | None,
                  n_samples: int, uniform_rate: float = 0.1) -> EnergyReport:
    """Per-layer and total spikes, MAC, AC and energy; ``spike_counts[layer]`` is [n_samples] totals.

    ``layers``: layer descriptors or dicts (a manifest's, ``graph.build_graph``'s)."""
    steps = input_spec["steps"]
    rates: dict[str, float] = {}
    rows: list[LayerEnergy] = []
    for l in as_layers(layers):
        name, kind = l.name, l.kind
        neurons = l.neurons
        if not l.spiking:
            spikes = 0.0
        elif spike_counts is None:
            spikes = uniform_rate * neurons * steps
        else:
            counts = np.asarray(spike_counts[name])
            if counts.shape != (n_samples,):
                raise ValueError(f"spike counts of {name!r} have shape {counts.shape}; expected ({n_samples},)")
            spikes = float(counts.sum()) / n_samples
        if neurons:
            rates[name] = spikes / (neurons * steps)
        src = l.inputs[0]
        fr_in = float("nan") if l.reads_input else rates[src]
        flops = mac = ac = att_mac = att_ac = 0
        if isinstance(l, ConvLif):
            cin, k = l.in_shape[0], l.kernel
            flops = neurons * cin * k * k * steps
            if l.encoder:
                mac = flops
            else:
                ac = flops * fr_in
            if l.attention:
                att_mac, att_ac = _attention_ops(l.attention, neurons, steps)
        elif isinstance(l, Fc):
            flops = l.in_shape[0] * l.channels * steps
            ac = flops * fr_in
        rows.append(LayerEnergy(name, kind, neurons, spikes, spikes / neurons if neurons else 0.0,
                                rates.get(name, 0.0), fr_in, flops, mac + att_mac, ac + att_ac,
                                att_mac, att_ac))
    return EnergyReport(rows, steps, n_samples, measured=spike_counts is not None)


def energy_for_bundle(bundle, result) -> EnergyReport:
    """:func:`energy_report` for a bundle and a :class:`syna_contract.reference.ReferenceResult`."""
    return energy_report(bundle.descriptors, bundle.input_spec, result.spike_counts, len(result.scores))
