import os
import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

from bowtie.environment import REPOSITORY_ROOT, load_environment


def test_environment_defaults_to_embedded_services(monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("REDIS_URL", raising=False)

    environment = load_environment()

    assert environment.mode == "development"
    assert environment.database_url == ""
    assert environment.redis_url == ""
    assert environment.sweep_interval_seconds == 5.0


def test_environment_refuses_bad_values_naming_each_variable(monkeypatch):
    monkeypatch.setenv("BOWTIE_EMAIL_PORT", "twenty-five")
    monkeypatch.setenv("BOWTIE_SWEEP_INTERVAL_SECONDS", "60")
    monkeypatch.setenv("BOWTIE_FORM_RATE_LIMIT", "lots")
    monkeypatch.setenv("DATABASE_URL", "mysql://db/bowtie")

    with pytest.raises(ImproperlyConfigured) as refused:
        load_environment()

    message = str(refused.value)
    assert "BOWTIE_EMAIL_PORT" in message
    assert (
        "BOWTIE_SWEEP_INTERVAL_SECONDS: Input should be less than or equal to 10"
        in (message)
    )
    assert "BOWTIE_FORM_RATE_LIMIT: Value error, must look like 30/m" in message
    assert "DATABASE_URL: Value error, must start with one of postgres://" in message
    assert "(given: 'lots')" in message
    # An address may hold a password: it is named, never repeated.
    assert "mysql://" not in message


def test_environment_requires_secret_key_in_production(monkeypatch):
    monkeypatch.setenv("BOWTIE_MODE", "production")
    monkeypatch.delenv("BOWTIE_SECRET_KEY", raising=False)

    with pytest.raises(ImproperlyConfigured) as refused:
        load_environment()

    assert "BOWTIE_SECRET_KEY must be set to at least 32 characters" in str(
        refused.value
    )


def test_environment_reads_comma_separated_hosts(monkeypatch):
    monkeypatch.setenv("BOWTIE_ALLOWED_HOSTS", "bowtie.example.com, 10.0.0.5")

    environment = load_environment()

    assert environment.allowed_hosts == ["bowtie.example.com", "10.0.0.5"]


@pytest.mark.parametrize(
    ("database_url", "setting", "runs_relay"),
    [
        ("", "auto", False),
        ("postgres://postgres@127.0.0.1:5432/bowtie", "auto", True),
        ("postgres://postgres@127.0.0.1:5432/bowtie", "off", False),
        ("postgresql://postgres@127.0.0.1:5432/bowtie", "on", True),
    ],
)
def test_the_outbox_relay_runs_on_postgresql_unless_turned_off(
    monkeypatch, database_url, setting, runs_relay
):
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("BOWTIE_OUTBOX_RELAY", setting)

    environment = load_environment()

    assert environment.runs_outbox_relay is runs_relay


def test_the_outbox_relay_is_refused_without_postgresql(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "sqlite:///var/bowtie.sqlite3")
    monkeypatch.setenv("BOWTIE_OUTBOX_RELAY", "on")

    with pytest.raises(ImproperlyConfigured) as refused:
        load_environment()

    assert "BOWTIE_OUTBOX_RELAY=on needs PostgreSQL" in str(refused.value)


@pytest.mark.parametrize(("setting", "threshold"), [("true", 0), ("false", None)])
def test_prepared_statements_can_be_turned_off_for_a_pooler(
    monkeypatch, setting, threshold
):
    monkeypatch.setenv("BOWTIE_PREPARED_STATEMENTS", setting)

    assert load_environment().prepare_threshold == threshold


def test_a_command_refused_at_start_up_says_why_without_a_traceback():
    environment = os.environ | {"BOWTIE_PREPARED_STATEMENTS": "maybe"}

    refused = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=REPOSITORY_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )

    assert refused.returncode == 1
    assert refused.stderr.startswith("Bowtie cannot start")
    assert "BOWTIE_PREPARED_STATEMENTS" in refused.stderr
    assert "Traceback" not in refused.stderr
