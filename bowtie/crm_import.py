"""Import a CRM export as history: accounts, people, teams, products and deals.

The export is a folder of four CSV files in the layout of the Maven Analytics
"CRM + Sales + Opportunities" data set (accounts.csv, products.csv,
sales_teams.csv, sales_pipeline.csv), columns in any order. Every file is read
and checked before anything is written; then everything is written in one
transaction, or nothing is.

Each row is found by a natural key (account and team names, a person's derived
e-mail, a product's lookup key, the opportunity id) and written only where a
value differs, so importing the same export again changes nothing. Deals are
history: they open no handoffs and start no clocks.

History is written here with the ORM, in bulk, and not through the live deal
service (`handoffs.deal_changes`): these deals are closed in their source
system and pass no gate, and the core domain does not reach into the apps
above it. What the apps above keep
about a won deal (its packet, its renewal) they write through the
`record_won_deals` hook, called in the same transaction, so it is all or
nothing too.
"""

import csv
import io
import logging
import re
import sys
import unicodedata
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone
from djmoney.money import Money
from simple_history.utils import bulk_create_with_history, bulk_update_with_history
from tqdm import tqdm

from bowtie.countries import recognise_country
from bowtie.exchange import stamp_base_rates, today
from bowtie.models import (
    Account,
    Deal,
    Person,
    Pipeline,
    Product,
    Team,
    product_lookup_key,
)

logger = logging.getLogger(__name__)

DEFAULT_SOURCE = "maven"
DEFAULT_EMAIL_DOMAIN = "maven.example"
CURRENCY = "USD"

COLUMNS = {
    "accounts.csv": (
        "account",
        "sector",
        "year_established",
        "revenue",
        "employees",
        "office_location",
        "subsidiary_of",
    ),
    "products.csv": ("product", "series", "sales_price"),
    "sales_teams.csv": ("sales_agent", "manager", "regional_office"),
    "sales_pipeline.csv": (
        "opportunity_id",
        "sales_agent",
        "product",
        "account",
        "deal_stage",
        "engage_date",
        "close_date",
        "close_value",
    ),
}

# Misspellings in the export's reference data, corrected on the way in so that
# reports group "technolgy" accounts with the "technology" ones.
SECTOR_CORRECTIONS = {"technolgy": "technology"}

# The export states revenue in millions of US dollars.
REVENUE_UNIT = Decimal(1_000_000)
DEAL_BATCH_SIZE = 500


