from django.apps import AppConfig


class HandoffsConfig(AppConfig):
    name = "handoffs"
    verbose_name = "Handoffs"

    def ready(self):
        # Connects the clocks to calendar changes made in the core domain, and
        # the packets and renewals of won deals to the CRM import.
        from handoffs import clocks, history  # noqa: F401
