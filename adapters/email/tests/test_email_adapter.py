"""The e-mail adapter: .eml, mbox and Maildir; attachments as Anlagen; Message-ID dedup."""

from __future__ import annotations

import mailbox
from email.message import EmailMessage
from pathlib import Path

import pytest
from eakte_email import EmailAdapter, MailItem, case_of, message_key

import eakte
from eakte.adapter import FieldMapping, Filer, run_once
from eakte.testing.adapter import CONTRACT_USER, AdapterContract, run_cli


def mail(subject: str, *, message_id: str | None = "<{}@landkreis.example>",
         attachments: dict[str, bytes] | None = None, to: str = "bauamt@landkreis.example"
         ) -> bytes:
    msg = EmailMessage()
    msg["From"] = "Anna Müller <anna@example.org>"
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = "Mon, 02 Mar 2026 10:15:00 +0100"
    if message_id is not None:
        ascii_subject = subject.encode("ascii", "ignore").decode().replace(" ", "-")
        msg["Message-ID"] = message_id.format(ascii_subject)
    msg.set_content(f"Sehr geehrte Damen und Herren,\n{subject}.\n")
    for name, data in (attachments or {}).items():
        maintype, subtype = ("application", "pdf") if name.endswith(".pdf") else ("text",
                                                                                   "plain")
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return msg.as_bytes()


PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def store(tmp_path: Path):
    store = eakte.init(tmp_path / "store")
    with store.session() as s:
        s.add_plan_unit("020", "Allgemeine Verwaltung")
        s.add_plan_unit("630", "Bauordnung")
        s.add_user(CONTRACT_USER)
    with store.session() as s:
        s.grant(CONTRACT_USER, "editor", "020")
        s.grant(CONTRACT_USER, "editor", "630")
        for system in ("email", "poststelle"):  # the systems whose keys the tests file under
            s.grant(CONTRACT_USER, "owner", f"system:{system}")
    yield store
    store.close()


@pytest.fixture
def akte(store) -> str:
    with store.session() as s:
        return s.create_akte("020", "Posteingang Bauamt").aktenzeichen


class TestEmailContract(AdapterContract):
    entry_point = "email"

    @pytest.fixture
    def adapter(self, tmp_path: Path, adapter_store):
        with adapter_store.session() as s:
            az = s.create_akte("020.10", "Posteingang").aktenzeichen
        folder = tmp_path / "mails"
        folder.mkdir()
        (folder / "a.eml").write_bytes(mail("Bauantrag Lindenstraße",
                                            attachments={"lageplan.pdf": PDF}))
        (folder / "b.eml").write_bytes(mail("Rückfrage", message_id=None))
        return EmailAdapter(source=[folder], akte=az)


def test_eml_with_attachments_filed_as_anlagen(store, akte, tmp_path: Path) -> None:
    path = tmp_path / "antrag.eml"
    path.write_bytes(mail("Bauantrag", attachments={"plan.pdf": PDF, "notiz.txt": b"Notiz"}))
    report = run_once(EmailAdapter(source=[path], akte=akte), store, user=CONTRACT_USER)
    assert report.ok and report.counts == {"created": 1}
    doc = report.results[0].documents[0]
    assert doc.key.object_id == "Bauantrag@landkreis.example"
    assert [a.key.document_id for a in doc.documents] == ["attachment-1", "attachment-2"]
    with store.session() as s:
        message = s.get_document(doc.document_id)
        assert message.title == "Bauantrag" and message.kind == "incoming"
        assert message.meta["mail"]["from"] == "Anna Müller <anna@example.org>"
        anlagen = [d for d in s.documents(s.get_akte(akte)) if d.parent_document_id]
        assert {d.title for d in anlagen} == {"plan.pdf", "notiz.txt"}
        assert all(d.parent_document_id == message.id for d in anlagen)
        assert s.read_content(anlagen[0]) in (PDF, b"Notiz")
    filer = Filer(store, "email")
    assert filer.read(filer.key("Bauantrag@landkreis.example", "message")) == path.read_bytes()


def test_same_message_id_from_mbox_and_maildir_is_filed_once(store, akte,
                                                             tmp_path: Path) -> None:
    raw = mail("Einspruch")
    box = mailbox.mbox(tmp_path / "posteingang.mbox")
    box.add(raw)
    box.add(mail("Nachtrag"))
    box.close()
    maildir = mailbox.Maildir(tmp_path / "Maildir")
    maildir.add(raw)
    maildir.close()
    report = run_once(EmailAdapter(source=[tmp_path / "posteingang.mbox"], akte=akte), store)
    assert report.counts == {"created": 2}
    report = run_once(EmailAdapter(source=[tmp_path / "Maildir"], akte=akte), store)
    assert report.counts == {"unchanged": 1}
    with store.session() as s:
        assert len(s.documents(s.get_akte(akte))) == 2


def test_without_message_id_the_raw_bytes_are_the_key(tmp_path: Path) -> None:
    raw = mail("Ohne ID", message_id=None)
    case = case_of(MailItem(raw, "x.eml"))
    from hashlib import sha256

    assert case.object_id == "sha256:" + sha256(raw).hexdigest()
    assert case_of(MailItem(raw, "y.eml")).object_id == case.object_id
    assert case_of(MailItem(raw + b"\n", "z.eml")).object_id != case.object_id