class CrmImportError(Exception):
    """The export cannot be imported as it is; nothing was stored."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass
class Changes:
    """Rows created and updated per kind; a row created once counts once."""

    created: Counter = field(default_factory=Counter)
    updated: Counter = field(default_factory=Counter)
    removed: Counter = field(default_factory=Counter)
    # Deals created without a rate of creation: their currency had none.
    unrated: Counter = field(default_factory=Counter)
    _new: set = field(default_factory=set)
    _touched: set = field(default_factory=set)

    def record_created(self, instance, kind: str = "") -> None:
        kind = kind or instance._meta.verbose_name_plural
        self.created[kind] += 1
        self._new.add((kind, instance.pk))

    def record_updated(self, instance, kind: str = "") -> None:
        kind = kind or instance._meta.verbose_name_plural
        key = (kind, instance.pk)
        if key in self._new or key in self._touched:
            return
        self._touched.add(key)
        self.updated[kind] += 1


@dataclass
class CrmImportSummary:
    folder: Path
    account_count: int = 0
    person_count: int = 0
    team_count: int = 0
    product_count: int = 0
    deal_count: int = 0
    changes: Changes = field(default_factory=Changes)

    @property
    def is_unchanged(self) -> bool:
        changes = self.changes
        return not (changes.created or changes.updated or changes.removed)


@dataclass(frozen=True)
class AccountRow:
    name: str
    industry: str
    country: str
    employee_count: int | None
    annual_revenue: Decimal | None
    founded_year: int | None
    parent_name: str


@dataclass(frozen=True)
class ProductRow:
    name: str
    series: str
    list_price: Decimal | None


@dataclass(frozen=True)
class RosterRow:
    agent: str
    manager: str
    office: str


@dataclass(frozen=True)
class OpportunityRow:
    external_id: str
    agent: str
    product_key: str
    account_name: str
    stage_name: str
    engaged_on: date | None
    closed_on: date | None
    close_value: Decimal | None


@dataclass
class Export:
    accounts: list[AccountRow]
    products: list[ProductRow]
    roster: list[RosterRow]
    opportunities: list[OpportunityRow]


class RowReader:
    """Read one file's rows by column name, collecting problems as it goes."""

    def __init__(self, folder: Path, name: str, problems: list[str]):
        self.name = name
        self.problems = problems
        self.rows = read_rows(folder / name, COLUMNS[name])
        self.number = 1

    def __iter__(self):
        for number, row in self.rows:
            self.number = number
            yield row

    def problem(self, message: str) -> None:
        self.problems.append(f"{self.name}, row {self.number}: {message}")

    def number_or_none(self, text: str, label: str) -> Decimal | None:
        if not text:
            return None
        try:
            number = Decimal(text.replace(",", ""))
        except InvalidOperation:
            self.problem(f"{label} {text!r} is not a number.")
            return None
        if not number.is_finite() or number < 0:
            self.problem(f"{label} {text!r} is not a number of 0 or more.")
            return None
        return number

    def whole_or_none(self, text: str, label: str) -> int | None:
        number = self.number_or_none(text, label)
        if number is None:
            return None
        if number != number.to_integral_value():
            self.problem(f"{label} {text!r} is not a whole number.")
            return None
        return int(number)

    def date_or_none(self, text: str, label: str) -> date | None:
        if not text:
            return None
        try:
            return date.fromisoformat(text)
        except ValueError:
            self.problem(f"{label} {text!r} is not a date (YYYY-MM-DD).")
            return None


def read_rows(path: Path, columns: tuple[str, ...]) -> list[tuple[int, dict]]:
    """Return (row number, cells by column) for each row; the header is row 1."""
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as error:
        raise CrmImportError([f"{path} cannot be read: {error.strerror}."]) from error
    except UnicodeDecodeError as error:
        line = path.read_bytes().count(b"\n", 0, error.start) + 1
        raise CrmImportError(
            [f"{path.name} is not UTF-8 (line {line}); save it as UTF-8."]
        ) from error

    try:
        records = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as error:
        problem = f"{path.name} is not a readable CSV file: {error}."
        raise CrmImportError([problem]) from error
    header = [name.strip().casefold() for name in (records[0] if records else [])]
    missing = [name for name in columns if name not in header]
    if missing:
        raise CrmImportError([f"{path.name} has no column {', '.join(missing)}."])
    positions = {name: header.index(name) for name in columns}

    rows = []
    for number, cells in enumerate(records[1:], start=2):
        if not any(cell.strip() for cell in cells):
            continue
        cells = cells + [""] * (len(header) - len(cells))
        rows.append(
            (number, {name: cells[index].strip() for name, index in positions.items()})
        )
    return rows


def person_email(full_name: str, domain: str) -> str:
    """Derive a stable address, firstname.lastname@domain, from a name."""
    plain = unicodedata.normalize("NFKD", full_name).encode("ascii", "ignore").decode()
    words = re.findall(r"[a-z0-9]+(?:-[a-z0-9]+)*", plain.casefold())
    return f"{'.'.join(words)}@{domain}"


