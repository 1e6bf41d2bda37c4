"""The operations behind :class:`~eakte.Session`, one module per kind of record.

Each operation is a function whose first parameter is the :class:`~eakte._unit_of_work.
UnitOfWork` it runs in, and which works through that unit of work's public API only.
Write operations call ``uow.begin_write()`` first; reads never do. The Session exposes
every operation as a method of the same name.
"""
