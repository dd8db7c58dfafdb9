"""Agency files in the record format (one per source, CSV or Parquet), the ground truth and
the population, written in bounded chunks from the simulator's columnar batches."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from socialcredit.sim.errors import KINDS, Injected
from socialcredit.sim.events import ACTIONS, CREATE, Batch, Column
from socialcredit.sim.population import Organisations, Persons

Format = Literal["csv", "parquet"]
TRUTH_SCHEMA = pa.schema(
    [
        ("event_id", pa.string()),
        ("source", pa.string()),
        ("type", pa.string()),
        ("decided_on", pa.date32()),
        ("subject_id", pa.string()),
        ("subject_name", pa.string()),
        ("written_subject_id", pa.string()),
        ("written_name", pa.string()),
        ("error", pa.string()),
    ]
)
CHUNK = 500_000
_FIELD = re.compile(r"\{(year|n)\}")


@dataclass
class SourceFile:
    """What was written for one source."""

    source: str
    file: str
    rows: int
    creates: int
    errors: dict[str, int] = field(default_factory=dict)


def sort_for_file(batch: Batch) -> Batch:
    """Rows in date order, a day's records before their follow-ups."""
    order = np.lexsort((batch.action != CREATE, batch.day))
    return batch.take(order.astype(np.intp))


def _years(day: npt.NDArray[np.int32]) -> pa.Array:
    years = day.astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970
    return pc.cast(pa.array(years), pa.string())


def _pattern(pattern: str, years: pa.Array, numbers: pa.Array) -> pa.Array:
    pieces: list[pa.Array | str] = []
    pos = 0
    for m in _FIELD.finditer(pattern):
        if m.start() > pos:
            pieces.append(pattern[pos : m.start()])
        pieces.append(years if m.group(1) == "year" else numbers)
        pos = m.end()
    if pos < len(pattern):
        pieces.append(pattern[pos:])
    if len(pieces) == 1:
        only = pieces[0]
        return only if isinstance(only, pa.Array) else pa.repeat(only, len(years))
    return pc.binary_join_element_wise(*[p if isinstance(p, pa.Array) else pa.scalar(p) for p in pieces], "")


def _column(col: Column, years: pa.Array, numbers: pa.Array) -> pa.Array:
    """A categorical column as strings, with ``{year}``/``{n}`` patterns filled in."""
    codes = col.codes
    if not col.vocab:
        return pa.nulls(len(codes), pa.string())
    indices = pa.array(codes, pa.int32(), mask=codes < 0)
    out = pa.DictionaryArray.from_arrays(indices, pa.array(col.vocab, pa.string())).cast(pa.string())
    for j, word in enumerate(col.vocab):
        if "{" in word:
            mask = pa.array(codes == j)
            out = pc.if_else(mask, _pattern(word, years, numbers), out)
    return out


def _numbers(n: int, start: int) -> pa.Array:
    return pc.cast(pa.array(np.arange(start + 1, start + n + 1, dtype=np.int64)), pa.string())


