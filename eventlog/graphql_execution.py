"""graphql-core executor for strawberry that keeps long-lived subscriptions' memory flat."""

from __future__ import annotations

from typing import Any

from graphql.execution import Executor
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

__all__ = ["BoundedExecutionContext"]


class BoundedExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's default executor, with the subfield memo scoped to one event.

    Wire it with ``strawberry.Schema(..., execution_context_class=BoundedExecutionContext)``.
    """

    # WHY: graphql-core 3.3.x (graphql/execution/executor.py, Executor.collect_subfields)
    # memoizes collected subfields in ``self._relevant_sub_fields``, keyed on
    # ``(return_type, id(field_details_list))``, and stores the list itself in the value
    # so the id stays valid. ``build_per_event_executor`` is a shallow ``copy(self)``, so
    # every subscription event shares the subscription's dict, while ``execute_operation``
    # re-runs ``collect_fields`` per event and hands out a brand-new ``field_details_list``.
    # Result: one never-hit entry (~1.2 KB for a 3-field object) per delivered message,
    # freed only when the subscription ends. A fresh dict per event keeps the memo
    # (list items and sub-executors within one event still share it) but drops it after.
    def build_per_event_executor(self, payload: Any) -> Executor:
        executor = super().build_per_event_executor(payload)
        executor._relevant_sub_fields = {}
        return executor
