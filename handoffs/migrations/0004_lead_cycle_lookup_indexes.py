"""Index a lead's e-mail and external id, open cycle or closed.

Every intake looks up the person's latest cycle to number the next one; the
partial unique indexes cover open cycles only, so that lookup scanned the
table.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("handoffs", "0003_x_education_import_mapping"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="lead",
            index=models.Index(fields=["email"], name="lead_email"),
        ),
        migrations.AddIndex(
            model_name="lead",
            index=models.Index(
                fields=["external_source", "external_id"], name="lead_external_id"
            ),
        ),
    ]
