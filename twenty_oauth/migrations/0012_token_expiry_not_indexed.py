"""
The token tables' ``expires_at`` indexes go: only cleanup looks tokens up by expiry, and it
walks the primary key (see ``AccessToken.expires_at``).

``AlterField`` would copy each table whole on SQLite to drop one index; the index is dropped
by itself here, found by its column, as Django names it whatever the table's history.
"""

from django.db import migrations, models

#: Each table, and the name its index takes back if the migration is reversed.
TABLES = {"accesstoken": "twenty_oauth_at_expires", "refreshtoken": "twenty_oauth_rt_expires"}


def _expiry_indexes(schema_editor, model) -> list[str]:
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, model._meta.db_table)
    return [
        name
        for name, found in constraints.items()
        if found["columns"] == ["expires_at"] and found["index"] and not found["unique"]
    ]


def drop_expiry_indexes(apps, schema_editor):
    for name in TABLES:
        model = apps.get_model("twenty_oauth", name)
        for index in _expiry_indexes(schema_editor, model):
            schema_editor.remove_index(model, models.Index(fields=["expires_at"], name=index))


def add_expiry_indexes(apps, schema_editor):
    for name, index in TABLES.items():
        model = apps.get_model("twenty_oauth", name)
        if not _expiry_indexes(schema_editor, model):
            schema_editor.add_index(model, models.Index(fields=["expires_at"], name=index))


class Migration(migrations.Migration):
    dependencies = [
        ("twenty_oauth", "0011_token_keys_without_pattern_indexes"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(drop_expiry_indexes, add_expiry_indexes)],
            state_operations=[
                migrations.AlterField(
                    model_name="accesstoken",
                    name="expires_at",
                    field=models.DateTimeField(),
                ),
                migrations.AlterField(
                    model_name="refreshtoken",
                    name="expires_at",
                    field=models.DateTimeField(),
                ),
            ],
        ),
    ]
