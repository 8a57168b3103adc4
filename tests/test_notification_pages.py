from bowtie.models import Notification
from bowtie.notifications import notify


def test_opening_a_notification_marks_it_read_and_goes_to_the_lead(client, sales_team):
    rep = sales_team["reps"][0]
    notification = notify(
        rep,
        "lead:1:assigned",
        "New lead",
        "Body",
        "/queue/",
        now=rep.created_at,
        topic="new_work",
    )
    client.force_login(rep.user)

    response = client.post(f"/notifications/{notification.pk}/open/")

    assert response.status_code == 302
    assert response["Location"] == "/queue/"
    assert Notification.objects.get(pk=notification.pk).read_at is not None


def test_opening_someone_elses_notification_answers_404(client, sales_team):
    owner, other, _ = sales_team["reps"]
    notification = notify(
        owner,
        "lead:1:assigned",
        "New lead",
        "Body",
        "/queue/",
        now=owner.created_at,
        topic="new_work",
    )
    client.force_login(other.user)

    response = client.post(f"/notifications/{notification.pk}/open/")

    assert response.status_code == 404
    assert Notification.objects.get(pk=notification.pk).read_at is None
