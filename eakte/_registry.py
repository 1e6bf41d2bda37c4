"""A lazy name → class registry fed by built-ins and an entry-point group."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from importlib.metadata import EntryPoint, entry_points
from types import MappingProxyType
from typing import Generic, TypeVar

from eakte.errors import BackendUnavailable, InvalidInput

__all__ = ["Registry"]

T = TypeVar("T")


def _dist_name(ep: EntryPoint) -> str | None:
    return ep.dist.name if ep.dist is not None else None


class Registry(Generic[T]):
    """Backends by name: built-ins as dotted paths, plugins from an entry-point group.

    Nothing is imported until a name is asked for, so ``import eakte`` stays light; a
    missing optional package becomes :class:`BackendUnavailable` with an install hint.

    Args:
        group: the entry-point group, e.g. ``"eakte.search_backends"``.
        builtins: name → ``("module:attribute", install hint)``.
    """

    def __init__(self, group: str, builtins: Mapping[str, tuple[str, str]]) -> None:
        self.group = group
        self._paths: dict[str, tuple[str, str]] = dict(builtins)
        self._loaded: dict[str, type[T]] = {}
        #: the entry points behind each discovered name (more than one: a name clash).
        self._entry_points: dict[str, list[EntryPoint]] = {}

    def _discover(self) -> None:
        found: dict[str, list[EntryPoint]] = {}
        for ep in entry_points(group=self.group):
            same = found.setdefault(ep.name, [])
            if all((other.value, _dist_name(other)) != (ep.value, _dist_name(ep))
                   for other in same):
                same.append(ep)
            dist = ep.dist.name if ep.dist else ep.name
            self._paths.setdefault(ep.name, (ep.value, f"reinstall {dist}"))
        self._entry_points = found

    def entry_points(self, name: str) -> list[EntryPoint]:
        """Return the installed entry points that register ``name`` (none for built-ins)."""
        self._discover()
        return list(self._entry_points.get(name, ()))

    @property
    def names(self) -> Mapping[str, str]:
        """Read-only view of every known name and where it lives."""
        self._discover()
        return MappingProxyType({name: path for name, (path, _) in sorted(self._paths.items())})

    def register(self, name: str, cls: type[T], *, replace: bool = False) -> None:
        """Register ``cls`` under ``name``.

        Raises:
            ValueError: the name is taken and ``replace`` is False.
        """
        if not replace and (name in self._loaded or name in self._paths):
            raise ValueError(f"{self.group}: {name!r} is registered already; pass replace=True")
        self._loaded[name] = cls
        self._paths[name] = (f"{cls.__module__}:{cls.__qualname__}", "")

    def get(self, name: str) -> type[T]:
        """Return the class registered under ``name``, importing it on first use.

        Raises:
            InvalidInput: no backend has that name.
            BackendUnavailable: its package is not installed.
        """
        if name in self._loaded:
            return self._loaded[name]
        if name not in self._paths:
            self._discover()
        if name not in self._paths:
            known = ", ".join(sorted(self._paths)) or "none"
            raise InvalidInput(f"unknown {self.group} backend {name!r}; known: {known}")
        path, hint = self._paths[name]
        module_name, _, attr = path.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            raise BackendUnavailable(
                f"{self.group} backend {name!r} is unavailable ({exc}); {hint}"
            ) from exc
        cls: type[T] = getattr(module, attr)
        self._loaded[name] = cls
        return cls
