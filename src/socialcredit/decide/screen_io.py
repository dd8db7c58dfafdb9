"""Reading the codes to screen and writing the results (CSV or Parquet)."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq


class ScreenInputError(ValueError):
    """The file to screen cannot be read as asked."""


def read_codes(path: Path, column: str | None) -> pa.ChunkedArray:
    """The column of identity codes of a CSV or Parquet file, as text."""
    if not path.exists():
        raise ScreenInputError(f"{path}: no such file")
    name = path.name.lower()
    try:
        if name.endswith(".parquet"):
            table = pq.read_table(path)
        elif name.endswith((".csv", ".csv.gz", ".txt")):
            table = pacsv.read_csv(
                path, convert_options=pacsv.ConvertOptions(column_types={column or "subject_id": pa.string()})
            )
        else:
            raise ScreenInputError(f"{path}: name the file *.csv or *.parquet")
    except (pa.ArrowInvalid, OSError) as exc:
        raise ScreenInputError(f"{path}: cannot be read ({exc})") from None
    if table.num_columns == 0:
        raise ScreenInputError(f"{path}: no columns")
    chosen = column or ("subject_id" if "subject_id" in table.column_names else table.column_names[0])
    if chosen not in table.column_names:
        raise ScreenInputError(f"{path}: no column {chosen!r} (columns: {', '.join(table.column_names)})")
    values = table.column(chosen)
    return values if values.type == pa.string() else values.cast(pa.string())


def write_result(result: pa.Table, path: Path) -> None:
    """Write screening results; the format follows the file name."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.name.lower().endswith(".parquet"):
        pq.write_table(result, path)
    else:
        pacsv.write_csv(result, path)
