"""Fachverfahren adapters: the :class:`Adapter` protocol, its registry and the runner.

An adapter is a class that a distribution registers in the ``eakte.adapters`` entry-point
group::

    [project.entry-points."eakte.adapters"]
    bauportal = "eakte_bauportal:BauportalAdapter"

eakte validates it when it is loaded (required members, API version, parameters, name)
and runs it with ``eakte adapter run bauportal …`` or :func:`run_once` / :func:`watch`.

Example:
    >>> from eakte.adapter import ADAPTERS
    >>> sorted(ADAPTERS.names)                               # doctest: +SKIP
    ['dropfolder', 'email', 'ozg']
    >>> cls = ADAPTERS.get("dropfolder")                     # doctest: +SKIP
    >>> report = run_once(cls(folder="/srv/drop", mapping="map.json"), store)  # doctest: +SKIP
"""

from __future__ import annotations

import importlib
import inspect
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint
from typing import TYPE_CHECKING, Any, ClassVar, Final, Literal, Protocol, runtime_checkable

from eakte._registry import Registry
from eakte.errors import AdapterContractError, EakteError, InvalidInput
from eakte.filing import Filer, FilingResult, FilingStatus

if TYPE_CHECKING:
    from eakte.mapping import FieldMapping
    from eakte.store import Store

__all__ = [
    "ADAPTERS",
    "API_VERSION",
    "RESERVED_PARAMS",
    "SUPPORTED_API_VERSIONS",
    "Adapter",
    "AdapterInfo",
    "AdapterParam",
    "AdapterRegistry",
    "RunReport",
    "check_adapter_class",
    "feed_cursor",
    "run_once",
    "watch",
]

#: The adapter API version this eakte implements.
API_VERSION: Final = 1
#: The adapter API versions this eakte can load.
SUPPORTED_API_VERSIONS: Final = frozenset({1})
#: Option names the runner uses itself; an adapter's parameters must not take them.
RESERVED_PARAMS: Final = frozenset({"once", "watch", "interval", "max_iterations", "json",
                                    "user", "help"})

ParamType = Literal["text", "int", "float", "flag", "path"]
_PARAM_TYPES: Final = frozenset({"text", "int", "float", "flag", "path"})
_GROUP = "eakte.adapters"


@dataclass(frozen=True)
class AdapterParam:
    """One option an adapter takes, e.g. ``--folder DIR`` (given as ``folder=…``).

    Attributes:
        name: a Python identifier; the command line option is ``--name`` with ``-`` for
            ``_``, and the adapter's constructor receives it as keyword argument ``name``.
        help: one sentence for ``--help``.
        type: ``text``, ``int``, ``float``, ``flag`` (on/off) or ``path``.
        default: used when the option is not given.
        required: the option must be given.
        multiple: may be given several times; the adapter receives a tuple.
    """

    name: str
    help: str
    type: ParamType = "text"
    default: str | int | float | bool | None = None
    required: bool = False
    multiple: bool = False


