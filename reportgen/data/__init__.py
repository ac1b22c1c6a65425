"""The data stage: data files and SQL to one row a customer."""
