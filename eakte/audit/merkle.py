"""RFC 6962 Merkle tree hashing over audit event hashes: roots, frontiers and proofs.

The leaves are the audit events' chain hashes (32 raw bytes each), in sequence order::

    leaf(h)     = SHA-256(0x00 || h)
    node(l, r)  = SHA-256(0x01 || l || r)
    MTH(D[0:1]) = leaf(D[0]);  MTH(D[0:n]) = node(MTH(D[0:k]), MTH(D[k:n]))
                  where k is the largest power of two smaller than n

This is the tree of Certificate Transparency (RFC 6962 §2.1, RFC 9162 §2.1), so existing
tools and the proofs below let an auditor check that one checkpoint's log is a prefix of a
later one's (consistency) and that an event is in a checkpoint (inclusion).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

__all__ = [
    "EMPTY_ROOT",
    "MerkleAccumulator",
    "consistency_proof",
    "inclusion_proof",
    "leaf_hash",
    "merkle_root",
    "node_hash",
    "verify_consistency",
    "verify_inclusion",
]

#: MTH of the empty list: SHA-256 of no bytes.
EMPTY_ROOT = hashlib.sha256(b"").digest()
_HASH_SIZE = 32


def leaf_hash(event_hash: bytes) -> bytes:
    """Return the leaf hash of one event: ``SHA-256(0x00 || event_hash)``."""
    return hashlib.sha256(b"\x00" + event_hash).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Return an interior node: ``SHA-256(0x01 || left || right)``."""
    return hashlib.sha256(b"\x01" + left + right).digest()


class MerkleAccumulator:
    """Computes the tree head of a growing list of leaves in O(log n) memory.

    It keeps the *frontier*: the roots of the perfect subtrees that make up the tree, largest
    first (one per set bit of the size). Folding them from the right gives the RFC 6962 root,
    so the root can be taken after any number of leaves, and the frontier can be stored to
    continue later.

    Args:
        size: the number of leaves the ``frontier`` covers.
        frontier: subtree roots as returned by :attr:`frontier` (empty for a new tree).

    Raises:
        ValueError: the frontier does not fit ``size``.
    """

    def __init__(self, size: int = 0, frontier: Sequence[bytes] = ()) -> None:
        if size < 0 or len(frontier) != size.bit_count() or any(
            len(h) != _HASH_SIZE for h in frontier
        ):
            raise ValueError(f"a frontier for {size} leaves has {size.bit_count()} hashes")
        self._size = size
        # (subtree size, subtree root), sizes strictly decreasing powers of two
        self._stack: list[tuple[int, bytes]] = []
        rest = size
        for node in frontier:
            width = 1 << (rest.bit_length() - 1)
            self._stack.append((width, node))
            rest -= width

    @property
    def size(self) -> int:
        """The number of leaves added so far."""
        return self._size

    @property
    def frontier(self) -> list[bytes]:
        """The roots of the perfect subtrees, largest first."""
        return [node for _, node in self._stack]

    def copy(self) -> MerkleAccumulator:
        """Return an independent accumulator in the same state."""
        return MerkleAccumulator(self._size, self.frontier)

    def add(self, event_hash: bytes) -> None:
        """Append one leaf (an event's 32-byte chain hash)."""
        width, node = 1, hashlib.sha256(b"\x00" + event_hash).digest()
        stack = self._stack
        while stack and stack[-1][0] == width:
            left = stack.pop()[1]
            node = hashlib.sha256(b"\x01" + left + node).digest()
            width *= 2
        stack.append((width, node))
        self._size += 1

    def root(self) -> bytes:
        """Return the tree head over every leaf added so far."""
        if not self._stack:
            return EMPTY_ROOT
        node = self._stack[-1][1]
        for _, left in reversed(self._stack[:-1]):
            node = node_hash(left, node)
        return node


def merkle_root(event_hashes: Iterable[bytes]) -> bytes:
    """Return the RFC 6962 tree head over ``event_hashes`` (each 32 raw bytes)."""
    acc = MerkleAccumulator()
    for event_hash in event_hashes:
        acc.add(event_hash)
    return acc.root()


def _split(n: int) -> int:
    """Return the largest power of two smaller than ``n`` (``n`` > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def _mth(leaves: Sequence[bytes]) -> bytes:
    return merkle_root(leaves)


def inclusion_proof(event_hashes: Sequence[bytes], index: int) -> list[bytes]:
    """Return the audit path of leaf ``index`` (0-based) in the tree over ``event_hashes``.

    Raises:
        ValueError: ``index`` is outside the tree.
    """
    if not 0 <= index < len(event_hashes):
        raise ValueError(f"leaf {index} is not in a tree of {len(event_hashes)} leaves")
    path: list[bytes] = []
    leaves = event_hashes
    while len(leaves) > 1:
        k = _split(len(leaves))
        if index < k:
            path.append(_mth(leaves[k:]))
            leaves = leaves[:k]
        else:
            path.append(_mth(leaves[:k]))
            leaves = leaves[k:]
            index -= k
    path.reverse()
    return path


def verify_inclusion(event_hash: bytes, index: int, size: int, proof: Sequence[bytes],
                     root: bytes) -> bool:
    """Check an audit path (RFC 9162 §2.1.3.2): is ``event_hash`` leaf ``index`` of ``root``?"""
    if not 0 <= index < size:
        return False
    fn, sn = index, size - 1
    node = leaf_hash(event_hash)
    for sibling in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            node = node_hash(sibling, node)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            node = node_hash(node, sibling)
        fn >>= 1
        sn >>= 1
    return sn == 0 and node == root


def consistency_proof(event_hashes: Sequence[bytes], old_size: int) -> list[bytes]:
    """Return the proof that the tree of ``old_size`` leaves is a prefix of the full tree.

    Follows RFC 6962 §2.1.2 (``PROOF(m, D[n])``).

    Raises:
        ValueError: ``old_size`` is not between 1 and the number of leaves.
    """
    n = len(event_hashes)
    if not 0 < old_size <= n:
        raise ValueError(f"no consistency proof from {old_size} to {n} leaves")

    def subproof(m: int, leaves: Sequence[bytes], complete: bool) -> list[bytes]:
        size = len(leaves)
        if m == size:
            return [] if complete else [_mth(leaves)]
        k = _split(size)
        if m <= k:
            return [*subproof(m, leaves[:k], complete), _mth(leaves[k:])]
        return [*subproof(m - k, leaves[k:], False), _mth(leaves[:k])]

    return subproof(old_size, event_hashes, True)


def verify_consistency(old_size: int, new_size: int, old_root: bytes, new_root: bytes,
                       proof: Sequence[bytes]) -> bool:
    """Check a consistency proof (RFC 9162 §2.1.4.2) between two tree heads."""
    if not 0 < old_size <= new_size:
        return False
    if old_size == new_size:
        return not proof and old_root == new_root
    if not proof:
        return False
    path = list(proof)
    if old_size & (old_size - 1) == 0:  # a power of two: the old root is a node itself
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == old_root and sr == new_root
