from django.conf import settings
from django.core.management.base import BaseCommand

from handoffs import demo


class Command(BaseCommand):
    help = "Load the generated demo workspace (once) and print the demo log-ins."

    def handle(self, *args, **options):
        if demo.is_loaded():
            self.stdout.write("Demo workspace already loaded.")
        else:
            demo.load_demo()
            self.stdout.write(self.style.SUCCESS("Demo workspace loaded."))

        self.stdout.write(
            f"\nOpen {settings.BOWTIE_BASE_URL}/ and log in with password "
            f"'{demo.DEMO_PASSWORD}' as:\n"
            "  revops  RevOps admin (also the admin pages)\n"
            "  mara    manager, Inbound DACH (team queue)\n"
            "  jonas   SDR, Inbound DACH (my queue)\n"
            "  ines    SDR, Inbound Global\n"
            "  tom     AE, a deal with half a packet (Deals)\n"
            "  ivy     implementation lead (Implementation queue)\n"
            f"Public lead form: {settings.BOWTIE_BASE_URL}/form/\n"
        )
