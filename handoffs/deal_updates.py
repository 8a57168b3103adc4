"""Apply a CSV of updates to live deals, row by row, through the deal service.

Unlike a lead import, a file of deal updates is not one unit: it is a list of
changes to deals that have nothing to do with each other, and one deal whose
packet is incomplete must not hold back the stage changes of the rest. So
each row is its own transaction through `change_synced_deal`: a refused row
is reported with its number and reasons (the missing packet items among
them) and changes nothing, and the other rows go on.

The file is UTF-8, with or without a byte-order mark, its lines ended either
way. Its header names the columns, in any order: external_source and
external_id find the deal, and any of `SYNCED_FIELDS` change it. An empty
cell leaves its field as it is. A file whose header is wrong is refused whole
before any row is applied.
"""

import csv
import io
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

from handoffs.deal_changes import DealChangeRefused
from handoffs.deal_sync import SYNCED_FIELDS, UnknownDeal, change_synced_deal
from handoffs.packets import Missing

logger = logging.getLogger(__name__)

IDENTITY_COLUMNS = ("external_source", "external_id")
KNOWN_COLUMNS = frozenset(IDENTITY_COLUMNS + SYNCED_FIELDS)
DELIMITERS = (",", ";", "\t")
SOURCE = "import"


class DealUpdatesRefused(Exception):
    """The file as a whole cannot be read; no row was applied."""


@dataclass(frozen=True)
class RowRefusal:
    """A row that changed nothing; row 1 is the header, as a spreadsheet counts."""

    row: int
    external_source: str
    external_id: str
    errors: dict[str, list[str]]
    missing: tuple[Missing, ...] = ()

    def __str__(self):
        names = " ".join(
            part for part in (self.external_source, self.external_id) if part
        )
        deal = f" ({names})" if names else ""
        reasons = "; ".join(
            f"{name}: {' '.join(texts)}" for name, texts in self.errors.items()
        )
        lines = [f"row {self.row}{deal}: {reasons}"]
        lines += [f"  missing {item.key}: {item.text}" for item in self.missing]
        return "\n".join(lines)


@dataclass
class DealUpdatesReport:
    file_name: str
    row_count: int = 0
    updated_count: int = 0
    closed_count: int = 0
    unchanged_count: int = 0
    unknown_count: int = 0
    refusals: list[RowRefusal] = field(default_factory=list)

    @property
    def refused_count(self) -> int:
        return len(self.refusals)


def fold_header(header: str) -> str:
    return re.sub(r"[\s\-]+", "_", header.strip()).casefold()


def delimiter_of(header_line: str) -> str:
    """The separator the header uses most; exports from Excel often use ";"."""
    return max(DELIMITERS, key=header_line.count)


def read_text(path: Path) -> str:
    try:
        # utf-8-sig drops a byte-order mark and reads a file without one alike.
        return path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise DealUpdatesRefused(
            f"{path.name} is not UTF-8 (byte {error.start} is not): save it as "
            "UTF-8 and import it again."
        ) from None


def read_columns(header: list[str], file_name: str) -> list[str]:
    columns = [fold_header(cell) for cell in header]
    unknown = [
        cell
        for cell, name in zip(header, columns, strict=True)
        if name not in KNOWN_COLUMNS
    ]
    if unknown:
        raise DealUpdatesRefused(
            f"{file_name}: unknown columns {', '.join(map(repr, unknown))}; the "
            f"columns are {', '.join(IDENTITY_COLUMNS + SYNCED_FIELDS)}."
        )
    repeated = sorted({name for name in columns if columns.count(name) > 1})
    if repeated:
        raise DealUpdatesRefused(f"{file_name}: columns named twice: {repeated}.")
    absent = [name for name in IDENTITY_COLUMNS if name not in columns]
    if absent:
        raise DealUpdatesRefused(
            f"{file_name}: no {' or '.join(absent)} column: every row names its "
            "deal by external_source and external_id."
        )
    return columns


def read_rows(path: Path):
    """Each row's number and its non-empty cells by column; blank rows skipped."""
    text = read_text(path)
    first_line = text.split("\n", 1)[0]
    # newline="" keeps quoted line breaks inside a cell for the csv module.
    reader = csv.reader(
        io.StringIO(text, newline=""), delimiter=delimiter_of(first_line)
    )
    header = next(reader, None)
    if not header or not any(cell.strip() for cell in header):
        raise DealUpdatesRefused(f"{path.name} has no header row.")
    columns = read_columns(header, path.name)

    for number, cells in enumerate(reader, start=2):
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) > len(columns):
            yield number, None
            continue
        # A short row is fine: spreadsheets drop the empty cells at its end.
        by_column = zip(columns, cells, strict=False)
        yield number, {name: cell.strip() for name, cell in by_column if cell.strip()}


def apply_row(number: int, cells: dict, report: DealUpdatesReport, now) -> None:
    identity = {name: cells.pop(name, "") for name in IDENTITY_COLUMNS}
    try:
        change = change_synced_deal(
            identity["external_source"],
            identity["external_id"],
            cells,
            source=SOURCE,
            now=now,
        )
    except DealChangeRefused as refused:
        report.unknown_count += isinstance(refused, UnknownDeal)
        report.refusals.append(
            RowRefusal(
                number,
                **identity,
                errors=refused.errors,
                missing=tuple(refused.missing),
            )
        )
        return

    if change.closed is not None and change.closed.is_new:
        report.closed_count += 1
    elif change.changed_fields:
        report.updated_count += 1
    else:
        report.unchanged_count += 1


def import_deal_updates(path: Path, now=None) -> DealUpdatesReport:
    """Apply every row of the file; refusals are reported, not raised.

    Raises `DealUpdatesRefused`, before any row is applied, for a file that
    is not UTF-8 or whose header lacks the identity columns or names others.
    """
    report = DealUpdatesReport(file_name=path.name)
    for number, cells in read_rows(path):
        report.row_count += 1
        if cells is None:
            report.refusals.append(
                RowRefusal(
                    number, "", "", {"non_field_errors": ["More cells than columns."]}
                )
            )
            continue
        apply_row(number, cells, report, now)

    logger.info(
        "deal updates from %s: %s rows, %s refused",
        report.file_name,
        report.row_count,
        report.refused_count,
    )
    return report
