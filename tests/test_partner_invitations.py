"""Inviting a partner's person: the mail after commit, the link, the sweep."""

import re
import smtplib
import threading
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core import mail
from django.db import connection, connections
from django.urls import reverse

from partners import invitations, tasks
from partners.invitations import (
    CLAIM_LEASE,
    claim_invitation,
    invite_partner_member,
    resend_invitation,
    send_pending_invitations,
)
from partners.models import Partner, PartnerInvitation, PartnerMember
from partners.services import FieldsRefused
from tests.factories import PersonFactory, UserFactory

NOW = datetime(2027, 3, 10, 9, 0, tzinfo=UTC)
NEW_PASSWORD = "Tide-pool-4821"
LINK = re.compile(r"http://\S+/partner/welcome/(?P<uid>[^/]+)/(?P<token>[^/]+)/")


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def acme(db):
    return Partner.objects.create(name="Acme Partners", slug="acme")


@pytest.fixture
def inviter(db):
    return PersonFactory(full_name="Ivy Impl", role="implementation")


def invite(partner, inviter, capture, email="Pia.Lund@Acme.example "):
    with capture(execute=True):
        return invite_partner_member(partner, email, "Pia Lund", inviter, NOW)


def link_path(message) -> str:
    match = LINK.search(message.body)
    assert match is not None, message.body
    return reverse("partner-welcome", args=[match["uid"], match["token"]])


def test_invite_mails_a_link_after_the_commit(
    acme, inviter, frozen, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        member = invite_partner_member(
            acme, "Pia.Lund@Acme.example ", "Pia Lund", inviter, NOW
        )
    assert mail.outbox == []

    for callback in callbacks:
        callback()

    assert len(callbacks) == 1
    assert (member.email, member.user.username) == ("pia.lund@acme.example",) * 2
    assert member.user.has_usable_password() is False
    assert (member.partner, member.invited_by, member.invited_at) == (
        acme,
        inviter,
        NOW,
    )
    assert member.joined_at is None
    [message] = mail.outbox
    assert message.to == ["pia.lund@acme.example"]
    assert message.subject == "You are invited to the Acme Partners partner portal"
    assert "Ivy Impl invited you" in message.body
    assert link_path(message).startswith("/partner/welcome/")
    invitation = PartnerInvitation.objects.get()
    assert (invitation.status, invitation.attempt_count, invitation.sent_at) == (
        "sent",
        1,
        NOW,
    )
    assert invitation.last_error == ""


def test_welcome_link_sets_the_password_then_stops_working(
    client, acme, inviter, frozen, django_capture_on_commit_callbacks
):
    member = invite(acme, inviter, django_capture_on_commit_callbacks)
    path = link_path(mail.outbox[0])

    opened = client.get(path)
    form = client.get(opened.url)
    joined = client.post(
        opened.url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )
    home = client.get(joined.url)
    client.logout()
    again = client.get(path, follow=True)

    assert opened.status_code == 302
    assert opened.url.endswith("/set-password/")
    assert "Choose your password" in form.content.decode()
    assert (joined.status_code, joined.url) == (302, reverse("partner-home"))
    assert home.status_code == 200
    assert "Partner portal · Acme Partners" in home.content.decode()
    member.refresh_from_db()
    assert member.joined_at == NOW
    assert member.user.check_password(NEW_PASSWORD)
    assert again.status_code == 200
    assert "This invitation link is not valid" in again.content.decode()


def test_welcome_refuses_a_weak_password_by_django_validators(
    client, acme, inviter, frozen, django_capture_on_commit_callbacks
):
    member = invite(acme, inviter, django_capture_on_commit_callbacks)
    opened = client.get(link_path(mail.outbox[0]))

    refused = client.post(
        opened.url, {"new_password1": "password", "new_password2": "password"}
    )

    assert refused.status_code == 200
    assert refused.context["form"].errors == {
        "new_password2": [
            "This password is too common.",
        ]
    }
    member.refresh_from_db()
    assert member.joined_at is None


def test_welcome_says_so_for_a_made_up_link(client, db):
    response = client.get(reverse("partner-welcome", args=["MTIz", "made-up"]))

    assert response.status_code == 200
    assert "This invitation link is not valid" in response.content.decode()


def test_welcome_link_of_a_vendor_users_token_is_not_valid(client, db):
    from django.contrib.auth.tokens import default_token_generator
    from django.utils.encoding import force_bytes
    from django.utils.http import urlsafe_base64_encode

    user = UserFactory(username="vendor@bowtie.test")
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)

    response = client.get(reverse("partner-welcome", args=[uid, token]))

    assert response.status_code == 200
    assert "This invitation link is not valid" in response.content.decode()


