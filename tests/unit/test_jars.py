import io
import struct
import zipfile

from lakehouse.config import Settings
from lakehouse.spark.jars import DST_PKG, SRC_PKG, iceberg_jars, relocate_class, relocate_jars


def _utf8(text: bytes) -> bytes:
    return b"\x01" + struct.pack(">H", len(text)) + text


def _class_file(*utf8s: bytes) -> bytes:
    pool = [_utf8(u) for u in utf8s]
    pool.insert(1, b"\x05" + struct.pack(">q", 123456789))  # a long takes two slots
    pool.append(b"\x07" + struct.pack(">H", 1))  # Class -> #1
    count = len(pool) + 2  # +1 for the long's second slot, +1 because indexes start at 1
    return b"\xca\xfe\xba\xbe" + struct.pack(">HHH", 0, 61, count) + b"".join(pool) + b"\x00\x21TAIL"


def _utf8_entries(data: bytes) -> list[bytes]:
    count = struct.unpack_from(">H", data, 8)[0]
    pos, index, out = 10, 1, []
    while index < count:
        tag = data[pos]
        if tag == 1:
            n = struct.unpack_from(">H", data, pos + 1)[0]
            out.append(data[pos + 3 : pos + 3 + n])
            pos += 3 + n
        else:
            size = {5: 8, 7: 2}[tag]
            pos += 1 + size
            index += tag == 5
        index += 1
    return out


def test_relocate_class_rewrites_slash_descriptor_and_dotted_names_only():
    original = _class_file(
        b"com/fasterxml/jackson/core/JsonFactory",
        b"(Lcom/fasterxml/jackson/databind/ObjectMapper;)V",
        b"com.fasterxml.jackson.core.JsonFactory",
        b"java/lang/Object",
    )
    relocated = relocate_class(original)
    assert _utf8_entries(relocated) == [
        b"org/apache/iceberg/shaded/com/fasterxml/jackson/core/JsonFactory",
        b"(Lorg/apache/iceberg/shaded/com/fasterxml/jackson/databind/ObjectMapper;)V",
        b"org.apache.iceberg.shaded.com.fasterxml.jackson.core.JsonFactory",
        b"java/lang/Object",
    ]
    assert relocated.endswith(b"\x00\x21TAIL")  # everything after the pool untouched


def test_relocate_jars_moves_entries_and_service_files():
    src = io.BytesIO()
    with zipfile.ZipFile(src, "w") as z:
        z.writestr("com/fasterxml/jackson/core/A.class", _class_file(b"com/fasterxml/jackson/core/A"))
        z.writestr("META-INF/services/com.fasterxml.jackson.core.JsonFactory", "com.fasterxml.jackson.core.A\n")
        z.writestr("module-info.class", b"x")
    merged = zipfile.ZipFile(io.BytesIO(relocate_jars([src.getvalue()])))
    names = set(merged.namelist())
    assert "org/apache/iceberg/shaded/com/fasterxml/jackson/core/A.class" in names
    service = "META-INF/services/org.apache.iceberg.shaded.com.fasterxml.jackson.core.JsonFactory"
    assert merged.read(service) == b"org.apache.iceberg.shaded.com.fasterxml.jackson.core.A\n"
    assert "module-info.class" not in names


def test_provisioned_jar_has_no_unrelocated_jackson_reference():
    """`make setup` built this jar; every class must point at the shaded package only."""
    jars = iceberg_jars(Settings.from_env().jar_cache_dir)
    assert jars.exist(), "run `make setup` first"
    with zipfile.ZipFile(jars.jackson) as z:
        classes = [n for n in z.namelist() if n.endswith(".class")]
        assert len(classes) > 500
        for name in classes:
            assert name.startswith(DST_PKG.decode()) or name.startswith("META-INF/versions/")
            data = z.read(name).replace(DST_PKG, b"")
            assert SRC_PKG not in data, name
