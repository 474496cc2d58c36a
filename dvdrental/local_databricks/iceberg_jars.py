"""Apache Iceberg for the local ``spark`` gateway, from PyPI only.

Databricks writes Delta tables, which have row-level operations (MERGE, DELETE, overwriting a
table that the query reads). Open-source Spark's Parquet tables have none, and Delta's jars are
only on Maven, which cannot be reached here. Iceberg gives local Spark the same operations
through the same SQL (``MERGE INTO``, ``DELETE FROM``, ``INSERT OVERWRITE``) that SQLMesh
issues on Databricks, and its Spark 3.5 jars are on PyPI:

* ``snowpark-connect-deps-iceberg`` ships ``iceberg-spark-runtime-3.5_2.12`` and
  ``iceberg-spark-extensions-3.5_2.12`` (1.10.2). That runtime jar was built without the
  shaded Jackson that Iceberg's own runtime jar carries (creating a table fails with
  ``ClassNotFoundException: org.apache.iceberg.shaded.com.fasterxml.jackson.core.JsonFactoryBuilder``).
* ``snowpark-connect-deps-2`` ships plain ``jackson-core``, ``jackson-databind`` and
  ``jackson-annotations`` 2.18 (the version Iceberg 1.10 is built against).

:func:`iceberg_jars` relocates those three Jackson jars into
``org.apache.iceberg.shaded.com.fasterxml.jackson`` (what Iceberg's build does with the Gradle
shadow plugin) into one jar in a cache directory, once, and returns the jars for
``spark.jars``. The relocation is pure Python: in every class file the constant pool's UTF-8
entries (class names, descriptors, signatures, string constants) are rewritten; entries are
length-prefixed and referenced by index, so their lengths may change. Zip entry paths
(``META-INF/versions/N/`` included) and ``META-INF/services`` files are relocated the same way;
signatures and ``module-info.class`` are dropped.

``python -m dvdrental.local_databricks.iceberg_jars`` builds the cache and prints the ``spark.jars`` value.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import shutil
import struct
import sys
import tempfile
import typing as t
import zipfile
from pathlib import Path

from foundation.errors import ConfigError
from foundation.paths import PROJECT_ROOT

ICEBERG_PACKAGE = "snowpark_connect_deps_iceberg"
JACKSON_PACKAGE = "snowpark_connect_deps_2"
ICEBERG_JARS = ("iceberg-spark-runtime-3.5_2.12-1.10.2.jar", "iceberg-spark-extensions-3.5_2.12-1.10.2.jar")
JACKSON_JARS = ("jackson-core-2.18.8.jar", "jackson-databind-2.18.8.jar", "jackson-annotations-2.18.8.jar")
SHADED_PREFIX = "org.apache.iceberg.shaded."
RELOCATED_NAME = "iceberg-shaded-jackson-2.18.8.jar"
CACHE_DIR_ENV = "DVD_SPARK_JARS_DIR"
DEFAULT_CACHE_DIR = PROJECT_ROOT / ".local" / "spark-jars"
# Bumped whenever the relocation changes, so a stale cached jar is rebuilt.
RELOCATOR_VERSION = "1"

_FROM = "com.fasterxml.jackson."


def _relocation_pattern(sep: bytes) -> tuple[re.Pattern[bytes], bytes]:
    source = _FROM.replace(".", sep.decode()).encode()
    target = (SHADED_PREFIX + _FROM).replace(".", sep.decode()).encode()
    # Anywhere (descriptors read "Lcom/fasterxml/jackson/...;"), unless already relocated.
    prefix = SHADED_PREFIX.replace(".", sep.decode()).encode()
    pattern = re.compile(b"(?<!" + re.escape(prefix) + b")" + re.escape(source))
    return pattern, target


_SLASHED = _relocation_pattern(b"/")
_DOTTED = _relocation_pattern(b".")


def relocate_bytes(value: bytes) -> bytes:
    """``com/fasterxml/jackson/`` and ``com.fasterxml.jackson.`` moved under Iceberg's shaded package."""
    for pattern, target in (_SLASHED, _DOTTED):
        value = pattern.sub(target, value)
    return value


def relocate_path(path: str) -> str:
    return relocate_bytes(path.encode()).decode()


# Constant-pool entry sizes after the tag byte, for every tag but CONSTANT_Utf8 (1).
_FIXED_SIZES = {3: 4, 4: 4, 5: 8, 6: 8, 7: 2, 8: 2, 9: 4, 10: 4, 11: 4, 12: 4, 15: 3, 16: 2, 17: 4, 18: 4, 19: 2, 20: 2}


def relocate_class(data: bytes, rewrite: t.Callable[[bytes], bytes] = relocate_bytes) -> bytes:
    """A class file with every CONSTANT_Utf8 of its constant pool passed through ``rewrite``
    (by default: Jackson relocated); the rest verbatim."""
    if data[:4] != b"\xca\xfe\xba\xbe":
        raise ValueError("not a class file")
    (count,) = struct.unpack_from(">H", data, 8)
    out = bytearray(data[:10])
    pos, index = 10, 1
    while index < count:
        tag = data[pos]
        if tag == 1:
            (length,) = struct.unpack_from(">H", data, pos + 1)
            value = rewrite(data[pos + 3 : pos + 3 + length])
            if len(value) > 0xFFFF:
                raise ValueError("relocated constant longer than 65535 bytes")
            out += bytes([1]) + struct.pack(">H", len(value)) + value
            pos += 3 + length
        elif tag in _FIXED_SIZES:
            size = _FIXED_SIZES[tag]
            out += data[pos : pos + 1 + size]
            pos += 1 + size
            if tag in (5, 6):  # Long and Double take two constant-pool slots
                index += 1
        else:
            raise ValueError(f"unknown constant-pool tag {tag} at offset {pos}")
        index += 1
    out += data[pos:]
    return bytes(out)