def read_export(folder: Path) -> Export:
    """Read and check the four files; raise CrmImportError listing every problem."""
    folder = Path(folder)
    if not folder.is_dir():
        raise CrmImportError([f"{folder} is not a folder."])
    problems: list[str] = []

    accounts = read_accounts(RowReader(folder, "accounts.csv", problems))
    products = read_products(RowReader(folder, "products.csv", problems))
    roster = read_roster(RowReader(folder, "sales_teams.csv", problems))
    opportunities = read_opportunities(
        RowReader(folder, "sales_pipeline.csv", problems)
    )
    check_references(accounts, products, roster, opportunities, problems)

    if problems:
        raise CrmImportError(problems)
    return Export(accounts, products, roster, opportunities)


def read_accounts(reader: RowReader) -> list[AccountRow]:
    accounts = []
    names = set()
    for row in reader:
        name = row["account"]
        if not name:
            reader.problem("account is blank.")
            continue
        if name in names:
            reader.problem(f"account {name!r} appears twice.")
            continue
        names.add(name)

        country = ""
        if row["office_location"]:
            country = recognise_country(row["office_location"]) or ""
            if not country:
                reader.problem(
                    f"office_location {row['office_location']!r} is not a country."
                )
        sector = row["sector"].casefold()
        accounts.append(
            AccountRow(
                name=name,
                industry=SECTOR_CORRECTIONS.get(sector, sector),
                country=country,
                employee_count=reader.whole_or_none(row["employees"], "employees"),
                annual_revenue=reader.number_or_none(row["revenue"], "revenue"),
                founded_year=reader.whole_or_none(
                    row["year_established"], "year_established"
                ),
                parent_name=row["subsidiary_of"],
            )
        )
    return accounts


def read_products(reader: RowReader) -> list[ProductRow]:
    products = []
    keys = set()
    for row in reader:
        name = row["product"]
        if not name:
            reader.problem("product is blank.")
            continue
        if product_lookup_key(name) in keys:
            reader.problem(f"product {name!r} appears twice.")
            continue
        keys.add(product_lookup_key(name))
        products.append(
            ProductRow(
                name=name,
                series=row["series"],
                list_price=reader.number_or_none(row["sales_price"], "sales_price"),
            )
        )
    return products


def read_roster(reader: RowReader) -> list[RosterRow]:
    roster = []
    agents = set()
    manager_offices: dict[str, str] = {}
    for row in reader:
        agent, manager = row["sales_agent"], row["manager"]
        office = row["regional_office"]
        if not (agent and manager and office):
            reader.problem("sales_agent, manager and regional_office are all needed.")
            continue
        if agent in agents:
            reader.problem(f"sales agent {agent!r} appears twice.")
            continue
        if manager_offices.setdefault(manager, office) != office:
            reader.problem(
                f"manager {manager!r} is in both {manager_offices[manager]} and "
                f"{office}."
            )
            continue
        agents.add(agent)
        roster.append(RosterRow(agent, manager, office))
    return roster


def read_opportunities(reader: RowReader) -> list[OpportunityRow]:
    opportunities = []
    ids = set()
    for row in reader:
        external_id = row["opportunity_id"]
        if not external_id:
            reader.problem("opportunity_id is blank.")
            continue
        if external_id in ids:
            reader.problem(f"opportunity_id {external_id!r} appears twice.")
            continue
        ids.add(external_id)
        opportunities.append(
            OpportunityRow(
                external_id=external_id,
                agent=row["sales_agent"],
                product_key=product_lookup_key(row["product"]),
                account_name=row["account"],
                stage_name=row["deal_stage"],
                engaged_on=reader.date_or_none(row["engage_date"], "engage_date"),
                closed_on=reader.date_or_none(row["close_date"], "close_date"),
                close_value=reader.number_or_none(row["close_value"], "close_value"),
            )
        )
    return opportunities


