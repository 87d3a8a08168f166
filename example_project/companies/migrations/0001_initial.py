from django.db import migrations, models

COMPANIES = [
    ("Airbnb", "airbnb.com", 6900, "San Francisco"),
    ("Qonto", "qonto.com", 1600, "Paris"),
    ("Stripe", "stripe.com", 8000, "South San Francisco"),
    ("Figma", "figma.com", 1500, "San Francisco"),
    ("Notion", "notion.so", 800, "San Francisco"),
]


def seed(apps, schema_editor):
    Company = apps.get_model("companies", "Company")
    Company.objects.bulk_create(
        [Company(name=n, domain_name=d, employees=e, city=c) for n, d, e, c in COMPANIES]
    )


class Migration(migrations.Migration):
    initial = True
    dependencies = []

    operations = [
        migrations.CreateModel(
            name="Company",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("name", models.CharField(max_length=200)),
                ("domain_name", models.CharField(blank=True, max_length=200)),
                ("employees", models.PositiveIntegerField(default=0)),
                ("city", models.CharField(blank=True, max_length=100)),
            ],
            options={"ordering": ["name"], "verbose_name_plural": "companies"},
        ),
        migrations.RunPython(seed, migrations.RunPython.noop),
    ]
