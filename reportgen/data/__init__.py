"""The data stage: a data file or a SQL query to one row a customer (sales lines
aggregated, derived columns added), every configured column checked against the data."""

from reportgen.data.customers import Customers, load_customers

__all__ = ["Customers", "load_customers"]
