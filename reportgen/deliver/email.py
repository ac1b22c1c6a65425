"""The email of a period: its PDF, and a short summary with the link to the hosted HTML.

The body comes from two templates, `email.txt.j2` and `email.html.j2` (autoescaped), which
`report.templates` may override like any other; they receive the period's summary.json as
read back (record.Summary). Sending is smtp.py's.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

from reportgen.config.email import EmailSection
from reportgen.config.schema import Config
from reportgen.deliver.archive import PageRenderer
from reportgen.errors import ConfigError, DeliveryError
from reportgen.files import read_own_file, write_atomically
from reportgen.record import SUMMARY_FILE, Summary, read_summary
from reportgen.text import period_label

MAX_PDF_BYTES = 2**30  # email.max_attachment_mb is checked first; this only bounds the read
CHANGES_SHOWN = 3


@dataclass(frozen=True)
class Outgoing:
    message: EmailMessage
    recipients: list[str]  # To + Cc + Bcc: Bcc is in the envelope only
    pdf: Path


def email_section(config: Config) -> EmailSection:
    if config.email is None:
        raise ConfigError("email: the config has no email section; add one with at least "
                          "`to:` and `smtp:` (see the README, 'Running it every month')")
    return config.email


def build_message(config: Config, folder: Path, retry: str, render: PageRenderer
                  ) -> Outgoing:
    """The message for the period in `folder`: subject, text and HTML body (`render`: the
    report stage's, report.pages), PDF attached."""
    spec = email_section(config)
    summary = _summary(folder, retry)
    pdf = _pdf(folder, spec)
    fields = placeholders(config, folder.name)  # the folder, not a file in it, says which
    url = spec.report_url.format(**fields) if spec.report_url else None
    message = EmailMessage()
    message["Subject"] = " ".join(spec.subject.format(**fields).split())  # one header line
    message["From"] = spec.sender
    message["To"] = ", ".join(spec.to)
    if spec.cc:
        message["Cc"] = ", ".join(spec.cc)
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = make_msgid(domain=spec.sender.rsplit("@", 1)[-1])
    context = body_context(summary, url)
    message.set_content(render("email.txt.j2", context))
    message.add_alternative(render("email.html.j2", context), subtype="html")
    message.add_attachment(read_own_file(pdf, MAX_PDF_BYTES), maintype="application",
                           subtype="pdf", filename=f"{config.report.name}-{folder.name}.pdf")
    return Outgoing(message, [*spec.to, *spec.cc, *spec.bcc], pdf)


def body_context(summary: Summary, url: str | None) -> dict[str, object]:
    """What the email templates receive."""
    changes = summary.changes
    return {"summary": summary, "url": url, "period_label": period_label(summary.period),
            "changes": list(changes.findings)[:CHANGES_SHOWN] if changes else [],
            "since": period_label(changes.previous_period) if changes else None}


def _pdf(folder: Path, spec: EmailSection) -> Path:
    pdf = folder / "report.pdf"
    if not pdf.is_file():
        raise DeliveryError(f"no report.pdf in {folder}; add pdf to output.formats and run "
                            "the report again")
    if pdf.is_symlink():
        raise DeliveryError(f"{pdf} is a symbolic link; reportgen sends only the PDF it wrote "
                            "into the period folder, so run the report again")
    size_mb = pdf.stat().st_size / 1_000_000
    if size_mb > spec.max_attachment_mb:
        raise DeliveryError(
            f"the PDF is {size_mb:.1f} MB, over email.max_attachment_mb "
            f"({spec.max_attachment_mb:g} MB); raise the limit if your server accepts it, or "
            "send only the link (email.report_url) by removing pdf from output.formats")
    return pdf


def placeholders(config: Config, period: str) -> dict[str, str]:
    """Each on one line: a YAML folded title (`title: >`) ends in a newline, and the
    subject is a header."""
    fields = {"title": config.report.title, "period": period,
              "period_label": period_label(period), "report": config.report.name,
              "company": config.report.company or ""}
    return {key: " ".join(value.split()) for key, value in fields.items()}


def _summary(folder: Path, retry: str) -> Summary:
    if not (folder / SUMMARY_FILE).exists():
        raise DeliveryError(f"no report in {folder}; run `reportgen run` for that period "
                            f"first, then {retry}")
    summary = read_summary(folder)
    if summary is None:
        raise DeliveryError(f"cannot read {folder / SUMMARY_FILE} (damaged, or not a file of "
                            "ours); run the report again")
    return summary


def write_eml(outgoing: Outgoing, folder: Path) -> Path:
    """--dry-run: the exact message as a file any mail program opens; nothing is sent."""
    return write_atomically(folder / "email.eml", bytes(outgoing.message))  # never via a link
