"""The `engine:` section: where the stages that touch every row run. `pandas` (the
default) is one process on this machine; `spark` runs them on Apache Spark (a local
master, a standalone cluster, YARN or Kubernetes), for data past one machine."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, field_validator

from reportgen.config.base import Section


def _conf_value(value: object) -> str:
    """Spark's conf is text; YAML's `true` and `8` are written as Spark expects them."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | str):
        return str(value)
    raise ValueError(f"expected a text or number, found {type(value).__name__}")


# What the data layer's messages offer where this machine is too small, and where a folder
# of part files is given: the engine that reads past one machine, named in the config's
# words (the data layer names no engine itself).
LARGER_ENGINE = "run it on Spark (engine: spark)"
FOLDER_READER = "a folder of part files is read by engine: spark"


class EngineSection(Section):
    name: Literal["pandas", "spark"] = Field(
        "pandas", description="pandas: in this process; spark: on Apache Spark (needs "
        "`pip install 'reportgen[spark]'` and a Java runtime).")
    master: str | None = Field(
        None, description="Spark master: local[*], spark://host:7077, yarn, k8s://...; "
        "absent: the one spark-submit set, else local[*].")
    conf: dict[str, Annotated[str, BeforeValidator(_conf_value)]] = Field(
        default_factory=dict, description="Spark settings, e.g. {spark.executor.memory: 8g}.")
    segments_path: str | None = Field(
        None, description="Where Spark writes segments.parquet/ when its executors cannot "
        "write to output.dir (a cluster): a folder URL such as s3a://bucket/reportgen or "
        "hdfs:///reports, under which each period's goes in <report>/<period>/; "
        "summary.json records where. Absent: in the period's folder.")

    @field_validator("conf")
    @classmethod
    def _spark_keys(cls, value: dict[str, str]) -> dict[str, str]:
        for key in value:
            if not key.startswith("spark."):
                raise ValueError(f"{key!r} is not a Spark setting (they start with spark.)")
        return value

    @field_validator("segments_path")
    @classmethod
    def _a_folder(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("is empty: give a folder Spark's executors can write, such as "
                             "s3a://bucket/reportgen, or remove it")
        return value.rstrip("/") if value is not None else None

    @property
    def spark(self) -> bool:
        return self.name == "spark"
