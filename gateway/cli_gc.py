"""``mlgateway gc``: permanently remove soft-deleted runs, experiments and logged models, then their artifacts.

Composition root (it joins the database and the artifact store): the database rows go first, in
one transaction, then the files; a run's files are only ever removed once its row is gone. The
store is then swept for run and logged-model folders with no owner row left at all (model versions,
models and projects delete theirs outright), so nothing outlives its owner.
"""

from __future__ import annotations

import argparse
import re
import time
from typing import Any

import orjson

from compat import garbage
from gateway.artifacts import open_artifact_store
from gateway.artifacts.backend import StorageBackend
from gateway.artifacts.keys import ObjectKey, candidate_root, logged_model_root
from gateway.cli_serve import JSON_FLAG, prepare_database
from gateway.db import Database
from gateway.errors import InvalidParameter
from gateway.settings import Settings

_DURATION = re.compile(r"^(\d+)([smhd]?)$")
_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def add_commands(commands: Any) -> None:
    gc = commands.add_parser(
        "gc", help="permanently remove deleted runs, experiments and their artifacts", parents=[JSON_FLAG]
    )
    gc.add_argument(
        "--older-than",
        default="0",
        help="only what was deleted at least this long ago: 30d, 12h, 90m, 0 (default: all)",
    )
    gc.add_argument("--dry-run", action="store_true", help="say what would go, remove nothing")
    gc.set_defaults(handler=run_gc)


def parse_duration(text: str) -> int:
    match = _DURATION.match(text.strip())
    if match is None:
        raise InvalidParameter(f"Invalid --older-than {text!r}: use a number with s, m, h or d, e.g. 30d.")
    return int(match.group(1)) * _SECONDS[match.group(2)]


def run_gc(args: argparse.Namespace, settings: Settings) -> int:
    cutoff_ms = (time.time_ns() // 1_000_000) - parse_duration(args.older_than) * 1000
    database = prepare_database(settings)
    backend = open_artifact_store(settings).backend
    try:
        with database.unit_of_work(write=not args.dry_run) as session:
            purged = garbage.purge_deleted(session, deleted_before_ms=cutoff_ms, dry_run=args.dry_run)
        orphans = 0
        if not args.dry_run:
            for project_id, iid in purged.runs:
                backend.delete(candidate_root(project_id, iid).prefix)
            for project_id, model_id in purged.logged_models:
                backend.delete(logged_model_root(project_id, model_id).prefix)
            orphans = _sweep_orphans(backend, database)
    finally:
        database.dispose()
    report = {
        "experiments": purged.experiments,
        "runs": len(purged.runs),
        "logged_models": len(purged.logged_models),
        "orphan_folders": orphans,
    }
    if args.json:
        print(orjson.dumps({**report, "dry_run": args.dry_run}).decode())
    else:
        verb = "would remove" if args.dry_run else "removed"
        print(
            f"{verb} {report['experiments']} experiments, {report['runs']} runs and "
            f"{report['logged_models']} logged models with their artifacts; {orphans} orphaned folders swept"
        )
    return 0


def _sweep_orphans(backend: StorageBackend, database: Database) -> int:
    """Folders are listed before the owners are read: a folder only appears after its owner's row
    is committed, so a run or logged model created during the sweep is always seen as live."""
    swept = 0
    for project in backend.list(ObjectKey("projects")):
        if not (project.is_dir and project.name.isdigit()):
            continue
        project_id = int(project.name)
        runs = ObjectKey(f"projects/{project_id}/candidates")
        models = ObjectKey(f"projects/{project_id}/logged_models")
        run_folders, model_folders = backend.list(runs), backend.list(models)
        with database.unit_of_work(write=False) as session:
            live_runs = garbage.live_run_iids(session, project_id)
            live_models = garbage.live_logged_model_ids(session, project_id)
        for folder in run_folders:
            if folder.name.isdigit() and int(folder.name) not in live_runs:
                backend.delete(ObjectKey(f"{runs}/{folder.name}"))
                swept += 1
        for folder in model_folders:
            if folder.is_dir and folder.name not in live_models:
                backend.delete(ObjectKey(f"{models}/{folder.name}"))
                swept += 1
    return swept
