"""The deliver stage: a period's files written whole or not at all, the archive's index
pages, and the email."""

from reportgen.deliver.archive import rebuild_indexes
from reportgen.deliver.email import build_message, email_section, write_eml
from reportgen.deliver.period import clear_leftovers, staged_period
from reportgen.deliver.smtp import send

__all__ = ["build_message", "clear_leftovers", "email_section", "rebuild_indexes", "send",
           "staged_period", "write_eml"]
