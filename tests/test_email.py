"""Email delivery against a real SMTP server (aiosmtpd) on loopback, started by the tests."""

from __future__ import annotations

import email
import shutil
import socket
import subprocess
import threading
from email import policy
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from helpers import ROOT

from reportgen import send_report
from reportgen.cli import main

USER, PASSWORD = "reports", "s3cret-Pa55word"
EMAIL = {"to": ["cmo@example.com", "ana@example.com"], "cc": "team@example.com",
         "bcc": ["archive@example.com"], "sender": "reports@example.com",
         "subject": "{title}: {period_label}",
         "report_url": "https://reports.example.com/{report}/{period}/report.html",
         "smtp": {"host": "127.0.0.1", "security": "none", "timeout": 5}}


class Inbox:
    """aiosmtpd handler keeping every message; recipients may be refused on demand."""

    def __init__(self, refuse: bool = False) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []
        self.refuse = refuse

    async def handle_RCPT(self, server, session, envelope, address, options):
        if self.refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def check_login(server, session, envelope, mechanism, auth_data) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
        USER.encode(), PASSWORD.encode())
    return AuthResult(success=ok, handled=False)


@pytest.fixture
def smtp_server():
    """Start a plain SMTP server on a free loopback port; yields (inbox, port)."""
    servers = []

    def start(refuse: bool = False, **options):
        inbox, port = Inbox(refuse), free_port()
        controller = Controller(inbox, hostname="127.0.0.1", port=port, **options)
        controller.start()
        servers.append(controller)
        return inbox, port

    yield start
    for controller in servers:
        controller.stop()


@pytest.fixture(scope="session")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, made with openssl."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl not installed (Debian package openssl): no certificate for the "
                    "STARTTLS test")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return cert, key


def settings(port: int, **extra) -> dict:
    smtp = {**EMAIL["smtp"], "port": port, **extra.pop("smtp", {})}
    return {"email": {**EMAIL, **extra, "smtp": smtp}}


def sample_config() -> Path:
    return ROOT / "configs" / "sample.yaml"


def parse(raw: bytes) -> email.message.EmailMessage:
    return email.message_from_bytes(raw, policy=policy.default)


