"""Session: the unit of work bound to one principal; commits rows and audit events together.

Example:
    >>> import eakte, tempfile
    >>> store = eakte.open(tempfile.mkdtemp())
    >>> with store.session() as s:
    ...     unit = s.add_plan_unit("630.10", "Baugenehmigungen", retention_years=30)
    ...     akte = s.create_akte("630.10", "Neubau Einfamilienhaus Lindenstraße 4")
    ...     doc = s.file_document(akte, b"Antrag ...", filename="antrag.txt")
    >>> store.close()
"""

from __future__ import annotations

from eakte._documents import DocumentsMixin
from eakte._lifecycle import LifecycleMixin
from eakte._principals import PrincipalsMixin
from eakte._records import RecordsMixin
from eakte.feed import FeedMixin

__all__ = ["Session"]


class Session(DocumentsMixin, RecordsMixin, LifecycleMixin, PrincipalsMixin, FeedMixin):
    """A short-lived unit of work acting as one principal.

    Use it as a context manager: on normal exit everything done in it is committed together
    with its audit events; on an exception nothing is (except the record that content was
    read, which is kept). Objects returned stay readable after the session ends.
    """
