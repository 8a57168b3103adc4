"""Notify people: in-app at once, e-mail and webhook after the commit.

`notify` writes the in-app notification and one outbox delivery per channel
inside the caller's transaction. After commit a worker delivers them; the beat
job `redeliver_outbox` picks up whatever a crashed worker or an unreachable
broker left pending. A delivery is claimed with a conditional update, so two
workers never send the same one.
"""

import logging
import smtplib
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import httpx
from django.conf import settings
from django.core.mail import EmailMultiAlternatives, mailers
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from bowtie.compiled_queries import run_statement
from bowtie.models import Delivery, Notification, NotificationPreference, Person
from bowtie.row_writes import quoted_table

logger = logging.getLogger(__name__)

CLAIM_LEASE = timedelta(minutes=2)
MAX_ATTEMPTS = 8


def in_zone_of(person: Person, moment) -> str:
    """Format a stored UTC time as the recipient reads it, zone included."""
    local = moment.astimezone(zoneinfo.ZoneInfo(person.time_zone))
    return f"{local:%Y-%m-%d %H:%M} {local.tzname()}"


# Rows per INSERT, well inside PostgreSQL's limit of parameters a statement.
NOTICES_PER_STATEMENT = 500


@dataclass(frozen=True)
class Notice:
    """One notification to record: who, for which event, and what it says."""

    person: Person
    event_key: str
    topic: str
    subject: str
    body: str
    url: str


def notify(
    person: Person,
    event_key: str,
    subject: str,
    body: str,
    url: str,
    now,
    *,
    topic: str,
    preferences: dict[tuple[int, str], NotificationPreference] | None = None,
) -> Notification:
    """Record a notification for one event; a repeated event changes nothing.

    In-app always; e-mail and the webhook as the person's preferences for the
    topic allow. Returns the new notification, or the one the event had.
    `preferences` as for `notify_many`.
    """
    notice = Notice(person, event_key, topic, subject, body, url)
    inserted = notify_many([notice], now, preferences)
    if inserted:
        return inserted[0]
    return Notification.objects.get(recipient=person, event_key=event_key)


def notify_many(
    notices: list[Notice],
    now,
    preferences: dict[tuple[int, str], NotificationPreference] | None = None,
) -> list[Notification]:
    """Record many notifications in a few statements, whatever their number.

    The same rules as `notify`; returns only the notifications that are new.
    A sweep that breaches a hundred clocks writes them in four statements and
    publishes their deliveries after commit over one broker connection.
    `preferences` by (person id, topic) are those of every recipient, when the
    caller has them already (intake keeps its reps'); otherwise read here.
    """
    if len(notices) > NOTICES_PER_STATEMENT:
        return [
            notification
            for start in range(0, len(notices), NOTICES_PER_STATEMENT)
            for notification in notify_many(
                notices[start : start + NOTICES_PER_STATEMENT], now, preferences
            )
        ]
    if not notices:
        return []
    notifications = insert_unless_notified(
        [unsaved_notification(notice, now) for notice in notices]
    )

    if preferences is None:
        preferences = preferences_of(notifications)
    deliveries = Delivery.objects.bulk_create(
        unsaved_deliveries(notifications, preferences)
    )
    deliver_after_commit(deliveries)
    return notifications


def unsaved_notification(notice: Notice, now) -> Notification:
    return Notification(
        recipient=notice.person,
        event_key=notice.event_key,
        topic=notice.topic,
        subject=notice.subject[:200],
        body=notice.body,
        url=notice.url,
        created_at=now,
    )


def unsaved_deliveries(
    notifications: list[Notification],
    preferences: dict[tuple[int, str], NotificationPreference],
) -> list[Delivery]:
    """One outbox row per outside channel each recipient wants."""
    return [
        Delivery(notification=notification, channel=channel)
        for notification in notifications
        for channel in channels_for(
            notification.recipient,
            preferences.get((notification.recipient_id, notification.topic)),
        )
    ]


