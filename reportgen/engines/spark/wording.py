"""What ran on Apache Spark, in the sentence the report's appendix prints (its method)."""

from __future__ import annotations

from reportgen.config.schema import Config


def where(master: str | None) -> str:
    return f"Apache Spark ({master})" if master else "Apache Spark"


def resident_note(master: str | None) -> str:
    """The customer table kept on Spark from reading to writing (resident.py)."""
    return (f"Engine: {where(master)}. The table was read and checked, the features' "
            "fills and scales fitted, the final model refitted (Lloyd's iterations from "
            "the sample's centres, scikit-learn's stopping rule), every customer "
            "labelled and the profiles, histograms and segments.parquet made on Spark "
            "over all customers; the k sweep ran on the driver's sample.")


def driver_note(config: Config) -> str:
    """The customers read (and, from sales lines, aggregated) on Spark, then brought to the
    driver (customers.py)."""
    engine = where(config.engine.master)
    if config.transactions is None:
        return (f"Engine: {engine}. The table was read on Spark; the customers were then "
                "segmented on the driver.")
    value = (" and, for the value model, each customer's purchase days summed"
             if config.value is not None else "")
    return (f"Engine: {engine}. The sales lines were read, cleaned and aggregated to one row "
            f"a customer{value} on Spark; the customers were then segmented on the driver.")
