"""rankdistill: turn a strong, slow ranker into a fast retriever."""

__version__ = "0.1.0"
