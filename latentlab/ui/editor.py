"""The slider and class-picker panel of the Edit and "Invert & edit" tabs, written once.

A direction set shows as up to MAX_SLIDERS sliders (binary, ordinal and custom directions) and
MAX_CLASS_PICKERS class pickers (categorical attributes); a larger set shows its first ones.
Slider units are those of every direction file: standard deviations of the fit latents'
projections onto the direction (0 = the average face); the labels show the class means.
"""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr
import numpy as np

from directions.io import DirectionSet

MAX_SLIDERS = 12  # numeric directions shown
MAX_CLASS_PICKERS = 6  # categorical attributes shown
UNCHANGED = "(unchanged)"  # a picker's "leave this attribute alone"
SLIDER_RANGE = 4.0  # units either side of the average face

Amounts = dict[str, float | str]  # direction name -> amount in units, or the class to move onto


def editor_layout(dset: DirectionSet) -> tuple[list[str], list[str]]:
    """(numeric direction names, categorical entry names) the editor shows, capped to its widgets."""
    numeric = [d.name for d in dset.entries.values() if d.kind != "categorical"][:MAX_SLIDERS]
    categorical = [d.name for d in dset.entries.values() if d.kind == "categorical"][:MAX_CLASS_PICKERS]
    return numeric, categorical


def slider_label(dset: DirectionSet, name: str) -> str:
    """'age  [child -1.2 · teen +0.1 · adult +1.3]': the name and the class means in slider units."""
    d = dset.entries[name]
    if d.kind == "custom":
        return f"{name} (picked in the explorer)"
    pos = " · ".join(f"{c} {p:+.1f}" for c, p in zip(d.classes, d.class_positions[0]) if np.isfinite(p))
    return f"{name}  [{pos}]"


def amounts_from(numeric: list[str], categorical: list[str], values) -> Amounts:
    """The edit the widgets ask for: `values` are the sliders' then the pickers' values, in order."""
    sliders, pickers = values[:MAX_SLIDERS], values[MAX_SLIDERS:]
    amounts: Amounts = {name: float(v) for name, v in zip(numeric, sliders) if v}
    amounts.update({name: v for name, v in zip(categorical, pickers) if v and v != UNCHANGED})
    return amounts


def reset_values() -> list:
    """Every slider back to 0, every picker to UNCHANGED."""
    return [gr.update(value=0)] * MAX_SLIDERS + [gr.update(value=UNCHANGED)] * MAX_CLASS_PICKERS


@dataclass
class Editor:
    """The widgets of one panel; `numeric` and `categorical` hold the direction names now on them."""

    sliders: list[gr.Slider]
    pickers: list[gr.Dropdown]
    reset: gr.Button
    numeric: gr.State
    categorical: gr.State

    @classmethod
    def build(cls, prefix: str, reset_label: str = "Reset") -> Editor:
        """Create the (hidden) widgets in the enclosing layout; element ids `{prefix}-slider-{i}`, `{prefix}-class-{i}`."""
        sliders = [gr.Slider(-SLIDER_RANGE, SLIDER_RANGE, value=0, step=0.1, visible=False,
                             elem_id=f"{prefix}-slider-{i}") for i in range(MAX_SLIDERS)]
        pickers = [gr.Dropdown([UNCHANGED], value=UNCHANGED, visible=False, elem_id=f"{prefix}-class-{i}")
                   for i in range(MAX_CLASS_PICKERS)]
        return cls(sliders, pickers, gr.Button(reset_label), gr.State([]), gr.State([]))

    @property
    def widgets(self) -> list:
        return [*self.sliders, *self.pickers]

    @property
    def inputs(self) -> list:
        """What a handler reads as `(numeric, categorical, *values)`; also what `show`/`hide` update."""
        return [self.numeric, self.categorical, *self.widgets]

    def show(self, dset: DirectionSet) -> list:
        """Updates for `inputs`: one widget per shown direction, at 0 / UNCHANGED, the others hidden."""
        numeric, categorical = editor_layout(dset)
        blank_sliders = MAX_SLIDERS - len(numeric)
        blank_pickers = MAX_CLASS_PICKERS - len(categorical)
        sliders = [gr.update(visible=True, value=0, label=slider_label(dset, name)) for name in numeric]
        pickers = [gr.update(visible=True, value=UNCHANGED, label=name, choices=[UNCHANGED, *dset.entries[name].classes])
                   for name in categorical]
        return [numeric, categorical, *sliders, *[gr.update(visible=False, value=0, label="")] * blank_sliders,
                *pickers, *[gr.update(visible=False, value=UNCHANGED, label="", choices=[UNCHANGED])] * blank_pickers]

    def hide(self) -> list:
        """Updates for `inputs` when no set is chosen."""
        return [[], [], *[gr.update(visible=False)] * (MAX_SLIDERS + MAX_CLASS_PICKERS)]

    def rerender(self, fn, inputs: list, outputs: list, also: list = ()) -> None:
        """Run `fn` when a slider is let go, a class picked, one of the `also` triggers fires, or after Reset."""
        triggers = [s.release for s in self.sliders] + [p.input for p in self.pickers] + list(also)
        gr.on(triggers, fn, inputs, outputs, trigger_mode="always_last")
        self.reset.click(reset_values, None, self.widgets).then(fn, inputs, outputs)
