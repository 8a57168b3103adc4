"""Invite a partner's person by e-mail; they choose their own password.

`invite_partner_member` creates the sign-in (with no usable password), the
member and a pending invitation, an outbox row. After the commit a worker
claims the row and sends the mail; the beat job `send_pending_invitations`
picks up whatever a crashed worker or an unreachable broker left pending. The
link in the mail is made from Django's password-reset tokens when it is sent
and never stored: it stops working once a password is set, and after
`PASSWORD_RESET_TIMEOUT`.
"""

import logging
import smtplib
import zoneinfo
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from bowtie.models import Person
from partners.models import Partner, PartnerInvitation, PartnerMember
from partners.services import FieldsRefused

logger = logging.getLogger(__name__)

Status = PartnerInvitation.Status

# Long enough for one SMTP conversation; a worker that dies while holding the
# claim leaves the row to the sweep once it runs out.
CLAIM_LEASE = timedelta(minutes=2)
MAX_ATTEMPTS = 6


def normalise_email(email: str) -> str:
    """Lower-case the whole address: it is the user name, and two spellings of
    one mailbox must not become two sign-ins."""
    return (email or "").strip().lower()


def check_invitee(email: str, full_name: str, time_zone: str) -> dict[str, str]:
    errors = {}
    try:
        validate_email(email)
    except ValidationError:
        errors["email"] = "Enter a valid e-mail address."
    if not full_name.strip():
        errors["full_name"] = "Give the person's full name."
    if time_zone not in zoneinfo.available_timezones():
        errors["time_zone"] = f"{time_zone!r} is not a known time zone."
    if "email" in errors:
        return errors

    if Person.objects.filter(email__iexact=email).exists():
        errors["email"] = "This address belongs to one of our own people."
    elif PartnerMember.objects.filter(email__iexact=email).exists():
        errors["email"] = "This address was invited already."
    elif (
        get_user_model()
        .objects.filter(Q(username__iexact=email) | Q(email__iexact=email))
        .exists()
    ):
        errors["email"] = "A sign-in with this address exists already."
    return errors


@transaction.atomic
def invite_partner_member(
    partner: Partner,
    email: str,
    full_name: str,
    actor_person: Person | None,
    now=None,
    *,
    time_zone: str = "UTC",
) -> PartnerMember:
    """Create a partner's person and queue the e-mail that lets them join.

    The address becomes the user name and must be new to Bowtie: no person,
    partner member or user has it. The partner must be active. The mail goes
    out after the commit; the member signs in once they chose a password.
    """
    now = now or timezone.now()
    email = normalise_email(email)
    full_name = (full_name or "").strip()
    partner = Partner.objects.select_for_update().get(pk=partner.pk)
    errors = check_invitee(email, full_name, time_zone)
    if not partner.is_active:
        errors["partner"] = f"{partner} is no longer an active partner."
    if errors:
        raise FieldsRefused(errors)

    try:
        # A savepoint: two invitations of one address at once meet at the
        # unique user name, and the loser is told so by field.
        with transaction.atomic():
            user = get_user_model().objects.create_user(
                username=email, email=email, password=None
            )
            member = PartnerMember.objects.create(
                user=user,
                partner=partner,
                full_name=full_name,
                email=email,
                time_zone=time_zone,
                invited_by=actor_person,
                invited_at=now,
            )
    except IntegrityError:
        raise FieldsRefused({"email": "This address was invited already."}) from None
    invitation = PartnerInvitation.objects.create(member=member, created_at=now)

    transaction.on_commit(lambda: enqueue_invitation(invitation.pk))
    logger.info("partner member %s invited to partner %s", member.pk, partner.pk)
    return member


@transaction.atomic
def resend_invitation(
    member: PartnerMember, actor_person: Person | None, now=None
) -> PartnerInvitation:
    """Queue a fresh invitation for a member who has not joined yet.

    Pending ones still unsent are superseded, so the person gets one mail.
    """
    now = now or timezone.now()
    member = (
        PartnerMember.objects.select_for_update(of=("self",))
        .select_related("partner")
        .get(pk=member.pk)
    )
    if member.joined_at is not None:
        raise FieldsRefused(
            {"member": f"{member.full_name} joined already; they sign in as usual."}
        )
    if not member.is_active:
        raise FieldsRefused({"member": f"{member.full_name} is inactive."})
    if not member.partner.is_active:
        raise FieldsRefused(
            {"partner": f"{member.partner} is no longer an active partner."}
        )

    member.invitations.filter(status=Status.PENDING).update(
        status=Status.FAILED,
        claimed_until=None,
        last_error="Superseded by a newer invitation.",
    )
    invitation = PartnerInvitation.objects.create(member=member, created_at=now)

    transaction.on_commit(lambda: enqueue_invitation(invitation.pk))
    logger.info(
        "partner member %s invited again by person %s",
        member.pk,
        actor_person.pk if actor_person else None,
    )
    return invitation


