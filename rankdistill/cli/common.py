"""Flags that several commands share, each written once."""

from __future__ import annotations

import argparse

from rankdistill.core.config import flag_type
from rankdistill.core.hardware import add_precision_argument
from rankdistill.encoders.models import EncodingSettings
from rankdistill.retrieval.exported import BACKENDS  # light: the runtimes load on use

DENSE_BACKENDS = "dense encoders: auto (torch, the fastest in evaluation/studies/02-bench_dense_encode.md), torch, onnx, onnx-int8, openvino"


def add_data_root_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-root", default=None, help="folder of BEIR datasets (default: $RANKDISTILL_DATA)"
    )


def add_encoding_arguments(
    parser: argparse.ArgumentParser, what: str, backends: str = DENSE_BACKENDS
) -> None:
    """`--batch-size`, `--max-length`, `--precision` (and `--bf16`), `--backend`, `--device`: how
    the command's models encode, read back with `encoding_settings`; and `--data-root`.
    `what` names the models `--precision` applies to, `backends` what `--backend` does."""
    parser.add_argument("--batch-size", type=flag_type(EncodingSettings, "batch_size"), default=32)
    parser.add_argument(
        "--max-length",
        type=flag_type(EncodingSettings, "max_length"),
        default=None,
        help="override the models' max sequence length",
    )
    add_precision_argument(parser, what)
    parser.add_argument("--backend", default="auto", choices=BACKENDS, help=backends)
    parser.add_argument("--device", default=None, help="cpu, cuda, ... (default: best available)")
    add_data_root_argument(parser)


def encoding_settings(args: argparse.Namespace) -> EncodingSettings:
    """The `EncodingSettings` the flags of `add_encoding_arguments` give."""
    return EncodingSettings(
        args.batch_size, args.max_length, args.device, args.precision, args.backend
    )
