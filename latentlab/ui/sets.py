"""The workspace's direction sets as the app's tabs see them: listed, loaded, chosen, saved.

One `DirectionShelf` per app (made by `latentlab.ui.app.build_app` inside its gr.Blocks): it lists
the sets fitted for the app's generator, reads each file once per version, and keeps every "Direction
set" list of the Fit/Edit/Explore/Animate tabs in step: when a tab saves a set, every list offers it,
but a list that has a set chosen keeps it (saving in Explore never switches the Edit tab to
explored.npz and resets its sliders); only a list with nothing chosen yet takes the saved set.
"""

from __future__ import annotations

import functools
import inspect
import re
import threading
from pathlib import Path

import gradio as gr

from latentlab.core.errors import UserError

from directions.io import DirectionSet, list_direction_sets, load_direction_set
from directions.reader import AttributeReader, load_reader, reader_path
from labeler.text import quoted

CHOOSE_A_SET = "choose a direction set first (fit one in the Fit tab, or save one in Explore)"
NO_SETS = "No direction set for this generator yet: fit one in the Fit directions tab, or save a pick in Explore."


def safe_name(name: str | None, what: str) -> str:
    """A name usable as a file stem or a direction name (`what` says which, for the error)."""
    name = (name or "").strip()
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}", name):
        raise UserError(f"{what} {quoted(name)} is not usable; use 1-64 letters, digits, '_', '-' or '.'")
    return name


def sweep_choices(dset: DirectionSet) -> list[str]:
    """What an animation can sweep: numeric directions, and 'attr:class' moves onto a class."""
    out = []
    for d in dset.entries.values():
        if d.kind != "categorical":
            out.append(d.name)
        out += [f"{d.name}:{c}" for c in d.classes]
    return out


class DirectionShelf:
    """The direction sets in `folder` that belong to generator `generator_id`."""

    def __init__(self, folder: Path, generator_id: str):
        self.folder = Path(folder)
        self.generator_id = generator_id
        self.dropdowns: list[gr.Dropdown] = []  # the set lists kept in step
        self._saves: list[tuple] = []  # (trigger, handler, inputs, outputs, event kwargs) of each save
        self._files: dict[str, tuple[tuple, object]] = {}  # path -> (file version, what was read from it)
        self._lock = threading.Lock()

    # -- files ------------------------------------------------------------------------------------
    def _cached(self, path: Path, load):
        """`load(path)`, read once per version of the file (OSError when it is gone)."""
        st = path.stat()
        version = (st.st_ino, st.st_mtime_ns, st.st_size)  # a save replaces the file: a new inode
        with self._lock:
            cached = self._files.get(str(path))
        if cached is not None and cached[0] == version:
            return cached[1]
        value = load(path)
        with self._lock:
            self._files[str(path)] = (version, value)
        return value

    def _read(self, path: Path) -> DirectionSet:
        return self._cached(path, load_direction_set)

    def choices(self) -> list[tuple[str, str]]:
        """(file name, path) of this generator's sets, newest first; unreadable files are left out."""
        out = []
        for path in list_direction_sets(self.folder):
            try:
                if self._read(path).generator_id == self.generator_id:
                    out.append((path.name, str(path)))
            except (UserError, OSError):
                continue
        return out

    def load(self, path: str | None, none_chosen: str = CHOOSE_A_SET) -> DirectionSet:
        """The set at `path`, checked against the app's generator; `none_chosen` is the error without one."""
        if not path:
            raise UserError(none_chosen)
        p = Path(path)
        if not p.is_file():
            raise UserError(f"direction set {p.name} no longer exists; refresh the list")
        dset = self._read(p)
        dset.check_generator(self.generator_id, where=f"direction set {p.name}")
        return dset

    def reader(self, path: str | None) -> AttributeReader | None:
        """The attribute reader trained with the set at `path` (`fit --reader`: `<set>.reader.npz`), or
        None when it has none. A reader file that cannot be used (damaged, another generator's) is
        reported once as a warning and left out: the sliders then work as without one."""
        if not path:
            return None

        def load(file: Path) -> AttributeReader | None:
            try:
                return load_reader(file, generator_id=self.generator_id)
            except UserError as e:
                gr.Warning(f"{e} (edits onto a class go to the class mean instead)")
                return None

        try:
            return self._cached(reader_path(path), load)
        except OSError:  # no reader next to this set
            return None

    def listing(self, current: str | None = None, choices: list[tuple[str, str]] | None = None) -> dict:
        """A dropdown update listing `choices` (default: the sets now on disk), keeping `current` when listed."""
        choices = self.choices() if choices is None else choices
        paths = [p for _, p in choices]
        return gr.update(choices=choices, value=current if current in paths else (paths[0] if paths else None),
                         info=None if paths else NO_SETS)  # an empty list says how to get a set

    # -- the lists in the tabs -------------------------------------------------------------------
    def dropdown(self, elem_id: str) -> gr.Dropdown:
        """A "Direction set" list that follows every save and fills itself when a browser opens the app."""
        dropdown = gr.Dropdown(label="Direction set", elem_id=elem_id)
        self.dropdowns.append(dropdown)
        return dropdown

    def on_save(self, trigger, fn, inputs: list, outputs: list, cancel=None, cancelled: tuple = (),
                **event_kwargs) -> None:
        """Listen to `trigger` (e.g. `button.click`) with `fn`, which returns the values of `outputs` and,
        last, the path of the set it saved; every set list then offers that set, in the same response,
        and keeps the set it shows (a list showing none shows the saved one). The listener is made by
        `connect`, once every list exists.

        A generator `fn` yields such tuples with path None until it has saved. `cancel` (e.g.
        `button.click`) stops it; `cancelled` is then (output, value) to show, e.g. a status line."""
        self._saves.append((trigger, fn, inputs, outputs, event_kwargs, cancel, cancelled))

    def connect(self, demo: gr.Blocks) -> None:
        """Wire the saves and page loads to every set list; call once, after the tabs with set lists are built."""
        lists = list(self.dropdowns)

        def refresh_sets(current=None):
            updates = [self.listing(current) for _ in lists]
            return updates if len(updates) > 1 else updates[0]  # Gradio takes one output's value bare

        for trigger, fn, inputs, outputs, event_kwargs, cancel, cancelled in self._saves:
            # the lists' current values come in after the handler's own inputs, so each list keeps its choice
            event = trigger(self._listing_after(fn, len(lists)), [*inputs, *lists], [*outputs, *lists],
                            **event_kwargs)
            if cancel is not None:
                output, value = cancelled or (None, None)
                cancel((lambda shown=value: shown) if output is not None else None, None, output, cancels=[event],
                       queue=False, api_visibility="private")
        demo.load(refresh_sets, None, lists)

    def _listing_after(self, fn, n_lists: int):
        def listed(values: tuple, shown: tuple) -> tuple:
            *values, path = values
            if path is None:  # a generator's progress: the lists stay as they are
                return (*values, *[gr.update()] * n_lists)
            choices = self.choices()
            return (*values, *[self.listing(current or path, choices) for current in shown])

        if inspect.isgeneratorfunction(fn):
            @functools.wraps(fn)  # keeps the handler's name, which Gradio uses as its API name
            def save_then_list_streaming(*args):
                args, shown = args[: len(args) - n_lists], args[len(args) - n_lists:]
                for values in fn(*args):
                    yield listed(values, shown)

            return save_then_list_streaming

        @functools.wraps(fn)
        def save_then_list(*args):
            args, shown = args[: len(args) - n_lists], args[len(args) - n_lists:]
            return listed(fn(*args), shown)

        return save_then_list