@dataclass
class RunReport:
    """What one run of an adapter did.

    Attributes:
        adapter: the adapter's name.
        results: one result per case it filed (or tried to).
        notes: remarks for the operator (e.g. items skipped because they are incomplete).
        followed: change-feed events the adapter handled in this run.
    """

    adapter: str
    results: list[FilingResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    followed: int = 0

    @property
    def counts(self) -> dict[str, int]:
        """Number of cases per status (``created``, ``unchanged``, …)."""
        counted = Counter(r.status.value for r in self.results)
        return {status.value: counted[status.value] for status in FilingStatus
                if counted[status.value]}

    @property
    def failed(self) -> list[FilingResult]:
        """The results of the cases that failed."""
        return [r for r in self.results if not r.ok]

    @property
    def ok(self) -> bool:
        """True if no case failed."""
        return not self.failed

    def as_dict(self) -> dict[str, Any]:
        """Return the report as JSON-ready data."""
        return {"adapter": self.adapter, "ok": self.ok, "counts": self.counts,
                "followed": self.followed, "notes": list(self.notes),
                "results": [r.as_dict() for r in self.results]}


@runtime_checkable
class Adapter(Protocol):
    """A Fachverfahren adapter: takes cases from somewhere and files them through a Filer.

    The contract (checked when the class is loaded, and by
    :class:`eakte.testing.adapter.AdapterContract`):

    - The class MUST define ``name`` (equal to its entry point's name), ``api_version``
      (one of :data:`SUPPORTED_API_VERSIONS`), a one-line ``summary`` and ``params``, a
      sequence of :class:`AdapterParam`, none named like :data:`RESERVED_PARAMS`.
    - ``cls(**options)`` MUST accept every declared parameter as a keyword argument and
      SHOULD fail with :class:`eakte.InvalidInput` on bad values, before touching a store.
    - An instance MUST have ``system``: the Fachverfahren's name in external keys; it MAY
      have ``mapping`` (a :class:`~eakte.mapping.FieldMapping`) that the runner hands to
      the filer.
    - ``run_once(filer)`` MUST file through ``filer`` only, MUST return a
      :class:`RunReport` with one result per case, MUST NOT raise for a problem of a
      single item (that item's result says ``failed``), and SHALL be idempotent: running
      it again on the same input MUST NOT create anything twice. Every item ends as its
      own result, also when something unexpected goes wrong while reading or parsing it:
      ``report.results.append(filer.attempt(name, lambda: filer.file_case(...)))`` turns
      any exception of that item into its ``failed`` result. Untrusted JSON and e-mail
      SHOULD be parsed with :func:`eakte.ingest.limits.load_json` and
      :func:`~eakte.ingest.limits.parse_email`, which refuse nesting bombs.
    - Input MUST be acknowledged (moved, marked) only after its case was committed, so
      that a crash in between leads to a harmless retry, never to a loss.
    - An adapter that follows the change feed MAY define ``follow(events, filer)``; after
      each ``run_once`` the runner calls it outside any write transaction with the events
      (:class:`eakte.feed.ChangeEvent`) after the adapter's durable cursor
      (:func:`feed_cursor`), and saves the cursor only after it returned, so events are
      handed over at least once and never lost. ``follow`` SHOULD be idempotent. An
      instance MAY set ``follows_feed = False`` to switch following off (the cursor then
      stays where it is).
    """

    name: ClassVar[str]
    api_version: ClassVar[int]
    summary: ClassVar[str]
    params: ClassVar[Sequence[AdapterParam]]
    system: str

    def run_once(self, filer: Filer) -> RunReport:
        """File whatever input is ready now, and return what happened."""
        ...


# -- validation --------------------------------------------------------------------------


def _param_problems(params: object) -> list[str]:
    if isinstance(params, str | bytes) or not isinstance(params, Sequence):
        return [f"'params' must be a sequence of AdapterParam, not {type(params).__name__}"]
    problems: list[str] = []
    seen: set[str] = set()
    for index, param in enumerate(params):
        if not isinstance(param, AdapterParam):
            problems.append(f"'params[{index}]' is a {type(param).__name__}, not an "
                            "AdapterParam")
            continue
        if not param.name.isidentifier() or param.name.startswith("_"):
            problems.append(f"parameter {param.name!r} is not a valid option name")
        elif param.name in RESERVED_PARAMS:
            problems.append(f"parameter {param.name!r} is reserved for the runner "
                            f"({', '.join(sorted(RESERVED_PARAMS))})")
        if param.name in seen:
            problems.append(f"parameter {param.name!r} is declared twice")
        seen.add(param.name)
        if param.type not in _PARAM_TYPES:
            problems.append(f"parameter {param.name!r} has unknown type {param.type!r} "
                            f"(use one of {', '.join(sorted(_PARAM_TYPES))})")
        if not isinstance(param.help, str) or not param.help.strip():
            problems.append(f"parameter {param.name!r} has no help text")
    return problems


def _class_problems(cls: type, name: str | None) -> list[str]:
    problems: list[str] = []
    declared = getattr(cls, "name", None)
    if not isinstance(declared, str) or not declared:
        problems.append("missing class attribute 'name' (a non-empty string)")
    elif name is not None and declared != name:
        problems.append(f"'name' is {declared!r} but the entry point is named {name!r}")
    version = getattr(cls, "api_version", None)
    if isinstance(version, bool) or not isinstance(version, int):
        problems.append("missing class attribute 'api_version' (an int; this eakte "
                        f"supports {sorted(SUPPORTED_API_VERSIONS)})")
    elif version not in SUPPORTED_API_VERSIONS:
        problems.append(f"'api_version' {version} is not supported by this eakte "
                        f"(supported: {sorted(SUPPORTED_API_VERSIONS)}); upgrade "
                        f"{'eakte' if version > API_VERSION else 'the adapter'}")
    summary = getattr(cls, "summary", None)
    if not isinstance(summary, str) or not summary.strip():
        problems.append("missing class attribute 'summary' (one line for 'eakte adapters "
                        "list')")
    params = getattr(cls, "params", None)
    if params is None:
        problems.append("missing class attribute 'params' (a sequence of AdapterParam)")
    else:
        problems.extend(_param_problems(params))
    run = getattr(cls, "run_once", None)
    if run is None or not callable(run):
        problems.append("missing method 'run_once(self, filer)'")
    else:
        try:
            inspect.signature(run).bind(object(), object())
        except TypeError:
            problems.append("'run_once' must take exactly one argument besides self: the "
                            "filer")
        except ValueError:
            pass  # no signature available (builtin): cannot check
    follow = getattr(cls, "follow", None)
    if follow is not None:
        if not callable(follow):
            problems.append("'follow' is not a method")
        else:
            try:
                inspect.signature(follow).bind(object(), object(), object())
            except TypeError:
                problems.append("'follow' must take (self, events, filer)")
            except ValueError:
                pass
    if isinstance(params, Sequence) and not problems:
        try:
            inspect.signature(cls).bind_partial(
                **{p.name: p.default for p in params if isinstance(p, AdapterParam)})
        except TypeError as exc:
            problems.append(f"the constructor does not accept every declared parameter as a "
                            f"keyword argument ({exc})")
        except ValueError:
            pass
    return problems


def check_adapter_class(cls: object, *, name: str | None = None,
                        where: str | None = None) -> None:
    """Check that ``cls`` is a class that satisfies the :class:`Adapter` contract.

    Args:
        cls: the object an entry point loaded.
        name: the name it is registered under (must equal ``cls.name``).
        where: describes its origin for the message (distribution, entry point).

    Raises:
        AdapterContractError: lists every problem found.
    """
    label = where or (f"adapter {name!r}" if name else f"adapter {cls!r}")
    if not isinstance(cls, type):
        raise AdapterContractError(
            f"{label}: the entry point names a {type(cls).__name__}, not a class",
            name=name, problems=["not a class"])
    problems = _class_problems(cls, name)
    if problems:
        raise AdapterContractError(f"{label} breaks the adapter contract: "
                                   + "; ".join(problems), name=name, problems=problems)


# -- registry ----------------------------------------------------------------------------


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


# -- running -----------------------------------------------------------------------------


def _filer(adapter: Adapter, store: Store, user: str | None) -> Filer:
    mapping: FieldMapping | None = getattr(adapter, "mapping", None)
    return Filer(store, adapter.system, mapping=mapping, user=user)


def run_once(adapter: Adapter, store: Store, *, user: str | None = None) -> RunReport:
    """Run ``adapter`` once: file what is ready, then follow the change feed if it does.

    Raises:
        AdapterError: the adapter returned something other than a RunReport, or stopped
            on an exception it did not turn into an item's failure.
        EakteError: a problem of the whole run (unreachable store, unknown user).
    """
    from eakte.errors import AdapterError

    filer = _filer(adapter, store, user)
    try:
        report = adapter.run_once(filer)
    except EakteError:
        raise
    except Exception as exc:  # third-party code broke the contract: say which adapter
        raise AdapterError(
            f"adapter {adapter.name!r} stopped on an unexpected {type(exc).__name__}: {exc}; "
            "the cases it filed before are committed; the adapter should report a bad item "
            "as that item's failure (Filer.attempt)") from exc
    if not isinstance(report, RunReport):
        raise AdapterError(f"adapter {adapter.name!r} returned a {type(report).__name__} "
                           "from run_once, not a RunReport")
    follow = getattr(adapter, "follow", None)
    if callable(follow) and getattr(adapter, "follows_feed", True):
        report.followed = _follow(adapter, filer, follow)
    return report


def feed_cursor(adapter: Adapter) -> str:
    """Return the name of ``adapter``'s durable change-feed cursor."""
    return f"adapter:{adapter.name}:{adapter.system}"[:100]


def _follow(adapter: Adapter, filer: Filer, follow: Callable[..., object]) -> int:
    """Hand the feed events after the adapter's cursor to ``follow``; then move the cursor.

    The cursor is saved only after ``follow`` returned, in its own transaction: a crash
    in between hands the same events over again (at least once, never lost).
    """
    cursor = feed_cursor(adapter)
    handled = 0
    position = filer.feed_position(cursor)
    while True:
        page = filer.changes(position)
        if page.events:
            follow(page.events, filer)
            handled += len(page.events)
        if page.position == position:
            return handled
        position = page.position
        filer.save_feed_position(cursor, position)


def watch(
    adapter: Adapter,
    store: Store,
    *,
    user: str | None = None,
    interval: float = 5.0,
    max_iterations: int | None = None,
    on_report: Callable[[RunReport], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Run ``adapter`` again and again, ``interval`` seconds apart, until stopped.

    Stops after ``max_iterations`` runs (None: never; Ctrl-C ends it between runs).

    Args:
        adapter: the adapter instance.
        store: the store to file into.
        user: the principal to act as.
        interval: seconds to wait between runs.
        max_iterations: stop after this many runs.
        on_report: called with each run's report.
        sleep: the waiting function (tests pass a fake).

    Returns:
        The number of runs done.

    Raises:
        InvalidInput: ``interval`` or ``max_iterations`` is out of range.
        EakteError: a problem of a whole run (an item's problem is only reported).
    """
    if isinstance(interval, bool) or not isinstance(interval, int | float) or interval < 0:
        raise InvalidInput(f"interval must be a number of seconds >= 0, not {interval!r}")
    if max_iterations is not None and (isinstance(max_iterations, bool)
                                       or not isinstance(max_iterations, int)
                                       or max_iterations < 1):
        raise InvalidInput(f"max_iterations must be a positive number, not {max_iterations!r}")
    runs = 0
    while True:
        report = run_once(adapter, store, user=user)
        runs += 1
        if on_report is not None:
            on_report(report)
        if max_iterations is not None and runs >= max_iterations:
            return runs
        sleep(float(interval))

