"""Column types that read damaged rows without failing the whole query."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


class TolerantDateTime(TypeDecorator[datetime]):
    """``DateTime`` whose unreadable stored values (a bit flip, a hand edit) read as None.

    One bad row must not make ``history`` fail: the readers show it as best they can.
    """

    impl = DateTime
    cache_ok = True

    def result_processor(self, dialect: Dialect, coltype: Any) -> Callable[[Any], Any] | None:
        inner = self.impl_instance.dialect_impl(dialect).result_processor(dialect, coltype)

        def process(value: Any) -> Any:
            if value is None:
                return None
            try:
                parsed = inner(value) if inner is not None else value
            except (ValueError, TypeError, OverflowError):
                return None
            return parsed if isinstance(parsed, datetime) else None

        return process
