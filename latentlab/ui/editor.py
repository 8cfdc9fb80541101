"""The slider and class-picker panel of the Edit and "Invert & edit" tabs, written once.

A direction set shows as up to MAX_SLIDERS sliders (binary, ordinal and custom directions), each
binary or ordinal one with a class picker beside it ("onto a class": "eye_state -> closed" ends each
face where the set's reader reads the class, `directions.reach`, which a slider's fixed amount
cannot; the pick replaces the slider's amount), and below them up to MAX_CLASS_PICKERS pickers of
categorical attributes; a larger set shows its first ones.
Slider units are those of the direction file (format 2: one unit raises the labels' fitted log-odds
by 4; format 1: one standard deviation of the fit latents' projections; 0 = the average face); the
labels show the class means.
"""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr
import numpy as np

from directions.io import DirectionSet

MAX_SLIDERS = 12  # numeric directions shown, each on a row with its class picker (binary, ordinal)
MAX_CLASS_PICKERS = 8  # categorical attributes shown, below the sliders
BESIDE_KINDS = ("binary", "ordinal")  # a slider with a class picker beside it
UNCHANGED = "(unchanged)"  # a picker's "leave this attribute alone"
SLIDER_RANGE = 4.0  # units either side of the average face

Amounts = dict[str, float | str]  # direction name -> amount in units, or the class to move onto


def editor_layout(dset: DirectionSet) -> tuple[list[str], list[str]]:
    """(numeric direction names, categorical entry names) the editor shows, capped to its widgets."""
    numeric = [d.name for d in dset.entries.values() if d.kind != "categorical"][:MAX_SLIDERS]
    categorical = [d.name for d in dset.entries.values() if d.kind == "categorical" and len(d.classes) > 1]
    return numeric, categorical[:MAX_CLASS_PICKERS]


def has_beside_picker(dset: DirectionSet, name: str) -> bool:
    """Whether the slider of `name` gets a class picker beside it (a binary or ordinal attribute)."""
    d = dset.entries[name]
    return d.kind in BESIDE_KINDS and len(d.classes) > 1


def slider_label(dset: DirectionSet, name: str) -> str:
    """'age  [child -1.2 · teen +0.1 · adult +1.3]': the name and the class means in slider units."""
    d = dset.entries[name]
    if d.kind == "custom":
        return f"{name} (picked in the explorer)"
    pos = " · ".join(f"{c} {p:+.1f}" for c, p in zip(d.classes, d.class_positions[0]) if np.isfinite(p))
    return f"{name}  [{pos}]"


def amounts_from(numeric: list[str], categorical: list[str], values) -> Amounts:
    """The edit the widgets ask for: `values` are the sliders', the pickers beside them, then the
    categorical pickers' values, in order (`Editor.widgets`)."""
    sliders, beside = values[:MAX_SLIDERS], values[MAX_SLIDERS:2 * MAX_SLIDERS]
    pickers = values[2 * MAX_SLIDERS:]
    # a typed number outside the slider arrives before the slider clamps it: clamp it here too
    amounts: Amounts = {name: max(-SLIDER_RANGE, min(SLIDER_RANGE, float(v))) for name, v in zip(numeric, sliders) if v}
    picked = {name: v for name, v in [*zip(numeric, beside), *zip(categorical, pickers)] if v and v != UNCHANGED}
    amounts = {name: v for name, v in amounts.items() if name not in picked}  # a class pick replaces the slider
    amounts.update(picked)
    return amounts


def describe(amounts: Amounts) -> str:
    """'blush +0.5, hair -> red' (or 'no edit'): what a picture shows, for its alt text."""
    parts = [f"{name} -> {v}" if isinstance(v, str) else f"{name} {v:+.1f}" for name, v in amounts.items()]
    return ", ".join(parts) or "no edit"


N_PICKERS = MAX_SLIDERS + MAX_CLASS_PICKERS  # beside the sliders, then the categorical ones
N_WIDGETS = MAX_SLIDERS + N_PICKERS


def reset_values() -> list:
    """Every slider back to 0, every picker to UNCHANGED."""
    return [gr.update(value=0)] * MAX_SLIDERS + [gr.update(value=UNCHANGED)] * N_PICKERS


