from django.apps import AppConfig


class ExpansionConfig(AppConfig):
    name = "expansion"
    verbose_name = "Expansion and renewals"

    def ready(self):
        from expansion import measures
        from expansion.api import handoff_actions

        measures.register()
        # The handoff API works CS -> Sales handoffs through this app's
        # services; the handoffs app, which this one builds on, cannot name them.
        handoff_actions.register_actions()
