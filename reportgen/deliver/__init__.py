"""The deliver stage: period files, the archive, email."""
