"""Starting Spark for a run, and turning what Spark and Java throw into one line.

A Spark session is a JVM: it needs PySpark (`pip install 'reportgen[spark]'`) and a Java
runtime, and a remote master must answer. Each is checked before the JVM starts, since the
JVM's own failures arrive as pages of Java stack trace, or (an unreachable standalone
master) only after a minute of retries.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from reportgen.config.engine import EngineSection
from reportgen.errors import EngineError, ReportgenError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

NO_PYSPARK = ("engine: spark needs PySpark, which is not installed here: "
              "pip install 'reportgen[spark]' (or set engine.name: pandas)")
NO_JAVA = ("engine: spark needs a Java runtime (17 or newer) and none was found: install "
           "one (sudo apt-get install default-jre-headless) or set JAVA_HOME")
DEFAULT_MASTER = "local[*]"
QUIET = {
    "spark.ui.enabled": "false",  # no web server on the analyst's machine unless asked
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.session.timeZone": "UTC",  # dates are days, whatever the machine's zone
}
STANDALONE_RE = re.compile(r"^spark://(?P<hosts>[^/]+)$")


def check_pyspark() -> None:
    try:
        with warnings.catch_warnings():  # "does not yet fully support pandas >= 3.0.0":
            warnings.simplefilter("ignore", FutureWarning)  # the driver's frames are ours
            import pyspark.sql  # noqa: F401
    except ImportError as exc:
        raise EngineError(NO_PYSPARK) from exc


def quiet_logging() -> None:
    """Errors only from the JVM (log4j2.properties beside this module). The driver's JVM
    options must be given to the spark-submit that PySpark starts it with, before it
    exists; a PYSPARK_SUBMIT_ARGS of the user's own is left alone."""
    if "PYSPARK_SUBMIT_ARGS" in os.environ:
        return
    settings = Path(__file__).with_name("log4j2.properties")
    os.environ["PYSPARK_SUBMIT_ARGS"] = (
        f'--driver-java-options "-Dlog4j2.configurationFile=file:{settings}" pyspark-shell')


def java_command() -> str | None:
    home = os.environ.get("JAVA_HOME")
    if home:
        candidate = os.path.join(home, "bin", "java")
        return candidate if os.access(candidate, os.X_OK) else None
    return shutil.which("java")


def check_java() -> None:
    if java_command() is None:
        home = os.environ.get("JAVA_HOME")
        raise EngineError(NO_JAVA if not home else
                          f"engine: spark: JAVA_HOME is {home}, which holds no bin/java; "
                          "point it at a Java 17+ installation or unset it")


def check_master(master: str, timeout: float = 5.0) -> None:
    """A standalone master (spark://host:port) is asked on its port first; YARN and
    Kubernetes masters are found through their own configuration and checked by Spark."""
    match = STANDALONE_RE.match(master)
    if not match:
        return
    for address in match["hosts"].split(","):  # several masters: one must answer
        host, _, port = address.rpartition(":")
        try:
            with socket.create_connection((host or address, int(port or 7077)), timeout):
                return
        except (OSError, ValueError):
            continue
    raise EngineError(f"engine.master: no Spark master answers at {master}; check the host "
                      "and port (the master's web page shows its spark:// URL), or use "
                      "local[*] to run on this machine")


def master_of(engine: EngineSection) -> str | None:
    """The config's master; none inside spark-submit, which passes its own."""
    if engine.master:
        return engine.master
    return None if os.environ.get("SPARK_ENV_LOADED") or _submitted() else DEFAULT_MASTER


def _submitted() -> bool:
    """Started by spark-submit: the JVM is already there and knows its master."""
    return bool(os.environ.get("PYSPARK_GATEWAY_PORT")) or "--master" in os.environ.get(
        "PYSPARK_SUBMIT_ARGS", "")


@contextmanager
def spark_session(engine: EngineSection, app_name: str) -> Iterator[SparkSession]:
    """A session for one run, stopped afterwards unless it was already running (a notebook
    or spark-submit owns its session). A job that fails on an executor, or a JVM that
    cannot start, ends as one EngineError line; Ctrl-C cancels the running jobs."""
    check_pyspark()
    check_java()
    master = master_of(engine)
    if master:
        check_master(master)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*pandas >= 3", category=FutureWarning)
        existing = _active_session()
        session = existing or _started(engine, app_name, master)
        try:
            yield session
        except KeyboardInterrupt:
            session.sparkContext.cancelAllJobs()
            raise
        except ReportgenError:
            raise
        except Exception as exc:
            if not is_spark_failure(exc):
                raise
            raise EngineError(f"engine: spark: a Spark job failed: {first_line(exc)}; see the "
                              "executors' logs for more") from exc
        finally:
            if existing is None:
                session.stop()


def _active_session() -> SparkSession | None:
    from pyspark.sql import SparkSession

    return SparkSession.getActiveSession()


def _started(engine: EngineSection, app_name: str, master: str | None) -> SparkSession:
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.appName(f"reportgen {app_name}")
    if master:
        builder = builder.master(master)
    for key, value in {**QUIET, **local_memory(master), **engine.conf}.items():
        builder = builder.config(key, value)
    quiet_logging()
    try:
        session = builder.getOrCreate()
    except Exception as exc:  # the JVM's failure, as one line
        raise EngineError(f"engine: spark could not start: {first_line(exc)}") from exc
    session.sparkContext.setLogLevel("ERROR")
    return session


def local_memory(master: str | None) -> dict[str, str]:
    """A local master runs its executors inside the driver's JVM, whose heap Spark sets to
    1 GB: too little to sort a few million customers. Half of what this machine has free,
    unless engine.conf says otherwise."""
    if not master or not master.startswith("local"):
        return {}
    from reportgen.data.memory import available_bytes

    room, _ = available_bytes()
    if room == float("inf"):
        return {}
    gigabytes = max(1, int(room * 0.5 / 2**30))
    return {"spark.driver.memory": f"{gigabytes}g"}


def is_spark_failure(exc: BaseException) -> bool:
    """Spark's and the JVM's exceptions (not reportgen's own bugs, which stay bugs)."""
    from py4j.protocol import Py4JError
    from pyspark.errors import PySparkException

    return isinstance(exc, PySparkException | Py4JError)


def first_line(exc: BaseException) -> str:
    """The message of a Java exception without its stack trace."""
    text = str(exc).strip() or type(exc).__name__
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith(("at ", "Traceback", "py4j")):
            return line[:300]
    return text.splitlines()[0][:300]
