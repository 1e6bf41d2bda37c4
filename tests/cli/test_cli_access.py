"""user, group, grant, revoke, grants, feed and what a user without rights sees."""

from __future__ import annotations

import json


def test_grants_decide_what_a_user_sees(ok, run, akte, tmp_path):
    doc = tmp_path / "antrag.txt"
    doc.write_text("Bauantrag für ein Einfamilienhaus", encoding="utf-8")
    ok("add", akte, str(doc))
    ok("user", "add", "mueller", "--org-unit", "Bauamt", "--group", "Sachbearbeitung")
    # without a grant: the Akte does not exist for mueller, and search finds nothing
    hidden = run("--user", "mueller", "show", akte)
    missing = run("--user", "mueller", "show", "630.10-9999/99")
    assert hidden.exit_code == missing.exit_code == 3
    assert hidden.stderr.replace(akte, "X") == missing.stderr.replace("630.10-9999/99", "X")
    assert json.loads(ok("--user", "mueller", "search", "Einfamilienhaus", "--json")
                      .stdout) == []
    assert json.loads(ok("--user", "mueller", "akte", "list", "--json").stdout) == []
    # a grant to the org unit on the Aktenplan unit opens it
    assert "Granted reader on 630 to Bauamt" in ok("grant", "Bauamt", "reader", "630").stdout
    assert ok("--user", "mueller", "show", akte).exit_code == 0
    assert len(json.loads(ok("--user", "mueller", "search", "Einfamilienhaus", "--json")
                          .stdout)) == 1
    denied = run("--user", "mueller", "close", akte)
    assert denied.exit_code == 4
    assert "may not close" in denied.stderr
    listed = json.loads(ok("grants", "--json").stdout)
    assert listed == [{"principal": "Bauamt", "role": "reader", "target_type": "unit",
                       "target": "630", "granted_by": "admin"}]
    assert "Revoked" in ok("revoke", "Bauamt", "reader", "630").stdout
    assert "nothing changed" in ok("revoke", "Bauamt", "reader", "630").stdout
    assert run("--user", "mueller", "show", akte).exit_code == 3
    # the refusals are in the audit log
    events = json.loads(ok("audit", "--json").stdout)
    assert any(e["action"] == "access.denied" and e["actor"] == "mueller" for e in events)
    # only administrators grant; unknown roles are a usage error
    assert run("--user", "mueller", "grant", "mueller", "reader", "*").exit_code == 4
    assert run("grant", "mueller", "chef", "*").exit_code == 2


def test_feed_with_a_durable_cursor(ok, akte, tmp_path):
    doc = tmp_path / "antrag.txt"
    doc.write_text("Bauantrag", encoding="utf-8")
    first = json.loads(ok("feed", "--cursor", "bauamt", "--json").stdout)
    assert [e["action"] for e in first["events"]] == ["created"]
    assert first["events"][0]["aktenzeichen"] == akte
    assert json.loads(ok("feed", "--cursor", "bauamt", "--json").stdout)["events"] == []
    ok("add", akte, str(doc))
    nxt = json.loads(ok("feed", "--cursor", "bauamt", "--json").stdout)
    assert [e["action"] for e in nxt["events"]] == ["filed"]
    assert nxt["events"][0]["sequence"] > first["position"]
    again = json.loads(ok("feed", "--since", str(first["position"]), "--json").stdout)
    assert again["events"] == nxt["events"]
    human = ok("feed").stdout
    assert "filed" in human and akte in human
