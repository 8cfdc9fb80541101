"""latentlab's one console script: a subcommand per stage of the flow.

sample -> sample-run -> serve (label) -> fit -> invert -> edit / animate / explore.
Each package contributes its subcommands through a `commands` module with
`add_commands(subparsers)`; this file only assembles them. Errors meant for users are printed
as one line; `--debug` shows the traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from latentlab.core.errors import UserError

COMMAND_MODULES = (
    "latentlab.cli.generator",
    "latentlab.cli.labeler",
    "latentlab.cli.directions",
    "latentlab.cli.inversion",
    "latentlab.cli.loaders",
)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="latentlab", description=__doc__.splitlines()[0])
    p.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as e:
            if e.name is not None and name.startswith(e.name):  # that stage is not in this build
                continue
            raise
        module.add_commands(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        result = args.func(args)
    except UserError as e:
        if args.debug:
            raise
        print(f"latentlab: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("latentlab: interrupted", file=sys.stderr)
        return 130
    return int(result or 0)