@pytest.mark.parametrize(
    "taken",
    ["person", "member", "user"],
)
def test_invite_refuses_an_address_in_use_naming_the_field(
    acme, inviter, frozen, taken
):
    if taken == "person":
        PersonFactory(email="pia@acme.example")
    elif taken == "member":
        invite_partner_member(acme, "pia@acme.example", "Pia", inviter, NOW)
    else:
        UserFactory(username="PIA@acme.example")
    members_before = PartnerMember.objects.count()
    users_before = get_user_model().objects.count()

    with pytest.raises(FieldsRefused) as refused:
        invite_partner_member(acme, " Pia@ACME.example", "Pia Lund", inviter, NOW)

    assert list(refused.value.errors) == ["email"]
    assert (
        refused.value.errors["email"]
        == {
            "person": "This address belongs to one of our own people.",
            "member": "This address was invited already.",
            "user": "A sign-in with this address exists already.",
        }[taken]
    )
    assert PartnerMember.objects.count() == members_before
    assert get_user_model().objects.count() == users_before


def test_invite_refuses_an_inactive_partner_and_bad_input(acme, inviter, frozen):
    Partner.objects.filter(pk=acme.pk).update(is_active=False)

    with pytest.raises(FieldsRefused) as refused:
        invite_partner_member(acme, "not an address", " ", inviter, NOW)

    assert refused.value.errors == {
        "email": "Enter a valid e-mail address.",
        "full_name": "Give the person's full name.",
        "partner": "Acme Partners is no longer an active partner.",
    }
    assert PartnerMember.objects.count() == 0
    assert PartnerInvitation.objects.count() == 0


def broker_down(*args, **kwargs):
    raise ConnectionError("redis is down")


def test_broker_down_leaves_the_invitation_to_the_sweep_which_sends_it_once(
    acme, inviter, frozen, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(tasks.send_partner_invitation, "delay", broker_down)
    invite(acme, inviter, django_capture_on_commit_callbacks)
    invitation = PartnerInvitation.objects.get()

    too_soon = send_pending_invitations(NOW + timedelta(seconds=10))
    sent = send_pending_invitations(NOW + timedelta(seconds=31))
    again = send_pending_invitations(NOW + timedelta(seconds=40))

    assert (too_soon, sent, again) == (0, 1, 0)
    assert len(mail.outbox) == 1
    invitation.refresh_from_db()
    assert (invitation.status, invitation.attempt_count) == ("sent", 1)
    assert invitation.sent_at == NOW + timedelta(seconds=31)


def left_behind(partner, inviter) -> PartnerInvitation:
    """An invitation whose task never ran: its commit hook was not called."""
    invite_partner_member(partner, "pia@acme.example", "Pia Lund", inviter, NOW)
    return PartnerInvitation.objects.get()


def test_two_claims_at_once_update_one_row(acme, inviter, frozen):
    invitation = left_behind(acme, inviter)
    later = NOW + timedelta(minutes=5)

    claims = [claim_invitation(invitation.pk, later) for _ in range(2)]

    assert claims == [True, False]
    invitation.refresh_from_db()
    assert invitation.claimed_until == later + CLAIM_LEASE


def test_two_sweeps_at_once_send_a_left_behind_invitation_exactly_once(
    acme, inviter, frozen, monkeypatch
):
    invitation = left_behind(acme, inviter)
    later = NOW + timedelta(minutes=5)
    real_claim = invitations.claim_invitation
    results = {}

    def claim_after_the_other_sweep(invitation_id, now):
        # The first sweep listed the row; before it claims, a second sweep
        # lists the same row, claims it and sends.
        monkeypatch.setattr(invitations, "claim_invitation", real_claim)
        results["second"] = send_pending_invitations(now)
        return real_claim(invitation_id, now)

    monkeypatch.setattr(invitations, "claim_invitation", claim_after_the_other_sweep)

    results["first"] = send_pending_invitations(later)

    assert results == {"first": 0, "second": 1}
    assert len(mail.outbox) == 1
    invitation.refresh_from_db()
    assert (invitation.status, invitation.attempt_count) == ("sent", 1)


def test_a_worker_that_died_holding_the_claim_leaves_it_to_the_sweep(
    acme, inviter, frozen
):
    invitation = left_behind(acme, inviter)
    claim_invitation(invitation.pk, NOW)

    during_lease = send_pending_invitations(NOW + CLAIM_LEASE - timedelta(seconds=1))
    after_lease = send_pending_invitations(NOW + CLAIM_LEASE + timedelta(seconds=1))

    assert (during_lease, after_lease) == (0, 1)
    assert len(mail.outbox) == 1


def test_a_failed_send_counts_the_attempt_and_is_retried_later(
    acme, inviter, frozen, monkeypatch
):
    invitation = left_behind(acme, inviter)
    later = NOW + timedelta(minutes=5)

    def refused(**kwargs):
        raise smtplib.SMTPServerDisconnected("gone")

    monkeypatch.setattr(invitations, "send_mail", refused)
    first = send_pending_invitations(later)
    invitation.refresh_from_db()
    failed = (invitation.status, invitation.attempt_count, invitation.last_error)
    retry_at = invitation.claimed_until
    monkeypatch.undo()
    before_retry = send_pending_invitations(later + timedelta(seconds=59))
    at_retry = send_pending_invitations(later + timedelta(seconds=61))

    assert first == 0
    assert failed == ("pending", 1, "SMTPServerDisconnected")
    assert retry_at == later + timedelta(seconds=60)
    assert (before_retry, at_retry) == (0, 1)
    invitation.refresh_from_db()
    assert (invitation.status, invitation.attempt_count, invitation.last_error) == (
        "sent",
        2,
        "",
    )


def test_resend_supersedes_the_pending_one_and_mails_a_fresh_link(
    acme, inviter, frozen, django_capture_on_commit_callbacks
):
    first = left_behind(acme, inviter)
    member = first.member

    with django_capture_on_commit_callbacks(execute=True):
        second = resend_invitation(member, inviter, NOW)
    swept = send_pending_invitations(NOW + timedelta(hours=1))

    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, first.last_error) == (
        "failed",
        "Superseded by a newer invitation.",
    )
    assert (second.status, second.sent_at) == ("sent", NOW)
    assert swept == 0
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["pia@acme.example"]


