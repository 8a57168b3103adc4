"""Import leads from a CSV export, through the same intake as every other door.

Each row becomes a submission for `intake_lead`, so validation, deduplication,
account matching, scoring and routing are exactly those of the form and the API.
Columns are found by header name through the source's ImportMapping. The file
is read and checked whole before anything is written, then written in one
transaction: every row is stored, or none is (unless the caller asks to store
the valid rows and report the others).
"""

import csv
import io
import logging
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

from charset_normalizer import from_bytes
from django.db import transaction
from tqdm import tqdm

from handoffs.models import ImportMapping, IntakeChannel, Lead
from handoffs.normalisation import ACCEPTED_FIELDS, normalise_submission, parse_boolean
from handoffs.services import IntakeRejected, intake_lead

logger = logging.getLogger(__name__)

# Not a lead field: a truthy value means the source system already qualified
# the lead, so it is imported as qualified history rather than as a new lead.
CONVERTED = "converted"
MAPPABLE_FIELDS = ACCEPTED_FIELDS | {CONVERTED}
IDENTIFYING_FIELDS = ("email", "external_id")
# The key of a value table that stands for "any other value".
DEFAULT_VALUE = "*"
DELIMITERS = (",", ";", "\t")


class ImportRefused(Exception):
    """The file as a whole cannot be imported; nothing was stored."""


@dataclass(frozen=True)
class RowError:
    """One problem of one row; row 1 is the header, as a spreadsheet counts."""

    row: int
    field: str
    column: str
    message: str

    def __str__(self):
        if not self.field:
            return f"row {self.row}: {self.message}"
        where = self.field
        if self.column and self.column != self.field:
            where = f"{self.field} (column {self.column!r})"
        return f"row {self.row}, {where}: {self.message}"


@dataclass
class ImportReport:
    file_name: str
    encoding: str = ""
    row_count: int = 0
    created_count: int = 0
    repeat_count: int = 0
    qualified_count: int = 0
    errors: list[RowError] = field(default_factory=list)
    is_stored: bool = False

    @property
    def invalid_row_count(self) -> int:
        return len({error.row for error in self.errors})


@dataclass
class ColumnMapping:
    """Where each lead field comes from in one file, and how values translate."""

    columns: dict[str, str]
    positions: dict[str, int]
    values: dict[str, dict[str, str]]
    constants: dict[str, str]

    def translate(self, name: str, raw: str) -> str:
        table = self.values.get(name)
        if not table:
            return raw
        if raw in table:
            return table[raw]
        # Exports disagree on case ("Google", "google"); an exact key wins.
        for key, value in table.items():
            if key.casefold() == raw.casefold():
                return value
        return table.get(DEFAULT_VALUE, raw)

    def submission(self, cells: list[str]) -> dict[str, str]:
        submission = {
            name: "" if value is None else str(value)
            for name, value in self.constants.items()
            if name not in self.columns
        }
        for name, position in self.positions.items():
            raw = cells[position].strip() if position < len(cells) else ""
            submission[name] = self.translate(name, raw)
        return submission


@dataclass
class PreparedRow:
    number: int
    submission: dict
    is_converted: bool


def fold_header(header: str) -> str:
    return re.sub(r"[\s\-]+", "_", header.strip()).casefold()


def describe_position(data: bytes, offset: int) -> str:
    line = data.count(b"\n", 0, offset) + 1
    return f"byte 0x{data[offset]:02X} on line {line}"


def read_text(path: Path, encoding: str | None = None) -> tuple[str, str]:
    """Return the text of a file and the name of the encoding it was read with.

    UTF-8, with or without a byte-order mark, is read as it is. Anything else
    is read only when its encoding is certain: named by the caller, or giving
    the same text under every encoding charset-normalizer finds plausible. A
    guess is refused, because a wrong code page turns "Zoë" into "Zoė" without
    any error, and the garbled name would be stored.
    """
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ImportRefused(f"{path} cannot be read: {error.strerror}.") from error

    if encoding:
        try:
            return data.decode(encoding), encoding
        except LookupError as error:
            raise ImportRefused(f"{encoding!r} is not a known encoding.") from error
        except UnicodeDecodeError as error:
            raise ImportRefused(
                f"{path.name} cannot be read as {encoding}: "
                f"{describe_position(data, error.start)} does not fit it. "
                "Nothing was imported."
            ) from error

    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError as error:
        problem = describe_position(data, error.start)

    readings = {}
    for match in from_bytes(data):
        try:
            readings[match.encoding] = data.decode(match.encoding)
        except (UnicodeDecodeError, LookupError):
            continue
    if len(set(readings.values())) == 1:
        name, text = next(iter(readings.items()))
        logger.warning("import file %s read as %s, not UTF-8", path.name, name)
        return text, name

    raise ImportRefused(
        f"{path.name} is not UTF-8 ({problem} is not valid UTF-8) and its "
        "encoding cannot be detected with certainty, so nothing was imported. "
        "Save the file as UTF-8, or name its encoding with --encoding, for "
        "example --encoding cp1252."
    )


