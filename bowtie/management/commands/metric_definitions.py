"""Print every metric's definition as the README's Markdown section."""

from django.core.management.base import BaseCommand

from bowtie.definitions import definitions_markdown


class Command(BaseCommand):
    help = (
        "Print how each dashboard number is computed, as Markdown: the "
        "README's section is this output, checked by a test."
    )

    def handle(self, *args, **options):
        self.stdout.write(definitions_markdown(), ending="")
