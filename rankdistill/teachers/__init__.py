"""Teachers: the slow, strong rankers whose scores are distilled."""

from rankdistill.teachers.base import Teacher

__all__ = ["Teacher"]