@transaction.atomic
def accept_invitation(member: PartnerMember, password: str, now=None):
    """Set the password an invited person chose and record that they joined.

    Returns the user, with the new password, to sign in.
    """
    now = now or timezone.now()
    member = (
        PartnerMember.objects.select_for_update(of=("self",))
        .select_related("user")
        .get(pk=member.pk)
    )
    if member.joined_at is not None:
        raise FieldsRefused(
            {"member": "This invitation was used already: sign in with your password."}
        )
    user = member.user
    try:
        password_validation.validate_password(password, user)
    except ValidationError as error:
        raise FieldsRefused({"password": " ".join(error.messages)}) from None

    user.set_password(password)
    user.save(update_fields=["password"])
    member.joined_at = now
    member.save(update_fields=["joined_at"])
    logger.info("partner member %s joined", member.pk)
    return user


def enqueue_invitation(invitation_id: int) -> None:
    from partners.tasks import send_partner_invitation

    try:
        send_partner_invitation.delay(invitation_id)
    except Exception:
        # The broker is down: the row stays pending and the sweep sends it.
        logger.warning("invitation %s left for the sweep", invitation_id, exc_info=True)


def claim_invitation(invitation_id: int, now) -> bool:
    """Take a pending invitation for one send; False if another worker has it.

    One conditional UPDATE: of two workers at once, exactly one changes the
    row, and PostgreSQL makes the other re-read it and find the claim.
    """
    claimed = PartnerInvitation.objects.filter(
        Q(claimed_until__isnull=True) | Q(claimed_until__lt=now),
        pk=invitation_id,
        status=Status.PENDING,
    ).update(claimed_until=now + CLAIM_LEASE)
    return claimed == 1


def welcome_link(user) -> str:
    path = reverse(
        "partner-welcome",
        kwargs={
            "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
            "token": default_token_generator.make_token(user),
        },
    )
    return settings.BOWTIE_BASE_URL + path


def why_not_send(member: PartnerMember) -> str:
    if member.joined_at is not None:
        return "The member joined already."
    if not member.can_sign_in():
        return "The member or their partner is inactive."
    return ""


def send_invitation(invitation_id: int, now=None) -> str:
    """Send one pending invitation if this worker wins its claim.

    Runs outside a transaction, so the claim is seen by other workers at once.
    A crash between the mail and the mark leaves the row to the sweep after
    the lease: the person may get the mail twice, never not at all.
    """
    now = now or timezone.now()
    if not claim_invitation(invitation_id, now):
        return "not claimed"

    invitation = PartnerInvitation.objects.select_related(
        "member__user", "member__partner", "member__invited_by"
    ).get(pk=invitation_id)
    member = invitation.member
    reason = why_not_send(member)
    if reason:
        PartnerInvitation.objects.filter(pk=invitation.pk).update(
            status=Status.FAILED, claimed_until=None, last_error=reason
        )
        logger.warning("invitation %s dropped: %s", invitation.pk, reason)
        return "dropped"

    context = {
        "member": member,
        "partner": member.partner,
        "invited_by": member.invited_by,
        "link": welcome_link(member.user),
        "valid_days": max(1, settings.PASSWORD_RESET_TIMEOUT // 86400),
        "login_url": settings.BOWTIE_BASE_URL + reverse("partner-login"),
    }
    try:
        send_mail(
            subject=render_to_string(
                "partners/email/invitation_subject.txt", context
            ).strip(),
            message=render_to_string("partners/email/invitation.txt", context),
            from_email=None,
            recipient_list=[member.email],
        )
    except Exception as error:
        return record_failed_attempt(invitation, error, now)

    PartnerInvitation.objects.filter(pk=invitation.pk).update(
        status=Status.SENT,
        sent_at=now,
        attempt_count=F("attempt_count") + 1,
        last_error="",
    )
    logger.info("invitation %s sent", invitation.pk)
    return "sent"


def describe_failure(error: Exception) -> str:
    """Name the failure without the SMTP server's text, which may quote the
    recipient's address."""
    if isinstance(error, smtplib.SMTPResponseException):
        return f"SMTP {error.smtp_code} ({type(error).__name__})"
    return type(error).__name__


def record_failed_attempt(invitation: PartnerInvitation, error, now) -> str:
    attempts = invitation.attempt_count + 1
    gave_up = attempts >= MAX_ATTEMPTS
    # Back off exponentially; the claim doubles as the time of the next try.
    retry_at = now + timedelta(seconds=min(3600, 30 * 2**attempts))
    PartnerInvitation.objects.filter(pk=invitation.pk).update(
        attempt_count=attempts,
        status=Status.FAILED if gave_up else Status.PENDING,
        claimed_until=None if gave_up else retry_at,
        last_error=describe_failure(error),
    )
    logger.log(
        logging.ERROR if gave_up else logging.WARNING,
        "invitation %s failed (attempt %s%s): %s",
        invitation.pk,
        attempts,
        ", giving up" if gave_up else "",
        describe_failure(error),
    )
    return "failed" if gave_up else "retry"


def send_pending_invitations(now=None, limit: int = 100) -> int:
    """Send invitations left pending, oldest first; return how many were sent.

    Fresh rows are left to the worker their commit queued for a while, and
    rows whose claim or back-off has not run out are left alone.
    """
    now = now or timezone.now()
    stale_before = now - settings.BOWTIE_OUTBOX_RETRY_AFTER
    pending_ids = list(
        PartnerInvitation.objects.filter(
            Q(claimed_until__isnull=True, created_at__lt=stale_before)
            | Q(claimed_until__lt=now),
            status=Status.PENDING,
        )
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )
    return sum(send_invitation(pk, now) == "sent" for pk in pending_ids)
