"""latentlab's one console script: a subcommand per stage of the flow.

sample -> sample-run -> serve (label) -> fit -> invert -> edit / animate / explore.
Each stage's module (`latentlab.cli.generator`, `.labeler`, `.directions`, `.inversion`, `.loaders`)
adds its subcommands with `add_commands(subparsers)`; this file assembles them and runs one.
Building the parser imports no torch, gradio or other heavy library: `latentlab --help` is
instant, and each command imports what it needs when it runs.

Exit status:
  0    success
  1    unexpected internal error (a bug: rerun with --debug and report the traceback)
  2    usage error: unknown option, missing or malformed argument (argparse)
  3    user error: bad input, a missing file, ... (one line on stderr, latentlab: error: ...)
  130  interrupted (Ctrl-C)

Messages go through the `latentlab` logger to stderr (-v: more, -q: only warnings and errors, no
progress bars); what a command was asked for (a path written, a table) goes to stdout.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import traceback

from latentlab import __version__
from latentlab.cli.common import (EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_OK, EXIT_USER, Parser,
                                  add_verbosity_options, configure_logging, prepare_process,
                                  set_debug, verbosity_level)
from latentlab.core.errors import GeneratorMismatch, UserError

COMMAND_MODULES = (
    "latentlab.cli.generator",
    "latentlab.cli.labeler",
    "latentlab.cli.directions",
    "latentlab.cli.inversion",
    "latentlab.cli.loaders",
)

EPILOG = "exit status:\n" + __doc__.split("Exit status:\n", 1)[1].split("\n\n", 1)[0] + \
    "\n\nEvery command has --help; `latentlab COMMAND --help` lists its options and their defaults."


def build_parser() -> argparse.ArgumentParser:
    p = Parser(prog="latentlab", description=__doc__.splitlines()[0], epilog=EPILOG)
    p.add_argument("--version", action="version", version=f"latentlab {__version__}")
    p.add_argument("--debug", action="store_true", help="show the traceback of an error")
    add_verbosity_options(p)
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=Parser)
    for name in COMMAND_MODULES:
        importlib.import_module(name).add_commands(sub)
    for command in sub.choices.values():
        add_verbosity_options(command, on_subcommand=True)
    return p


def main(argv: list[str] | None = None) -> int:
    """Run `latentlab ARGV`; returns the exit status (usage errors and --help raise SystemExit, as argparse does)."""
    return run(build_parser().parse_args(argv))


def run(args: argparse.Namespace) -> int:
    """Run a parsed command (`args.func`) with logging set up; map what it raises to an exit status."""
    prepare_process()
    set_debug(getattr(args, "debug", False))
    restore_logging = configure_logging(verbosity_level(args.verbose, args.quiet))
    try:
        result = args.func(args)
    except UserError as e:
        if args.debug:
            traceback.print_exc()
        hint = " (choose that generator with --generator PATH)" if isinstance(e, GeneratorMismatch) else ""
        print(f"latentlab: error: {e}{hint}", file=sys.stderr)
        return EXIT_USER
    except KeyboardInterrupt:
        print("latentlab: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as e:  # a bug: say so in one line, the traceback only when asked for
        if args.debug:
            traceback.print_exc()
        message = " ".join(str(e).splitlines())
        print(f"latentlab: internal error: {type(e).__name__}: {message}"
              + ("" if args.debug else " (rerun with --debug for the traceback, and please report it)"),
              file=sys.stderr)
        return EXIT_INTERNAL
    finally:
        restore_logging()
    return int(result or EXIT_OK)
