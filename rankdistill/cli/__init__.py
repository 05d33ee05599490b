"""The `rankdistill` command: parses arguments and calls the modules that do the work."""

# One module per command (`cli/<command>.py`): its `add_parser(commands)` and the handler it sets,
# which parses the arguments and calls the API. The modules import only light configs at parse
# time, so `rankdistill --help` loads no torch.

from __future__ import annotations

import argparse
import logging
import sys

from rankdistill import __version__
from rankdistill.cli import (
    compare,
    evaluate,
    generate,
    index,
    mine,
    models,
    regress,
    run,
    score,
    teacher,
    train,
)
from rankdistill.core.errors import UserError
from rankdistill.core.hardware import configure_threads

COMMANDS = (
    run,
    regress,
    compare,
    evaluate,
    mine,
    generate,
    score,
    train,
    teacher,
    index,
    models,
)  # the order of --help


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rankdistill", description=__doc__)
    parser.add_argument("--version", action="version", version=f"rankdistill {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress messages")
    commands = parser.add_subparsers(dest="command", required=True)
    for command in COMMANDS:
        command.add_parser(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        if (
            args.command != "models"
        ):  # torch, faiss and the exported runtimes use the CPUs we may use
            configure_threads()
        args.handler(args)
    except UserError as exc:
        print(f"rankdistill: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # a path the user gave: unwritable, or a file where a folder goes
        from rankdistill.core.atomic import path_problem

        problem = path_problem(exc)
        if problem is None:
            raise
        print(f"rankdistill: error: {problem}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("rankdistill: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