def deliver_after_commit(deliveries: list[Delivery]) -> None:
    """Have a worker send the stored deliveries once the transaction commits.

    Where the outbox relay runs (bowtie.outbox_relay) the commit itself tells
    it, through the database; otherwise a task per delivery is queued.
    """
    if deliveries and not settings.BOWTIE_OUTBOX_RELAY:
        ids = [delivery.pk for delivery in deliveries]
        transaction.on_commit(lambda: enqueue_deliveries(ids))


def preferences_of(notifications) -> dict[tuple[int, str], NotificationPreference]:
    """Each recipient's preference for each topic at hand, in one query."""
    wanting = [
        notification
        for notification in notifications
        if wants_outside_channels(notification.recipient)
    ]
    if not wanting:
        return {}
    pairs = Q()
    for notification in wanting:
        pairs |= Q(person_id=notification.recipient_id, topic=notification.topic)
    return {
        (preference.person_id, preference.topic): preference
        for preference in NotificationPreference.objects.filter(pairs)
    }


def wants_outside_channels(person: Person) -> bool:
    return (person.notify_by_email and bool(person.email)) or bool(
        person.slack_webhook_url
    )


def channels_for(person: Person, preference: NotificationPreference | None):
    """The outside channels a person set up and wants for this topic."""
    wanted_email = person.notify_by_email and bool(person.email)
    wanted_webhook = bool(person.slack_webhook_url)
    if preference is not None:
        wanted_email = wanted_email and preference.by_email
        wanted_webhook = wanted_webhook and preference.by_webhook

    channels = []
    if wanted_email:
        channels.append(Delivery.Channel.EMAIL)
    if wanted_webhook:
        channels.append(Delivery.Channel.SLACK)
    return channels


def insert_unless_notified(notifications: list[Notification]) -> list[Notification]:
    """Insert the rows whose recipient has none for their event yet.

    One INSERT ... ON CONFLICT DO NOTHING on the once-per-event constraint:
    no lookup first and no savepoint, and a concurrent insert of the same
    event waits for the other to commit instead of failing. Returns the rows
    inserted, with their ids.
    """
    meta = Notification._meta
    fields = [field for field in meta.concrete_fields if not field.primary_key]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(field.column) for field in fields)
    conflict = ", ".join(
        quote(meta.get_field(name).column) for name in ("recipient", "event_key")
    )
    row = f"({', '.join(['%s'] * len(fields))})"
    values = [
        field.get_db_prep_save(getattr(notification, field.attname), connection)
        for notification in notifications
        for field in fields
    ]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {quote(meta.db_table)} ({columns}) "
            f"VALUES {', '.join([row] * len(notifications))} "
            f"ON CONFLICT ({conflict}) DO NOTHING "
            f"RETURNING {quote(meta.pk.column)}, "
            f"{quote(meta.get_field('recipient').column)}, "
            f"{quote(meta.get_field('event_key').column)}",
            values,
        )
        inserted = {(recipient, key): pk for pk, recipient, key in cursor.fetchall()}

    new = []
    for notification in notifications:
        pk = inserted.pop((notification.recipient_id, notification.event_key), None)
        if pk is None:
            continue
        notification.pk = pk
        notification._state.adding = False
        notification._state.db = connection.alias
        new.append(notification)
    return new


def enqueue_deliveries(delivery_ids: list[int]) -> None:
    """Publish the delivery tasks over one broker connection."""
    from bowtie.tasks import deliver

    published = 0
    try:
        with deliver.app.producer_or_acquire() as producer:
            for delivery_id in delivery_ids:
                deliver.apply_async((delivery_id,), producer=producer)
                published += 1
    except Exception:
        # The broker is down: the rows stay pending and the outbox sweep sends them.
        logger.warning(
            "deliveries %s left for the outbox sweep",
            ", ".join(str(pk) for pk in delivery_ids[published:]),
            exc_info=True,
        )