class SourceWriter:
    """Writes one source's batch (already sorted) and its part of the ground truth."""

    def __init__(
        self,
        source: str,
        batch: Batch,
        persons: Persons,
        orgs: Organisations,
        injected: Injected,
        attributes: list[str],
    ) -> None:
        self.source, self.batch = source, batch
        self.codes = pa.concat_arrays([persons.codes, orgs.codes])
        self.names = pa.concat_arrays([persons.names, orgs.names])
        self.person_codes = persons.codes
        self.injected = injected
        self.attributes = attributes
        self.prefix = source.upper() + "-"
        n = len(batch)
        # record numbers (for documents) count the creates; every event has its own event number
        self.record_no = np.cumsum(batch.action == CREATE)
        self.error = np.full(n, -1, dtype=np.int8)
        self.error[injected.rows] = injected.kind
        self.written_code: dict[int, str] = dict(zip(injected.rows, injected.codes, strict=True))
        self.written_name: dict[int, str] = dict(zip(injected.rows, injected.names, strict=True))

    def _ids(self, numbers: npt.NDArray[np.int64]) -> pa.Array:
        """Event ids from event numbers (1-based, in file order)."""
        padded = pc.utf8_lpad(pc.cast(pa.array(numbers), pa.string()), width=9, padding="0")
        return pc.binary_join_element_wise(pa.scalar(self.prefix), padded, "")

    def _patched(self, base: pa.Array, rows: slice, written: dict[int, str]) -> pa.Array:
        lo = rows.start or 0
        hits = [(r - lo, v) for r, v in written.items() if lo <= r < rows.stop]
        if not hits:
            return base
        mask = np.zeros(len(base), dtype=bool)
        hits.sort()
        mask[[h[0] for h in hits]] = True
        return pc.replace_with_mask(base, pa.array(mask), pa.array([h[1] for h in hits], pa.string()))

    def table(self, rows: slice) -> tuple[pa.Table, pa.Table]:
        """(file rows, ground-truth rows of the creates) for a slice of the batch."""
        b = self.batch
        day = b.day[rows]
        action = b.action[rows]
        create = action == CREATE
        years = _years(day)
        numbers = pc.cast(pa.array(self.record_no[rows]), pa.string())
        ids = self._ids(np.arange(len(b), dtype=np.int64)[rows] + 1)
        parent = b.parent[rows]
        record_id = pc.if_else(pa.array(parent >= 0), self._ids(parent + 1), pa.nulls(len(day), pa.string()))
        subject = pa.array(b.subject[rows])
        null = pa.array(~create)
        true_codes = pc.if_else(null, pa.nulls(len(day), pa.string()), self.codes.take(subject))
        true_names = pc.if_else(null, pa.nulls(len(day), pa.string()), self.names.take(subject))
        codes = self._patched(true_codes, rows, self.written_code)
        names = self._patched(true_names, rows, self.written_name)
        amount = b.amount[rows]
        quantity = b.quantity[rows]
        cols: dict[str, pa.Array] = {
            "event_id": ids,
            "source": pa.repeat(self.source, len(day)),
            "action": pc.if_else(
                null, pa.array(np.array(ACTIONS, dtype=object)[action], pa.string()), pa.nulls(len(day), pa.string())
            ),
            "record_id": record_id,
            "subject_id": codes,
            "subject_name": names,
            "type": pc.if_else(null, pa.nulls(len(day), pa.string()), _column(b.type.take(rows), years, numbers)),
            "decided_on": pc.cast(pa.array(day, pa.int32()).cast(pa.date32()), pa.string()),
            "document_no": _column(b.document.take(rows), years, numbers)
            if b.document is not None
            else pa.nulls(len(day), pa.string()),
            "amount": pc.cast(pa.array(amount, mask=np.isnan(amount)), pa.string()),
            "quantity": pc.cast(pa.array(quantity, mask=quantity < 0), pa.string()),
        }
        for name in self.attributes:
            if name == "person_id" and b.person is not None:
                person = b.person[rows]
                taken = self.person_codes.take(pa.array(np.maximum(person, 0)))
                cols[name] = pc.if_else(pa.array(person >= 0), taken, pa.nulls(len(day), pa.string()))
            elif name in b.attrs:
                cols[name] = _column(b.attrs[name].take(rows), years, numbers)
            else:
                cols[name] = pa.nulls(len(day), pa.string())
        table = pa.table(cols)
        err = self.error[rows]
        kinds = np.array(("", *KINDS), dtype=object)[err + 1]
        truth = pa.table(
            {
                "event_id": ids,
                "source": cols["source"],
                "type": cols["type"],
                "decided_on": pa.array(day, pa.int32()).cast(pa.date32()),
                "subject_id": true_codes,
                "subject_name": true_names,
                "written_subject_id": codes,
                "written_name": names,
                "error": pa.array(kinds, pa.string()),
            },
            schema=TRUTH_SCHEMA,
        ).filter(pa.array(create))
        return table, truth

    def write(self, path: Path, fmt: Format, truth: pq.ParquetWriter) -> None:
        n = len(self.batch)
        writer: pacsv.CSVWriter | pq.ParquetWriter | None = None
        try:
            for lo in range(0, max(n, 1), CHUNK):
                table, truth_rows = self.table(slice(lo, min(n, lo + CHUNK)))
                if writer is None:
                    writer = (
                        pacsv.CSVWriter(path, table.schema)
                        if fmt == "csv"
                        else pq.ParquetWriter(path, table.schema, compression="zstd")
                    )
                writer.write_table(table)
                truth.write_table(truth_rows)
        finally:
            if writer is not None:
                writer.close()


def write_population(directory: Path, persons: Persons, orgs: Organisations) -> None:
    """``persons.parquet`` and ``organisations.parquet``: who lives and trades in the city."""
    birth = pa.array(persons.birth, pa.int32()).cast(pa.date32())
    pq.write_table(
        pa.table(
            {
                "subject_id": persons.codes,
                "name": persons.names,
                "sex": pa.array(np.where(persons.male, "male", "female"), pa.string()),
                "birth_date": birth,
            }
        ),
        directory / "persons.parquet",
        compression="zstd",
    )
    pq.write_table(
        pa.table(
            {
                "subject_id": orgs.codes,
                "name": orgs.names,
                "founded": pa.array(orgs.founded, pa.int32()).cast(pa.date32()),
            }
        ),
        directory / "organisations.parquet",
        compression="zstd",
    )
