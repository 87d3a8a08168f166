"""
Single-row lookups on the request paths, without compiling a queryset on every call.

Building the SQL of a queryset costs far more than running it: about 1 ms for the bearer
check's ``select_related`` lookup against some 40 µs for the SELECT itself on SQLite, and the
bearer check and the token endpoint make one or two such lookups per request. A
:class:`JoinedLookup` has Django compile its queryset once per process and database, keeps what
the compiler worked out (the SQL, the columns it selects and their converters, and which of
them belong to which model: the compiler's ``select`` and ``klass_info``), then runs that SELECT
and returns model instances with their related objects attached, exactly as ``select_related``
would. It reads the current row every time: nothing is cached but SQL.

Nothing here knows how a model's table is laid out. A host's user model may put its primary
key anywhere (a UUID declared after the fields it inherits), or keep its fields in a parent's
table (multi-table inheritance, where the primary key is the link to the parent): Django joins
the tables and orders the columns, and the instances are built with ``Model.from_db`` from the
fields Django itself selected.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from operator import itemgetter
from typing import Any

from django.db import connections, router
from django.db.models import Expression, Model
from django.db.models.base import ModelState
from django.db.models.fields.related_descriptors import ForeignKeyDeferredAttribute
from django.db.models.query_utils import DeferredAttribute
from django.db.models.signals import post_init, pre_init

from twenty_oauth import statements

#: The descriptors through which ``Model.__init__`` only stores a value in the instance's
#: ``__dict__`` (a foreign key's also forgets a related object cached before; a new instance
#: has none).
_PLAIN_DESCRIPTORS = (DeferredAttribute, ForeignKeyDeferredAttribute)

#: The value compiled into the SQL in place of the one looked up; found among the parameters.
_PLACEHOLDER = "twenty_oauth.lookups:value"


def fields_of(model: type[Model], prefix: str = "") -> tuple[str, ...]:
    """Every concrete field of ``model``, after ``prefix``: what ``only`` names to keep them all."""
    return tuple(prefix + field.name for field in model._meta.concrete_fields)


@dataclass(frozen=True)
class _Populator:
    """How to build one model's instance from a row, and the related instances it holds."""

    model: type[Model]
    attnames: list[str]  # the selected fields, in the model's field order (what from_db takes)
    pick: Callable[[list], tuple]  # their values, out of the row, in that order
    pk_index: int  # a NULL there is how an outer join says it found nothing
    children: tuple[tuple[_Populator, Callable, Callable], ...]  # with local and remote setters
    make: Callable[[str, list[str], tuple], Model]  # from_db, or what it amounts to (instance_maker)

    def build(self, alias: str, row: list) -> Model | None:
        values = self.pick(row)
        if values[self.pk_index] is None:
            return None
        instance = self.make(alias, self.attnames, values)
        for child, local_setter, remote_setter in self.children:
            related = child.build(alias, row)
            local_setter(instance, related)
            if related is not None:
                remote_setter(related, instance)
        return instance


@dataclass(frozen=True)
class _Plan:
    sql: str
    params: list[Any]
    value_index: int  # where the value looked up goes in params
    converters: list[tuple[int, list, Any]]  # columns that need them: (index, converters, expression)
    root: _Populator
    annotations: list[tuple[str, int]]  # annotation name, column index


def _populator(klass_info: dict[str, Any], select: list) -> _Populator:
    """Read the compiler's ``klass_info`` for one model (the way ``select_related`` does)."""
    model = klass_info["model"]
    index_of = {select[index][0].target.attname: index for index in klass_info["select_fields"]}
    attnames = [field.attname for field in model._meta.concrete_fields if field.attname in index_of]
    indexes = [index_of[attname] for attname in attnames]
    pick = itemgetter(*indexes) if len(indexes) > 1 else (lambda row, index=indexes[0]: (row[index],))
    children = tuple(
        (_populator(related, select), related["local_setter"], related["remote_setter"])
        for related in klass_info.get("related_klass_infos", ())
    )
    pk_index = attnames.index(model._meta.pk.attname)
    return _Populator(
        model=model,
        attnames=attnames,
        pick=pick,
        pk_index=pk_index,
        children=children,
        make=instance_maker(model, attnames),
    )