DEFAULT_VALUES = [0.0] * MAX_SLIDERS + [UNCHANGED] * N_PICKERS  # what `show` and Reset set
History = dict  # {"names": [numeric, categorical], "current": values, "past": [values], "future": [values], "last": i}


def _same(a, b) -> bool:
    if isinstance(a, str) or isinstance(b, str):
        return a == b
    return abs(float(a or 0) - float(b or 0)) < 1e-9


def record(history: History | None, numeric: list, categorical: list, values: list) -> History:
    """The edit history after the widgets came to show `values`: the values before are one undo step.

    Changes to one widget in a row (a drag, arrow presses, typing a number) are one step, as a text
    editor merges typing; a new direction set starts a new history whose first step is the set's
    unedited state (all 0 / UNCHANGED).
    """
    values, names = list(values), [list(numeric or []), list(categorical or [])]
    if not history or history.get("names") != names:  # a new set: its first state is the unedited one
        history = {"names": names, "current": list(DEFAULT_VALUES), "past": [], "future": [], "last": None}
    current = history["current"]
    changed = [i for i, (a, b) in enumerate(zip(current, values)) if not _same(a, b)]
    if not changed:
        return history
    one = changed[0] if len(changed) == 1 else None
    past = list(history["past"])
    if not (one is not None and one == history["last"] and past):
        past.append(current)
    return {"names": names, "current": values, "past": past, "future": [], "last": one}


def step(history: History | None, numeric: list, categorical: list, back: bool) -> tuple[list, History | None]:
    """Undo (`back`) or redo one step: (updates for the widgets, the history after); nothing to undo or
    redo, or another set shown since, leaves both alone."""
    names = [list(numeric or []), list(categorical or [])]
    source = "past" if back else "future"
    if not history or history.get("names") != names or not history[source]:
        return [gr.update()] * N_WIDGETS, history
    past, future = list(history["past"]), list(history["future"])
    if back:
        values = past.pop()
        future.append(history["current"])
    else:
        values = future.pop()
        past.append(history["current"])
    return ([gr.update(value=v) for v in values],
            {"names": names, "current": values, "past": past, "future": future, "last": None})


