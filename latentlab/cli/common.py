"""What every subcommand shares: the help format, option groups, logging, threads, loading the generator.

Nothing here imports torch, numpy or any other heavy library at module level: building the parser
(`latentlab --help`) must stay instant, so each command imports what it needs when it runs.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING


if TYPE_CHECKING:
    from latentlab.generator.interface import LatentGenerator

log = logging.getLogger("latentlab")

# The process exit status of `latentlab`, documented in `latentlab --help` and the package docstring.
EXIT_OK = 0
EXIT_INTERNAL = 1  # a bug: an unexpected exception (traceback with --debug)
EXIT_USAGE = 2  # argparse: unknown option, missing argument, bad choice
EXIT_USER = 3  # UserError: bad input, a missing file, ... (one line on stderr)
EXIT_INTERRUPTED = 130  # Ctrl-C (128 + SIGINT, the shell's convention)

LOGGERS = ("latentlab", "labeler", "directions")  # the installed packages; -v / -q set them all


# -- help ---------------------------------------------------------------------------------------
class HelpFormatter(argparse.HelpFormatter):
    """argparse's formatter, plus: every option's default in its help, and indented blocks kept as written.

    A help text that already says its default ("(default: ...)", "default: ...") is left alone, so
    defaults that argparse does not know (None = "the shipped model") are described in words; other
    None defaults show as "none". Flags (store_true, counts) have no value to show.
    """

    _SAYS_DEFAULT = re.compile(r"\(default\b|\bdefault:|\bdefault =")

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if (action.required or action.nargs == 0 or action.default is argparse.SUPPRESS
                or self._SAYS_DEFAULT.search(text)
                or (not action.option_strings and action.nargs not in ("?", "*"))):
            return text  # flags, required and positional arguments, and helps that say their default
        shown = "none" if action.default is None else "%(default)s"
        return f"{text} (default: {shown})" if text else f"default: {shown}"

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        """Fill paragraphs; keep paragraphs with indented lines (tables, examples) line by line."""
        paragraphs = []
        for para in text.strip("\n").split("\n\n"):
            if any(line.startswith(" ") for line in para.splitlines()):
                paragraphs.append("\n".join(indent + line for line in para.splitlines()))
            else:
                paragraphs.append(super()._fill_text(para, width, indent))
        return "\n\n".join(paragraphs)


class Parser(argparse.ArgumentParser):
    """The main parser and every subcommand's parser: latentlab's help format by default."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)


def add_verbosity_options(p: argparse.ArgumentParser, *, on_subcommand: bool = False) -> None:
    """-v / -q: before the command (`latentlab -q invert ...`) or after it (`latentlab invert ... -q`)."""
    default = argparse.SUPPRESS if on_subcommand else 0  # a subcommand's parser must not reset the main one's
    p.add_argument("-v", "--verbose", action="count", default=default, help="more messages (debug messages)")
    p.add_argument("-q", "--quiet", action="count", default=default,
                   help="no progress bars or messages: only results, warnings and errors (-qq: no warnings)")


# -- logging ------------------------------------------------------------------------------------
class _LineFormatter(logging.Formatter):
    """One line per message: plain for information, `latentlab: warning: ...` for problems."""

    def format(self, record: logging.LogRecord) -> str:
        message = " ".join(record.getMessage().splitlines())
        if record.levelno >= logging.WARNING:
            return f"latentlab: {record.levelname.lower()}: {message}"
        if record.levelno < logging.INFO:
            return f"{record.name}: {message}"
        return message


def verbosity_level(verbose: int, quiet: int) -> int:
    """INFO by default; each -v one step more talkative (DEBUG), each -q one step quieter (WARNING, ERROR)."""
    steps = [logging.DEBUG, logging.INFO, logging.WARNING, logging.ERROR]
    return steps[max(0, min(len(steps) - 1, 1 - verbose + quiet))]


def configure_logging(level: int) -> Callable[[], None]:
    """Send the packages' log messages to stderr at `level`; returns a function that undoes it.

    `latentlab.core.progress` hides its bars when the `latentlab` logger is quieter than INFO.
    Undoing matters when `main()` runs inside another program (the tests, `app.py` callers).
    """
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_LineFormatter())
    saved = []
    for name in LOGGERS:
        logger = logging.getLogger(name)
        saved.append((logger, logger.level, logger.propagate))
        logger.setLevel(level)
        logger.propagate = False
        logger.addHandler(handler)

    def restore() -> None:
        for logger, old_level, old_propagate in saved:
            logger.removeHandler(handler)
            logger.setLevel(old_level)
            logger.propagate = old_propagate

    return restore


