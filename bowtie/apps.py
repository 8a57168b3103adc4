from django.apps import AppConfig


class BowtieConfig(AppConfig):
    name = "bowtie"
    verbose_name = "Bowtie core"

    def ready(self):
        # Registers SQLite's percentile functions on every new connection.
        from bowtie import aggregates  # noqa: F401
