"""Handing the message to the mail server: smtplib only, STARTTLS or SSL.

The user name and password come from environment variables the config names, so they are
never in the config, the outputs or the logs; no message this module raises contains
them. A send never touches the report: when it fails, the report stays as it was and the
error says how to retry with `reportgen send`.
"""

from __future__ import annotations

import os
import smtplib
import ssl

from reportgen.config.email import EmailSection, SmtpSection
from reportgen.deliver.email import Outgoing
from reportgen.errors import ConfigError, DeliveryError


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
        refused = _deliver(outgoing, spec, login)
    except (OSError, smtplib.SMTPException) as exc:
        raise DeliveryError(_failed(_reason(exc, where, smtp), retry)) from exc
    if refused:
        raise DeliveryError(_failed(f"{where} refused {', '.join(refused)} (the others were "
                                    "sent)", retry))


def _deliver(outgoing: Outgoing, spec: EmailSection,
             login: tuple[str, str] | None) -> dict[str, tuple[int, bytes]]:
    smtp = spec.smtp
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
        return client.send_message(outgoing.message, from_addr=spec.sender,
                                   to_addrs=outgoing.recipients)


def _reason(exc: BaseException, where: str, smtp: SmtpSection) -> str:
    """What went wrong, in words that say what to check."""
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return (f"{where} rejected the user name or password ({_reply(exc)}); check the "
                f"variables {smtp.user_env} and {smtp.password_env}")
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return _not_offered(str(exc), where, smtp)
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return f"{where} refused every recipient ({', '.join(exc.recipients)})"
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"{where} answered {_reply(exc)}"
    if isinstance(exc, TimeoutError | smtplib.SMTPServerDisconnected):
        if "timed out" not in str(exc) and not isinstance(exc, TimeoutError):
            return f"{where} closed the connection ({exc})"
        return f"no answer from {where} within {smtp.timeout:g} s (email.smtp.timeout)"
    if isinstance(exc, ssl.SSLError):
        return (f"TLS with {where} failed ({exc.reason or exc}); check email.smtp.security and "
                "email.smtp.ca_file")
    reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    return f"cannot reach {where} ({reason})"


def _not_offered(message: str, where: str, smtp: SmtpSection) -> str:
    """smtplib raises one exception for three missing extensions: say which."""
    if "SMTPUTF8" in message:
        return (f"{where} does not offer SMTPUTF8, which addresses with non-ASCII characters "
                "need; write the addresses in ASCII (an IDN domain as xn--...) or use a "
                "server that offers it")
    if "AUTH" in message:
        return (f"{where} does not offer AUTH (logging in), though email.smtp names "
                f"{smtp.user_env} and {smtp.password_env}; remove user_env and password_env "
                "for a relay that needs no login, or check the port and security")
    return (f"{where} does not offer STARTTLS; set email.smtp.security to ssl (port 465) "
            "or none")


def _reply(exc: smtplib.SMTPResponseException) -> str:
    text = exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else (
        str(exc.smtp_error))
    return f"{exc.smtp_code} {text.strip()}"


def _failed(reason: str, retry: str) -> str:
    return f"sending the email failed: {reason}. The report is intact; retry with: {retry}"
