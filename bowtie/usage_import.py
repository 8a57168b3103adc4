"""Import what customers do with the product: accounts, plans, usage, tickets.

One source so far, "ravenstack": the RavenStack synthetic SaaS data set by
River @ Rivalytics (Kaggle rivalytics/saas-subscription-and-churn-analytics-
dataset), whose licence asks for that credit wherever the data is shown. Its
folder holds ravenstack_accounts.csv, ravenstack_subscriptions.csv,
ravenstack_feature_usage.csv and ravenstack_support_tickets.csv. The quirks it
has, and what this module does about them:

- CRLF line endings and `True`/`False` booleans: read as such.
- `usage_id` repeats across different subscriptions: a usage row is keyed by
  its id and its subscription, so all 25,000 rows are kept.
- Usage dates fall outside their subscription's window (most before its
  start): kept as they are; nothing here or in the health score assumes usage
  lies inside a subscription.
- A blank `end_date` is an open subscription.
- `satisfaction_score` is blank or a float string such as "4.0".
- Ticket `submitted_at` is a date, `closed_at` a time (taken as UTC); when
  `resolution_time_hours` is blank it is worked out from the two, the way the
  source counts it: from midnight of the day submitted.
- Country codes are ISO 3166 except "UK", which is stored as GB.

Every file is read and checked before anything is written. A row that cannot
be read is reported with its file, line, column and reason, all of them at
once, and then nothing is stored. Otherwise everything is written in one
transaction. Rows are keyed by source and the source's id, and rows already
stored are skipped, so a second import of the same folder adds nothing.

Accounts are matched by the source's id (`Account.external_id`) first, then by
name; a matched account keeps its name, owner and every value it already has,
and only blanks are filled in. The usage rows are facts from another system,
not business events, so they are written here in bulk and not through a
service; accounts keep their audit history through the bulk history helpers.
"""

import csv
import io
import logging
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path

from django.db import transaction
from django.utils import timezone
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from bowtie.countries import recognise_country
from bowtie.models import Account, ProductUsage, Subscription, SupportTicket

logger = logging.getLogger(__name__)

RAVENSTACK = "ravenstack"
SOURCE_LABELS = {
    RAVENSTACK: "RavenStack synthetic SaaS data by River @ Rivalytics",
}
DEFAULT_FOLDER_NAME = "ravenstack-saas-subscription-churn"

ACCOUNTS_FILE = "ravenstack_accounts.csv"
SUBSCRIPTIONS_FILE = "ravenstack_subscriptions.csv"
USAGE_FILE = "ravenstack_feature_usage.csv"
TICKETS_FILE = "ravenstack_support_tickets.csv"
FILES = (ACCOUNTS_FILE, SUBSCRIPTIONS_FILE, USAGE_FILE, TICKETS_FILE)

COLUMNS = {
    ACCOUNTS_FILE: ("account_id", "account_name", "industry", "country"),
    SUBSCRIPTIONS_FILE: (
        "subscription_id",
        "account_id",
        "start_date",
        "end_date",
        "plan_tier",
        "seats",
        "mrr_amount",
        "is_trial",
        "upgrade_flag",
        "downgrade_flag",
        "billing_frequency",
        "auto_renew_flag",
    ),
    USAGE_FILE: (
        "usage_id",
        "subscription_id",
        "usage_date",
        "feature_name",
        "usage_count",
        "usage_duration_secs",
        "error_count",
        "is_beta_feature",
    ),
    TICKETS_FILE: (
        "ticket_id",
        "account_id",
        "submitted_at",
        "closed_at",
        "resolution_time_hours",
        "priority",
        "first_response_time_minutes",
        "satisfaction_score",
        "escalation_flag",
    ),
}

# The data set states its amounts in US dollars.
CURRENCY = "USD"
BATCH_SIZE = 2000
BOOLEANS = {"true": True, "false": False}
TENTH = Decimal("0.1")


