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
