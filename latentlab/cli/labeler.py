"""CLI subcommands of the labeling side: sample-run, list-runs, serve, export-labels."""

from __future__ import annotations

import argparse
import os
import threading
from pathlib import Path

from latentlab.cli.common import (add_generator_options, add_store_options, add_truncation_option, db_url,
                                  generator_from_args, log, workspace)
from latentlab.core.errors import UserError

ADMIN_ENV = "LATENTLAB_ADMIN_PASSWORD"
DEFAULT_N = 1000
DEFAULT_PSI = 0.8


def admin_password(args: argparse.Namespace, environ=os.environ) -> tuple[str | None, bool]:
    """The server's admin password and whether it was made up for this run.

    Why: fitting, projecting and exporting in the app need the admin password, so a server started with
    none of its own would offer a first user no way to edit. Like a notebook server's token, a random one
    is made and printed to the console of whoever started it; --no-admin keeps admin actions off."""
    if args.no_admin:
        return None, False
    chosen = args.admin_password or environ.get(ADMIN_ENV)
    if chosen:
        return chosen, False
    import secrets

    return secrets.token_urlsafe(12), True


def _schema(path: str | None):
    from labeler.schema import default_schema, load_schema

    return load_schema(path) if path else default_schema()


def _cmd_sample_run(args: argparse.Namespace) -> None:
    from labeler.runs import create_run

    schema = _schema(args.schema)  # a bad schema fails before the generator loads
    generator = generator_from_args(args)
    run_id = create_run(db_url(args), generator, n=args.n, seed=args.seed, truncation_psi=args.truncation_psi,
                        schema=schema, k=args.k, name=args.name, generator_path=args.generator,
                        workspace=args.workspace, progress=True)
    print(f"created run {run_id}: {args.n} faces, seed {args.seed}, psi {args.truncation_psi:g}, k {args.k}, "
          f"schema {schema.name}, generator {generator.generator_id}")


def _cmd_list_runs(args: argparse.Namespace) -> None:
    from labeler.store import open_store

    store = open_store(db_url(args))
    runs = store.list_runs()
    if not runs:
        print(f"no runs in {store.display_url}; create one with `latentlab sample-run`")
    for r in runs:
        p = store.progress(r.id)
        klass = "" if r.class_label is None else f" | class {r.class_label}"
        print(f"run {r.id}: {r.name} | {r.n} faces, k={r.k}, {p.labels} labels, {p.items_complete} faces done | "
              f"schema {r.schema.name} | generator {r.generator_id}{klass}")


