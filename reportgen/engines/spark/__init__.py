"""engine: spark. The stages that touch every row run on Apache Spark; what is small
comes to the driver and goes on through the same code as the pandas engine."""

from reportgen.engines.spark.customers import DriverRows, load_customers
from reportgen.engines.spark.resident import SparkRows, open_customers

__all__ = ["DriverRows", "SparkRows", "load_customers", "open_customers"]