class UsageImportError(Exception):
    """The folder cannot be imported as it is; nothing was stored."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass
class UsageImportSummary:
    folder: Path
    source: str
    accounts_created: int = 0
    accounts_matched: int = 0
    # Matched accounts whose blank country, industry or id were filled in.
    accounts_completed: int = 0
    subscriptions_added: int = 0
    usage_added: int = 0
    tickets_added: int = 0
    # Rows of each file left out because their key was stored already or
    # came earlier in the same file.
    duplicates: Counter = field(default_factory=Counter)

    @property
    def added_count(self) -> int:
        return (
            self.accounts_created
            + self.subscriptions_added
            + self.usage_added
            + self.tickets_added
        )


class CellError(ValueError):
    """A cell that cannot be read; the message is the reason."""


class FileReader:
    """The rows of one CSV file by column name, with the problems found.

    `cell` reads one cell through a parser and records a problem naming the
    file, line and column when it fails, returning None.
    """

    def __init__(self, folder: Path, name: str, problems: list[str]):
        self.name = name
        self.problems = problems
        self.line = 1
        self.records = self.read(folder / name)

    def read(self, path: Path) -> list[tuple[int, dict]]:
        try:
            data = path.read_bytes()
        except OSError as error:
            self.problems.append(f"{self.name}: cannot be read ({error.strerror}).")
            return []
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            line = data.count(b"\n", 0, error.start) + 1
            self.problems.append(f"{self.name}, line {line}: is not UTF-8.")
            return []

        reader = csv.reader(io.StringIO(text, newline=""))
        try:
            header = [name.strip().casefold() for name in next(reader, [])]
            missing = [name for name in COLUMNS[self.name] if name not in header]
            for name in missing:
                self.problems.append(
                    f"{self.name}, line 1, column {name}: missing from the header."
                )
            if missing:
                return []
            positions = {name: header.index(name) for name in COLUMNS[self.name]}

            records = []
            for cells in reader:
                # line_num is the line the record ends on: the same line
                # unless a quoted cell holds a line break.
                if not any(cell.strip() for cell in cells):
                    continue
                if len(cells) != len(header):
                    self.problems.append(
                        f"{self.name}, line {reader.line_num}: has {len(cells)} "
                        f"cells where the header has {len(header)}."
                    )
                    continue
                row = {name: cells[index].strip() for name, index in positions.items()}
                records.append((reader.line_num, row))
        except csv.Error as error:
            self.problems.append(
                f"{self.name}, line {reader.line_num}: is not readable CSV ({error})."
            )
            return []
        return records

    def __iter__(self) -> Iterator[dict]:
        for line, row in self.records:
            self.line = line
            self.problems_before = len(self.problems)
            yield row

    def is_row_unreadable(self) -> bool:
        """Whether a cell of the current row was reported as a problem."""
        return len(self.problems) > self.problems_before

    def __len__(self) -> int:
        return len(self.records)

    def problem(self, column: str, reason: str) -> None:
        self.problems.append(
            f"{self.name}, line {self.line}, column {column}: {reason}"
        )

    def cell(self, row: dict, column: str, parse: Callable):
        try:
            return parse(row[column])
        except CellError as error:
            self.problem(column, f"{error} (found {row[column]!r}).")
            return None


def required_text(text: str) -> str:
    if not text:
        raise CellError("is blank")
    return text


def boolean(text: str) -> bool:
    try:
        return BOOLEANS[text.casefold()]
    except KeyError:
        raise CellError("is not True or False") from None


def iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise CellError("is not a date (YYYY-MM-DD)") from None


def optional_date(text: str) -> date | None:
    return iso_date(text) if text else None


def optional_utc_time(text: str) -> datetime | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise CellError("is not a date and time (YYYY-MM-DD HH:MM:SS)") from None
    return moment if timezone.is_aware(moment) else moment.replace(tzinfo=UTC)


def amount(text: str) -> Decimal:
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise CellError("is not a number") from None
    if not number.is_finite() or number < 0:
        raise CellError("is not a number of 0 or more")
    return number


def whole(text: str) -> int:
    """A count of 0 or more; "4.0" is read as 4, as the source writes some."""
    number = amount(text)
    if number != number.to_integral_value():
        raise CellError("is not a whole number")
    return int(number)


def optional_whole(text: str) -> int | None:
    return whole(text) if text else None


def satisfaction(text: str) -> int | None:
    score = optional_whole(text)
    if score is not None and not 1 <= score <= 5:
        raise CellError("is not a score from 1 to 5")
    return score


def optional_hours(text: str) -> Decimal | None:
    return amount(text).quantize(TENTH, ROUND_HALF_UP) if text else None


def country_code(text: str) -> str:
    if not text:
        return ""
    code = recognise_country(text)
    if code is None:
        raise CellError("is not a country")
    return code


@dataclass
class Folder:
    """The four files, read and checked, as the values to store."""

    accounts: dict[str, dict]
    subscriptions: dict[str, dict]
    usage: dict[tuple[str, str], dict]
    tickets: dict[str, dict]
    # Rows whose key came earlier in the same file, per file.
    repeated: Counter


def read_folder(folder: Path) -> Folder:
    """Read and check every file; raise UsageImportError listing each problem."""
    if not folder.is_dir():
        raise UsageImportError(
            [
                f"{folder} does not exist or is not a folder: name the folder "
                "that holds the files."
            ]
        )
    problems: list[str] = []
    repeated: Counter = Counter()

    readers = {name: FileReader(folder, name, problems) for name in FILES}
    accounts = read_accounts(readers[ACCOUNTS_FILE], repeated)
    subscriptions = read_subscriptions(
        readers[SUBSCRIPTIONS_FILE], set(accounts), repeated
    )
    usage = read_usage(readers[USAGE_FILE], set(subscriptions), repeated)
    tickets = read_tickets(readers[TICKETS_FILE], set(accounts), repeated)

    if problems:
        raise UsageImportError(problems)
    return Folder(accounts, subscriptions, usage, tickets, repeated)


def read_accounts(reader: FileReader, repeated: Counter) -> dict[str, dict]:
    accounts: dict[str, dict] = {}
    names: set[str] = set()
    for row in reader:
        external_id = reader.cell(row, "account_id", required_text)
        name = reader.cell(row, "account_name", required_text)
        country = reader.cell(row, "country", country_code)
        if reader.is_row_unreadable():
            continue
        if external_id in accounts:
            repeated[reader.name] += 1
            continue
        if name in names:
            reader.problem("account_name", f"{name!r} names two accounts.")
            continue

        names.add(name)
        accounts[external_id] = {
            "name": name,
            "industry": row["industry"],
            "country": country,
        }
    return accounts


def read_subscriptions(
    reader: FileReader, account_ids: set[str], repeated: Counter
) -> dict[str, dict]:
    subscriptions: dict[str, dict] = {}
    for row in reader:
        values = {
            "external_id": reader.cell(row, "subscription_id", required_text),
            "account": reader.cell(row, "account_id", required_text),
            "started_on": reader.cell(row, "start_date", iso_date),
            # Blank: the subscription is still open.
            "ended_on": reader.cell(row, "end_date", optional_date),
            "plan_tier": row["plan_tier"],
            "seats": reader.cell(row, "seats", whole),
            "monthly_amount": reader.cell(row, "mrr_amount", amount),
            "currency": CURRENCY,
            "is_trial": reader.cell(row, "is_trial", boolean),
            "was_upgraded": reader.cell(row, "upgrade_flag", boolean),
            "was_downgraded": reader.cell(row, "downgrade_flag", boolean),
            "renews_automatically": reader.cell(row, "auto_renew_flag", boolean),
            "billing_frequency": row["billing_frequency"],
        }
        if reader.is_row_unreadable():
            continue
        if values["account"] not in account_ids:
            reader.problem("account_id", f"{values['account']!r} is not an account.")
            continue
        if values["external_id"] in subscriptions:
            repeated[reader.name] += 1
            continue

        subscriptions[values["external_id"]] = values
    return subscriptions


def read_usage(
    reader: FileReader, subscription_ids: set[str], repeated: Counter
) -> dict[tuple[str, str], dict]:
    usage: dict[tuple[str, str], dict] = {}
    for row in reader:
        values = {
            "external_id": reader.cell(row, "usage_id", required_text),
            "subscription": reader.cell(row, "subscription_id", required_text),
            "used_on": reader.cell(row, "usage_date", iso_date),
            "feature": reader.cell(row, "feature_name", required_text),
            "usage_count": reader.cell(row, "usage_count", whole),
            "duration_seconds": reader.cell(row, "usage_duration_secs", whole),
            "error_count": reader.cell(row, "error_count", whole),
            "is_beta_feature": reader.cell(row, "is_beta_feature", boolean),
        }
        if reader.is_row_unreadable():
            continue
        if values["subscription"] not in subscription_ids:
            reader.problem(
                "subscription_id",
                f"{values['subscription']!r} is not a subscription.",
            )
            continue
        # The source repeats usage ids across subscriptions (PROVENANCE.md),
        # so the id alone would drop real rows.
        key = (values["external_id"], values["subscription"])
        if key in usage:
            repeated[reader.name] += 1
            continue

        usage[key] = values
    return usage


def read_tickets(
    reader: FileReader, account_ids: set[str], repeated: Counter
) -> dict[str, dict]:
    tickets: dict[str, dict] = {}
    for row in reader:
        values = {
            "external_id": reader.cell(row, "ticket_id", required_text),
            "account": reader.cell(row, "account_id", required_text),
            "submitted_on": reader.cell(row, "submitted_at", iso_date),
            "closed_at": reader.cell(row, "closed_at", optional_utc_time),
            "resolution_hours": reader.cell(
                row, "resolution_time_hours", optional_hours
            ),
            "priority": row["priority"],
            "first_response_minutes": reader.cell(
                row, "first_response_time_minutes", optional_whole
            ),
            "satisfaction": reader.cell(row, "satisfaction_score", satisfaction),
            "is_escalated": reader.cell(row, "escalation_flag", boolean),
        }
        if reader.is_row_unreadable():
            continue
        if values["account"] not in account_ids:
            reader.problem("account_id", f"{values['account']!r} is not an account.")
            continue
        if values["external_id"] in tickets:
            repeated[reader.name] += 1
            continue

        if values["resolution_hours"] is None and values["closed_at"] is not None:
            values["resolution_hours"] = hours_since_midnight(
                values["submitted_on"], values["closed_at"]
            )
        tickets[values["external_id"]] = values
    return tickets


def hours_since_midnight(submitted_on: date, closed_at: datetime) -> Decimal:
    opened = datetime.combine(submitted_on, time(), tzinfo=UTC)
    seconds = Decimal((closed_at - opened).total_seconds())
    return max(seconds / 3600, Decimal(0)).quantize(TENTH, ROUND_HALF_UP)


def import_usage(
    folder: Path,
    *,
    source: str = RAVENSTACK,
    report: Callable[[str], None] | None = None,
) -> UsageImportSummary:
    """Import a source's folder, all or nothing; a second run adds nothing.

    `report` receives a line per file as it is stored. Raises UsageImportError
    with every problem found, and then nothing is stored.
    """
    if source not in SOURCE_LABELS:
        raise UsageImportError([f"{source!r} is not a known source."])
    folder = Path(folder)
    report = report or (lambda line: None)
    summary = UsageImportSummary(folder=folder, source=source)

    read = read_folder(folder)

    with transaction.atomic():
        accounts = store_accounts(read, summary)
        report(
            f"{ACCOUNTS_FILE}: {len(read.accounts)} accounts, "
            f"{summary.accounts_created} created, {summary.accounts_matched} matched"
        )

        subscriptions = store_subscriptions(read, source, accounts, summary)
        report(
            f"{SUBSCRIPTIONS_FILE}: {len(read.subscriptions)} subscriptions, "
            f"{summary.subscriptions_added} added, "
            f"{summary.duplicates[SUBSCRIPTIONS_FILE]} duplicates skipped"
        )

        store_usage(read, source, subscriptions, summary)
        report(
            f"{USAGE_FILE}: {len(read.usage)} usage rows, "
            f"{summary.usage_added} added, "
            f"{summary.duplicates[USAGE_FILE]} duplicates skipped"
        )

        store_tickets(read, source, accounts, summary)
        report(
            f"{TICKETS_FILE}: {len(read.tickets)} tickets, "
            f"{summary.tickets_added} added, "
            f"{summary.duplicates[TICKETS_FILE]} duplicates skipped"
        )

    logger.info(
        "usage import from %s added %s rows",
        source,
        summary.added_count,
        extra={"source": source},
    )
    return summary


def store_accounts(read: Folder, summary: UsageImportSummary) -> dict[str, int]:
    """Return account pks by the source's id, creating the accounts not found."""
    rows = read.accounts
    by_id = {
        account.external_id: account
        for account in Account.objects.filter(external_id__in=list(rows))
    }
    unmatched_names = {
        values["name"]
        for external_id, values in rows.items()
        if external_id not in by_id
    }
    by_name = {
        account.name: account
        for account in Account.objects.filter(name__in=unmatched_names)
    }

    matched: dict[str, Account] = {}
    completed: list[Account] = []
    new: list[Account] = []
    now = timezone.now()
    for external_id, values in rows.items():
        account = by_id.get(external_id) or by_name.get(values["name"])
        if account is None:
            new.append(Account(external_id=external_id, **values))
            continue

        matched[external_id] = account
        # Only blanks are filled: the CRM, not a usage export, is the
        # master of an account's firmographics, and of its owner.
        filled = {"external_id": external_id, **values}
        changed = False
        for name in ("external_id", "country", "industry"):
            if not getattr(account, name) and filled[name]:
                setattr(account, name, filled[name])
                changed = True
        if account.external_id != external_id:
            logger.warning(
                "account %s matched by name keeps its id %s",
                account.pk,
                account.external_id,
                extra={"account_id": account.pk},
            )
        if changed:
            account.updated_at = now
            completed.append(account)

    if new:
        bulk_create_with_history(new, Account, batch_size=BATCH_SIZE)
    if completed:
        bulk_update_with_history(
            completed,
            Account,
            ["external_id", "country", "industry", "updated_at"],
            batch_size=BATCH_SIZE,
        )
    summary.accounts_created = len(new)
    summary.accounts_matched = len(matched)
    summary.duplicates[ACCOUNTS_FILE] = read.repeated[ACCOUNTS_FILE]
    summary.accounts_completed = len(completed)

    created = Account.objects.filter(name__in=[account.name for account in new])
    names = {account.name: account.pk for account in created}
    pks = {external_id: account.pk for external_id, account in matched.items()}
    for external_id, values in rows.items():
        pks.setdefault(external_id, names.get(values["name"]))
    return pks


