from django.db import models


class Company(models.Model):
    name = models.CharField(max_length=200)
    domain_name = models.CharField(max_length=200, blank=True)
    employees = models.PositiveIntegerField(default=0)
    city = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "companies"

    def __str__(self) -> str:
        return self.name