def test_the_message_has_recipients_subject_summary_link_and_the_exact_pdf(
        sample_run, smtp_server):
    inbox, port = smtp_server()
    out = sample_run.folder.parent.parent
    send_report(sample_config(), out=out, period="2026-11", **settings(port))
    (sender, recipients, raw), = inbox.messages
    assert sender == "reports@example.com"
    assert sorted(recipients) == sorted(["cmo@example.com", "ana@example.com",
                                         "team@example.com", "archive@example.com"])
    message = parse(raw)
    assert message["Subject"] == "Customer segments: November 2026"
    assert message["To"] == "cmo@example.com, ana@example.com"
    assert message["Cc"] == "team@example.com" and message["Bcc"] is None
    assert b"archive@example.com" not in raw  # Bcc only in the envelope
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    url = "https://reports.example.com/sample/2026-11/report.html"
    for finding in sample_run.summary["findings"]:
        assert finding in text
    for segment in sample_run.summary["segments"]:
        assert segment["name"] in text
    assert url in text and f'href="{url}"' in html
    assert "2,000 customers in 5 segments" in text and "2,000 customers in 5 segments" in html
    attachment, = list(message.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_filename() == "sample-2026-11.pdf"
    assert attachment.get_content() == sample_run.pdf.read_bytes()


def test_starttls_and_login_from_environment_variables(sample_run, smtp_server, certificate,
                                                       monkeypatch, capsys):
    import ssl

    cert, key = certificate
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    inbox, port = smtp_server(tls_context=context, require_starttls=True,
                              authenticator=check_login)
    monkeypatch.setenv("REPORT_SMTP_USER", USER)
    monkeypatch.setenv("REPORT_SMTP_PASSWORD", PASSWORD)
    out = sample_run.folder.parent.parent
    code = main(["send", str(sample_config()), "--out", str(out), "--period", "2026-11",
                 *flat_settings(settings(port, smtp={
                     "security": "starttls", "ca_file": str(cert),
                     "user_env": "REPORT_SMTP_USER", "password_env": "REPORT_SMTP_PASSWORD"}))])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert len(inbox.messages) == 1
    assert PASSWORD not in captured.out + captured.err


def test_a_wrong_password_is_a_clear_error_and_the_report_stays(sample_run, smtp_server,
                                                                 certificate, monkeypatch,
                                                                 capsys):
    import ssl

    cert, key = certificate
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    inbox, port = smtp_server(tls_context=context, authenticator=check_login)
    monkeypatch.setenv("REPORT_SMTP_USER", USER)
    monkeypatch.setenv("REPORT_SMTP_PASSWORD", "wrong-" + PASSWORD)
    before = sample_run.pdf.read_bytes()
    code = main(["send", str(sample_config()), "--out", str(sample_run.folder.parent.parent),
                 "--period", "2026-11", *flat_settings(settings(port, smtp={
                     "security": "starttls", "ca_file": str(cert),
                     "user_env": "REPORT_SMTP_USER", "password_env": "REPORT_SMTP_PASSWORD"}))])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("error: sending the email failed: 127.0.0.1:")
    assert "rejected the user name or password" in err and "535" in err
    assert "retry with: reportgen send" in err and "--period 2026-11" in err
    assert PASSWORD not in err and len(err.strip().splitlines()) == 1
    assert inbox.messages == [] and sample_run.pdf.read_bytes() == before


def test_a_server_that_is_not_there(sample_run, capsys):
    port = free_port()  # nothing listens here
    code = main(["send", str(sample_config()), "--out", str(sample_run.folder.parent.parent),
                 *flat_settings(settings(port))])
    err = capsys.readouterr().err
    assert code == 2
    assert f"cannot reach 127.0.0.1:{port}" in err and "Connection refused" in err
    assert "The report is intact" in err and sample_run.pdf.is_file()


def test_a_server_that_never_answers_times_out(sample_run, capsys):
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        accepted = []
        thread = threading.Thread(target=lambda: accepted.append(listener.accept()), daemon=True)
        thread.start()
        code = main(["send", str(sample_config()), "--out", str(sample_run.folder.parent.parent),
                     *flat_settings(settings(port, smtp={"timeout": 1}))])
        for connection, _ in accepted:
            connection.close()
    err = capsys.readouterr().err
    assert code == 2
    assert f"no answer from 127.0.0.1:{port} within 1 s" in err


def test_a_server_that_refuses_the_recipients(sample_run, smtp_server, capsys):
    inbox, port = smtp_server(refuse=True)
    code = main(["send", str(sample_config()), "--out", str(sample_run.folder.parent.parent),
                 *flat_settings(settings(port))])
    err = capsys.readouterr().err
    assert code == 2 and "refused every recipient" in err and "cmo@example.com" in err
    assert inbox.messages == []


def test_a_pdf_over_the_attachment_limit_is_not_sent(sample_run, smtp_server, capsys):
    inbox, port = smtp_server()
    code = main(["send", str(sample_config()), "--out", str(sample_run.folder.parent.parent),
                 *flat_settings(settings(port, max_attachment_mb=0.1))])
    err = capsys.readouterr().err
    assert code == 2 and "over email.max_attachment_mb (0.1 MB)" in err
    assert inbox.messages == []


def test_a_missing_password_variable_names_it(sample_run, monkeypatch, capsys):
    monkeypatch.delenv("NO_SUCH_PASSWORD_VAR", raising=False)
    monkeypatch.setenv("REPORT_SMTP_USER", USER)
    code = main(["send", str(sample_config()), "--out", str(sample_run.folder.parent.parent),
                 *flat_settings(settings(free_port(), smtp={
                     "user_env": "REPORT_SMTP_USER", "password_env": "NO_SUCH_PASSWORD_VAR"}))])
    err = capsys.readouterr().err
    assert code == 2
    assert ("email.smtp.password_env: the environment variable NO_SUCH_PASSWORD_VAR is not "
            "set") in err


def test_dry_run_writes_the_message_and_sends_nothing(sample_run, smtp_server, capsys):
    inbox, port = smtp_server()
    folder = sample_run.folder
    code = main(["send", str(sample_config()), "--out", str(folder.parent.parent), "--dry-run",
                 *flat_settings(settings(port))])
    assert code == 0 and inbox.messages == []
    message = parse((folder / "email.eml").read_bytes())
    assert message["Subject"] == "Customer segments: November 2026"
    attachment, = list(message.iter_attachments())
    assert attachment.get_content() == sample_run.pdf.read_bytes()
    assert str(folder / "email.eml") in capsys.readouterr().out
    (folder / "email.eml").unlink()


def test_send_after_run_emails_the_new_report(small_project, smtp_server):
    from reportgen import run_report

    inbox, port = smtp_server()
    result = run_report(small_project, period="2026-10", output={"formats": ["html", "pdf"]},
                        **settings(port, send_after_run=True))
    (_, _, raw), = inbox.messages
    attachment, = list(parse(raw).iter_attachments())
    assert attachment.get_content() == result.pdf.read_bytes()


def test_a_failed_send_after_run_keeps_the_report(small_project, capsys):
    code = main(["run", str(small_project), "--period", "2026-10", "--set",
                 "output.formats=[html, pdf]",
                 *flat_settings(settings(free_port(), send_after_run=True))])
    err = capsys.readouterr().err
    assert code == 2 and "The report is intact" in err
    assert "reportgen send" in err and "--period 2026-10" in err
    folder = small_project.parent / "out" / "small" / "2026-10"
    assert (folder / "report.pdf").is_file() and (folder / "summary.json").is_file()


def flat_settings(nested: dict, prefix: str = "") -> list[str]:
    """Nested settings as repeated `--set key.path=value` arguments."""
    import json

    args = []
    for key, value in nested.items():
        if isinstance(value, dict):
            args += flat_settings(value, f"{prefix}{key}.")
        else:
            args += ["--set", f"{prefix}{key}={json.dumps(value)}"]
    return args


def test_a_pdf_replaced_by_a_link_is_not_sent(small_project, smtp_server, capsys):
    """Whoever can write into the reports folder must not make `send` mail another file."""
    from reportgen import run_report

    inbox, port = smtp_server()
    result = run_report(small_project, period="2026-10", output={"formats": ["html", "pdf"]})
    secret = small_project.parent / "secret.pdf"
    secret.write_bytes(b"%PDF- not for the stakeholders")
    result.pdf.unlink()
    result.pdf.symlink_to(secret)
    eml = result.folder / "email.eml"
    eml.symlink_to(small_project.parent / "overwritten.txt")
    code = main(["send", str(small_project), "--period", "2026-10", "--dry-run",
                 *flat_settings(settings(port))])
    err = capsys.readouterr().err
    assert code == 2 and inbox.messages == []
    assert err.strip() == (f"error: {result.pdf} is a symbolic link; reportgen sends only the "
                           "PDF it wrote into the period folder, so run the report again")
    result.pdf.unlink()
    result.pdf.write_bytes(secret.read_bytes())
    assert main(["send", str(small_project), "--period", "2026-10", "--dry-run",
                 *flat_settings(settings(port))]) == 0
    assert not (small_project.parent / "overwritten.txt").exists(), "the link was followed"
    assert eml.is_file() and not eml.is_symlink()


@pytest.mark.parametrize("missing", ["AUTH", "SMTPUTF8"])
def test_a_missing_extension_is_named(sample_run, smtp_server, monkeypatch, capsys, missing):
    """smtplib raises one exception for a missing STARTTLS, AUTH or SMTPUTF8: the line
    must name the one the server lacks."""
    inbox, port = smtp_server(enable_SMTPUTF8=False)
    extra: dict = {}
    if missing == "AUTH":
        monkeypatch.setenv("REPORT_SMTP_USER", USER)
        monkeypatch.setenv("REPORT_SMTP_PASSWORD", PASSWORD)
        extra = {"smtp": {"user_env": "REPORT_SMTP_USER", "password_env": "REPORT_SMTP_PASSWORD"}}
    else:
        extra = {"to": ["josé@example.com"]}
    code = main(["send", str(sample_config()), "--out", str(sample_run.folder.parent.parent),
                 "--period", "2026-11", *flat_settings(settings(port, **extra))])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert f"does not offer {missing}" in err and "STARTTLS" not in err, err
    assert inbox.messages == []


def test_a_folded_title_is_one_subject_line(sample_run, smtp_server):
    """A YAML folded title (`title: >`) ends in a newline; a header may not hold one."""
    inbox, port = smtp_server()
    send_report(sample_config(), out=sample_run.folder.parent.parent, period="2026-11",
                report={"title": "Customer\nsegments\n"}, **settings(port))
    (_, _, raw), = inbox.messages
    assert parse(raw)["Subject"] == "Customer segments: November 2026"


def test_a_format_width_in_the_subject_is_refused(sample_run, capsys):
    code = main(["send", str(sample_config()), "--out", str(sample_run.folder.parent.parent),
                 *flat_settings(settings(free_port(), subject="{title:99999999999}"))])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1
    assert "placeholders take no format or conversion; write {title}" in err
