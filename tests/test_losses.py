"""Distillation losses: hand-computed values on tiny score matrices, gradient directions, agreement
with sentence-transformers where we delegate to it, real dense and sparse forward passes, and the
errors a user sees for a bad spec or mismatched lists."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from rankdistill.core.errors import UserError
from rankdistill.losses import (
    LOSSES,
    WeightedSum,
    build_loss,
    cprd,
    forward_features_to,
    info_nce,
    listnet,
    listwise_kl,
    margin_mse,
    plackett_luce,
    ranknet,
    score_mse,
)
from rankdistill.losses.infonce import InfoNCE
from rankdistill.losses.listwise_kl import ListwiseKL
from rankdistill.losses.margin_mse import MarginMSE


def lse(*values: float) -> float:
    return math.log(sum(math.exp(v) for v in values))


def score_embeddings(scores: list[list[float]]) -> list[torch.Tensor]:
    """Embeddings whose dot products are `scores`: query (B, 1) ones, candidate column j (B, 1) = scores[:, j]."""
    matrix = torch.tensor(scores, dtype=torch.float32)
    return [torch.ones(matrix.shape[0], 1), *[matrix[:, j : j + 1] for j in range(matrix.shape[1])]]


T = torch.tensor


# --- hand-computed values -------------------------------------------------------------------


def test_margin_mse_by_hand_and_through_sentence_transformers() -> None:
    s, t = [[2.0, 1.0, 0.0]], [[3.0, 1.0, 2.0]]
    # student margins (1, 2), teacher margins (2, 1): ((1-2)^2 + (2-1)^2) / 2
    assert margin_mse(T(s), T(t)).item() == pytest.approx(1.0)
    module = MarginMSE(nn.Identity(), similarity="dot")
    assert module.compute_loss_from_embeddings(score_embeddings(s), T(t)).item() == pytest.approx(
        1.0
    )


def test_listwise_kl_forward_and_reverse_by_hand() -> None:
    s, t = T([[0.0, 0.0]]), T([[math.log(3.0), 0.0]])  # p_S = (1/2, 1/2), p_T = (3/4, 1/4)
    forward = 0.75 * math.log(0.75 / 0.5) + 0.25 * math.log(0.25 / 0.5)
    reverse = 0.5 * math.log(0.5 / 0.75) + 0.5 * math.log(0.5 / 0.25)
    assert listwise_kl(s, t, direction="forward").item() == pytest.approx(forward, abs=1e-6)
    assert listwise_kl(s, t, direction="reverse").item() == pytest.approx(reverse, abs=1e-6)
    # temperature 2 on both sides: p_T = softmax(ln3 / 2, 0) = (sqrt3, 1) / (sqrt3 + 1); loss times 2^2
    p = math.sqrt(3) / (math.sqrt(3) + 1)
    forward_t2 = 4 * (p * math.log(p / 0.5) + (1 - p) * math.log((1 - p) / 0.5))
    assert listwise_kl(s, t, 2.0, 2.0).item() == pytest.approx(forward_t2, abs=1e-6)
    for direction, expected in (("forward", forward), ("reverse", reverse)):
        module = ListwiseKL(nn.Identity(), direction=direction, similarity="dot")
        assert module.compute_loss_from_embeddings(
            score_embeddings(s.tolist()), t
        ).item() == pytest.approx(expected, abs=1e-6)


def test_listwise_kl_positive_margin_lifts_only_a_positive_the_teacher_ranks_low() -> None:
    from rankdistill.losses.listwise_kl import positive_first

    teacher = T(
        [[1.0, 3.0, 2.0], [5.0, 3.0, 2.0]]
    )  # row 0: a negative above the positive; row 1: positive first
    lifted = positive_first(teacher, 0.5)
    assert lifted.tolist() == [[3.5, 3.0, 2.0], [5.0, 3.0, 2.0]]  # the negatives' order is kept
    s = T([[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    module = ListwiseKL(nn.Identity(), similarity="dot", positive_margin=0.5)
    assert module.score_loss(s, teacher).item() == pytest.approx(
        listwise_kl(s, lifted).item(), abs=1e-6
    )
    assert module.compute_loss_from_embeddings(
        score_embeddings(s.tolist()), teacher
    ).item() == pytest.approx(listwise_kl(s, lifted).item(), abs=1e-6)
    assert module.score_loss(s, teacher).item() != pytest.approx(
        listwise_kl(s, teacher).item(), abs=1e-3
    )
    assert ListwiseKL(nn.Identity(), similarity="dot").score_loss(
        s, teacher
    ).item() == pytest.approx(listwise_kl(s, teacher).item())
    assert (
        "positive_margin" not in ListwiseKL(nn.Identity()).get_config_dict()
    )  # stage keys of older runs unchanged


def test_ranknet_by_hand() -> None:
    # teacher order 0 > 1 > 2; student scores (0, 1, 0): pairs (0,1), (0,2), (1,2)
    expected = (math.log(1 + math.e) + math.log(2) + math.log(1 + math.exp(-1))) / 3
    assert ranknet(T([[0.0, 1.0, 0.0]]), T([[2.0, 1.0, 0.0]])).item() == pytest.approx(
        expected, abs=1e-6
    )
    # ties give no pair, and no pair at all gives 0
    assert ranknet(T([[0.0, 1.0]]), T([[1.0, 1.0]])).item() == 0.0


def test_score_mse_by_hand() -> None:
    # unlike Margin-MSE, an offset between student and teacher costs: (1 + 1 + 4) / 3 = 2
    assert score_mse(T([[1.0, 0.0, 0.0]]), T([[2.0, 1.0, 2.0]])).item() == pytest.approx(
        2.0, abs=1e-6
    )
    assert margin_mse(T([[1.0, 0.0]]), T([[2.0, 1.0]])).item() == 0.0


def test_listnet_by_hand() -> None:
    s, t = T([[1.0, 0.0]]), T([[math.log(3.0), 0.0]])
    expected = -(0.75 * (1 - lse(1, 0)) + 0.25 * (0 - lse(1, 0)))
    assert listnet(s, t).item() == pytest.approx(expected, abs=1e-6)


def test_plackett_luce_by_hand() -> None:
    # ranking: positive (col 0), then negatives by teacher score: col 1 (ln 2), col 2 (0)
    # weights softmax(0, ln2, 0) = (1/4, 1/2, 1/4); student (1, 0, 2)
    expected = 0.25 * (lse(1, 0, 2) - 1) + 0.5 * (lse(0, 2) - 0) + 0.25 * 0
    assert plackett_luce(
        T([[1.0, 0.0, 2.0]]), T([[0.0, math.log(2.0), 0.0]])
    ).item() == pytest.approx(expected, abs=1e-6)
    # the positive comes first even when the teacher scores a negative above it
    # ranking 0, 2, 1 with weights (1/4, 1/2 for col 2, 1/4 for col 1)
    expected = 0.25 * (lse(1, 2, 0) - 1) + 0.5 * (lse(2, 0) - 2) + 0.25 * 0
    assert plackett_luce(
        T([[1.0, 0.0, 2.0]]), T([[0.0, 0.0, math.log(2.0)]])
    ).item() == pytest.approx(expected, abs=1e-6)


def test_cprd_by_hand() -> None:
    s, t = T([[2.0, 0.0, 1.0, 0.5]]), T([[5.0, 1.0, 3.0, 2.0]])
    base = lse(2, 0, 1, 0.5) - 2
    # teacher's hard negatives in order: col 2, col 3, col 1 -> student scores 1, 0.5, 0
    rank3 = ((lse(1, 0.5, 0) - 1) + (lse(0.5, 0) - 0.5)) / 2
    assert cprd(s, t, k=3).item() == pytest.approx(base + rank3, abs=1e-6)
    # k=2 keeps only the top two hard negatives; the easy one only enters the base term
    assert cprd(s, t, k=2, rank_weight=0.5).item() == pytest.approx(
        base + 0.5 * (lse(1, 0.5) - 1), abs=1e-6
    )


def test_info_nce_by_hand_with_a_masked_candidate() -> None:
    scores = T([[2.0, 1.0, 0.0], [0.0, 3.0, 1.0]])
    excluded = T(
        [[False, False, True], [False, True, False]]
    )  # row 1's own positive can not be masked
    expected = ((lse(2, 1) - 2) + (lse(0, 3, 1) - 3)) / 2
    assert info_nce(scores, T([0, 1]), excluded).item() == pytest.approx(expected, abs=1e-6)


# --- gradient directions ----------------------------------------------------------------------

PURE = {
    "margin_mse": margin_mse,
    "score_mse": score_mse,
    "listwise_kl": listwise_kl,
    "listwise_kl_reverse": lambda s, t: listwise_kl(s, t, direction="reverse"),
    "ranknet": ranknet,
    "listnet": listnet,
    "plackett_luce": plackett_luce,
    "cprd": cprd,
    "infonce_own_list": lambda s, t: info_nce(s, torch.zeros(s.shape[0], dtype=torch.long)),
}


@pytest.mark.parametrize("name", PURE)
def test_a_negative_scored_above_the_preferred_positive_is_pushed_down(name: str) -> None:
    student = T(
        [[0.0, 1.0, -1.0]], requires_grad=True
    )  # the student ranks negative 1 above the positive
    teacher = T([[5.0, 0.0, -2.0]])
    PURE[name](student, teacher).backward()
    grad = student.grad[0]
    assert grad[1] > 0, "gradient descent must lower the negative's score"
    assert grad[0] < 0, "gradient descent must raise the positive's score"


def test_cprd_and_plackett_luce_teach_the_teachers_order_among_negatives() -> None:
    # teacher ranks negative 2 above negative 1; the student has them the other way round
    teacher = T([[5.0, 0.0, 1.0]])
    for loss in (lambda s: cprd(s, teacher, k=2, base_weight=0.0), lambda s: ranknet(s, teacher)):
        student = T([[3.0, 1.0, 0.0]], requires_grad=True)
        loss(student).backward()
        assert student.grad[0, 1] > 0 > student.grad[0, 2]
    # Plackett-Luce also pushes both negatives below the positive; the wrongly ordered gap still shrinks
    student = T([[3.0, 1.0, 0.0]], requires_grad=True)
    plackett_luce(student, teacher).backward()
    assert student.grad[0, 1] > student.grad[0, 2]


# --- agreement with sentence-transformers where we delegate ----------------------------------


def random_embeddings(
    batch: int = 4, columns: int = 4, dim: int = 8, seed: int = 0
) -> list[torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    return [torch.randn(batch, dim, generator=generator) for _ in range(columns)]


def test_delegated_losses_equal_sentence_transformers_and_our_formulas() -> None:
    from sentence_transformers.sentence_transformer.losses import DistillKLDivLoss, MarginMSELoss
    from sentence_transformers.util import pairwise_cos_sim

    embeddings = random_embeddings()
    teacher = torch.randn(4, 3, generator=torch.Generator().manual_seed(1)) * 3
    student = torch.stack([pairwise_cos_sim(embeddings[0], e) for e in embeddings[1:]], dim=1)

    ours = MarginMSE(nn.Identity(), similarity="cosine").compute_loss_from_embeddings(
        embeddings, teacher
    )
    theirs = MarginMSELoss(
        nn.Identity(), similarity_fct=pairwise_cos_sim
    ).compute_loss_from_embeddings(embeddings, teacher)
    assert (
        ours.item()
        == pytest.approx(theirs.item(), rel=1e-6)
        == pytest.approx(margin_mse(student, teacher).item(), rel=1e-5)
    )

    ours = ListwiseKL(
        nn.Identity(), temperature=0.5, similarity="cosine"
    ).compute_loss_from_embeddings(embeddings, teacher)
    theirs = DistillKLDivLoss(
        nn.Identity(), similarity_fct=pairwise_cos_sim, temperature=0.5
    ).compute_loss_from_embeddings(embeddings, teacher)
    assert (
        ours.item()
        == pytest.approx(theirs.item(), rel=1e-6)
        == pytest.approx(listwise_kl(student, teacher, 0.5, 0.5).item(), rel=1e-5)
    )


def test_infonce_without_duplicates_equals_multiple_negatives_ranking_loss() -> None:
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss

    embeddings = random_embeddings()
    ours = InfoNCE(
        nn.Identity(), similarity="cosine", mask_known_positives=False
    ).compute_loss_from_embeddings(embeddings)
    theirs = MultipleNegativesRankingLoss(nn.Identity()).compute_loss_from_embeddings(
        embeddings, None
    )
    assert ours.item() == pytest.approx(theirs.item(), rel=1e-6)


def test_infonce_masks_duplicates_of_a_positive_and_positives_of_the_same_query() -> None:
    # rows: (q1, d1+, d2), (q2, d3+, d1), (q1, d4+, d5): d1 is q1's positive and q2's negative -> stays a
    # negative for q2 but not for row 0 as a duplicate; row 2 is q1 again, so d1 and d4 are both q1's positives
    ids = {"q1": [1, 2], "q2": [3, 4], "d1": [10], "d2": [11], "d3": [12], "d4": [13], "d5": [14]}

    def column(*texts: str) -> dict[str, torch.Tensor]:
        width = max(len(ids[t]) for t in texts)
        rows = [ids[t] + [0] * (width - len(ids[t])) for t in texts]
        return {
            "input_ids": T(rows),
            "attention_mask": T([[1] * len(ids[t]) + [0] * (width - len(ids[t])) for t in texts]),
        }

    features = [column("q1", "q2", "q1"), column("d1", "d3", "d4"), column("d2", "d1", "d5")]
    embeddings = random_embeddings(batch=3, columns=3, seed=3)
    loss = InfoNCE(nn.Identity(), similarity="dot", scale=1.0)
    loss.observe_features(features)
    masked = loss.compute_loss_from_embeddings(embeddings)

    scores = embeddings[0] @ torch.cat(embeddings[1:]).T  # candidates d1 d3 d4 | d2 d1 d5
    excluded = torch.zeros(3, 6, dtype=torch.bool)
    excluded[0, [2, 4]] = (
        True  # row 0 (q1): d4 is q1's other positive, the second d1 is its own positive
    )
    excluded[2, [0, 4]] = True  # row 2 (q1): d1 (twice) is q1's other positive
    assert masked.item() == pytest.approx(info_nce(scores, T([0, 1, 2]), excluded).item(), rel=1e-6)
    assert masked.item() != pytest.approx(info_nce(scores, T([0, 1, 2])).item(), rel=1e-3)


# --- real students -------------------------------------------------------------------------

SPECS = [*LOSSES, {"listwise_kl": {"weight": 1.0, "direction": "reverse"}, "infonce": 0.1}]


def batch_features(
    model, rows: int = 2, negatives: int = 3
) -> tuple[list[dict[str, torch.Tensor]], torch.Tensor]:
    queries = ["what causes tides", "how do vaccines work"][:rows]
    docs = [
        ["the moon pulls the oceans", "vaccines train immunity", "lava erupts", "bees make honey"],
        [
            "vaccines train immunity",
            "the moon pulls the oceans",
            "coffee blocks adenosine",
            "ice carves valleys",
        ],
    ][:rows]
    columns = [queries] + [[row[j] for row in docs] for j in range(negatives + 1)]
    labels = torch.tensor([[5.0, 1.0, 0.5, 0.0]] * rows)[:, : negatives + 1]
    return [model.preprocess(texts) for texts in columns], labels


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s if isinstance(s, str) else "combined")
def test_dense_student_forward_and_backward(spec, tiny_dense_model: str) -> None:
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(tiny_dense_model, device="cpu")
    loss = build_loss(spec, model)
    features, labels = batch_features(model)
    value = loss(features, labels)
    total = sum(value.values()) if isinstance(value, dict) else value
    assert torch.isfinite(total)
    total.backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters())


@pytest.mark.parametrize(
    "spec",
    ["margin_mse", "listwise_kl", "infonce", SPECS[-1]],
    ids=lambda s: s if isinstance(s, str) else "combined",
)
def test_sparse_student_under_splade_loss(spec, splade_tiny: str) -> None:
    from sentence_transformers.sparse_encoder import SparseEncoder
    from sentence_transformers.sparse_encoder.losses import SpladeLoss

    model = SparseEncoder(splade_tiny, device="cpu")
    inner = build_loss(spec, model)
    loss = SpladeLoss(model, inner, document_regularizer_weight=3e-5, query_regularizer_weight=5e-5)
    forward_features_to(loss, inner)
    features, labels = batch_features(model)
    parts = loss(features, labels)
    assert "document_regularizer_loss" in parts and "query_regularizer_loss" in parts
    sum(parts.values()).backward()
    if spec == "infonce":
        assert inner._keys is None and not inner._warned, (
            "InfoNCE under SpladeLoss must have seen the batch's token ids"
        )


# --- user errors -----------------------------------------------------------------------------


def test_unknown_loss_or_parameter_is_a_user_error_listing_what_is_known() -> None:
    with pytest.raises(
        UserError,
        match=r"unknown loss 'listwise_kll' \(known: cprd, hidden_mse, infonce, label_ce, listnet, listwise_kl",
    ):
        build_loss("listwise_kll", nn.Identity())
    with pytest.raises(
        UserError,
        match=r"loss 'listwise_kl': unknown parameter 'temprature' \(known: weight, direction, temperature",
    ):
        build_loss({"listwise_kl": {"temprature": 2.0}}, nn.Identity())
    with pytest.raises(UserError, match="direction must be one of forward, reverse"):
        build_loss({"listwise_kl": {"direction": "sideways"}}, nn.Identity())
    with pytest.raises(UserError, match="weight must be a number"):
        build_loss({"infonce": {"weight": "lots"}}, nn.Identity())


def test_mismatched_list_sizes_and_missing_teacher_scores_are_user_errors() -> None:
    embeddings = random_embeddings(batch=2, columns=4)  # query + 3 candidates
    for name in LOSSES:
        if name == "infonce":
            continue
        loss = build_loss({name: {"similarity": "dot"}}, nn.Identity())
        with pytest.raises(
            UserError, match=r"teacher scores of shape \(2, 5\) do not match 2 rows of 3 candidates"
        ):
            loss.compute_loss_from_embeddings(embeddings, torch.zeros(2, 5))
        with pytest.raises(UserError, match="missing teacher scores"):
            loss.compute_loss_from_embeddings(embeddings, None)


def test_weighted_sum_adds_weighted_parts() -> None:
    embeddings = random_embeddings(batch=3, columns=4, seed=5)
    teacher = torch.randn(3, 3, generator=torch.Generator().manual_seed(6))
    loss = build_loss(
        {"listnet": 2.0, "ranknet": {"weight": 0.5, "similarity": "dot"}}, nn.Identity()
    )
    assert isinstance(loss, WeightedSum)
    parts = loss.compute_loss_from_embeddings(embeddings, teacher)
    scores = torch.stack([(embeddings[0] * e).sum(1) for e in embeddings[1:]], dim=1)
    assert parts["ranknet"].item() == pytest.approx(0.5 * ranknet(scores, teacher).item(), rel=1e-5)
    loss.return_components = False
    assert loss.compute_loss_from_embeddings(embeddings, teacher).item() == pytest.approx(
        sum(p.item() for p in parts.values()), rel=1e-6
    )


def test_every_loss_documents_args_and_an_example_that_builds(tiny_dense_model: str) -> None:
    import ast as python_ast
    import re

    from sentence_transformers import SentenceTransformer

    from rankdistill.losses import LOSSES, build_loss

    model = SentenceTransformer(tiny_dense_model, device="cpu")
    for name, cls in LOSSES.items():
        module_doc = __import__(cls.__module__, fromlist=["_"]).__doc__ or ""
        assert "arXiv" in module_doc or "ICML" in module_doc or "CVPR" in module_doc, (
            f"{name}: cite the paper"
        )
        doc = cls.__doc__ or ""
        assert "Args:" in doc and "Example::" in doc, name
        spec = python_ast.literal_eval(
            re.search(r"build_loss\((\{.*\}), SentenceTransformer", doc)[1]
        )
        assert name in spec
        assert build_loss(spec, model) is not None
