"""The default ownership bands (DESIGN.md §6), in force from 2000-01-01.

Below EUR 10K the CSM closes; EUR 10-50K an AM (or AE) owns it with the CSM
in the meetings; from EUR 50K the AE runs the full cycle and CS advises. A
boundary belongs to the band that starts there.
"""

import datetime

from django.db import migrations
from django.utils import timezone

BANDS = [
    (0, 10_000, "csm", "", "closes"),
    (10_000, 50_000, "am", "csm", "in_meetings"),
    (50_000, None, "ae", "csm", "advisory"),
]
EFFECTIVE_ON = datetime.date(2000, 1, 1)


def create_bands(apps, schema_editor):
    OwnershipPolicy = apps.get_model("bowtie", "OwnershipPolicy")
    OwnershipBand = apps.get_model("bowtie", "OwnershipBand")
    policy, created = OwnershipPolicy.objects.get_or_create(
        effective_on=EFFECTIVE_ON,
        defaults={"note": "Defaults", "created_at": timezone.now()},
    )
    if not created:
        return
    for lower, upper, owner_role, cs_role, cs_part in BANDS:
        OwnershipBand.objects.create(
            policy=policy,
            lower_eur=lower,
            upper_eur=upper,
            owner_role=owner_role,
            cs_role=cs_role,
            cs_part=cs_part,
        )


def remove_bands(apps, schema_editor):
    apps.get_model("bowtie", "OwnershipPolicy").objects.filter(
        effective_on=EFFECTIVE_ON
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("bowtie", "0019_expansion_pipelines")]
    operations = [migrations.RunPython(create_bands, remove_bands)]
