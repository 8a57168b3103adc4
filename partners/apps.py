from django.apps import AppConfig


class PartnersConfig(AppConfig):
    name = "partners"
    verbose_name = "Partners and implementation"

    def ready(self):
        # The dashboard's Sales → Implementation and Implementation → CS metrics.
        from partners import measures

        measures.register()
