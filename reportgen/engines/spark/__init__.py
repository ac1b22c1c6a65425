"""engine: spark. The stages that touch every row run on Apache Spark; what is small
comes to the driver and goes on through the same code as the pandas engine."""

from reportgen.engines.spark.customers import load_customers
from reportgen.engines.spark.resident import SparkRows, open_customers
from reportgen.engines.spark.wording import driver_note

__all__ = ["SparkRows", "driver_note", "load_customers", "open_customers"]