def check_references(accounts, products, roster, opportunities, problems) -> None:
    account_names = {account.name for account in accounts}
    for account in accounts:
        if account.parent_name and account.parent_name not in account_names:
            problems.append(
                f"accounts.csv: {account.name!r} is a subsidiary of "
                f"{account.parent_name!r}, which is not an account."
            )
    if not problems:
        try:
            parents_first(accounts)
        except ValueError as error:
            problems.append(f"accounts.csv: {error}")

    people = {row.agent for row in roster} | {row.manager for row in roster}
    product_keys = {product_lookup_key(product.name) for product in products}
    unknown = Counter()
    for opportunity in opportunities:
        if opportunity.agent not in people:
            unknown[f"sales agent {opportunity.agent!r}"] += 1
        if opportunity.product_key not in product_keys:
            unknown[f"product key {opportunity.product_key!r}"] += 1
        if opportunity.account_name and opportunity.account_name not in account_names:
            unknown[f"account {opportunity.account_name!r}"] += 1
    for what, count in sorted(unknown.items()):
        problems.append(
            f"sales_pipeline.csv: {count} opportunities name the unknown {what}."
        )


def parents_first(accounts: list[AccountRow]) -> list[AccountRow]:
    """Order accounts so that every parent comes before its subsidiaries."""
    by_name = {account.name: account for account in accounts}
    ordered, placed = [], set()

    def place(account: AccountRow, path: tuple[str, ...]) -> None:
        if account.name in placed:
            return
        if account.name in path:
            raise ValueError(f"{' > '.join(path + (account.name,))} is a loop.")
        if account.parent_name:
            place(by_name[account.parent_name], path + (account.name,))
        placed.add(account.name)
        ordered.append(account)

    for account in accounts:
        place(account, ())
    return ordered


def differs(instance, name: str, value) -> bool:
    model_field = instance._meta.get_field(name)
    if model_field.is_relation:
        return getattr(instance, model_field.attname) != (
            value.pk if value is not None else None
        )
    return getattr(instance, name) != value


def sync(model, lookup: dict, values: dict, changes: Changes):
    """Create the row found by `lookup`, or update only the values that differ."""
    instance = model.objects.filter(**lookup).first()
    if instance is None:
        instance = model.objects.create(**lookup, **values)
        changes.record_created(instance)
        return instance

    changed = [name for name, value in values.items() if differs(instance, name, value)]
    if changed:
        for name in changed:
            setattr(instance, name, values[name])
        instance.save()
        changes.record_updated(instance)
    return instance


def money(amount: Decimal | None) -> Money | None:
    return None if amount is None else Money(amount, CURRENCY)


def import_crm_export(
    folder: Path,
    *,
    source: str = DEFAULT_SOURCE,
    email_domain: str = DEFAULT_EMAIL_DOMAIN,
    progress: bool = False,
    record_won_deals: Callable[[str, Changes], None] | None = None,
) -> CrmImportSummary:
    """Import the export in `folder`; all of it, or nothing.

    Raises CrmImportError, listing every problem found, before writing
    anything. `email_domain` makes up the people's e-mail addresses, which the
    export does not have; `source` marks the deals' external ids.
    `record_won_deals(source, changes)` runs once the deals are stored, in
    the same transaction, counting what it writes in `changes`.
    """
    export = read_export(folder)
    pipeline, stages = new_business_stages()
    problems = [
        f"sales_pipeline.csv: stage {name!r} is not a stage of {pipeline}."
        for name in sorted({row.stage_name for row in export.opportunities})
        if name.casefold() not in stages
    ]
    problems += check_emails(export.roster, email_domain)
    problems += check_live_deals(export.opportunities, source)
    if problems:
        raise CrmImportError(problems)

    summary = CrmImportSummary(folder=Path(folder))
    with transaction.atomic():
        accounts = store_accounts(export.accounts, summary.changes)
        products = store_products(export.products, summary.changes)
        people, teams = store_teams_and_people(
            export.roster, email_domain, summary.changes
        )
        store_deals(
            export.opportunities,
            source=source,
            pipeline=pipeline,
            stages=stages,
            accounts=accounts,
            products=products,
            people=people,
            changes=summary.changes,
            progress=progress,
        )
        if record_won_deals is not None:
            record_won_deals(source, summary.changes)

    summary.account_count = len(accounts)
    summary.person_count = len(people)
    summary.team_count = len(teams)
    summary.product_count = len(products)
    summary.deal_count = len(export.opportunities)
    logger.info(
        "CRM export %s imported: %s rows created, %s updated",
        summary.folder.name,
        summary.changes.created.total(),
        summary.changes.updated.total(),
    )
    return summary


