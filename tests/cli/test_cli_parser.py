"""The parser and the contract around every command: fast help, defaults, spellings, exit status, logging."""

from __future__ import annotations

import argparse
import logging
import os
import subprocess
import sys

import pytest

import latentlab
import latentlab.cli as cli
from latentlab.cli.common import HelpFormatter
from latentlab.core.errors import UserError
from latentlab.core.progress import progress_enabled

HEAVY = ("torch", "gradio", "sklearn", "pandas", "PIL", "safetensors", "sqlalchemy")


def subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = cli.build_parser()
    return next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices


def test_building_the_parser_imports_no_heavy_library():
    code = f"import sys, latentlab.cli as cli; cli.build_parser(); print(sorted(m for m in {HEAVY!r} if m in sys.modules))"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[]"


def test_every_help_is_printed_without_heavy_imports():
    code = ("import sys, contextlib, io, latentlab.cli as cli\n"
            "names = list(cli.build_parser()._subparsers._group_actions[0].choices)\n"
            "for argv in [['--help']] + [[n, '--help'] for n in names]:\n"
            "    with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
            "        cli.main(argv)\n"
            f"print(len(names), sorted(m for m in {HEAVY!r} if m in sys.modules))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split(maxsplit=1)[1].strip() == "[]" and int(r.stdout.split()[0]) >= 20


def test_version():
    r = subprocess.run([sys.executable, "-m", "latentlab", "--version"], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.strip() == f"latentlab {latentlab.__version__}"


def test_main_help_documents_the_exit_status(capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(["--help"])
    out = capsys.readouterr().out
    assert e.value.code == 0
    for code, words in [(0, "success"), (1, "internal error"), (2, "usage error"), (3, "user error"),
                        (130, "interrupted")]:
        assert any(line.split()[:1] == [str(code)] and words in line for line in out.splitlines()), (code, out)
    assert "130  interrupted" in cli.__doc__


@pytest.mark.parametrize("name", sorted(subcommands()))
def test_every_option_shows_its_default(name):
    parser = subcommands()[name]
    formatter = HelpFormatter(parser.prog)
    for action in parser._actions:
        flag = action.nargs == 0
        positional = not action.option_strings and action.nargs not in ("?", "*")
        if flag or positional or action.required or action.help == argparse.SUPPRESS:
            continue
        assert "default" in formatter._get_help_string(action), (name, action.option_strings)
    assert parser.formatter_class is HelpFormatter


def test_defaults_are_shown_with_their_value(capsys):
    with pytest.raises(SystemExit):
        cli.main(["sample", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "number of faces (default: 64)" in out and "(default: samples.png)" in out
    assert "--truncation-psi PSI, --truncation PSI" in out


def test_one_spelling_per_option_across_commands():
    spelling: dict[str, set[str]] = {}
    for parser in subcommands().values():
        for action in parser._actions:
            if action.option_strings:
                spelling.setdefault(action.dest, set()).add(action.option_strings[-1 if action.dest == "help" else 0])
    assert {dest: names for dest, names in spelling.items() if len(names) > 1} == {}
    assert spelling["truncation_psi"] == {"--truncation-psi"} and spelling["batch"] == {"--batch-size"}


@pytest.mark.parametrize("argv, dest, value", [
    (["sample", "--truncation", "0.5"], "truncation_psi", 0.5),
    (["generator-report", "--truncation", "0.6"], "truncation_psi", 0.6),
    (["animate", "--truncation", "0.7", "--walk"], "truncation_psi", 0.7),
    (["explore", "--truncation", "0.8"], "truncation_psi", 0.8),
    (["sample-run", "--truncation-psi", "0.9"], "truncation_psi", 0.9),
    (["train-generator", "--batch", "8"], "batch", 8),
    (["train-metric", "--batch", "16"], "batch", 16),
    (["train-encoder", "--batch-size", "4"], "batch", 4),
])
def test_old_and_new_spellings_set_the_same_option(argv, dest, value):
    assert getattr(cli.build_parser().parse_args(argv), dest) == value


def test_verbosity_before_or_after_the_command():
    parse = cli.build_parser().parse_args
    assert (parse(["list-runs"]).quiet, parse(["list-runs"]).verbose) == (0, 0)
    assert parse(["-q", "invert", "x.png"]).quiet == 1
    assert parse(["invert", "x.png", "--quiet"]).quiet == 1  # invert's own --quiet of before
    assert parse(["-v", "fit", "--run", "1"]).verbose == 1


def test_inversion_choices_match_the_library():
    from latentlab.cli import inversion
    from latentlab.inversion.losses import LOSSES
    from latentlab.inversion.projector import SPACES

    assert (inversion.LOSSES, inversion.SPACES) == (LOSSES, SPACES)


# -- exit status and messages of a running command ------------------------------------------------
def command(func, *options: str) -> argparse.Namespace:
    """`latentlab [options] list-runs` parsed, running `func` instead: a command of a test's own."""
    args = cli.build_parser().parse_args([*options, "list-runs"])
    args.func = func
    return args


def raising(exc: BaseException):
    def func(args):
        raise exc
    return func


def test_exit_status_of_each_outcome(capsys):
    assert cli.run(command(lambda args: None)) == 0
    assert cli.run(command(raising(UserError("the file x.png does not exist")))) == 3
    assert capsys.readouterr().err == "latentlab: error: the file x.png does not exist\n"
    assert cli.run(command(raising(KeyboardInterrupt()))) == 130
    assert capsys.readouterr().err == "latentlab: interrupted\n"
    assert cli.run(command(raising(ZeroDivisionError("division by zero\nsecond line")))) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("latentlab: internal error: ZeroDivisionError: division by zero second line")
    assert "--debug" in err


def test_debug_shows_tracebacks(capsys):
    assert cli.run(command(raising(ZeroDivisionError("boom")), "--debug")) == 1
    err = capsys.readouterr().err
    assert "Traceback" in err and "ZeroDivisionError: boom" in err
    assert cli.run(command(raising(UserError("bad input")), "--debug")) == 3
    err = capsys.readouterr().err
    assert "Traceback" in err and err.endswith("latentlab: error: bad input\n")


def log_everything(args):
    log = logging.getLogger("latentlab.cli.test")
    log.debug("a debug message")
    log.info("an info message")
    log.warning("a warning")
    log.error("an error")
    return 0 if progress_enabled() else 5


@pytest.mark.parametrize("options, shown, status", [
    ((), ["an info message", "latentlab: warning: a warning", "latentlab: error: an error"], 0),
    (("-v",), ["latentlab.cli.test: a debug message", "an info message", "latentlab: warning: a warning",
               "latentlab: error: an error"], 0),
    (("-q",), ["latentlab: warning: a warning", "latentlab: error: an error"], 5),
    (("-qq",), ["latentlab: error: an error"], 5),
])
def test_verbosity_sets_the_log_level_and_progress_bars(capsys, options, shown, status):
    level = logging.getLogger("latentlab").level
    assert cli.run(command(log_everything, *options)) == status
    out = capsys.readouterr()
    assert out.err.splitlines() == shown and out.out == ""
    assert logging.getLogger("latentlab").level == level  # main() inside another program leaves no trace


def test_the_cli_asks_openmp_for_passive_waiting():
    code = ("import os; from latentlab.cli.common import prepare_process; prepare_process(); "
            "print(os.environ['OMP_WAIT_POLICY'])")
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert r.stdout.strip() == "PASSIVE", r.stderr
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       env={**env, "OMP_WAIT_POLICY": "ACTIVE"})
    assert r.stdout.strip() == "ACTIVE", r.stderr  # the user's setting wins
