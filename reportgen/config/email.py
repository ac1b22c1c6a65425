"""The `email:` section: who gets the PDF, the subject, the link, and the mail server."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, ValidationInfo, field_validator

from reportgen.config.base import Section, check_placeholders, resolve_path

EMAIL_PLACEHOLDERS = ("title", "period", "period_label", "report", "company")
ADDRESS_RE = re.compile(r"^[^@\s<>,;]+@[^@\s<>,;]+$")


def _one_or_many(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


OneOrMany = BeforeValidator(_one_or_many, json_schema_input_type=str | list[str])


def _address(value: str) -> str:
    if not ADDRESS_RE.match(value.strip()):
        raise ValueError(f"{value!r} is not an email address (name@example.com)")
    return value.strip()


class SmtpSection(Section):
    host: str = Field("localhost", description="SMTP server.")
    port: int = Field(587, ge=1, le=65535, description="SMTP port (587 STARTTLS, 465 SSL).")
    security: Literal["starttls", "ssl", "none"] | None = Field(
        None, description="starttls, ssl or none (a local relay); by default ssl on port 465, "
        "otherwise starttls (or as `starttls:` says).")
    starttls: bool | None = Field(
        None, description="Shorthand: true is security starttls, false is none.")
    user_env: str | None = Field(
        None, description="Environment variable holding the SMTP user name.")
    password_env: str | None = Field(
        None, description="Environment variable holding the SMTP password (never the "
        "password itself).")
    timeout: float = Field(30, gt=0, le=600, description="Seconds to wait for the server.")
    ca_file: Path | None = Field(
        None, description="A CA certificate (PEM) to trust, for a server with an internal "
        "certificate.")

    @field_validator("ca_file")
    @classmethod
    def _ca_exists(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        path = resolve_path(value, info)
        if path is not None and not path.is_file():
            raise ValueError(f"CA file not found: {path}")
        return path

    @property
    def mode(self) -> str:
        if self.security:
            return self.security
        if self.starttls is not None:
            return "starttls" if self.starttls else "none"
        return "ssl" if self.port == 465 else "starttls"


class EmailSection(Section):
    to: Annotated[list[str], OneOrMany] = Field(
        min_length=1, description="Recipients (one address or a list).")
    cc: Annotated[list[str], OneOrMany] = Field(
        default_factory=list, description="Copy recipients.")
    bcc: Annotated[list[str], OneOrMany] = Field(
        default_factory=list, description="Blind-copy recipients (not in the headers).")
    sender: str = Field("reportgen@localhost", description="The From address.")
    subject: str = Field("{title} - {period_label}",
                         description="Subject template: {title}, {period}, {period_label}.")
    report_url: str | None = Field(
        None, description="Link to the hosted HTML, a template: "
        "https://reports.example.com/{report}/{period}/report.html")
    send_after_run: bool = Field(
        False, description="Email the PDF at the end of every successful `reportgen run`.")
    max_attachment_mb: float = Field(
        10, gt=0, le=1000,
        description="Refuse to send a PDF larger than this (most servers cap 10-25 MB).")
    smtp: SmtpSection = Field(default_factory=dict, validate_default=True,
                              description="The mail server.")

    _addresses = field_validator("to", "cc", "bcc")(lambda v: [_address(a) for a in v])
    _sender = field_validator("sender")(lambda v: _address(v))

    @field_validator("subject", "report_url")
    @classmethod
    def _known_placeholders(cls, value: str | None) -> str | None:
        if value is not None:
            check_placeholders(value, EMAIL_PLACEHOLDERS)
        return value


