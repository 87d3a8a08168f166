from django.apps import AppConfig


class CompaniesConfig(AppConfig):
    name = "example_project.companies"
    default_auto_field = "django.db.models.BigAutoField"