def instance_maker(model: type[Model], attnames: list[str]) -> Callable[[str, list[str], tuple], Model]:
    """
    ``model.from_db``, or, for a model whose instances it would build with nothing but
    ``Model.__init__``, a function that builds the same instance directly.

    ``Model.from_db`` spreads the values over every concrete field (``DEFERRED`` for those not
    selected) and calls ``Model.__init__``, which sends ``pre_init`` and ``post_init`` and sets
    each value through the field's descriptor. For the bearer check's three instances that is
    9 µs of a 43 µs lookup (in-process, ``make bench``'s database), as much as a third of what
    the check costs beside its query. Where it would do nothing more than store the values, the
    values are stored as it stores them: in the instance's ``__dict__``, with a ``ModelState``
    that says the row exists in ``alias``. It is ``from_db`` itself whenever the model or its
    fields could do more: a model that overrides ``__init__`` or ``from_db``, a field whose
    descriptor is not Django's plain one (an encrypted or a file field, say), and, checked on
    every call, any ``pre_init`` or ``post_init`` receiver for the model.
    """
    plain = (
        model.__init__ is Model.__init__
        and getattr(model.from_db, "__func__", None) is Model.from_db.__func__
        and all(type(inspect.getattr_static(model, name, None)) in _PLAIN_DESCRIPTORS for name in attnames)
    )
    return partial(_plain_instance, model) if plain else model.from_db


def _plain_instance(model: type[Model], alias: str, attnames: list[str], values: tuple) -> Model:
    # Most sites connect no receiver to either signal: then no model has one, which is cheaper
    # to see than asking the signals about this model (six times a bearer check).
    if (pre_init.receivers or post_init.receivers) and (
        pre_init.has_listeners(model) or post_init.has_listeners(model)
    ):
        return model.from_db(alias, attnames, values)
    instance = model.__new__(model)
    instance._state = state = ModelState()
    instance.__dict__.update(zip(attnames, values, strict=True))
    state.adding = False
    state.db = alias
    return instance


class JoinedLookup:
    """
    ``JoinedLookup(AccessToken, "jti", ("client", "user")).get(value)`` is
    ``AccessToken.objects.select_related("client", "user").get(jti=value)``, or None, for a
    unique ``field``. Related paths may be nested (``"family__client"``); a nullable foreign
    key is an outer join and gives None.

    ``annotate`` returns expressions to add to the row, set as attributes of the object found,
    as ``queryset.annotate(...)`` would: a function, so that they are built once the models are
    ready, when the lookup is first used. ``only`` names the fields to select, as
    ``queryset.only(...)`` does: the others are deferred, loaded by a query of their own if they
    are ever read.
    """

    def __init__(
        self,
        model: type[Model],
        field: str,
        related: tuple[str, ...] = (),
        annotate: Callable[[], dict[str, Expression]] | None = None,
        only: tuple[str, ...] = (),
    ) -> None:
        self.model = model
        self.field = field
        self.related = related
        self.annotate = annotate
        self.only = only
        self._plans: dict[str, _Plan] = {}

    def get(self, value: Any) -> Model | None:
        alias = router.db_for_read(self.model)
        connection = connections[alias]
        plan = self._plans.get(alias) or self._build(alias)
        params = plan.params.copy()
        params[plan.value_index] = value
        row = statements.fetchone(connection, plan.sql, params)
        if row is None:
            return None
        values = list(row)
        for index, converters, expression in plan.converters:
            for converter in converters:
                values[index] = converter(values[index], expression, connection)
        found = plan.root.build(alias, values)
        for name, index in plan.annotations:
            setattr(found, name, values[index])
        return found

    def _build(self, alias: str) -> _Plan:
        queryset = self.model._base_manager.using(alias).order_by()
        if self.related:
            queryset = queryset.select_related(*self.related)
        if self.annotate is not None:
            queryset = queryset.annotate(**self.annotate())
        if self.only:
            queryset = queryset.only(*self.only)
        queryset = queryset.filter(**{self.field: _PLACEHOLDER})
        compiler = queryset.query.get_compiler(using=alias)
        sql, params = compiler.as_sql()
        positions = [index for index, param in enumerate(params) if param == _PLACEHOLDER]
        if len(positions) != 1:
            raise ValueError(f"{self.model.__name__}.{self.field}: cannot place the looked-up value.")
        converters = compiler.get_converters([expression for expression, _, _ in compiler.select])
        plan = _Plan(
            sql=sql,
            params=list(params),
            value_index=positions[0],
            converters=[(index, list(needed), column) for index, (needed, column) in converters.items()],
            root=_populator(compiler.klass_info, compiler.select),
            annotations=list(compiler.annotation_col_map.items()),
        )
        self._plans[alias] = plan
        return plan
