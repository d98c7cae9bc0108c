"""Provision the Iceberg Spark runtime and the Jackson it expects, once, into a cache.

Maven Central is not reachable here, so the Iceberg 1.10.2 runtime for Spark
3.5 / Scala 2.12 comes from the PyPI wheel ``snowpark-connect-deps-iceberg``.
That jar references Iceberg's own shaded Jackson
(``org.apache.iceberg.shaded.com.fasterxml.jackson``) without shipping it, so
we relocate jackson-core/databind/annotations 2.18.8 (PyPI wheel
``snowpark-connect-deps-2``) into that package: every class file's
constant-pool names and every entry path are rewritten, like the Maven shade
plugin would. Jars are cached outside the repo and never committed.
"""

from __future__ import annotations

import io
import struct
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ICEBERG_WHEEL = ("snowpark-connect-deps-iceberg", "1.0.3")
JACKSON_WHEEL = ("snowpark-connect-deps-2", "3.56.7")
ICEBERG_RUNTIME = "iceberg-spark-runtime-3.5_2.12-1.10.2.jar"
JACKSON_JARS = ("jackson-core-2.18.8.jar", "jackson-databind-2.18.8.jar", "jackson-annotations-2.18.8.jar")
RELOCATED_JACKSON = "iceberg-shaded-jackson-2.18.8.jar"

SRC_PKG = b"com/fasterxml/jackson/"
DST_PKG = b"org/apache/iceberg/shaded/com/fasterxml/jackson/"


@dataclass(frozen=True)
class IcebergJars:
    runtime: Path
    jackson: Path

    def all(self) -> list[Path]:
        return [self.runtime, self.jackson]

    def exist(self) -> bool:
        return all(p.is_file() for p in self.all())


def iceberg_jars(cache_dir: Path) -> IcebergJars:
    return IcebergJars(cache_dir / ICEBERG_RUNTIME, cache_dir / RELOCATED_JACKSON)


def provision(cache_dir: Path, log: Callable[[str], object] = print) -> IcebergJars:
    """Make sure both jars are in ``cache_dir``; download and build only what is missing."""
    jars = iceberg_jars(cache_dir)
    if jars.exist():
        log(f"jars: cached in {cache_dir}")
        return jars
    cache_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        if not jars.runtime.is_file():
            wheel = _download_wheel(*ICEBERG_WHEEL, tmp_path, log)
            _atomic_write(jars.runtime, _read_member(wheel, ICEBERG_RUNTIME))
            log(f"jars: extracted {ICEBERG_RUNTIME}")
        if not jars.jackson.is_file():
            wheel = _download_wheel(*JACKSON_WHEEL, tmp_path, log)
            sources = [_read_member(wheel, name) for name in JACKSON_JARS]
            _atomic_write(jars.jackson, relocate_jars(sources))
            log(f"jars: built {RELOCATED_JACKSON} (Jackson relocated into Iceberg's shaded package)")
    return jars


def _download_wheel(name: str, version: str, dest: Path, log: Callable[[str], object]) -> Path:
    log(f"jars: downloading {name}=={version} from the package index")
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(dest), f"{name}=={version}"]
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"cannot download {name}=={version}: {result.stderr.strip()[-2000:]}")
    wheels = list(dest.glob(f"{name.replace('-', '_')}-{version}-*.whl"))
    if not wheels:
        raise RuntimeError(f"pip downloaded no wheel for {name}=={version} into {dest}")
    return wheels[0]


def _read_member(wheel: Path, jar_name: str) -> bytes:
    with zipfile.ZipFile(wheel) as zf:
        for info in zf.infolist():
            if info.filename.endswith("/" + jar_name):
                return zf.read(info)
    raise RuntimeError(f"{wheel.name} has no {jar_name}")


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)


# ---- relocation ------------------------------------------------------------

def relocate_jars(jar_bytes: list[bytes]) -> bytes:
    """Merge ``jar_bytes`` into one jar with Jackson moved under Iceberg's shaded package."""
    out = io.BytesIO()
    seen: set[str] = set()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        dst.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\nCreated-By: kol-lakehouse\n")
        for data in jar_bytes:
            with zipfile.ZipFile(io.BytesIO(data)) as src:
                for info in src.infolist():
                    name = _relocated_entry(info.filename)
                    if name is None or name in seen or info.is_dir():
                        continue
                    seen.add(name)
                    payload = src.read(info)
                    if name.endswith(".class"):
                        payload = relocate_class(payload)
                    elif name.startswith("META-INF/services/"):
                        payload = payload.replace(b"com.fasterxml.jackson.", b"org.apache.iceberg.shaded.com.fasterxml.jackson.")
                    dst.writestr(name, payload)
    return out.getvalue()


def _relocated_entry(name: str) -> str | None:
    if name.endswith("module-info.class") or name == "META-INF/MANIFEST.MF":
        return None
    if name.startswith("META-INF/") and name.rsplit(".", 1)[-1] in ("SF", "RSA", "DSA"):
        return None
    if name.startswith("META-INF/services/com.fasterxml.jackson."):
        return name.replace("META-INF/services/", "META-INF/services/org.apache.iceberg.shaded.", 1)
    src, dst = SRC_PKG.decode(), DST_PKG.decode()
    if name.startswith(src):
        return dst + name[len(src):]
    if name.startswith("META-INF/versions/") and src in name:
        return name.replace(src, dst, 1)
    if name.startswith("META-INF/"):
        return name
    return None  # nothing outside Jackson's own packages


_DOTTED_SRC = SRC_PKG.replace(b"/", b".")
_DOTTED_DST = DST_PKG.replace(b"/", b".")
# constant-pool tag -> fixed payload size (Utf8 = 1 is variable)
_CP_SIZES = {3: 4, 4: 4, 5: 8, 6: 8, 7: 2, 8: 2, 9: 4, 10: 4, 11: 4, 12: 4, 15: 3, 16: 2, 17: 4, 18: 4, 19: 2, 20: 2}


def relocate_class(data: bytes) -> bytes:
    """Rewrite every CONSTANT_Utf8 naming a Jackson class (slash or dot form)."""
    if data[:4] != b"\xca\xfe\xba\xbe":
        raise ValueError("not a class file")
    count = struct.unpack_from(">H", data, 8)[0]
    out = bytearray(data[:10])
    pos, index = 10, 1
    while index < count:
        tag = data[pos]
        if tag == 1:
            length = struct.unpack_from(">H", data, pos + 1)[0]
            text = data[pos + 3 : pos + 3 + length]
            text = text.replace(SRC_PKG, DST_PKG).replace(_DOTTED_SRC, _DOTTED_DST)
            out += bytes([1]) + struct.pack(">H", len(text)) + text
            pos += 3 + length
        else:
            size = _CP_SIZES[tag]
            out += data[pos : pos + 1 + size]
            pos += 1 + size
            if tag in (5, 6):
                index += 1  # long and double take two slots
        index += 1
    out += data[pos:]
    return bytes(out)