def _read_users(path: str | None) -> list[tuple[str, str]]:
    from labeler.store import check_annotator_name

    if not path:
        raise UserError("--annotator-auth gradio needs --users FILE with one `name:password` per line")
    file = Path(path)
    if not file.is_file():
        raise UserError(f"users file {file} does not exist; write one `name:password` per line")
    users = []
    for n, line in enumerate(file.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, sep, password = line.partition(":")
        if not sep or not password:
            raise UserError(f"{file} line {n} is not `name:password`")
        users.append((check_annotator_name(name), password))
    if not users:
        raise UserError(f"{file} lists no users; write one `name:password` per line")
    return users


def _cmd_serve(args: argparse.Namespace) -> None:
    from labeler.runs import draw_in_background, ensure_run_images, start_run
    from labeler.service import LabelerOptions
    from labeler.store import open_store
    from latentlab.ui.app import launch_app
    from latentlab.generator.interface import drawn_class
    from latentlab.ui.context import AppContext

    password, made_up = admin_password(args)
    options = LabelerOptions(run_id=args.run, annotator_auth=args.annotator_auth, admin_password=password,
                             **({} if args.gold_rate is None else {"gold_rate": args.gold_rate}))
    auth = _read_users(args.users) if args.annotator_auth == "gradio" else None
    folder = workspace(args)
    url = db_url(args)
    store = open_store(url)
    generator = generator_from_args(args)

    if args.run is not None:
        run = store.get_run(args.run)
    else:
        schema = _schema(args.schema)
        klass = drawn_class(generator)  # a conditional generator labels one class per run
        same = [r for r in store.list_runs() if r.schema.to_json() == schema.to_json() and r.class_label == klass]
        if same:
            run = same[-1]
        else:
            log.info(f"no run with schema {schema.name!r}{'' if klass is None else f' and class {klass}'} in "
                     f"{store.display_url} yet: creating one "
                     f"({args.n} faces, seed {args.seed}); its faces are drawn in the background while the "
                     f"app already serves the first ones")
            run_id = start_run(url, generator, n=args.n, seed=args.seed, truncation_psi=args.truncation_psi,
                               schema=schema, k=args.k or 3, generator_path=args.generator, workspace=folder)
            run = store.get_run(run_id)
    if args.k is not None and args.k != run.k:
        store.set_k(run.id, args.k)
        log.info(f"run {run.id} now asks for k = {args.k} labels per face")
    if ensure_run_images(url, run.id, generator, folder):
        log.info(f"re-rendered missing images of run {run.id}")
    options.run_id = run.id
    ctx = AppContext(generator=generator, generator_path=Path(args.generator) if args.generator else None,
                     device=generator.device, workspace=folder, db_url=url, schema=run.schema)
    to_draw = run.n - store.rendered(run.id)
    if to_draw and generator.generator_id != run.generator_id:
        raise UserError(f"run {run.id} has {to_draw} faces still to draw and needs its generator "
                        f"{run.generator_id}; start with --generator pointing to it")
    log.info(f"label store: {store.display_url} · run {run.id} ({run.n} faces, k={store.get_run(run.id).k}) · "
             f"admin {'on' if options.admin_password else 'off (--no-admin)'}")
    if made_up:
        log.info(f"admin password for this run: {password}  (fitting, projecting, exporting and the Admin tab "
                 f"ask for it; choose your own with --admin-password or ${ADMIN_ENV})")
    if to_draw:
        log.info(f"drawing {to_draw} faces of run {run.id} in the background; the Label tab shows how far it is")

    stop, threads, learners = threading.Event(), [], []

    def after_start() -> None:  # once the server listens
        if to_draw:
            threads.append(draw_in_background(url, run.id, generator, stop))
        if args.active_every:
            from labeler.active import ActiveLearner

            learners.append(ActiveLearner(url, run.id, every=args.active_every).start())

    try:
        launch_app(ctx, options, host=args.host, port=args.port, auth=auth, block=True, after_start=after_start)
    finally:  # stopped (Ctrl-C): let the drawing finish its chunk, so nothing is killed inside torch
        stop.set()
        for learner in learners:
            learner.stop()
        for thread in threads:
            thread.join(timeout=60)


def _cmd_gold(args: argparse.Namespace) -> None:
    import pandas as pd

    from labeler.service import LabelService, parse_faces
    from labeler.store import open_store

    url = db_url(args)
    store = open_store(url)
    run = store.get_run(args.run)
    service = LabelService(url)
    if args.csv:
        file = Path(args.csv)
        if not file.is_file():
            raise UserError(f"{file} does not exist; write a CSV with a `face` column and one per attribute")
        table = pd.read_csv(file, dtype=str, keep_default_na=False)
        missing = [c for c in ("face", *run.schema.names) if c not in table.columns]
        if missing:
            raise UserError(f"{file} lacks the column{'s' if len(missing) > 1 else ''} {', '.join(missing)}")
        items = store.item_table(run.id)
        item_of = dict(zip(items["idx"], items["item_id"]))
        answers = {}
        for line, row in enumerate(table.itertuples(index=False), start=2):
            try:
                idx = parse_faces(str(row.face), run.n)
            except UserError as e:
                raise UserError(f"{file} line {line}: {e}") from None
            answers[item_of[idx[0]]] = {a: getattr(row, a) for a in run.schema.names}
        try:
            store.set_gold(run.id, answers)
        except UserError as e:
            raise UserError(f"{file}: {e}") from None
        print(f"run {run.id}: {len(answers)} gold faces from {file}")
    elif args.faces:
        print(f"run {run.id}: {service.mark_gold(run.id, args.faces, unmark=args.unmark)}")
    gold = service.gold_table(run.id)
    print(f"run {run.id} has {len(gold)} gold face{'' if len(gold) == 1 else 's'}"
          + (f": {', '.join(map(str, gold['face'][:20]))}{' …' if len(gold) > 20 else ''}" if len(gold) else ""))


def _cmd_export_labels(args: argparse.Namespace) -> None:
    from labeler.export import export_labels
    from labeler.store import open_store

    url = db_url(args)
    store = open_store(url)
    run_id = args.run
    if run_id is None:
        runs = store.list_runs()
        if not runs:
            raise UserError(f"no runs in {store.display_url}; create one with `latentlab sample-run`")
        run_id = runs[-1].id
    out = Path(args.out) if args.out else workspace(args) / "exports"
    for path in export_labels(url, run_id, out, what=args.what, fmt=args.format):
        print(f"wrote {path}")


def _add_sampling_args(p: argparse.ArgumentParser, n_help: str) -> None:
    p.add_argument("--n", type=int, default=DEFAULT_N, help=n_help)
    p.add_argument("--seed", type=int, default=0, help="seed of the latents z (same seed, same faces)")
    add_truncation_option(p, DEFAULT_PSI, "pull w towards the average face: 1 = none; 0.8 keeps variety and "
                                          "avoids broken faces")
    p.add_argument("--schema", default=None, help="attribute schema .yaml/.json (default: the anime schema)")


def add_commands(sub: argparse._SubParsersAction) -> None:
    s = sub.add_parser("sample-run", help="sample latents, render their faces and store a labeling run",
                       description="Create a labeling run: n latents from a seed, their w, cached PNG faces and "
                                   "the attribute schema, stored in the label store.")
    _add_sampling_args(s, "number of faces to label")
    s.add_argument("--k", type=int, default=3, help="labels wanted per face, from different annotators")
    s.add_argument("--name", default=None,
                   help="a name shown to annotators (default: '<schema> n=<n> seed=<seed> psi=<psi>')")
    add_generator_options(s)
    add_store_options(s)
    s.set_defaults(func=_cmd_sample_run)

    ls = sub.add_parser("list-runs", help="list labeling runs and their progress",
                        description="List the runs in the label store with their label counts.")
    add_store_options(ls)
    ls.set_defaults(func=_cmd_list_runs)

    v = sub.add_parser("serve", help="start the labeling app (creates a default run if there is none)",
                       description="Start latentlab's web app on the label store. With no run matching the "
                                   "schema, a default run is sampled first.")
    v.add_argument("--host", default="127.0.0.1", help="address to listen on (0.0.0.0 for a LAN)")
    v.add_argument("--port", type=int, default=None, help="port (default: 7860, or the next free one)")
    v.add_argument("--run", type=int, default=None, help="run to label (default: the newest with the schema)")
    v.add_argument("--k", type=int, default=None,
                   help="labels wanted per face; changes the run's k (default: the run's k, 3 for a new run)")
    v.add_argument("--annotator-auth", choices=("name", "gradio"), default="name",
                   help="name: annotators type their name; gradio: a login page with --users")
    v.add_argument("--users", default=None, help="file of `name:password` lines for --annotator-auth gradio")
    v.add_argument("--admin-password", default=None,
                   help=f"unlocks the Admin tab and every writing action (default: ${ADMIN_ENV}; unset: a random "
                        "one, printed at start)")
    v.add_argument("--no-admin", action="store_true",
                   help="no admin password at all: the Admin tab, fitting, projecting and exporting stay off")
    v.add_argument("--active-every", type=int, default=100,
                   help="active learning: every this many new labels, refit a model on the labels and serve next "
                        "the unlabeled faces it is least sure about (0 = serve in the run's order)")
    v.add_argument("--gold-rate", type=float, default=None,
                   help="share of faces served from the admin's gold faces, to measure annotators "
                        "(default 0.05; 0 = never)")
    _add_sampling_args(v, "faces in the default run created when none exists")
    add_generator_options(v)
    add_store_options(v)
    v.set_defaults(func=_cmd_serve)

    g = sub.add_parser("gold", help="mark faces with known answers (gold), to measure annotators",
                       description="Gold faces have known answers: annotators meet them at serve's --gold-rate, the "
                                   "admin view shows each annotator's accuracy on them, and --what gold_weighted "
                                   "aggregation weighs votes by it. Without --csv or --faces it lists them.")
    g.add_argument("--run", type=int, required=True, help="run id")
    g.add_argument("--csv", default=None, help="CSV with a `face` column (face numbers) and one column per attribute")
    g.add_argument("--faces", default=None, help="face numbers (e.g. 3,17,40-45) to mark with their majority answers")
    g.add_argument("--unmark", action="store_true", help="with --faces: make them ordinary faces again")
    add_store_options(g)
    g.set_defaults(func=_cmd_gold)

    e = sub.add_parser("export-labels", help="write raw and aggregated labels as CSV or Parquet",
                       description="Export a run's labels: raw (one row per label) or aggregated per face by "
                                   "majority vote or Dawid-Skene.")
    e.add_argument("--run", type=int, default=None, help="run id (default: the newest)")
    e.add_argument("--what", choices=("raw", "majority", "dawid_skene", "gold_weighted", "all"), default="all",
                   help="raw labels, labels aggregated per face, or all of them")
    e.add_argument("--format", choices=("csv", "parquet", "both"), default="both", help="file format")
    e.add_argument("--out", default=None, help="output folder (default: <workspace>/exports)")
    add_store_options(e)
    e.set_defaults(func=_cmd_export_labels)
