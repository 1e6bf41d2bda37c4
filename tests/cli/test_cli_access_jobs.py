"""External-id systems, store-wide jobs, the feed position and BagIt excerpts on the CLI."""

from __future__ import annotations

import json
from pathlib import Path


def test_external_ids_of_a_system_only_for_its_holders(ok, run, store):
    ok("plan", "add", "630.20", "Vorbescheide", "--parent", "630")
    ok("akte", "create", "630.20", "Geheim", "--external-id", "portal:SECRET-1")
    ok("user", "add", "mueller")
    ok("grant", "mueller", "editor", "630.10")
    taken = run("--user", "mueller", "akte", "create", "630.10", "X",
                "--external-id", "portal:SECRET-1")
    unknown = run("--user", "mueller", "akte", "create", "630.10", "X",
                  "--external-id", "portal:NEU-1")
    assert taken.exit_code == unknown.exit_code == 4
    assert taken.stderr == unknown.stderr
    assert "system 'portal'" in taken.stderr
    assert "eakte grant mueller owner system:portal" in taken.stderr
    assert json.loads(ok("--user", "mueller", "akte", "list", "--json").stdout) == []
    assert "Granted owner on system:portal to mueller" in \
        ok("grant", "mueller", "owner", "system:portal").stdout
    assert run("--user", "mueller", "akte", "create", "630.10", "X",
               "--external-id", "portal:SECRET-1").exit_code == 7
    ok("--user", "mueller", "akte", "create", "630.10", "X", "--external-id", "portal:NEU-1")
    listed = json.loads(ok("grants", "mueller", "--json").stdout)
    assert {"principal": "mueller", "role": "owner", "target_type": "system",
            "target": "system:portal", "granted_by": "admin"} in listed
    assert run("grant", "mueller", "reader", "system:portal").exit_code == 6
    assert run("--user", "mueller", "grant", "mueller", "owner", "system:x").exit_code == 4


def test_store_wide_jobs_are_for_auditors_and_administrators(ok, run, akte, tmp_path):
    key = tmp_path / "cp.pem"
    ok("checkpoint", "keygen", "--key", str(key))
    ok("checkpoint", "create", "--key", str(key))
    ok("user", "add", "mueller")
    ok("user", "add", "pruefer")
    ok("grant", "mueller", "reader", akte)
    ok("grant", "pruefer", "auditor", "*")
    jobs = (("verify", "--no-blobs"), ("checkpoint", "list"), ("checkpoint", "export"),
            ("checkpoint", "create", "--key", str(key)), ("repair", "--dry-run"),
            ("reindex",), ("keys", "status"),
            ("keys", "rotate", "--new-key", str(key)))
    for job in jobs:
        refused = run("--user", "mueller", *job)
        assert refused.exit_code == 4, (job, refused.stdout, refused.stderr)
        assert "on the whole store" in refused.stderr and "events" not in refused.stdout
    for job in jobs[:4]:  # the auditor's read-only jobs
        ok("--user", "pruefer", *job)
    for job in jobs[4:]:
        assert run("--user", "pruefer", *job).exit_code == 4
    for job in jobs[:-1]:  # the administrator, as before (the store is not encrypted)
        ok(*job)


def test_feed_position_of_a_reader_is_its_last_event(ok, akte):
    ok("akte", "create", "630.10", "Andere Akte")
    ok("user", "add", "mueller")
    ok("grant", "mueller", "reader", akte)
    page = json.loads(ok("--user", "mueller", "feed", "--json").stdout)
    assert page["position"] == page["events"][-1]["sequence"]
    head = json.loads(ok("feed", "--json").stdout)["position"]
    assert page["position"] < head


def test_bagit_of_a_reader_says_the_audit_excerpt_is_missing(ok, run, akte, tmp_path):
    ok("user", "add", "mueller")
    ok("user", "add", "gast")
    ok("grant", "mueller", "reader", akte)
    assert run("--user", "gast", "show", akte).exit_code == 3  # gast's refusal is audited
    assert run("--user", "mueller", "audit").exit_code == 4
    result = ok("--user", "mueller", "export", "bagit", akte, "-o", str(tmp_path / "bag"),
                "--json")
    assert json.loads(result.stdout)["audit_excerpt_omitted"] == [akte]
    assert f"without the audit excerpt of {akte}" in result.stderr
    assert f"Audit-Excerpt-Omitted: {akte}" in \
        (tmp_path / "bag" / "bag-info.txt").read_text(encoding="utf-8")
    metadata = (tmp_path / "bag" / "data" / "metadata.json").read_text(encoding="utf-8")
    assert "gast" not in metadata and "access.denied" not in metadata
    full = ok("export", "bagit", akte, "-o", str(tmp_path / "full"))
    assert "audit excerpt" not in full.stderr
    metadata = Path(tmp_path / "full" / "data" / "metadata.json").read_text(encoding="utf-8")
    assert "access.denied" in metadata and "gast" in metadata
