"""The adapter contract: its parameters, its run report, the protocol, load-time checks.

Public through :mod:`eakte.adapter`; import from there.
"""

from __future__ import annotations

import inspect
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Final, Literal, Protocol, runtime_checkable

from eakte.errors import AdapterContractError
from eakte.filing import Filer, FilingResult, FilingStatus

__all__ = [
    "API_VERSION",
    "RESERVED_PARAMS",
    "SUPPORTED_API_VERSIONS",
    "Adapter",
    "AdapterParam",
    "RunReport",
    "check_adapter_class",
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
      have ``mapping`` (a :class:`~eakte.adapter.FieldMapping`) that the runner hands to
      the filer.
    - ``run_once(filer)`` MUST file through ``filer`` only, MUST return a
      :class:`RunReport` with one result per case, MUST NOT raise for a problem of a
      single item (that item's result says ``failed``), and SHALL be idempotent: running
      it again on the same input MUST NOT create anything twice. Every item ends as its
      own result, also when something unexpected goes wrong while reading or parsing it:
      ``report.results.append(filer.attempt(name, lambda: filer.file_case(...)))`` turns
      any exception of that item into its ``failed`` result. Untrusted JSON and e-mail
      SHOULD be parsed with :func:`eakte.adapter.load_json` and
      :func:`~eakte.adapter.parse_email`, which refuse nesting bombs.
    - Input MUST be acknowledged (moved, marked) only after its case was committed, so
      that a crash in between leads to a harmless retry, never to a loss.
    - An adapter that follows the change feed MAY define ``follow(events, filer)``; after
      each ``run_once`` the runner calls it outside any write transaction with the events
      (:class:`eakte.adapter.ChangeEvent`) after the adapter's durable cursor
      (:func:`eakte.adapter.feed_cursor`), and saves the cursor only after it returned, so
      events are handed over at least once and never lost. ``follow`` SHOULD be idempotent. An
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
