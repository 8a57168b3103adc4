"""The portal watching itself: a heartbeat per scheduled job."""

from django.db import models


class JobHeartbeat(models.Model):
    """When a scheduled job last ran, and whether it finished.

    Each run writes its start and its end, so a job that hangs or dies shows
    as started but not finished, and one that stops being scheduled shows as
    late. A row per job, updated in place: this is a pulse, not a log.
    """

    name = models.CharField(max_length=80, unique=True)
    expected_every_seconds = models.PositiveIntegerField()
    last_started_at = models.DateTimeField(null=True, blank=True)
    last_finished_at = models.DateTimeField(null=True, blank=True)
    last_succeeded_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=200, blank=True)
    last_result = models.CharField(max_length=200, blank=True)
    run_count = models.PositiveBigIntegerField(default=0)
    # Set while an alert about this job is open, so it is sent once.
    alerted_since = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name