def detect_delimiter(text: str) -> str:
    """Pick the separator the header row uses most: comma, semicolon or tab.

    Spreadsheets in many European locales save "CSV" with semicolons, and their
    "Unicode text" exports with tabs.
    """
    header = text.split("\n", 1)[0]
    counts = {delimiter: header.count(delimiter) for delimiter in DELIMITERS}
    best = max(DELIMITERS, key=lambda delimiter: counts[delimiter])
    return best if counts[best] else ","


def parse_csv(text: str, file_name: str) -> list[list[str]]:
    # newline="" keeps the \r of CRLF files for the csv module, which treats
    # it as part of the line ending instead of leaving it in the last cell.
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=detect_delimiter(text))
    try:
        rows = list(reader)
    except csv.Error as error:
        raise ImportRefused(
            f"{file_name} is not a readable CSV file (line {reader.line_num}): "
            f"{error}. Nothing was imported."
        ) from error
    if not rows or not any(cell.strip() for cell in rows[0]):
        raise ImportRefused(f"{file_name} has no header row. Nothing was imported.")
    return rows


def find_column(header: list[str], column: str, file_name: str) -> int | None:
    names = [name.strip() for name in header]
    found = [index for index, name in enumerate(names) if name == column.strip()]
    if not found:
        found = [
            index
            for index, name in enumerate(names)
            if name.casefold() == column.strip().casefold()
        ]
    if len(found) > 1:
        raise ImportRefused(
            f"{file_name} has {len(found)} columns named {column!r}; rename them "
            "so each field comes from one column. Nothing was imported."
        )
    return found[0] if found else None


def resolve_mapping(
    source: str, header: list[str], overrides: dict[str, str], file_name: str
) -> ColumnMapping:
    """Combine the source's saved mapping, the overrides and the file's header.

    Without a saved mapping, headers that name a lead field ("email",
    "First name") map themselves. An override with an empty column drops the
    field. The source name is the leads' external_source unless the mapping
    sets one.
    """
    saved = ImportMapping.objects.filter(source=source).first()
    if saved is not None:
        columns = dict(saved.columns)
        values = dict(saved.values)
        constants = dict(saved.constants)
    else:
        columns = {
            fold_header(name): name.strip()
            for name in header
            if fold_header(name) in MAPPABLE_FIELDS
        }
        values, constants = {}, {}
    constants = {"external_source": source} | constants

    for name, column in overrides.items():
        if column:
            columns[name] = column
        else:
            columns.pop(name, None)

    unknown = sorted((set(columns) | set(values) | set(constants)) - MAPPABLE_FIELDS)
    if unknown:
        raise ImportRefused(
            f"The mapping for {source} names fields leads do not have: "
            f"{', '.join(unknown)}. The fields are: "
            f"{', '.join(sorted(MAPPABLE_FIELDS))}. Nothing was imported."
        )

    positions = {}
    missing = []
    for name, column in columns.items():
        position = find_column(header, column, file_name)
        if position is None:
            missing.append(f"{column!r} (for {name})")
        else:
            positions[name] = position
    if missing:
        raise ImportRefused(
            f"{file_name} has no column {', '.join(missing)}. Its columns are: "
            f"{', '.join(name.strip() for name in header)}. Nothing was imported."
        )

    if not any(name in columns or constants.get(name) for name in IDENTIFYING_FIELDS):
        raise ImportRefused(
            f"Nothing in {file_name} identifies a lead: map a column to email or "
            "to external_id, for example --map email=Email. Nothing was imported."
        )
    return ColumnMapping(columns, positions, values, constants)


