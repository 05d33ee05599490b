"""`doc2query:MODEL[?n=1&top_k=10&top_p=0.95&temperature=1.0&max_length=64&input_length=512&batch_size=16]`:
queries sampled from a sequence-to-sequence model that reads a document and writes a query
(doc2query / docT5query, as GPL uses; Nogueira & Lin 2019, "From doc2query to docTTTTTquery").

MODEL is anything `rankdistill.encoders.models.resolve_model` accepts: a local folder of a Hugging Face
seq2seq model (`AutoModelForSeq2SeqLM` + its tokenizer), or a hub id where the hub is reachable.
Each document ("title text", cut at `input_length` tokens) gets `n` sampled queries of at most
`max_length` tokens, top-k / top-p sampling at `temperature`. Sampling is seeded per batch of
`batch_size` documents from the seed and the batch's first document id, so the same documents in
the same batches (`mining.generate` batches within fixed chunks) give the same queries.
"""

from __future__ import annotations

import hashlib

from rankdistill.data.beir import join_title_text
from rankdistill.mining.generators.base import (
    Document,
    GeneratorSpec,
    N,
    Setting,
    register_generator,
)

SETTINGS = {
    "n": N,
    "top_k": Setting(int, 10, low=0),
    "top_p": Setting(float, 0.95, low=0, high=1),
    "temperature": Setting(float, 1.0, low=1e-6),
    "max_length": Setting(int, 64, low=1),
    "input_length": Setting(int, 512, low=1),
    "batch_size": Setting(int, 16, low=1),
}


@register_generator("doc2query", SETTINGS, model=True)
class Doc2QueryGenerator:
    def __init__(
        self,
        spec: GeneratorSpec,
        corpus: dict[str, Document],
        source: str = "corpus",
        device: str | None = None,
    ):
        import torch
        from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

        from rankdistill.encoders.models import resolve_model

        self.spec = spec
        path = resolve_model(spec.model)
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.tokenizer = AutoTokenizer.from_pretrained(path)
        self.model = AutoModelForSeq2SeqLM.from_pretrained(path).to(self.device).eval()

    def generate(self, documents: list[tuple[str, Document]], seed: int) -> list[list[str]]:
        import torch

        s, out = self.spec.settings, []
        for first in range(0, len(documents), s["batch_size"]):
            batch = documents[first : first + s["batch_size"]]
            torch.manual_seed(
                int(hashlib.sha256(f"{seed}:{batch[0][0]}".encode()).hexdigest()[:15], 16)
            )
            inputs = self.tokenizer(
                [join_title_text(doc) for _, doc in batch],
                truncation=True,
                max_length=s["input_length"],
                padding=True,
                return_tensors="pt",
            ).to(self.device)
            inputs.pop("token_type_ids", None)
            with torch.no_grad():
                generated = self.model.generate(
                    **inputs,
                    do_sample=True,
                    top_k=s["top_k"],
                    top_p=s["top_p"],
                    temperature=s["temperature"],
                    max_new_tokens=s["max_length"],
                    num_return_sequences=s["n"],
                )
            texts = self.tokenizer.batch_decode(generated, skip_special_tokens=True)
            out.extend(
                [text.strip() for text in texts[i * s["n"] : (i + 1) * s["n"]]]
                for i in range(len(batch))
            )
        return out
