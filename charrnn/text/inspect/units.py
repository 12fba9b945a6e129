"""Naming one unit of a model's stack (`--unit LAYER:UNIT`, `--state`), checked against the
model, so that a typo fails with the ranges the model has rather than an index error mid-pass."""
from __future__ import annotations

from dataclasses import dataclass

from charrnn.errors import CharrnnError


@dataclass(frozen=True)
class UnitRef:
    layer: int  # 1-based: layer 1 reads the characters
    index: int  # 0-based unit within the layer
    state: str  # "c" (LSTM cell state) or "h"

    def __str__(self) -> str:
        return f"{self.layer}:{self.index} {self.state}"


def parse_unit(spec: str, cell: str, layers: int, hidden: int, state: str | None) -> UnitRef:
    """'L:N' (or 'N' for a one-layer model) -> a checked UnitRef."""
    if state is None:
        state = "c" if cell == "lstm" else "h"
    if state == "c" and cell != "lstm":
        raise CharrnnError(f"--state c: a {cell.upper()} has no cell state; use --state h")
    text = spec.strip()
    parts = text.split(":")
    try:
        if len(parts) == 1 and layers == 1:
            layer, index = 1, int(parts[0])
        elif len(parts) == 2:
            layer, index = int(parts[0]), int(parts[1])
        else:
            raise ValueError
    except ValueError:
        raise CharrnnError(f"--unit {spec!r}: give LAYER:UNIT, for example 1:0 (layers 1-{layers}, "
                           f"units 0-{hidden - 1}), or auto with --find FEATURE") from None
    if not 1 <= layer <= layers or not 0 <= index < hidden:
        raise CharrnnError(f"--unit {spec}: out of range; the model has {layers} "
                           f"layer{'s' if layers != 1 else ''} (1-{layers}) of {hidden} units "
                           f"(0-{hidden - 1})")
    return UnitRef(layer, index, state)


def unit_states(cell: str, state: str | None) -> tuple[str, ...]:
    """Which states --find searches: an LSTM's c and h unless one is asked."""
    if state is not None:
        if state == "c" and cell != "lstm":
            raise CharrnnError(f"--state c: a {cell.upper()} has no cell state; use --state h")
        return (state,)
    return ("c", "h") if cell == "lstm" else ("h",)
