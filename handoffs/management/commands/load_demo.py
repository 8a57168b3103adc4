from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction

from handoffs import demo
from partners import demo as partner_demo


class Command(BaseCommand):
    help = "Load the generated demo workspace (once) and print the demo log-ins."

    def handle(self, *args, **options):
        if demo.is_loaded():
            self.stdout.write("Demo workspace already loaded.")
        else:
            # One transaction: a half-loaded demo would never load again.
            with transaction.atomic():
                demo.load_demo()
                partner_demo.load_partner_demo()
            self.stdout.write(self.style.SUCCESS("Demo workspace loaded."))

        self.stdout.write(
            f"\nOpen {settings.BOWTIE_BASE_URL}/ and log in with password "
            f"'{demo.DEMO_PASSWORD}' as:\n"
            "  revops  RevOps admin (also the admin pages)\n"
            "  mara    manager, Inbound DACH (team queue)\n"
            "  jonas   SDR, Inbound DACH (my queue)\n"
            "  ines    SDR, Inbound Global\n"
            "  tom     AE, a deal with half a packet (Deals)\n"
            "  ivy     implementation lead (Implementation queue, Engagements)\n"
            "  cara    customer success manager (accounts, signals)\n"
            "  max     account manager (mid-sized expansion deals)\n"
            f"  {partner_demo.PARTNER_EMAIL}  partner (the partner area, "
            f"{settings.BOWTIE_BASE_URL}/partner/login/)\n"
            f"Public lead form: {settings.BOWTIE_BASE_URL}/form/\n"
        )
