"""The report stage: what the page says, its charts, HTML and PDF, summary.json."""
