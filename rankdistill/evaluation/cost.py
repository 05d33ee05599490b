"""What a model costs to serve, beside what it scores: parameters and megabytes on disk.

Counted from the saved weight files (safetensors headers, or a torch state dict), without
building the model. For an asymmetric (query/document Router) student the query route is what
runs at query time; its size is reported, and the document route (the teacher, already paid for
by the index) is named.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth")


def _parameters(file: Path) -> int:
    if file.suffix == ".safetensors":
        from safetensors import safe_open

        total = 0
        with safe_open(str(file), framework="pt") as handle:
            for key in handle.keys():
                count = 1
                for size in handle.get_slice(key).get_shape():
                    count *= size
                total += count
        return total
    import torch

    state = torch.load(file, map_location="cpu", weights_only=True)
    return (
        sum(v.numel() for v in state.values() if hasattr(v, "numel"))
        if isinstance(state, dict)
        else 0
    )


def weight_files(folder: Path) -> list[Path]:
    """The torch weight files under `folder`: its safetensors files when it has any (a folder may
    also hold the same weights as pytorch_model.bin), else its .bin / .pt files."""
    found = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix in WEIGHT_SUFFIXES)
    safetensors = [p for p in found if p.suffix == ".safetensors"]
    return safetensors or found


def model_size(path: str | Path) -> dict[str, Any]:
    """{"parameters", "megabytes"} of a model folder (resolved through the catalogue when it is a
    name); for an asymmetric student those of its query route, plus "document_route"."""
    from rankdistill.encoders.asymmetric import read_record
    from rankdistill.encoders.models import resolve_model

    folder = Path(resolve_model(str(path)))
    record = read_record(folder)
    extra: dict[str, Any] = {}
    if record is not None:
        routes = json.loads((folder / "router_config.json").read_text(encoding="utf-8"))[
            "structure"
        ]
        query_parts = [folder / part for part in routes["query"]]
        files = [f for part in query_parts for f in (weight_files(part) if part.is_dir() else [])]
        extra = {"document_route": record.get("document_model"), "measured": "query route"}
    else:
        files = weight_files(folder)
    return {
        "parameters": sum(_parameters(f) for f in files),
        "megabytes": round(sum(f.stat().st_size for f in files) / 2**20, 1),
        **extra,
    }
