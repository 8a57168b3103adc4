from django.apps import AppConfig


class BowtieConfig(AppConfig):
    name = "bowtie"
    verbose_name = "Bowtie core"
