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
import signal
import socket
import threading
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from types import FrameType
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
        interrupts = Interrupts(session)
        try:
            with interrupts.handled():
                yield session
        except KeyboardInterrupt:
            session.sparkContext.cancelAllJobs()
            raise
        except Exception as exc:
            if interrupts.requested:  # what failed was the job Ctrl-C cancelled
                raise KeyboardInterrupt from None
            if isinstance(exc, ReportgenError) or not is_spark_failure(exc):
                raise
            raise EngineError(f"engine: spark: a Spark job failed: {failure_reason(exc)}; "
                              "see the executors' logs for more") from exc
        finally:
            if existing is None:
                session.stop()


class Interrupts:
    """Ctrl-C while the driver waits on Spark: the running jobs cancelled, then the run
    stopped as any interrupted run is, with no Python or Java traceback.

    PySpark's own SIGINT handler calls the JVM from inside the signal handler, on the
    connection the interrupted call is using ("reentrant call", py4j's tracebacks on the
    terminal), and an exception raised in the middle of a py4j call leaves that connection
    holding an unread answer. So while the main thread is inside PySpark, the handler only
    asks another thread to cancel the jobs (on its own connection), and those the run
    starts next; the cancelled call returns, and SIGINT is sent again until it arrives
    outside PySpark, where it raises KeyboardInterrupt as usual."""

    def __init__(self, session: SparkSession) -> None:
        self.session = session
        self.requested = False
        self.stopped = False

    @contextmanager
    def handled(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield  # signals reach the main thread only
            return
        before = signal.signal(signal.SIGINT, self._on_sigint)
        try:
            yield
        finally:
            self.stopped = True  # stops the re-sending
            signal.signal(signal.SIGINT, before)

    def _on_sigint(self, signum: int, frame: FrameType | None) -> None:
        if not _inside_spark(frame):
            self.stopped = True
            raise KeyboardInterrupt
        if not self.requested:
            self.requested = True
            threading.Thread(target=self._cancel, name="reportgen-cancel", daemon=True).start()

    def _cancel(self) -> None:
        """Cancel the jobs, and any the run starts next, until the interrupt is raised."""
        main = threading.main_thread()
        while not self.stopped and main.is_alive() and main.ident is not None:
            with suppress(Exception):
                self.session.sparkContext.cancelAllJobs()
            time.sleep(0.2)
            if not self.stopped:
                signal.pthread_kill(main.ident, signal.SIGINT)


def _inside_spark(frame: FrameType | None) -> bool:
    """Inside PySpark or py4j: an exception there can leave a socket half read (PySpark's
    own results reader then fails on its cleanup, an UnboundLocalError)."""
    markers = (f"{os.sep}py4j{os.sep}", f"{os.sep}pyspark{os.sep}")
    while frame is not None:
        if any(marker in frame.f_code.co_filename for marker in markers):
            return True
        frame = frame.f_back
    return False


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


def failure_reason(exc: BaseException) -> str:
    """What went wrong, from the Java exception at the root of a failed call (py4j's own
    message only names the call: "An error occurred while calling o287.collectToPython")."""
    from py4j.protocol import Py4JJavaError

    if isinstance(exc, Py4JJavaError):
        try:
            cause = exc.java_exception
            while cause.getCause() is not None:
                cause = cause.getCause()
            name, message = cause.getClass().getSimpleName(), cause.getMessage()
            return first_line(RuntimeError(f"{name}: {message}" if message else name))
        except Exception:  # the JVM is gone: py4j's message is all there is
            pass
    return first_line(exc)


def first_line(exc: BaseException) -> str:
    """The message of a Java exception without its stack trace."""
    text = str(exc).strip() or type(exc).__name__
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith(("at ", "Traceback", "py4j")):
            return line[:300]
    return text.splitlines()[0][:300]
