"""Delivery: email a period's PDF with a short summary and the link to the hosted HTML.

Only the standard library talks to the server (smtplib, STARTTLS or SSL). The user name
and password come from environment variables the config names, so they are never in the
config, the outputs or the logs; no message this module raises contains them. A send
never touches the report: when it fails, the report stays as it was and the error says
how to retry with `reportgen send`.
"""

from __future__ import annotations

import html
import json
import os
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Any

from reportgen.config.schema import Config, EmailSection
from reportgen.errors import ConfigError, ReportgenError
from reportgen.files import read_own_file, write_atomically
from reportgen.text import format_share, period_label

MAX_PDF_BYTES = 2**30  # email.max_attachment_mb is checked first; this only bounds the read


class DeliveryError(ReportgenError):
    """The email could not be built or sent; the report itself is untouched."""


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


def build_message(config: Config, folder: Path, retry: str) -> Outgoing:
    """The message for the period in `folder`: subject, text and HTML body, PDF attached."""
    spec = email_section(config)
    summary = _summary(folder, retry)
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
    fields = placeholders(config, summary["period"])
    message = EmailMessage()
    message["Subject"] = spec.subject.format(**fields)
    message["From"] = spec.sender
    message["To"] = ", ".join(spec.to)
    if spec.cc:
        message["Cc"] = ", ".join(spec.cc)
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = make_msgid(domain=spec.sender.rsplit("@", 1)[-1])
    url = spec.report_url.format(**fields) if spec.report_url else None
    message.set_content(text_body(summary, url))
    message.add_alternative(html_body(summary, url), subtype="html")
    message.add_attachment(read_own_file(pdf, MAX_PDF_BYTES), maintype="application",
                           subtype="pdf",
                           filename=f"{config.report.name}-{summary['period']}.pdf")
    return Outgoing(message, [*spec.to, *spec.cc, *spec.bcc], pdf)


def placeholders(config: Config, period: str) -> dict[str, str]:
    return {"title": config.report.title, "period": period,
            "period_label": period_label(period), "report": config.report.name,
            "company": config.report.company or ""}


def _summary(folder: Path, retry: str) -> dict[str, Any]:
    try:
        return json.loads(read_own_file(folder / "summary.json", 256 * 2**20))
    except FileNotFoundError:
        raise DeliveryError(f"no report in {folder}; run `reportgen run` for that period "
                            f"first, then {retry}") from None
    except (OSError, ValueError) as exc:
        raise DeliveryError(f"cannot read {folder / 'summary.json'} ({exc}); run the report "
                            "again") from None


def headline(summary: dict[str, Any]) -> str:
    return (f"{summary['n_customers']:,} customers in {summary['k_selected']} segments, "
            f"{period_label(summary['period'])}.")


def segment_lines(summary: dict[str, Any]) -> list[str]:
    return [f"{s['name']}: {format_share(s['share'])} ({s['size']:,} customers)"
            for s in summary.get("segments", [])]


def change_lines(summary: dict[str, Any]) -> list[str]:
    changes = summary.get("changes") or {}
    return list(changes.get("findings") or [])[:3]


def text_body(summary: dict[str, Any], url: str | None) -> str:
    lines = [summary["title"], "", headline(summary), "", "Key findings:"]
    lines += [f"- {f}" for f in summary.get("findings", [])]
    lines += ["", "Segments:"] + [f"- {s}" for s in segment_lines(summary)]
    changed = change_lines(summary)
    if changed:
        since = period_label(summary["changes"]["previous_period"])
        lines += ["", f"What changed since {since}:"] + [f"- {c}" for c in changed]
    lines += [""]
    if url:
        lines += [f"Full report: {url}"]
    lines += ["The PDF report is attached.", ""]
    return "\n".join(lines)


def html_body(summary: dict[str, Any], url: str | None) -> str:
    e = html.escape

    def items(values: list[str]) -> str:
        return "".join(f"<li>{e(v)}</li>" for v in values)

    parts = [f"<h2 style=\"margin:0 0 8px\">{e(summary['title'])}</h2>",
             f"<p>{e(headline(summary))}</p>",
             f"<p><strong>Key findings</strong></p><ul>{items(summary.get('findings', []))}</ul>",
             f"<p><strong>Segments</strong></p><ul>{items(segment_lines(summary))}</ul>"]
    changed = change_lines(summary)
    if changed:
        since = period_label(summary["changes"]["previous_period"])
        parts.append(f"<p><strong>What changed since {e(since)}</strong></p>"
                     f"<ul>{items(changed)}</ul>")
    if url:
        parts.append(f"<p><a href=\"{e(url, quote=True)}\">Open the full report</a></p>")
    parts.append("<p style=\"color:#5f6b7a\">The PDF report is attached.</p>")
    return ("<!doctype html><html><body style=\"font-family:Arial,sans-serif;color:#1f2933;"
            "max-width:640px\">" + "".join(parts) + "</body></html>\n")


