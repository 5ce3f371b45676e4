"""What every command and dashboard page works with: settings and an open store."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

from arenalens.config import Settings
from arenalens.store import Store

if TYPE_CHECKING:
    from arenalens.embeddings import Embedder
    from arenalens.labeler.base import Labeler


@dataclass
class AppContext:
    """Settings plus lazily opened resources (store, embedder, labeler)."""

    settings: Settings
    _store: Store | None = field(default=None, repr=False)

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = Store.open(self.settings.db_url)
        return self._store

    @cached_property
    def embedder(self) -> Embedder:
        from arenalens.embeddings import Embedder

        return Embedder.from_settings(self.settings, self.store)

    @cached_property
    def labeler(self) -> Labeler:
        from arenalens.labeler import make_labeler

        return make_labeler(self.settings, self.store, self.embedder)
