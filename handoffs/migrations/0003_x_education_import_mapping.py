"""A column mapping for the X Education lead export, as a worked example."""

from django.db import migrations

SOURCE = "x-education"
COLUMNS = {
    "external_id": "Prospect ID",
    "source": "Lead Source",
    "utm_medium": "Lead Source",
    "form_type": "Lead Origin",
    "do_not_email": "Do Not Email",
    "do_not_call": "Do Not Call",
    "visits": "TotalVisits",
    "time_on_site_seconds": "Total Time Spent on Website",
    "page_views_per_visit": "Page Views Per Visit",
    "last_activity": "Last Activity",
    "country": "Country",
    "city": "City",
    "job_title": "What is your current occupation",
    "industry": "Specialization",
    "third_party_intent": "Asymmetrique Activity Index",
    "converted": "Converted",
}
VALUES = {
    "utm_medium": {
        "Google": "cpc", "google": "cpc", "bing": "cpc",
        "Pay per Click Ads": "cpc", "Facebook": "paid_social", "*": "",
    },
    "form_type": {
        "Lead Add Form": "contact_sales",
        "Quick Add Form": "contact_sales",
        "Landing Page Submission": "content_download",
        "*": "",
    },
    "third_party_intent": {"01.High": "90", "02.Medium": "60", "03.Low": "30"},
    "country": {"Asia/Pacific Region": ""},
}


def create_mapping(apps, schema_editor):
    ImportMapping = apps.get_model("handoffs", "ImportMapping")
    ImportMapping.objects.get_or_create(
        source=SOURCE,
        defaults={
            "description": "X Education lead export (Leads.csv)",
            "columns": COLUMNS,
            "values": VALUES,
            "constants": {"external_source": SOURCE},
        },
    )


def remove_mapping(apps, schema_editor):
    apps.get_model("handoffs", "ImportMapping").objects.filter(source=SOURCE).delete()


class Migration(migrations.Migration):
    dependencies = [("handoffs", "0002_default_targets_and_weights")]
    operations = [migrations.RunPython(create_mapping, remove_mapping)]
