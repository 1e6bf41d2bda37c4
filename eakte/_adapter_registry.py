"""The registry of installed adapters (entry-point group ``eakte.adapters``).

Public through :mod:`eakte.adapter`; import from there.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from importlib.metadata import EntryPoint
from typing import Any, Final

from eakte._adapter_contract import Adapter, check_adapter_class
from eakte._registry import Registry
from eakte.errors import AdapterContractError, EakteError, InvalidInput

__all__ = ["ADAPTERS", "AdapterInfo", "AdapterRegistry"]

_GROUP = "eakte.adapters"


@dataclass(frozen=True)
class AdapterInfo:
    """What ``eakte adapters list`` shows about one adapter.

    Attributes:
        name: the entry point's name.
        target: where it lives, ``module:attribute``.
        distribution: the installed distribution that registers it (None: registered in
            code).
        version: that distribution's version.
        api_version: the adapter API version it declares (None if it cannot be loaded).
        summary: its one-line summary.
        problem: why it cannot be used (None: it loads and validates).
    """

    name: str
    target: str
    distribution: str | None
    version: str | None
    api_version: int | None
    summary: str | None
    problem: str | None

    def as_dict(self) -> dict[str, Any]:
        """Return the info as JSON-ready data."""
        return {"name": self.name, "distribution": self.distribution,
                "version": self.version, "api_version": self.api_version,
                "target": self.target, "summary": self.summary, "ok": self.problem is None,
                "problem": self.problem}


def _describe(ep: EntryPoint) -> tuple[str | None, str | None, str]:
    dist = ep.dist
    name = dist.name if dist is not None else None
    version = dist.version if dist is not None else None
    return name, version, f"{_GROUP}: {ep.name} = {ep.value}"


class AdapterRegistry(Registry[Adapter]):
    """The adapters installed in this environment (entry-point group ``eakte.adapters``).

    Loading validates each adapter; a broken one raises :class:`AdapterContractError`
    naming its distribution, entry point and the offending members, while
    :meth:`infos` lists it with its problem instead of failing.
    """

    def __init__(self) -> None:
        super().__init__(_GROUP, {})

    def get(self, name: str) -> type[Adapter]:
        """Return the validated adapter class registered as ``name``.

        Raises:
            InvalidInput: no adapter has that name.
            AdapterContractError: it cannot be imported, is not a class, breaks the
                contract, or two distributions register the same name.
        """
        if name in self._loaded:
            return self._loaded[name]
        eps = self.entry_points(name)
        if not eps:
            if name in self._paths:  # registered in code with a dotted path
                return super().get(name)
            known = ", ".join(sorted(self.names)) or "none installed"
            raise InvalidInput(f"unknown adapter {name!r}; known: {known}")
        if len(eps) > 1:
            where = "; ".join(f"{d or '?'} {v or ''} ({e})".strip()
                              for d, v, e in map(_describe, eps))
            raise AdapterContractError(
                f"adapter name {name!r} is registered by more than one entry point: {where}; "
                "uninstall one of them",
                name=name, problems=["duplicate name"])
        ep = eps[0]
        dist, version, spec = _describe(ep)
        where = f"adapter {name!r} from distribution {dist or '?'} {version or ''}".rstrip()
        where += f" (entry point {spec})"
        module_name, _, attr = ep.value.partition(":")
        try:
            module = importlib.import_module(module_name.strip())
        except Exception as exc:  # any import-time failure of third-party code
            raise AdapterContractError(
                f"{where} cannot be imported: {type(exc).__name__}: {exc}",
                name=name, distribution=dist, entry_point=spec,
                problems=[f"import of {module_name.strip()!r} failed"]) from exc
        obj: object = module
        for part in filter(None, attr.strip().split(".")):
            if not hasattr(obj, part):
                raise AdapterContractError(
                    f"{where}: module {module_name.strip()!r} has no attribute "
                    f"{attr.strip()!r}", name=name, distribution=dist, entry_point=spec,
                    problems=[f"missing attribute {attr.strip()!r}"])
            obj = getattr(obj, part)
        try:
            check_adapter_class(obj, name=name, where=where)
        except AdapterContractError as exc:
            exc.distribution, exc.entry_point = dist, spec
            raise
        assert isinstance(obj, type)
        self._loaded[name] = obj
        return obj

    def register(self, name: str, cls: type[Adapter], *, replace: bool = False) -> None:
        """Register an adapter class in code (tests, embedding applications).

        Raises:
            AdapterContractError: the class breaks the contract.
            ValueError: the name is taken and ``replace`` is False.
        """
        check_adapter_class(cls, name=name)
        super().register(name, cls, replace=replace)

    def infos(self) -> list[AdapterInfo]:
        """Describe every installed adapter, loading each; broken ones carry their problem."""
        infos = []
        for name, target in self.names.items():
            eps = self.entry_points(name)
            dist, version = (_describe(eps[0])[:2] if eps else (None, None))
            try:
                cls = self.get(name)
            except EakteError as exc:
                infos.append(AdapterInfo(name, target, dist, version, None, None, str(exc)))
                continue
            infos.append(AdapterInfo(name, target, dist, version, cls.api_version,
                                     cls.summary, None))
        return infos


#: The adapters of this environment.
ADAPTERS: Final = AdapterRegistry()