def write_eml(outgoing: Outgoing, folder: Path) -> Path:
    """--dry-run: the exact message as a file any mail program opens; nothing is sent."""
    return write_atomically(folder / "email.eml", bytes(outgoing.message))  # never via a link


def credentials(spec: EmailSection) -> tuple[str, str] | None:
    """User and password from the environment variables the config names."""
    smtp = spec.smtp
    if not smtp.user_env and not smtp.password_env:
        return None
    if not (smtp.user_env and smtp.password_env):
        raise ConfigError("email.smtp: set both user_env and password_env (the names of the "
                          "environment variables holding the user name and password), or "
                          "neither")
    values = []
    for key, name in (("user_env", smtp.user_env), ("password_env", smtp.password_env)):
        value = os.environ.get(name)
        if not value:
            raise ConfigError(f"email.smtp.{key}: the environment variable {name} is not set; "
                              f"export {name}=... before running (see the README)")
        values.append(value)
    return values[0], values[1]


def send(outgoing: Outgoing, spec: EmailSection, retry: str) -> None:
    """Hand the message to the server; any failure becomes one clear DeliveryError."""
    smtp = spec.smtp
    login = credentials(spec)
    where = f"{smtp.host}:{smtp.port}"
    try:
        context = ssl.create_default_context(cafile=str(smtp.ca_file) if smtp.ca_file else None)
        if smtp.mode == "ssl":
            client: smtplib.SMTP = smtplib.SMTP_SSL(smtp.host, smtp.port, timeout=smtp.timeout,
                                                    context=context)
        else:
            client = smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout)
        with client:
            if smtp.mode == "starttls":
                client.starttls(context=context)
            if login:
                client.login(*login)
            refused = client.send_message(outgoing.message, from_addr=spec.sender,
                                          to_addrs=outgoing.recipients)
    except smtplib.SMTPAuthenticationError as exc:
        raise DeliveryError(_failed(f"{where} rejected the user name or password "
                                    f"({_reply(exc)}); check the variables "
                                    f"{smtp.user_env} and {smtp.password_env}", retry)) from None
    except smtplib.SMTPNotSupportedError:
        raise DeliveryError(_failed(f"{where} does not offer STARTTLS; set "
                                    "email.smtp.security to ssl (port 465) or none", retry)
                            ) from None
    except smtplib.SMTPRecipientsRefused as exc:
        refused_all = ", ".join(exc.recipients)
        raise DeliveryError(_failed(f"{where} refused every recipient ({refused_all})", retry)
                            ) from None
    except smtplib.SMTPResponseException as exc:
        raise DeliveryError(_failed(f"{where} answered {_reply(exc)}", retry)) from None
    except (TimeoutError, smtplib.SMTPServerDisconnected) as exc:
        if "timed out" not in str(exc) and not isinstance(exc, TimeoutError):
            raise DeliveryError(_failed(f"{where} closed the connection ({exc})", retry)
                                ) from None
        raise DeliveryError(_failed(f"no answer from {where} within {smtp.timeout:g} s "
                                    "(email.smtp.timeout)", retry)) from None
    except ssl.SSLError as exc:
        raise DeliveryError(_failed(f"TLS with {where} failed ({exc.reason or exc}); check "
                                    "email.smtp.security and email.smtp.ca_file", retry)
                            ) from None
    except (OSError, smtplib.SMTPException) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise DeliveryError(_failed(f"cannot reach {where} ({reason})", retry)) from None
    if refused:
        raise DeliveryError(_failed(f"{where} refused {', '.join(refused)} (the others were "
                                    "sent)", retry))


def _reply(exc: smtplib.SMTPResponseException) -> str:
    text = exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else (
        str(exc.smtp_error))
    return f"{exc.smtp_code} {text.strip()}"


def _failed(reason: str, retry: str) -> str:
    return f"sending the email failed: {reason}. The report is intact; retry with: {retry}"