def new_business_stages() -> tuple[Pipeline, dict]:
    pipeline = Pipeline.objects.filter(
        kind=Pipeline.Kind.NEW_BUSINESS, is_default=True
    ).first()
    if pipeline is None:
        raise CrmImportError(["There is no default new-business pipeline."])
    return pipeline, {stage.name.casefold(): stage for stage in pipeline.stages.all()}


def check_live_deals(opportunities: list[OpportunityRow], source: str) -> list[str]:
    """An id that names a live deal is refused: history must not overwrite a
    deal Bowtie tracks, which moves only through its own gate."""
    live = set(
        Deal.objects.filter(
            external_source=source,
            is_historical=False,
            external_id__in=[row.external_id for row in opportunities],
        ).values_list("external_id", flat=True)
    )
    return [
        f"sales_pipeline.csv: opportunity_id {external_id!r} is a live deal in "
        "Bowtie; update it through the deal API or import_deal_updates."
        for external_id in sorted(live)
    ]


def check_emails(roster: list[RosterRow], domain: str) -> list[str]:
    problems = []
    names_by_email: dict[str, set] = {}
    for name in {row.agent for row in roster} | {row.manager for row in roster}:
        names_by_email.setdefault(person_email(name, domain), set()).add(name)
    for email, names in sorted(names_by_email.items()):
        try:
            validate_email(email)
        except ValidationError:
            problems.append(
                f"{email!r} (for {', '.join(sorted(names))}) is not an "
                "e-mail address; check the e-mail domain."
            )
        if len(names) > 1:
            problems.append(f"{', '.join(sorted(names))} would share {email}.")
    return problems


def store_accounts(rows: list[AccountRow], changes: Changes) -> dict[str, Account]:
    accounts: dict[str, Account] = {}
    for row in parents_first(rows):
        revenue = row.annual_revenue
        accounts[row.name] = sync(
            Account,
            {"name": row.name},
            {
                "parent": accounts[row.parent_name] if row.parent_name else None,
                "industry": row.industry,
                "country": row.country,
                "employee_count": row.employee_count,
                "annual_revenue": money(
                    None if revenue is None else (revenue * REVENUE_UNIT)
                ),
                "founded_year": row.founded_year,
            },
            changes,
        )
    return accounts


def store_products(rows: list[ProductRow], changes: Changes) -> dict[str, Product]:
    products = {}
    for row in rows:
        key = product_lookup_key(row.name)
        products[key] = sync(
            Product,
            {"lookup_key": key},
            {
                "name": row.name,
                "series": row.series,
                "list_price": money(row.list_price),
            },
            changes,
        )
    return products


def store_teams_and_people(
    roster: list[RosterRow], domain: str, changes: Changes
) -> tuple[dict[str, Person], dict[str, Team]]:
    """One team per regional office, one per manager under it, headed by them.

    Only what the export knows is set: time zones, capacity and the like stay
    as RevOps configured them.
    """
    teams: dict[str, Team] = {}
    people: dict[str, Person] = {}
    offices = sorted({row.office for row in roster})
    managers = sorted({(row.manager, row.office) for row in roster})

    for office in offices:
        teams[office] = sync(Team, {"name": office}, {}, changes)

    for manager, office in managers:
        team = sync(
            Team, {"name": team_name(manager)}, {"parent": teams[office]}, changes
        )
        person = sync(
            Person,
            {"email": person_email(manager, domain)},
            {"full_name": manager, "role": Person.Role.MANAGER, "team": team},
            changes,
        )
        teams[team.name] = sync(
            Team,
            {"name": team.name},
            {"parent": teams[office], "head": person},
            changes,
        )
        people[manager] = person

    for row in sorted(roster, key=lambda row: row.agent):
        people[row.agent] = sync(
            Person,
            {"email": person_email(row.agent, domain)},
            {
                "full_name": row.agent,
                "role": Person.Role.AE,
                "team": teams[team_name(row.manager)],
                "manager": people[row.manager],
            },
            changes,
        )
    return people, teams


