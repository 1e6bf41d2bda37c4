"""Contract suites for third-party backends: subclass one and provide its fixture.

Example, in a backend's own tests::

    import pytest
    from eakte.testing.blobstore import BlobStoreContract

    class TestMyBlobStore(BlobStoreContract):
        @pytest.fixture
        def blob_store(self, tmp_path):
            return MyBlobStore(tmp_path)

The suites import pytest, so this package is only for test code.
"""

from __future__ import annotations