def claim_delivery(delivery_id: int, now) -> Delivery | None:
    """Claim a pending delivery; return it with the message it sends, or None.

    A delivery whose earlier claim has lapsed (its worker died, or an attempt
    failed and its back-off is over) may be claimed again.
    """
    claimed = run_claim(
        "id = %s AND status = %s AND (claimed_until IS NULL OR claimed_until < %s)",
        [delivery_id, Delivery.Status.PENDING, prepared_time(now)],
    )
    return claimed[0] if claimed else None


def claim_new_deliveries(limit: int) -> list[Delivery]:
    """Claim up to `limit` pending deliveries never tried, oldest first.

    PostgreSQL only: rows another relay is claiming at this moment are
    skipped, not waited for, so relays of several workers share the work
    and never send one delivery twice. A delivery already tried is the
    outbox sweep's, at the end of its back-off.
    """
    delivery = quoted_table(Delivery)
    return run_claim(
        f"id IN (SELECT id FROM {delivery} WHERE status = %s "
        f"AND claimed_until IS NULL ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED)",
        [Delivery.Status.PENDING, limit],
    )


def run_claim(condition: str, params: list) -> list[Delivery]:
    """Claim the deliveries the condition picks, with the message each sends.

    The claim and the read of the message are one UPDATE ... RETURNING. The
    notification's and recipient's columns come through scalar subqueries,
    because SQLite's RETURNING cannot name a joined table.
    """
    quote = connection.ops.quote_name
    delivery = quoted_table(Delivery)
    notification = quoted_table(Notification)
    person = quoted_table(Person)

    def of_notification(column: str) -> str:
        return (
            f"(SELECT {quote(column)} FROM {notification} "
            f"WHERE {notification}.id = {delivery}.notification_id)"
        )

    def of_recipient(column: str) -> str:
        return (
            f"(SELECT {person}.{quote(column)} FROM {person} "
            f"JOIN {notification} ON {notification}.recipient_id = {person}.id "
            f"WHERE {notification}.id = {delivery}.notification_id)"
        )

    # On the clock, whatever `now` a caller judges lapsed claims by: the
    # lease says how long this worker may take from here.
    lease = timezone.now() + CLAIM_LEASE
    rows = run_statement(
        f"UPDATE {delivery} SET claimed_until = %s WHERE {condition} "
        f"RETURNING id, notification_id, channel, attempt_count, "
        f"{of_notification('subject')}, {of_notification('body')}, "
        f"{of_notification('url')}, {of_notification('event_key')}, "
        f"{of_notification('recipient_id')}, "
        f"{of_recipient('email')}, {of_recipient('slack_webhook_url')}",
        [prepared_time(lease), *params],
    )
    return sorted((claimed_delivery(row, lease) for row in rows), key=lambda d: d.pk)


def claimed_delivery(row: tuple, lease) -> Delivery:
    delivery_id, notification_id, channel, attempt_count = row[:4]
    subject, body, url, event_key, recipient_id, email, slack_webhook_url = row[4:]
    return Delivery(
        pk=delivery_id,
        channel=channel,
        attempt_count=attempt_count,
        claimed_until=lease,
        notification=Notification(
            pk=notification_id,
            subject=subject,
            body=body,
            url=url,
            event_key=event_key,
            recipient=Person(
                pk=recipient_id, email=email, slack_webhook_url=slack_webhook_url
            ),
        ),
    )


def prepared_time(moment):
    # As the ORM stores a time in this database (SQLite keeps text).
    return Delivery._meta.get_field("claimed_until").get_db_prep_value(
        moment, connection
    )


def deliver_one(delivery_id: int, now=None) -> str:
    """Send one pending delivery if this worker wins its claim."""
    now = now or timezone.now()
    delivery = claim_delivery(delivery_id, now)
    if delivery is None:
        return "not claimed"

    return send_claimed([delivery], now)[0]


