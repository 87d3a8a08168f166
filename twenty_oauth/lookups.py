"""
Single-row lookups on the request paths, without compiling a queryset on every call.

Building the SQL of a queryset costs far more than running it: about 1 ms for the bearer
check's ``select_related`` lookup against some 40 µs for the SELECT itself on SQLite, and the
bearer check and the token endpoint make one or two such lookups per request. A
:class:`JoinedLookup` builds its SQL and its column converters once per process and database,
then runs one SELECT and returns model instances with their related objects attached, exactly
as ``select_related`` would. It reads the current row every time: nothing is cached but SQL.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import connections, router
from django.db.models import Model


@dataclass(frozen=True)
class _Plan:
    sql: str
    converters: list[tuple[int, list, Any]]  # columns that need them: (index, converters, expression)
    layout: list[tuple[str, type[Model], int, int, list[str]]]  # path, model, start, end, attnames
    links: list[tuple[str, str, Any]]  # parent path, path, the foreign key that links them
    flags: list[str]  # names of the boolean columns after the models' columns


class JoinedLookup:
    """
    ``JoinedLookup(AccessToken, "jti", ("client", "user")).get(value)`` is
    ``AccessToken.objects.select_related("client", "user").filter(jti=value).first()`` for a
    unique ``field``. Related paths may be nested (``"family__client"``); a nullable foreign
    key is an outer join and gives None.

    ``flags`` adds boolean SQL expressions, set as attributes of the object found (what
    ``annotate(name=Exists(...))`` would give). Each is a function of the database's
    ``quote_name`` and of the query's table aliases by path (``"self"`` for the model's own,
    ``"family"`` for a related path) that returns the expression.
    """

    def __init__(
        self,
        model: type[Model],
        field: str,
        related: tuple[str, ...] = (),
        flags: dict[str, Callable[[Callable[[str], str], dict[str, str]], str]] | None = None,
    ) -> None:
        self.model = model
        self.field = field
        self.related = related
        self.flags = flags or {}
        self._plans: dict[str, _Plan] = {}

    def get(self, value: Any) -> Model | None:
        alias = router.db_for_read(self.model)
        connection = connections[alias]
        plan = self._plans.get(alias) or self._build(alias)
        with connection.cursor() as cursor:
            cursor.execute(plan.sql, [value])
            row = cursor.fetchone()
        if row is None:
            return None
        values = list(row)
        for index, converters, expression in plan.converters:
            for converter in converters:
                values[index] = converter(values[index], expression, connection)
        objects: dict[str, Model | None] = {}
        for path, model, start, end, attnames in plan.layout:
            part = values[start:end]
            # An outer join that found nothing gives a row of NULLs, primary key included.
            objects[path] = None if path and part[0] is None else model.from_db(alias, attnames, part)
        for parent_path, path, foreign_key in plan.links:
            parent = objects[parent_path]
            if parent is not None:
                foreign_key.set_cached_value(parent, objects[path])
        found = objects[""]
        for offset, name in enumerate(plan.flags, start=plan.layout[-1][3]):
            setattr(found, name, bool(values[offset]))
        return found

    def _build(self, alias: str) -> _Plan:
        connection = connections[alias]
        quote = connection.ops.quote_name
        models: dict[str, type[Model]] = {"": self.model}
        aliases = {"": "t0"}
        joins, links = [], []
        for number, path in enumerate(self.related, start=1):
            parent_path, _, name = path.rpartition("__")
            foreign_key = models[parent_path]._meta.get_field(name)
            target = foreign_key.related_model
            aliases[path] = f"t{number}"
            models[path] = target
            kind = "LEFT OUTER JOIN" if foreign_key.null else "INNER JOIN"
            joins.append(
                f"{kind} {quote(target._meta.db_table)} {aliases[path]} ON "
                f"{aliases[path]}.{quote(foreign_key.target_field.column)} = "
                f"{aliases[parent_path]}.{quote(foreign_key.column)}"
            )
            links.append((parent_path, path, foreign_key))
        columns, converters, layout = [], [], []
        for path, model in models.items():
            # from_db takes the fields in model order; the primary key must lead, since a NULL
            # there is how an outer join says it found nothing.
            fields = list(model._meta.concrete_fields)
            if fields[0] is not model._meta.pk:
                raise ValueError(f"{model.__name__}: the primary key must be the first field.")
            start = len(columns)
            for field in fields:
                column = field.get_col(aliases[path])
                needed = connection.ops.get_db_converters(column) + column.get_db_converters(connection)
                if needed:
                    converters.append((len(columns), needed, column))
                columns.append(f"{aliases[path]}.{quote(field.column)}")
            layout.append((path, model, start, len(columns), [f.attname for f in fields]))
        names = {path or "self": table_alias for path, table_alias in aliases.items()}
        columns += [flag(quote, names) for flag in self.flags.values()]
        where = self.model._meta.get_field(self.field)
        # Names from the models' metadata only; the value looked up is a parameter.
        sql = (
            f"SELECT {', '.join(columns)} FROM {quote(self.model._meta.db_table)} t0 {' '.join(joins)} "  # noqa: S608
            f"WHERE t0.{quote(where.column)} = %s"
        )
        plan = _Plan(sql=sql, converters=converters, layout=layout, links=links, flags=list(self.flags))
        self._plans[alias] = plan
        return plan