# -- threads and devices ------------------------------------------------------------------------
def prepare_process() -> None:
    """Settings that must be in place before torch is imported.

    OpenMP threads that finished their share of an operation spin, waiting for the next one; on a
    machine whose cores are busy with something else (a training run, another user), the spinning
    threads steal the cores the working ones need. Measured on a 2-core machine next to a training run:
    `invert --steps 20` took 10.8 s with torch's 2 spinning threads, 1.1 s with 1 thread and 0.8 s with 2
    passive ones. So the CLI asks for passive waiting unless the user set OMP_WAIT_POLICY.
    """
    if "torch" not in sys.modules:
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def set_debug(debug: bool) -> None:
    """--debug: tracebacks for every error, in the CLI and in the app's server log (the app reads
    LATENTLAB_DEBUG; without it a refused request is one log line)."""
    if debug:
        os.environ["LATENTLAB_DEBUG"] = "1"


def physical_cores() -> int:
    """CPU cores this process may use, counting each physical core once (hyper-threads share one).

    torch's default is one thread per logical CPU; on a machine with hyper-threading, or with its
    cores shared, that is more threads than cores and every operation waits for the slowest. The app
    and every command use this many.
    """
    allowed = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else range(os.cpu_count() or 1)
    cores = set()
    for cpu in allowed:
        try:
            base = f"/sys/devices/system/cpu/cpu{cpu}/topology"
            with open(f"{base}/physical_package_id") as package, open(f"{base}/core_id") as core:
                cores.add((package.read().strip(), core.read().strip()))
        except OSError:
            cores.add(("cpu", str(cpu)))  # no topology (not Linux): count logical CPUs
    return max(1, len(cores))


def set_threads(threads: int | None) -> None:
    """torch's CPU threads for this process: `threads` > 0, else one per physical core."""
    import torch

    torch.set_num_threads(threads if threads and threads > 0 else physical_cores())


def add_threads_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--threads", type=int, default=0,
                   help="torch CPU threads (default: 0 = one per physical core, as the app)")


def add_generator_options(p: argparse.ArgumentParser, *, device_default: str | None = None) -> None:
    """--generator, --class, --device and --threads: every command that draws faces."""
    p.add_argument("--generator", default=None, metavar="PATH",
                   help="generator checkpoint: latentlab .safetensors, rosinality .pt, NVlabs .pkl or "
                        "TorchScript (default: the shipped 64 px anime model)")
    p.add_argument("--class", dest="class_label", type=int, default=None, metavar="C",
                   help="conditional generators: the class (0 .. c_dim - 1) of the faces drawn "
                        "(default: class 0; unconditional generators have none)")
    add_device_option(p, device_default)
    add_threads_option(p)


def add_device_option(p: argparse.ArgumentParser, default: str | None = None) -> None:
    p.add_argument("--device", default=default, help="cpu, cuda or cuda:N" + (
        " (default: cuda if available, else cpu)" if default is None else ""))


def load_generator(path: str | None, device: str | None = None) -> LatentGenerator:
    """The generator file at `path` (None = the shipped default) on `device` (None = CUDA if available)."""
    from latentlab.generator.loading import load_generator as load

    return load(path, device)


def generator_from_args(args: argparse.Namespace) -> LatentGenerator:
    """Apply --threads, then load --generator onto --device and choose its --class: the one way a command
    gets its generator."""
    set_threads(getattr(args, "threads", 0))
    gen = load_generator(args.generator, args.device)
    class_label = getattr(args, "class_label", None)
    if class_label is not None:
        set_class(gen, class_label)
    return gen


def set_class(gen: LatentGenerator, class_label: int) -> None:
    """Make `class_label` the class a conditional generator draws when mapping gets none (--class)."""
    from latentlab.generator.interface import check_class

    gen.class_label = check_class(gen, class_label, "--class")


# -- workspace and label store ------------------------------------------------------------------
def add_workspace_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--workspace", default=None,
                   help="folder of your data: runs' images, directions, exports, inversions "
                        "(default: $LATENTLAB_WORKSPACE, else ./workspace)")


def add_store_options(p: argparse.ArgumentParser) -> None:
    """--db and --workspace: commands that read or write the label store."""
    p.add_argument("--db", default=None,
                   help="label store URL: sqlite:///file.sqlite or postgresql://user:pw@host/db "
                        "(default: $LATENTLAB_DB, else <workspace>/latentlab.sqlite)")
    add_workspace_option(p)


def workspace(args: argparse.Namespace):
    """The workspace folder of --workspace (created when missing)."""
    from latentlab.core.workspace import workspace_dir

    return workspace_dir(getattr(args, "workspace", None))


def db_url(args: argparse.Namespace) -> str:
    """--db, else $LATENTLAB_DB, else the SQLite file in the workspace."""
    from latentlab.core.workspace import default_db_url

    return args.db or default_db_url(getattr(args, "workspace", None))


# -- sampling -----------------------------------------------------------------------------------
def add_truncation_option(p: argparse.ArgumentParser, default: float = 1.0, help: str | None = None) -> None:
    """--truncation-psi (also spelled --truncation, its old name in some commands)."""
    p.add_argument("--truncation-psi", "--truncation", dest="truncation_psi", type=float, default=default,
                   metavar="PSI", help=help or "pull w towards the average face: 1 = none, smaller = closer to "
                                                "the average face, fewer broken faces")
