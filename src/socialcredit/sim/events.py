"""Columnar event batches of the simulator: numbers only (subjects as row indexes, days as
day numbers, categorical attributes as codes into small vocabularies), so that millions of
events cost a few bytes each until they are written out."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

ACTIONS = ("create", "perform", "delist", "extend", "repair")
CREATE, PERFORM, DELIST, EXTEND, REPAIR = range(len(ACTIONS))

I64 = npt.NDArray[np.int64]
I32 = npt.NDArray[np.int32]


@dataclass
class Column:
    """A categorical column: ``codes`` index ``vocab``; -1 is empty."""

    vocab: list[str]
    codes: I32

    def take(self, rows: npt.NDArray[np.intp] | npt.NDArray[np.bool_] | slice) -> Column:
        return Column(self.vocab, self.codes[rows])


def empty_column(n: int) -> Column:
    return Column([], np.full(n, -1, dtype=np.int32))


def concat_columns(parts: list[Column]) -> Column:
    """One column from several, merging their vocabularies."""
    vocab: list[str] = []
    index: dict[str, int] = {}
    out = []
    for part in parts:
        remap = np.empty(len(part.vocab) + 1, dtype=np.int32)
        remap[-1] = -1
        for i, word in enumerate(part.vocab):
            if word not in index:
                index[word] = len(vocab)
                vocab.append(word)
            remap[i] = index[word]
        out.append(remap[part.codes])
    return Column(vocab, np.concatenate(out) if out else np.zeros(0, dtype=np.int32))


@dataclass
class Batch:
    """Events of one source (or one record type before assembly).

    ``parent`` is, for a follow-up, the row of its record's ``create`` in the same batch (-1 for
    creates). ``number`` numbers the records for document numbers. ``error`` is filled when
    errors are injected."""

    subject: I64
    type: Column
    day: I32
    action: npt.NDArray[np.int8]
    parent: I64
    amount: npt.NDArray[np.float64]
    quantity: I32
    attrs: dict[str, Column] = field(default_factory=dict)
    document: Column | None = None
    person: I64 | None = None  # for role records: the row of the person holding the role (-1 none)

    def __len__(self) -> int:
        return len(self.subject)

    def take(self, rows: npt.NDArray[np.intp]) -> Batch:
        """Rows in the given order; parents are remapped (a parent not taken becomes -1)."""
        where = np.full(len(self) + 1, -1, dtype=np.int64)
        where[rows] = np.arange(len(rows))
        parent = self.parent[rows]
        new_parent = np.where(parent >= 0, where[parent], -1)
        return Batch(
            self.subject[rows],
            self.type.take(rows),
            self.day[rows],
            self.action[rows],
            new_parent,
            self.amount[rows],
            self.quantity[rows],
            {k: v.take(rows) for k, v in self.attrs.items()},
            self.document.take(rows) if self.document is not None else None,
            self.person[rows] if self.person is not None else None,
        )


def concat(batches: list[Batch], shift: bool = True) -> Batch:
    """Batches one after the other. Parents are shifted with their batch, unless ``shift`` is
    False: then every parent already points into the first batch (a type's records followed by
    their follow-ups)."""
    offsets = np.cumsum([0] + [len(b) for b in batches]) if shift else np.zeros(len(batches) + 1, np.int64)
    names = sorted({k for b in batches for k in b.attrs})
    return Batch(
        np.concatenate([b.subject for b in batches]) if batches else np.zeros(0, np.int64),
        concat_columns([b.type for b in batches]),
        np.concatenate([b.day for b in batches]) if batches else np.zeros(0, np.int32),
        np.concatenate([b.action for b in batches]) if batches else np.zeros(0, np.int8),
        np.concatenate([np.where(b.parent >= 0, b.parent + off, -1) for b, off in zip(batches, offsets, strict=False)])
        if batches
        else np.zeros(0, np.int64),
        np.concatenate([b.amount for b in batches]) if batches else np.zeros(0),
        np.concatenate([b.quantity for b in batches]) if batches else np.zeros(0, np.int32),
        {n: concat_columns([b.attrs.get(n, empty_column(len(b))) for b in batches]) for n in names},
        concat_columns([b.document or empty_column(len(b)) for b in batches]),
        np.concatenate([b.person if b.person is not None else np.full(len(b), -1, np.int64) for b in batches])
        if any(b.person is not None for b in batches)
        else None,
    )
