from django.apps import AppConfig


class BowtieConfig(AppConfig):
    name = "bowtie"
    verbose_name = "Bowtie core"

    def ready(self):
        # `aggregates` registers SQLite's percentile functions on every new
        # connection when imported.
        from bowtie import aggregates, indicators, notifications  # noqa: F401

        # Alert e-mails carry their chart and records as HTML.
        notifications.register_html("alert:", indicators.render_alert_mail)
