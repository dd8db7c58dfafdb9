"""Derivation: record states, lists, measures through memoranda, points and grades."""

from socialcredit.derive.engine import Derived, Deriver, DeriveSummary

__all__ = ["DeriveSummary", "Derived", "Deriver"]