def _dropped(name: str) -> bool:
    base = name.rsplit("/", 1)[-1]
    if base == "module-info.class":
        return True
    if name.startswith("META-INF/") and name.count("/") == 1 and base.upper().endswith((".SF", ".DSA", ".RSA", ".EC")):
        return True
    return False


def relocate_jars(sources: t.Sequence[Path], target: Path) -> int:
    """Merge ``sources`` into ``target`` with Jackson relocated; returns the number of classes."""
    seen: set[str] = set()
    classes = 0
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as out:
        for source in sources:
            with zipfile.ZipFile(source) as jar:
                for info in jar.infolist():
                    name = info.filename
                    if info.is_dir() or _dropped(name):
                        continue
                    data = jar.read(info)
                    new_name = relocate_path(name)
                    if name.endswith(".class"):
                        data = relocate_class(data)
                        classes += 1
                    elif name.startswith("META-INF/services/"):
                        data = relocate_bytes(data)
                    if new_name in seen:
                        continue  # MANIFEST.MF, LICENSE, NOTICE: the first jar's copy
                    seen.add(new_name)
                    out.writestr(zipfile.ZipInfo(new_name, date_time=info.date_time), data, zipfile.ZIP_DEFLATED)
    return classes


def _package_jars(package: str, names: t.Sequence[str]) -> list[Path]:
    import importlib.util

    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(
            f"The Python package {package.replace('_', '-')} is not installed: the spark gateway needs it "
            "for Iceberg (`pip install -e '.[dev]'`)."
        )
    jars_dir = Path(list(spec.submodule_search_locations)[0]) / "jars"
    paths = [jars_dir / name for name in names]
    missing = [str(path) for path in paths if not path.is_file()]
    if missing:
        raise ConfigError(
            f"Jars missing from {package}: {', '.join(missing)} (reinstall it: `pip install -e '.[dev]'`)."
        )
    return paths


def cache_dir() -> Path:
    """``$DVD_SPARK_JARS_DIR`` (relative to the project) or ``.local/spark-jars``."""
    return PROJECT_ROOT / Path(os.environ.get(CACHE_DIR_ENV) or DEFAULT_CACHE_DIR)


def prepare_spark_jars(settings: dict[str, str]) -> dict[str, str]:
    """``settings`` (a spark ``config:`` map) with ``spark.jars`` made absolute (relative paths are
    the project's), after building the Iceberg jars it names into their directory."""
    jars = [PROJECT_ROOT / Path(jar.strip()) for jar in settings.get("spark.jars", "").split(",") if jar.strip()]
    ours = {*ICEBERG_JARS, RELOCATED_NAME}
    for directory in sorted({jar.parent for jar in jars if jar.name in ours}):
        iceberg_jars(directory)
    if jars:
        settings = {**settings, "spark.jars": ",".join(str(jar) for jar in jars)}
    return settings


def relocated_jackson(directory: Path | None = None) -> Path:
    """The relocated Jackson jar, built into ``directory`` unless an up-to-date one is there."""
    sources = _package_jars(JACKSON_PACKAGE, JACKSON_JARS)
    directory = directory or cache_dir()
    digest = hashlib.sha256(RELOCATOR_VERSION.encode())
    for source in sources:
        stat = source.stat()
        digest.update(f"{source.name}:{stat.st_size}:{int(stat.st_mtime)}".encode())
    target = directory / RELOCATED_NAME
    stamp = directory / (RELOCATED_NAME + ".sha256")
    if target.is_file() and stamp.is_file() and stamp.read_text().strip() == digest.hexdigest():
        return target
    directory.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".relocating-", suffix=".jar")
    os.close(fd)
    try:
        relocate_jars(sources, Path(tmp))
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)  # atomic: concurrent builders each write a complete jar
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    stamp.write_text(digest.hexdigest() + "\n")
    return target


def _link(source: Path, directory: Path) -> Path:
    """``directory/<source name>``: a symlink to ``source`` (a copy where links are not possible)."""
    target = directory / source.name
    if target.is_symlink() and os.readlink(target) == str(source):
        return target
    if not target.is_symlink() and target.is_file() and target.stat().st_size == source.stat().st_size:
        return target
    directory.mkdir(parents=True, exist_ok=True)
    tmp = directory / f".linking-{os.getpid()}-{source.name}"
    try:
        os.symlink(source, tmp)
    except OSError:
        shutil.copyfile(source, tmp)
    os.replace(tmp, target)
    return target


def iceberg_jars(directory: Path | None = None) -> list[Path]:
    """Iceberg's Spark 3.5 runtime and SQL extensions (linked from their package), and the
    relocated Jackson they need, all in ``directory``: what config.yaml's ``spark.jars`` names."""
    directory = directory or cache_dir()
    return [
        *(_link(jar, directory) for jar in _package_jars(ICEBERG_PACKAGE, ICEBERG_JARS)),
        relocated_jackson(directory),
    ]


def spark_jars_value(directory: Path | None = None) -> str:
    """The ``spark.jars`` value: the jars, comma-separated."""
    return ",".join(str(path) for path in iceberg_jars(directory))


def main(argv: t.Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m dvdrental.local_databricks.iceberg_jars",
        description="Build the relocated Jackson jar Iceberg needs and print the spark.jars value.",
    )
    parser.add_argument("--dir", type=Path, help=f"cache directory (default: ${CACHE_DIR_ENV} or {DEFAULT_CACHE_DIR})")
    args = parser.parse_args(argv)
    try:
        print(spark_jars_value(args.dir))
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return error.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())