# TODO(usage-import): rows stored already are skipped, not compared, so a
# refreshed export that closes a subscription or a ticket is not applied. The
# RavenStack copy never changes; compare and update once a live product's
# exports are imported.
def store_subscriptions(
    read: Folder, source: str, accounts: dict, summary: UsageImportSummary
) -> dict[str, tuple[int, int]]:
    """Return (pk, account pk) of every subscription of the source by its id."""
    stored = set(
        Subscription.objects.filter(source=source).values_list("external_id", flat=True)
    )
    new = []
    for external_id, values in read.subscriptions.items():
        if external_id in stored:
            continue
        fields = {**values, "account_id": accounts[values["account"]]}
        del fields["account"]
        new.append(Subscription(source=source, **fields))

    insert(Subscription, new)
    summary.subscriptions_added = len(new)
    summary.duplicates[SUBSCRIPTIONS_FILE] = (
        read.repeated[SUBSCRIPTIONS_FILE] + len(read.subscriptions) - len(new)
    )

    return {
        external_id: (pk, account_id)
        for external_id, pk, account_id in Subscription.objects.filter(
            source=source
        ).values_list("external_id", "pk", "account_id")
    }


def store_usage(
    read: Folder, source: str, subscriptions: dict, summary: UsageImportSummary
) -> None:
    stored = set(
        ProductUsage.objects.filter(source=source).values_list(
            "external_id", "subscription__external_id"
        )
    )
    new = []
    for key, values in read.usage.items():
        if key in stored:
            continue
        # The account comes from the subscription: the file names no account.
        subscription_pk, account_pk = subscriptions[values["subscription"]]
        fields = {
            **values,
            "subscription_id": subscription_pk,
            "account_id": account_pk,
        }
        del fields["subscription"]
        new.append(ProductUsage(source=source, **fields))

    insert(ProductUsage, new)
    summary.usage_added = len(new)
    summary.duplicates[USAGE_FILE] = (
        read.repeated[USAGE_FILE] + len(read.usage) - len(new)
    )


def store_tickets(
    read: Folder, source: str, accounts: dict, summary: UsageImportSummary
) -> None:
    stored = set(
        SupportTicket.objects.filter(source=source).values_list(
            "external_id", flat=True
        )
    )
    new = []
    for external_id, values in read.tickets.items():
        if external_id in stored:
            continue
        fields = {**values, "account_id": accounts[values["account"]]}
        del fields["account"]
        new.append(SupportTicket(source=source, **fields))

    insert(SupportTicket, new)
    summary.tickets_added = len(new)
    summary.duplicates[TICKETS_FILE] = (
        read.repeated[TICKETS_FILE] + len(read.tickets) - len(new)
    )


def insert(model, rows: list) -> None:
    # Rows stored already were left out above; ignore_conflicts covers an
    # import of the same folder running at the same time, which then adds
    # nothing twice (the unique constraints hold the key).
    for start in range(0, len(rows), BATCH_SIZE):
        model.objects.bulk_create(
            rows[start : start + BATCH_SIZE], ignore_conflicts=True
        )
