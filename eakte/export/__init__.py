"""Former home of the archival exchange formats; they live in :mod:`eakte.exchange` now.

``eakte.export.xdomea`` and ``eakte.export.bagit`` re-export the public names of
:mod:`eakte.exchange.xdomea` and :mod:`eakte.exchange.bagit`, so existing imports keep working.
"""
