from django.apps import AppConfig


class HandoffsConfig(AppConfig):
    name = "handoffs"
    verbose_name = "Handoffs"

    def ready(self):
        # Connects the clocks to calendar changes made in the core domain.
        from handoffs import (
            clocks,  # noqa: F401
            lead_measures,
        )

        lead_measures.register()

        # After every migrate and flush: the triggers that tell each process
        # its kept configuration changed (handoffs.configuration_cache).
        from django.db.models.signals import post_migrate

        from handoffs.configuration_cache import ensure_triggers_after_migrate

        post_migrate.connect(ensure_triggers_after_migrate, sender=self)
