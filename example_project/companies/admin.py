from django.contrib import admin

from example_project.companies.models import Company

admin.site.register(Company)