def test_resend_is_refused_once_the_member_joined(
    client, acme, inviter, frozen, django_capture_on_commit_callbacks
):
    member = invite(acme, inviter, django_capture_on_commit_callbacks)
    opened = client.get(link_path(mail.outbox[0]))
    client.post(
        opened.url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )

    with pytest.raises(FieldsRefused) as refused:
        resend_invitation(member, inviter, NOW)

    assert refused.value.errors == {
        "member": "Pia Lund joined already; they sign in as usual."
    }
    assert PartnerInvitation.objects.count() == 1


def test_an_invitation_of_a_member_switched_off_meanwhile_is_not_sent(
    acme, inviter, frozen
):
    invitation = left_behind(acme, inviter)
    PartnerMember.objects.update(is_active=False)

    sent = send_pending_invitations(NOW + timedelta(minutes=5))

    assert sent == 0
    assert mail.outbox == []
    invitation.refresh_from_db()
    assert (invitation.status, invitation.last_error) == (
        "failed",
        "The member or their partner is inactive.",
    )


def test_admin_invites_through_the_service_and_resends(
    client, acme, frozen, django_capture_on_commit_callbacks
):
    admin_person = PersonFactory(full_name="Rita RevOps", role="revops_admin")
    admin_person.user.is_staff = True
    admin_person.user.is_superuser = True
    admin_person.user.save()
    client.force_login(admin_person.user)
    invite_url = reverse("admin:partners_partner_invite", args=[acme.pk])

    page = client.get(reverse("admin:partners_partner_change", args=[acme.pk]))
    with django_capture_on_commit_callbacks(execute=True):
        invited = client.post(
            invite_url,
            {"full_name": "Pia Lund", "email": "pia@acme.example", "time_zone": "UTC"},
        )
    duplicate = client.post(
        invite_url,
        {"full_name": "Pia Again", "email": "PIA@acme.example", "time_zone": "UTC"},
    )
    member = PartnerMember.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        resent = client.post(
            reverse("admin:partners_partnermember_changelist"),
            {"action": "resend", "_selected_action": [member.pk]},
        )

    assert invite_url in page.content.decode()
    assert invited.status_code == 302
    assert (member.full_name, member.invited_by) == ("Pia Lund", admin_person)
    assert duplicate.status_code == 200
    assert duplicate.context["form"].errors == {
        "email": ["This address was invited already."]
    }
    assert resent.status_code == 302
    assert [message.to for message in mail.outbox] == [["pia@acme.example"]] * 2
    assert list(member.invitations.values_list("status", flat=True)) == [
        "sent",
        "sent",
    ]


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="row claims race on PostgreSQL only"
)
@pytest.mark.django_db(transaction=True)
def test_two_sweeps_in_two_threads_send_a_left_behind_invitation_once(
    acme, inviter, frozen, monkeypatch
):
    # Here the commit is real and runs its hook: the broker is down for it.
    monkeypatch.setattr(tasks.send_partner_invitation, "delay", broker_down)
    left_behind(acme, inviter)
    assert mail.outbox == []
    later = NOW + timedelta(minutes=5)
    start = threading.Barrier(2)
    results = []

    def sweep():
        try:
            start.wait(timeout=5)
            results.append(send_pending_invitations(later))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(results) == [0, 1]
    assert len(mail.outbox) == 1
    invitation = PartnerInvitation.objects.get()
    assert (invitation.status, invitation.attempt_count) == ("sent", 1)
