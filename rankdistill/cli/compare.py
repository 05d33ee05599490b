"""`rankdistill compare RUN...`: systems of finished runs side by side, with paired significance."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(commands: argparse._SubParsersAction) -> None:
    compare = commands.add_parser(
        "compare", help="systems of finished runs side by side, with paired significance"
    )
    compare.add_argument("run", nargs="+", help="run folders (runs/NAME)")
    compare.add_argument(
        "--reference",
        default=None,
        help="RUN or RUN:SYSTEM every row is compared with (default: the first run's student)",
    )
    compare.add_argument(
        "--include",
        action="append",
        help="system name prefix to list; repeatable (default: student)",
    )
    compare.add_argument(
        "--dataset", default=None, help="which evaluated dataset (default: the run's first)"
    )
    compare.add_argument("--output", default=None, help="also write the table to this file")
    compare.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> None:
    from rankdistill.core.atomic import atomic_write_text
    from rankdistill.pipeline.compare import compare_runs

    table = compare_runs(args.run, args.reference, tuple(args.include or ["student"]), args.dataset)
    print(table)
    if args.output:
        atomic_write_text(Path(args.output), table + "\n")
