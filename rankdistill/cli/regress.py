"""`rankdistill regress CONFIG...`: run regression configs and check their expected scores."""

from __future__ import annotations

import argparse


def add_parser(commands: argparse._SubParsersAction) -> None:
    regress = commands.add_parser(
        "regress", help="run regression configs and check their expected scores"
    )
    regress.add_argument("config", nargs="+", help="configs/regressions/*.yaml")
    regress.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> None:
    from rankdistill.pipeline.regression import format_checks, run_regression

    failed = 0
    for path in args.config:
        checks = run_regression(path)
        print(format_checks(path, checks) + "\n")
        failed += sum(not c.passed for c in checks)
    print(f"{'FAIL' if failed else 'PASS'}: {failed} of the expected scores are off")
    if failed:
        raise SystemExit(1)
