"""engine: spark. The stages that touch every row run on Apache Spark; what is small
comes to the driver and goes on through the same code as the pandas engine."""

from reportgen.engines.spark.customers import load_customers
from reportgen.engines.spark.resident import CustomersOnSpark, open_customers, stays_on_spark

__all__ = ["CustomersOnSpark", "load_customers", "open_customers", "stays_on_spark"]