def test_message_key_strips_brackets_and_hashes_long_ids() -> None:
    from email import message_from_bytes

    assert message_key(message_from_bytes(b"Message-ID: < a@b >\n\nx"), b"") == "a@b"
    long_id = "x" * 300 + "@example"
    key = message_key(message_from_bytes(f"Message-ID: <{long_id}>\n\nx".encode()), b"")
    assert key.startswith("message-id-sha256:")


def test_mapping_chooses_the_akte_by_recipient(store, tmp_path: Path) -> None:
    mapping = FieldMapping({
        "system": "poststelle",
        "akte": {"key": {"field": "to", "map": {"bauamt@landkreis.example": "bauamt",
                                                  "kaemmerei@landkreis.example": "kasse"}},
                 "plan_unit": {"field": "to", "map": {"bauamt@landkreis.example": "630"},
                               "default": "020"},
                 "title": "E-Mail-Eingang {to}"},
        "document": {"metadata": {"absender": "{from}"}},
    })
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "1.eml").write_bytes(mail("Bau", to="bauamt@landkreis.example"))
    (tmp_path / "in" / "2.eml").write_bytes(mail("Geld", to="kaemmerei@landkreis.example"))
    report = run_once(EmailAdapter(source=[tmp_path / "in"], mapping=mapping), store,
                      user=CONTRACT_USER)
    assert report.ok, report.notes
    assert {r.aktenzeichen.split("-")[0] for r in report.results} == {"630", "020"}
    with store.session() as s:
        doc = s.get_document(report.results[0].documents[0].document_id)
        assert doc.meta["absender"].startswith("Anna Müller")
        assert doc.meta["fields"]["subject"] == "Bau"  # the fields are kept


def test_needs_akte_or_mapping(tmp_path: Path) -> None:
    with pytest.raises(eakte.InvalidInput, match="--akte"):
        EmailAdapter(source=[tmp_path])


def nested_multiparts(levels: int) -> bytes:
    head = [b"From: a@example.org\r\nSubject: Verschachtelt\r\nMessage-ID: <deep@x>\r\n"
            b"MIME-Version: 1.0\r\n"]
    for i in range(levels):
        head.append(b'Content-Type: multipart/mixed; boundary="b%d"\r\n\r\n--b%d\r\n' % (i, i))
    head.append(b"Content-Type: text/plain\r\n\r\nInnen\r\n")
    head.extend(b"--b%d--\r\n" % i for i in reversed(range(levels)))
    return b"".join(head)


def test_deeply_nested_mail_fails_alone_and_later_mails_are_filed(store, akte,
                                                                  tmp_path: Path) -> None:
    inbox = tmp_path / "in"
    inbox.mkdir()
    (inbox / "1-gut.eml").write_bytes(mail("Erste"))
    (inbox / "2-gift.eml").write_bytes(nested_multiparts(5000))
    (inbox / "3-gut.eml").write_bytes(mail("Dritte"))
    report = run_once(EmailAdapter(source=[inbox], akte=akte), store)
    assert report.counts == {"created": 2, "failed": 1}
    failed = report.failed[0]
    assert isinstance(failed.error, eakte.UnsafeContent)
    assert "nested" in str(failed.error) and "2-gift.eml" in str(failed.error)
    with store.session() as s:
        titles = sorted(d.title for d in s.documents(s.get_akte(akte)))
    assert titles == ["Dritte", "Erste"]


def test_moderately_nested_mail_is_refused_by_the_depth_limit(store, akte,
                                                              tmp_path: Path) -> None:
    (tmp_path / "tief.eml").write_bytes(nested_multiparts(100))  # parses, but too deep
    report = run_once(EmailAdapter(source=[tmp_path / "tief.eml"], akte=akte), store)
    assert report.counts == {"failed": 1}
    assert "deeper than 32 levels" in str(report.failed[0].error)


def test_mail_folder_skips_links_and_hidden_files(store, akte, tmp_path: Path) -> None:
    outside = tmp_path / "fremd.eml"
    outside.write_bytes(mail("Fremd"))
    inbox = tmp_path / "in"
    inbox.mkdir()
    (inbox / "echt.eml").write_bytes(mail("Echt"))
    (inbox / "link.eml").symlink_to(outside)
    (inbox / "._echt.eml").write_bytes(b"\x00\x05\x16\x07 AppleDouble")
    report = run_once(EmailAdapter(source=[inbox], akte=akte), store)
    assert report.counts == {"created": 1}
    assert report.results[0].key.object_id == "Echt@landkreis.example"


def test_empty_mail_is_a_failed_result(store, akte, tmp_path: Path) -> None:
    (tmp_path / "leer.eml").write_bytes(b"\n")
    report = run_once(EmailAdapter(source=[tmp_path / "leer.eml"], akte=akte), store)
    assert report.counts == {"failed": 1} and "empty message" in str(report.failed[0].error)


def test_cli_run_goes_past_a_poison_mail(store, akte, tmp_path: Path) -> None:
    inbox = tmp_path / "in"
    inbox.mkdir()
    (inbox / "1-gift.eml").write_bytes(nested_multiparts(5000))
    (inbox / "2-gut.eml").write_bytes(mail("Danach"))
    result = run_cli("--store", tmp_path / "store", "adapter", "run", "email",
                     "--source", inbox, "--akte", akte)
    assert result.exit_code == 11, result.output  # a case failed; the others were filed
    assert "RecursionError" not in result.output
    assert "created" in result.stdout and "1 of 2 case(s) failed" in result.stderr
    with store.session() as s:
        assert [d.title for d in s.documents(s.get_akte(akte))] == ["Danach"]