def team_name(manager: str) -> str:
    return f"{manager}'s team"


def store_deals(
    rows: list[OpportunityRow],
    *,
    source: str,
    pipeline: Pipeline,
    stages: dict,
    accounts: dict[str, Account],
    products: dict[str, Product],
    people: dict[str, Person],
    changes: Changes,
    progress: bool,
) -> None:
    # Thousands of rows: compare in memory, then write in batches; the bulk
    # helpers keep the history records that single saves would have made.
    existing = {
        deal.external_id: deal
        for deal in Deal.objects.filter(external_source=source, is_historical=True)
    }
    now = timezone.now()
    to_create, to_update, changed_fields = [], [], set()
    for row in rows:
        values = deal_values(row, pipeline, stages, accounts, products, people)
        deal = existing.get(row.external_id)
        if deal is None:
            to_create.append(
                Deal(external_source=source, external_id=row.external_id, **values)
            )
            continue
        changed = [name for name, value in values.items() if differs(deal, name, value)]
        if changed:
            for name in changed:
                setattr(deal, name, values[name])
            deal.updated_at = now
            to_update.append(deal)
            changed_fields.update(changed)
    if "amount" in changed_fields:
        changed_fields.add("amount_currency")

    bar = tqdm(
        total=len(rows),
        desc="deals",
        unit="row",
        file=sys.stderr,
        disable=not progress,
        mininterval=0.5 if sys.stderr.isatty() else 15,
    )
    bar.update(len(rows) - len(to_create) - len(to_update))
    # Bulk creates skip `Deal.save`, which keeps the rate of creation: the rows
    # take it here. The export has no creation dates, and rates are kept from
    # the day RevOps enters them, so an imported deal keeps the rate of the day
    # it is imported, as every deal keeps the rate of the day Bowtie adds it.
    changes.unrated["deals"] += stamp_base_rates(to_create, today())
    for start in range(0, len(to_create), DEAL_BATCH_SIZE):
        batch = to_create[start : start + DEAL_BATCH_SIZE]
        for deal in bulk_create_with_history(batch, Deal):
            changes.record_created(deal)
        bar.update(len(batch))
    for start in range(0, len(to_update), DEAL_BATCH_SIZE):
        batch = to_update[start : start + DEAL_BATCH_SIZE]
        bulk_update_with_history(batch, Deal, sorted(changed_fields | {"updated_at"}))
        for deal in batch:
            changes.record_updated(deal)
        bar.update(len(batch))
    bar.close()


def deal_values(row, pipeline, stages, accounts, products, people) -> dict:
    account = accounts.get(row.account_name) if row.account_name else None
    product = products[row.product_key]
    stage = stages[row.stage_name.casefold()]
    amount = row.close_value
    # The export writes 0 as the value of every lost deal: it means "no value
    # recorded", and a zero amount would drag down average deal sizes.
    if stage.outcome == stage.Outcome.LOST and not amount:
        amount = None
    return {
        "name": f"{product.name} for {account.name}"
        if account
        else f"{product.name}, account not matched yet",
        "account": account,
        "owner": people[row.agent],
        "pipeline": pipeline,
        "stage": stage,
        "product": product,
        "amount": money(amount),
        "engaged_on": row.engaged_on,
        "closed_on": row.closed_on,
        "is_historical": True,
    }