def prepare_row(
    number: int, cells: list[str], header_size: int, mapping: ColumnMapping
) -> tuple[PreparedRow | None, list[RowError]]:
    """Turn one row into a submission and check it as intake will."""
    extra = cells[header_size:]
    if len(cells) < header_size or any(cell.strip() for cell in extra):
        message = f"Has {len(cells)} cells, but the header has {header_size} columns."
        return None, [RowError(number, "", "", message)]

    submission = mapping.submission(cells)
    errors = []

    is_converted = False
    if CONVERTED in submission:
        flag = parse_boolean(submission.pop(CONVERTED))
        if flag is None:
            errors.append(
                RowError(
                    number,
                    CONVERTED,
                    mapping.columns.get(CONVERTED, ""),
                    "Must be yes or no.",
                )
            )
        is_converted = bool(flag)

    for name, messages in normalise_submission(submission).errors.items():
        for message in messages:
            errors.append(
                RowError(number, name, mapping.columns.get(name, ""), message)
            )
    if errors:
        return None, errors
    return PreparedRow(number, submission, is_converted), []


def import_leads(
    path: Path,
    *,
    source: str,
    overrides: dict[str, str] | None = None,
    historical: bool = False,
    skip_invalid: bool = False,
    encoding: str | None = None,
    progress: bool = False,
) -> ImportReport:
    """Import every row of a lead export through `intake_lead`.

    Raises ImportRefused when the file cannot be read or mapped. A bad row is
    reported with its row number and field; unless `skip_invalid`, one bad row
    means nothing is stored. `historical` records every row as closed history
    (routed, no clock, back to nurture); a row whose `converted` field is
    truthy is always recorded as qualified history.
    """
    path = Path(path)
    report = ImportReport(file_name=path.name)
    text, report.encoding = read_text(path, encoding)
    rows = parse_csv(text, path.name)
    header, data = rows[0], rows[1:]
    mapping = resolve_mapping(source, header, overrides or {}, path.name)

    prepared = []
    for number, cells in enumerate(data, start=2):
        if not any(cell.strip() for cell in cells):
            continue
        report.row_count += 1
        row, errors = prepare_row(number, cells, len(header), mapping)
        report.errors.extend(errors)
        if row is not None:
            prepared.append(row)
    if report.errors and not skip_invalid:
        logger.warning(
            "import of %s refused: %s rows invalid", path.name, report.invalid_row_count
        )
        return report

    with transaction.atomic():
        bar = tqdm(
            prepared,
            desc=path.name,
            unit="row",
            file=sys.stderr,
            disable=not progress,
            # A log file or CI console keeps every redraw: redraw it rarely there.
            mininterval=0.5 if sys.stderr.isatty() else 15,
        )
        for row in bar:
            store_row(row, mapping, historical, report)
        if report.errors and not skip_invalid:
            transaction.set_rollback(True)
            report.created_count = report.repeat_count = report.qualified_count = 0
            return report

    report.is_stored = True
    logger.info(
        "import of %s stored %s new leads and %s repeats",
        path.name,
        report.created_count,
        report.repeat_count,
    )
    return report


def store_row(
    row: PreparedRow, mapping: ColumnMapping, historical: bool, report: ImportReport
) -> None:
    # History is closed, so it never swallows a later submission as a touch,
    # sits in a queue or counts toward anyone's capacity. A converted row
    # became an SQL; any other historical row went back to marketing.
    if row.is_converted:
        status = Lead.Status.QUALIFIED
    elif historical:
        status = Lead.Status.NURTURE
    else:
        status = Lead.Status.NEW
    try:
        result = intake_lead(
            row.submission,
            channel=IntakeChannel.IMPORT,
            historical=historical or row.is_converted,
            status=status,
        )
    except IntakeRejected as rejected:
        # Intake wrote nothing for this row; the caller decides about the rest.
        for name, messages in rejected.errors.items():
            column = mapping.columns.get(name, "")
            report.errors.extend(
                RowError(row.number, name, column, message) for message in messages
            )
        return

    if not result.created:
        report.repeat_count += 1
        return
    report.created_count += 1
    if row.is_converted:
        report.qualified_count += 1


def write_error_report(errors: list[RowError], path: Path) -> None:
    """Write the row errors as CSV: row, field, column, message."""
    with Path(path).open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["row", "field", "column", "message"])
        for error in errors:
            writer.writerow([error.row, error.field, error.column, error.message])