def send_claimed(
    deliveries: list[Delivery], now, should_stop: Callable[[], bool] = lambda: False
) -> list[str]:
    """Send claimed deliveries; the outcome of each: sent, retry, failed,
    claim lost or given back.

    The e-mails go over one mail connection, opened at the first of them.
    Each delivery is marked as soon as it is sent, so a worker that dies
    mid-batch sends again at most the one it was sending. A failure is
    recorded on its delivery, with the back-off of its next attempt, and
    the rest go on. The rest are given back for the next claim when the
    claims come too close to lapsing for another attempt, when `should_stop`
    says so, or when recording an outcome fails.
    """
    outcomes = []
    mailer = None
    position = 0
    try:
        for position, delivery in enumerate(deliveries):
            if should_stop() or timezone.now() + LONGEST_ATTEMPT > (
                delivery.claimed_until
            ):
                give_back(deliveries[position:])
                return outcomes + ["given back"] * (len(deliveries) - position)
            try:
                if delivery.channel == Delivery.Channel.EMAIL:
                    if mailer is None:
                        mailer = mailers.default
                        mailer.open()
                    send_email(delivery.notification, mailer)
                else:
                    post_to_webhook(delivery.notification)
            except Exception as error:
                outcomes.append(record_failed_attempt(delivery, error, now))
                if mailer is not None:
                    # The connection may be what failed: the next e-mail
                    # opens a new one.
                    mailer.close()
                    mailer = None
                continue
            outcomes.append(mark_sent(delivery, timezone.now()))
    except Exception:
        # Recording an outcome failed (the database went away): the untried
        # rest go back rather than wait for their claims to lapse.
        give_back(deliveries[position + 1 :], quietly=True)
        raise
    finally:
        if mailer is not None:
            mailer.close()
    return outcomes


# Left of a claim before an attempt starts: more than one attempt takes. The
# mail server's timeout (20 s, in settings) bounds each step of an SMTP
# exchange rather than the whole, so a server that slow past this margin is
# one the back-off should wait out anyway.
LONGEST_ATTEMPT = timedelta(seconds=60)


def mark_sent(delivery: Delivery, sent_at) -> str:
    """Record a delivery as sent, if its claim is still this worker's."""
    # In SQL: the ORM compiling this update cost a relay as much as a claim.
    marked_rows = run_statement(
        f"UPDATE {quoted_table(Delivery)} SET status = %s, sent_at = %s, "
        f"attempt_count = attempt_count + 1, last_error = '' "
        f"WHERE id = %s AND claimed_until = %s RETURNING id",
        [
            Delivery.Status.SENT,
            prepared_time(sent_at),
            delivery.pk,
            prepared_time(delivery.claimed_until),
        ],
    )
    if not marked_rows:
        logger.warning(
            "delivery %s was sent after its claim lapsed: it may go twice",
            delivery.pk,
        )
        return "claim lost"
    logger.info("delivery %s sent by %s", delivery.pk, delivery.channel)
    return "sent"


def give_back(deliveries: list[Delivery], quietly: bool = False) -> None:
    """Give back claimed deliveries not tried, for the next claim to take."""
    if not deliveries:
        return
    try:
        for delivery in deliveries:
            Delivery.objects.filter(
                pk=delivery.pk, claimed_until=delivery.claimed_until
            ).update(claimed_until=None)
    except Exception:
        if not quietly:
            raise
        return
    logger.info(
        "deliveries %s given back untried",
        ", ".join(str(delivery.pk) for delivery in deliveries),
    )


# E-mails that carry more than their text (a chart, a table) get an HTML
# alternative, drawn at send time from the record their event key names.
HtmlRenderer = Callable[[Notification], str | None]
HTML_RENDERERS: dict[str, HtmlRenderer] = {}


def register_html(event_key_prefix: str, renderer: HtmlRenderer) -> None:
    """Draw the HTML of e-mails whose event key starts with the prefix."""
    HTML_RENDERERS[event_key_prefix] = renderer


