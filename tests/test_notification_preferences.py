"""Per-person, per-topic channels: in-app always, e-mail and webhook by choice."""

from datetime import UTC, datetime

from django.urls import reverse

from bowtie.models import Delivery, NotificationPreference, Topic
from bowtie.notifications import notify
from tests.factories import PersonFactory

NOW = datetime(2025, 3, 4, 9, 0, tzinfo=UTC)
HOOK = "https://hooks.example.org/T1"


def channels_of(notification) -> list[str]:
    return sorted(
        Delivery.objects.filter(notification=notification).values_list(
            "channel", flat=True
        )
    )


def test_without_preferences_every_channel_set_up_is_used(db):
    person = PersonFactory(slack_webhook_url=HOOK)

    notification = notify(person, "e:1", "Hi", "", "", NOW, topic=Topic.SLA_WARNING)

    assert channels_of(notification) == ["email", "slack"]


def test_a_topic_turned_off_for_email_still_arrives_in_app_and_by_webhook(db):
    person = PersonFactory(slack_webhook_url=HOOK)
    NotificationPreference.objects.create(
        person=person, topic=Topic.SLA_WARNING, by_email=False, by_webhook=True
    )

    warning = notify(person, "e:1", "Hi", "", "", NOW, topic=Topic.SLA_WARNING)
    breach = notify(person, "e:2", "Hi", "", "", NOW, topic=Topic.SLA_BREACH)

    assert (warning.pk is not None, channels_of(warning)) == (True, ["slack"])
    assert channels_of(breach) == ["email", "slack"]


def test_a_preference_never_adds_a_channel_the_person_has_not_set_up(db):
    person = PersonFactory(notify_by_email=False)
    NotificationPreference.objects.create(person=person, topic=Topic.NEW_WORK)

    notification = notify(person, "e:1", "Hi", "", "", NOW, topic=Topic.NEW_WORK)

    assert channels_of(notification) == []


def test_preferences_page_saves_each_topic(client, db):
    person = PersonFactory()
    client.force_login(person.user)
    form = {
        "notify_by_email": "on",
        "slack_webhook_url": HOOK,
        "new_work-email": "on",
        "new_work-webhook": "on",
        "sla_breach-webhook": "on",
    }

    response = client.post(reverse("notification-preferences"), form)

    person.refresh_from_db()
    stored = {
        preference.topic: (preference.by_email, preference.by_webhook)
        for preference in person.preferences.all()
    }
    assert response.status_code == 302
    assert person.slack_webhook_url == HOOK
    assert stored["new_work"] == (True, True)
    assert stored["sla_breach"] == (False, True)
    assert stored["sla_warning"] == (False, False)
    assert len(stored) == len(Topic.values)


def test_preferences_page_refuses_a_plain_http_webhook_and_saves_nothing(client, db):
    person = PersonFactory()
    client.force_login(person.user)

    response = client.post(
        reverse("notification-preferences"),
        {"slack_webhook_url": "http://hooks.example.org/T1", "new_work-email": "on"},
    )

    person.refresh_from_db()
    assert response.status_code == 200
    assert "A webhook address must start with https://." in response.content.decode()
    assert person.slack_webhook_url == ""
    assert person.notify_by_email is True
    assert not person.preferences.exists()
