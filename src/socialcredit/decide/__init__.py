"""Decisions: show a subject's file, check an action, screen a column of codes."""

from socialcredit.decide.service import Decider, DecisionError, canonical

__all__ = ["Decider", "DecisionError", "canonical"]