def html_of(notification: Notification) -> str | None:
    for prefix, renderer in HTML_RENDERERS.items():
        if notification.event_key.startswith(prefix):
            return renderer(notification)
    return None


def send_email(notification: Notification, mailer) -> None:
    link = link_of(notification)
    message = EmailMultiAlternatives(
        subject=notification.subject,
        body=f"{notification.body}\n\n{link}".strip(),
        to=[notification.recipient.email],
    )
    html = html_of(notification)
    if html:
        message.attach_alternative(html, "text/html")
    mailer.send_messages([message])


def post_to_webhook(notification: Notification) -> None:
    response = httpx.post(
        notification.recipient.slack_webhook_url,
        json={
            "text": f"*{notification.subject}*\n{notification.body}\n"
            f"{link_of(notification)}"
        },
        timeout=10,
    )
    response.raise_for_status()


def link_of(notification: Notification) -> str:
    return settings.BOWTIE_BASE_URL + notification.url if notification.url else ""


def describe_failure(error: Exception) -> str:
    """Say what went wrong without the message's text or the endpoint's address.

    A webhook address carries its secret, and an SMTP refusal may quote the
    recipient: neither belongs in the outbox table or the logs.
    """
    if isinstance(error, httpx.HTTPStatusError):
        return f"HTTP {error.response.status_code} from the webhook"
    if isinstance(error, smtplib.SMTPResponseException):
        return f"SMTP {error.smtp_code} ({type(error).__name__})"
    return type(error).__name__


def record_failed_attempt(delivery: Delivery, error: Exception, now) -> str:
    attempts = delivery.attempt_count + 1
    gave_up = attempts >= MAX_ATTEMPTS
    # Back off exponentially: the claim doubles as the time of the next try.
    retry_at = now + timedelta(seconds=min(3600, 15 * 2**attempts))
    # Only while the claim is this worker's, as for a delivery sent.
    recorded = Delivery.objects.filter(
        pk=delivery.pk, claimed_until=delivery.claimed_until
    ).update(
        attempt_count=attempts,
        status=Delivery.Status.FAILED if gave_up else Delivery.Status.PENDING,
        claimed_until=retry_at,
        last_error=describe_failure(error),
    )
    # The traceback only where its text cannot carry a webhook's address.
    logger.log(
        logging.ERROR if gave_up else logging.WARNING,
        "delivery %s failed (attempt %s%s): %s",
        delivery.pk,
        attempts,
        ", giving up" if gave_up else "",
        describe_failure(error),
        exc_info=not isinstance(error, httpx.HTTPError),
    )
    if not recorded:
        logger.warning(
            "delivery %s: its claim lapsed before the failure was recorded",
            delivery.pk,
        )
        return "claim lost"
    return "failed" if gave_up else "retry"


def redeliver_pending(now=None, limit: int = 200) -> int:
    """Send deliveries left pending, oldest first; return how many were sent.

    Those never tried were missed: the broker was down, or the outbox relay.
    The others wait for the end of their back-off after a failed attempt.
    """
    now = now or timezone.now()
    stale_before = now - settings.BOWTIE_OUTBOX_RETRY_AFTER
    pending = list(
        Delivery.objects.filter(
            Q(claimed_until__isnull=True, notification__created_at__lt=stale_before)
            | Q(claimed_until__lt=now),
            status=Delivery.Status.PENDING,
        )
        .order_by("pk")
        .values_list("pk", "claimed_until")[:limit]
    )
    missed = [pk for pk, claimed_until in pending if claimed_until is None]
    if missed and settings.BOWTIE_OUTBOX_RELAY:
        logger.warning(
            "deliveries %s were never tried: is the outbox relay running?",
            ", ".join(str(pk) for pk in missed),
        )
    return sum(deliver_one(pk, now) == "sent" for pk, _ in pending)
