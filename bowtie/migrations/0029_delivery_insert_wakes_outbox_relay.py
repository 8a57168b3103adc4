"""On PostgreSQL, every insert into the outbox wakes the outbox relay.

A statement trigger sends NOTIFY bowtie_outbox. PostgreSQL delivers it to the
listening relays only when the inserting transaction commits, and never when
it rolls back: a relay woken by it always finds the deliveries committed.
Whatever writes the rows (the ORM, a bulk insert, raw SQL) wakes it alike.
SQLite has no notifications, and its deployments queue a task per delivery.
"""

from django.db import migrations

FUNCTION = "bowtie_delivery_wakes_outbox_relay"
TRIGGER = "bowtie_delivery_insert_wakes_outbox_relay"


def create_trigger(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        f"CREATE OR REPLACE FUNCTION {FUNCTION}() RETURNS trigger "
        f"LANGUAGE plpgsql AS $$ BEGIN "
        f"PERFORM pg_notify('bowtie_outbox', ''); RETURN NULL; END $$"
    )
    schema_editor.execute(
        f"CREATE TRIGGER {TRIGGER} AFTER INSERT ON bowtie_delivery "
        f"FOR EACH STATEMENT EXECUTE FUNCTION {FUNCTION}()"
    )


def drop_trigger(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"DROP TRIGGER IF EXISTS {TRIGGER} ON bowtie_delivery")
    schema_editor.execute(f"DROP FUNCTION IF EXISTS {FUNCTION}()")


class Migration(migrations.Migration):
    dependencies = [
        ("bowtie", "0028_crm_updates_of_accounts_and_contacts"),
    ]

    operations = [migrations.RunPython(create_trigger, drop_trigger)]