@dataclass
class Editor:
    """The widgets of one panel; `numeric` and `categorical` hold the direction names now on them."""

    rows: list[gr.Row]  # a slider and its class picker each
    sliders: list[gr.Slider]
    beside: list[gr.Dropdown]  # the class picker beside each slider (binary and ordinal attributes)
    pickers: list[gr.Dropdown]  # categorical attributes, below the sliders
    reset: gr.Button
    numeric: gr.State
    categorical: gr.State
    undo: gr.Button
    redo: gr.Button
    history: gr.State

    @classmethod
    def build(cls, prefix: str, reset_label: str = "Reset") -> Editor:
        """Create the (hidden) widgets in the enclosing layout; element ids `{prefix}-slider-{i}`,
        `{prefix}-onto-{i}` (beside slider i), `{prefix}-class-{i}`, `{prefix}-undo`, `{prefix}-redo`,
        `{prefix}-reset`."""
        rows, sliders, beside = [], [], []
        for i in range(MAX_SLIDERS):
            with gr.Row(visible=False, equal_height=True) as row:
                # no per-slider reset button: it changes the value without an `input` event (Undo and Reset do that)
                sliders.append(gr.Slider(-SLIDER_RANGE, SLIDER_RANGE, value=0, step=0.1, buttons=[], scale=3,
                                         elem_id=f"{prefix}-slider-{i}"))
                beside.append(gr.Dropdown([UNCHANGED], value=UNCHANGED, visible=False, label="onto a class",
                                          scale=2, min_width=140, elem_id=f"{prefix}-onto-{i}"))
            rows.append(row)
        pickers = [gr.Dropdown([UNCHANGED], value=UNCHANGED, visible=False, elem_id=f"{prefix}-class-{i}")
                   for i in range(MAX_CLASS_PICKERS)]
        with gr.Row():
            undo = gr.Button("Undo", size="sm", elem_id=f"{prefix}-undo")
            redo = gr.Button("Redo", size="sm", elem_id=f"{prefix}-redo")
            reset = gr.Button(reset_label, size="sm", elem_id=f"{prefix}-reset")
        return cls(rows, sliders, beside, pickers, reset, gr.State([]), gr.State([]), undo, redo, gr.State(None))

    @property
    def widgets(self) -> list:
        return [*self.sliders, *self.beside, *self.pickers]

    @property
    def inputs(self) -> list:
        """What a handler reads as `(numeric, categorical, *values)`."""
        return [self.numeric, self.categorical, *self.widgets]

    @property
    def outputs(self) -> list:
        """What `show` and `hide` update: `inputs`, then the slider rows."""
        return [*self.inputs, *self.rows]

    def show(self, dset: DirectionSet) -> list:
        """Updates for `outputs`: one row per shown direction, at 0 / UNCHANGED, the others hidden."""
        numeric, categorical = editor_layout(dset)
        blank_sliders = MAX_SLIDERS - len(numeric)
        blank_pickers = MAX_CLASS_PICKERS - len(categorical)
        sliders = [gr.update(value=0, label=slider_label(dset, name)) for name in numeric]
        beside = [gr.update(visible=True, value=UNCHANGED, choices=[UNCHANGED, *dset.entries[name].classes],
                            label="onto a class")
                  if has_beside_picker(dset, name) else gr.update(visible=False, value=UNCHANGED, choices=[UNCHANGED])
                  for name in numeric]
        pickers = [gr.update(visible=True, value=UNCHANGED, choices=[UNCHANGED, *dset.entries[name].classes],
                             label=name) for name in categorical]
        hidden_picker = gr.update(visible=False, value=UNCHANGED, label="", choices=[UNCHANGED])
        return [numeric, categorical, *sliders, *[gr.update(value=0, label="")] * blank_sliders,
                *beside, *[hidden_picker] * blank_sliders, *pickers, *[hidden_picker] * blank_pickers,
                *[gr.update(visible=True)] * len(numeric), *[gr.update(visible=False)] * blank_sliders]

    def hide(self) -> list:
        """Updates for `outputs` when no set is chosen."""
        return [[], [], *[gr.update()] * MAX_SLIDERS, *[gr.update(visible=False)] * N_PICKERS,
                *[gr.update(visible=False)] * MAX_SLIDERS]

    def rerender(self, fn, inputs: list, outputs: list, also: list = ()) -> None:
        """Run `fn` whenever the user moves a slider (dragging, arrow keys, a typed value, letting go, its
        own reset button), picks a class, one of the `also` triggers fires, or after Reset.

        A slider's `release` misses arrow keys and typed values (Gradio 6 sends it on pointer-up and
        blur only, and on blur it would race an Undo click); its `input` fires on every user change
        (each step of a drag, each arrow press, each typed character) but never on the updates the app
        itself sends (`show`, Undo, Reset), which are followed by one explicit render instead. Each move is
        recorded in the history and then drawn; while one is being recorded, only the latest of the moves
        made meanwhile follows (trigger_mode="always_last").
        """
        moves = [w.input for w in self.widgets]
        if also:
            gr.on(list(also), fn, inputs, outputs, trigger_mode="always_last", show_progress="minimal")
        keep = [self.history, *self.inputs]

        def remember(history, numeric, categorical, *values):
            after = record(history, numeric, categorical, values)
            return gr.skip() if after is history else after  # never overwrite a newer Undo's history

        def undo(history, numeric, categorical):
            updates, after = step(history, numeric, categorical, back=True)
            return *updates, after

        def redo(history, numeric, categorical):
            updates, after = step(history, numeric, categorical, back=False)
            return *updates, after

        # a move is remembered before it is drawn: once its picture shows, Undo can take it back (on a busy
        # server a separate, unordered history event could still be on its way when Undo was clicked)
        gr.on(moves, remember, keep, self.history, trigger_mode="always_last", queue=False,
              api_visibility="private").then(fn, inputs, outputs, show_progress="minimal")
        self.reset.click(reset_values, None, self.widgets).then(remember, keep, self.history).then(fn, inputs, outputs)
        for button, move in ((self.undo, undo), (self.redo, redo)):
            button.click(move, [self.history, self.numeric, self.categorical], [*self.widgets, self.history],
                         api_visibility="private").then(fn, inputs, outputs)
