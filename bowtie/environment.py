"""Typed reading of the environment variables that configure Bowtie.

Every variable is declared once here, with its type and default, so a bad value
stops the process at start-up with a message naming the variable, instead of
failing later in a request. `.env.example` lists the same variables.
"""

from pathlib import Path
from typing import Annotated, Literal

from django.core.exceptions import ImproperlyConfigured
from moneyed import CURRENCIES
from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

REPOSITORY_ROOT = Path(__file__).resolve().parent.parent

# Development only: a production deployment must set BOWTIE_SECRET_KEY.
DEVELOPMENT_SECRET_KEY = "bowtie-development-only-not-a-secret"


def split_comma_list(value: object) -> object:
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


class Environment(BaseSettings):
    """The process environment, parsed and checked."""

    model_config = SettingsConfigDict(
        env_file=REPOSITORY_ROOT / ".env",
        env_file_encoding="utf-8",
        extra="ignore",
        case_sensitive=True,
    )

    mode: Literal["development", "production"] = Field(
        "development", alias="BOWTIE_MODE"
    )
    secret_key: str = Field("", alias="BOWTIE_SECRET_KEY")
    allowed_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["localhost", "127.0.0.1", "[::1]"],
        alias="BOWTIE_ALLOWED_HOSTS",
    )
    base_url: str = Field("http://127.0.0.1:8000", alias="BOWTIE_BASE_URL")
    data_dir: Path = Field(REPOSITORY_ROOT / "var", alias="BOWTIE_DATA_DIR")
    database_url: str = Field("", alias="DATABASE_URL")
    redis_url: str = Field("", alias="REDIS_URL")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", alias="BOWTIE_LOG_LEVEL"
    )

    email_host: str = Field("", alias="BOWTIE_EMAIL_HOST")
    email_port: int = Field(25, ge=1, le=65535, alias="BOWTIE_EMAIL_PORT")
    email_user: str = Field("", alias="BOWTIE_EMAIL_USER")
    email_password: str = Field("", alias="BOWTIE_EMAIL_PASSWORD")
    email_use_tls: bool = Field(False, alias="BOWTIE_EMAIL_USE_TLS")
    email_from: str = Field("bowtie@localhost", alias="BOWTIE_EMAIL_FROM")

    sweep_interval_seconds: float = Field(
        5.0, gt=0, le=10, alias="BOWTIE_SWEEP_INTERVAL_SECONDS"
    )
    outbox_retry_after_seconds: int = Field(
        30, ge=5, alias="BOWTIE_OUTBOX_RETRY_AFTER_SECONDS"
    )
    # Deliveries sent by a relay in each worker, which PostgreSQL wakes as the
    # transaction that wrote them commits (bowtie.outbox_relay). "auto": on
    # with PostgreSQL. Off where a worker cannot keep a connection that
    # LISTENs: a task per delivery goes through the broker instead.
    outbox_relay: Literal["auto", "on", "off"] = Field(
        "auto", alias="BOWTIE_OUTBOX_RELAY"
    )
    outbox_senders: int = Field(4, ge=1, le=32, alias="BOWTIE_OUTBOX_SENDERS")
    # The statements sent for every lead and delivery are prepared once per
    # connection on PostgreSQL (bowtie.compiled_queries). Off for a proxy that
    # cannot keep prepared statements.
    prepared_statements: bool = Field(True, alias="BOWTIE_PREPARED_STATEMENTS")
    form_rate_limit: str = Field("30/m", alias="BOWTIE_FORM_RATE_LIMIT")
    api_rate_per_minute: int = Field(600, ge=1, alias="BOWTIE_API_RATE_PER_MINUTE")
    # Behind a load balancer every request comes from its address; name the
    # header it sets with the visitor's address (one value, e.g. X-Real-IP).
    client_ip_header: str = Field("", alias="BOWTIE_CLIENT_IP_HEADER")
    sample_data_dir: Path = Field(
        REPOSITORY_ROOT.parent / "shared" / "data", alias="BOWTIE_SAMPLE_DATA"
    )
    # Mounts the baseline endpoint that `manage.py bench` compares intake with.
    benchmark_endpoints: bool = Field(False, alias="BOWTIE_BENCHMARK_ENDPOINTS")
    webhooks_allow_private_addresses: bool = Field(
        False, alias="BOWTIE_WEBHOOKS_ALLOW_PRIVATE_ADDRESSES"
    )
    # Hypercare after go-live lasts two to four weeks (DESIGN.md §2).
    hypercare_days: int = Field(14, ge=14, le=28, alias="BOWTIE_HYPERCARE_DAYS")
    # The currency ownership bands are written in and rates are quoted against.
    base_currency: str = Field("EUR", alias="BOWTIE_BASE_CURRENCY")

    @field_validator("allowed_hosts", mode="before")
    @classmethod
    def parse_host_list(cls, value: object) -> object:
        return split_comma_list(value)

    @field_validator("form_rate_limit")
    @classmethod
    def check_rate(cls, value: str) -> str:
        count, _, period = value.partition("/")
        if not count.isdigit() or period not in {"s", "m", "h", "d"}:
            raise ValueError("must look like 30/m (a count, '/', one of s m h d)")
        return value

    @field_validator("base_currency")
    @classmethod
    def check_currency(cls, value: str) -> str:
        # py-moneyed's list is the one django-money's amount fields accept.
        code = value.strip().upper()
        if len(code) != 3 or code not in CURRENCIES:
            raise ValueError("must be an ISO 4217 currency code, e.g. EUR")
        return code

    @field_validator("database_url", "redis_url")
    @classmethod
    def check_url_scheme(cls, value: str, info) -> str:
        allowed = {
            "database_url": ("postgres://", "postgresql://", "sqlite://"),
            "redis_url": ("redis://", "rediss://"),
        }[info.field_name]
        if value and not value.startswith(allowed):
            raise ValueError("must start with one of " + ", ".join(allowed))
        return value

    @model_validator(mode="after")
    def check_outbox_relay(self) -> "Environment":
        if self.outbox_relay == "on" and not self.uses_postgresql:
            raise ValueError(
                "BOWTIE_OUTBOX_RELAY=on needs PostgreSQL: set DATABASE_URL to "
                "a postgres:// address, or leave the relay on auto"
            )
        return self

    @model_validator(mode="after")
    def require_production_secrets(self) -> "Environment":
        if self.mode == "production" and len(self.secret_key) < 32:
            raise ValueError(
                "BOWTIE_SECRET_KEY must be set to at least 32 characters "
                "when BOWTIE_MODE=production"
            )
        return self

    @property
    def is_development(self) -> bool:
        return self.mode == "development"

    @property
    def uses_postgresql(self) -> bool:
        return self.database_url.startswith(("postgres://", "postgresql://"))

    @property
    def runs_outbox_relay(self) -> bool:
        return self.outbox_relay == "on" or (
            self.outbox_relay == "auto" and self.uses_postgresql
        )

    @property
    def prepare_threshold(self) -> int | None:
        """psycopg's prepare_threshold for the PostgreSQL connection.

        0: a statement sent with its parameters bound by the server is
        prepared on its first run. None: nothing is prepared.
        """
        return 0 if self.prepared_statements else None


# Never repeated in a message: a secret, or an address that may hold a password.
UNSHOWN_VALUES = ("SECRET", "PASSWORD", "TOKEN", "_URL", "_KEY")


def given_value(name: str, problem: dict) -> str:
    if "input" not in problem or isinstance(problem["input"], dict):
        return ""
    if any(part in name for part in UNSHOWN_VALUES):
        return ""
    return f" (given: {problem['input']!r})"


def load_environment() -> Environment:
    """Parse the environment, or refuse to start with every bad variable named."""
    try:
        return Environment()
    except ValidationError as error:
        problems = []
        for item in error.errors():
            name = ".".join(str(part) for part in item["loc"]) or "settings"
            problems.append(f"  {name}: {item['msg']}{given_value(name, item)}")
        raise ImproperlyConfigured(
            "Bowtie cannot start, the environment has bad values:\n"
            + "\n".join(problems)
        ) from None
