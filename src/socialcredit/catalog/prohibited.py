"""Information categories a catalog may never hold, and those that need written consent.

Prohibited: religious belief, political opinion or speech, ethnicity, genes, fingerprints and
other biometrics, blood type, disease and medical history, social relationships ("friends"),
online speech (CRIR Art. 14 para. 1; Shandong Social Credit Regulations Art. 42; DESIGN §2).
Restricted: income, deposits, securities, commercial insurance, real estate, tax amounts —
only with written consent (CRIR Art. 14 para. 2).

Names are split into tokens on ``.``, ``_``, ``-`` and spaces; a name is caught when one of its
tokens is a prohibited word or when it contains a prohibited phrase of several tokens. Single
words are matched whole, so ``civil.blood_donation`` is allowed while ``blood_type`` is not.
"""

from __future__ import annotations

import re

PROHIBITED_WORDS: dict[str, str] = {
    "religion": "religious belief",
    "religious": "religious belief",
    "faith": "religious belief",
    "political": "political opinion",
    "politics": "political opinion",
    "opinion": "political opinion",
    "opinions": "political opinion",
    "speech": "speech",
    "ethnicity": "ethnicity",
    "ethnic": "ethnicity",
    "race": "ethnicity",
    "racial": "ethnicity",
    "nationality_ethnic": "ethnicity",
    "gene": "genes",
    "genes": "genes",
    "genetic": "genes",
    "genome": "genes",
    "dna": "genes",
    "fingerprint": "fingerprints",
    "fingerprints": "fingerprints",
    "biometric": "biometrics",
    "biometrics": "biometrics",
    "facial": "biometrics",
    "iris": "biometrics",
    "voiceprint": "biometrics",
    "health": "health",
    "disease": "disease and medical history",
    "diseases": "disease and medical history",
    "illness": "disease and medical history",
    "medical": "disease and medical history",
    "diagnosis": "disease and medical history",
    "friends": "social relationships",
    "friend": "social relationships",
    "relationship": "social relationships",
    "relationships": "social relationships",
    "relatives": "social relationships",
    "contacts": "social relationships",
}

PROHIBITED_PHRASES: dict[tuple[str, ...], str] = {
    ("blood", "type"): "blood type",
    ("blood", "group"): "blood type",
    ("face", "recognition"): "biometrics",
    ("face", "image"): "biometrics",
    ("sexual", "orientation"): "sexual orientation",
}

RESTRICTED_WORDS: dict[str, str] = {
    "income": "income",
    "salary": "income",
    "wage": "income",
    "wages": "income",
    "deposit_balance": "deposits",
    "deposits": "deposits",
    "savings": "deposits",
    "securities": "securities",
    "shares": "securities",
    "insurance_policy": "commercial insurance",
    "property_holdings": "real estate",
}

RESTRICTED_PHRASES: dict[tuple[str, ...], str] = {
    ("commercial", "insurance"): "commercial insurance",
    ("real", "estate"): "real estate",
    ("tax", "amount"): "tax amounts",
    ("tax", "amounts"): "tax amounts",
    ("tax", "paid"): "tax amounts",
    ("bank", "balance"): "deposits",
    ("deposit", "balance"): "deposits",
}

_SPLIT = re.compile(r"[._\-\s/]+")


def _tokens(name: str) -> list[str]:
    return [t for t in _SPLIT.split(name.lower()) if t]


def _find(name: str, words: dict[str, str], phrases: dict[tuple[str, ...], str]) -> str | None:
    tokens = _tokens(name)
    joined = "_".join(tokens)
    if joined in words:
        return words[joined]
    for tok in tokens:
        if tok in words:
            return words[tok]
    for phrase, label in phrases.items():
        n = len(phrase)
        if any(tuple(tokens[i : i + n]) == phrase for i in range(len(tokens) - n + 1)):
            return label
    return None


def prohibited_category(name: str) -> str | None:
    """The prohibited category ``name`` falls under, or None."""
    return _find(name, PROHIBITED_WORDS, PROHIBITED_PHRASES)


def restricted_category(name: str) -> str | None:
    """The restricted financial category (written consent needed) ``name`` falls under."""
    return _find(name, RESTRICTED_WORDS, RESTRICTED_PHRASES)
