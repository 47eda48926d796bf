"""Pool and volume XML against libvirt 9.0's own storagepoolxml2xml / storagevolxml2xml test data."""

from __future__ import annotations

from pathlib import Path

import pytest

from guiapp.backend import constants as C
from guiapp.backend.errors import DriverError
from guiapp.backend.xml.storage import parse_pool, parse_volume

DATA = Path("/work/libvirt-src/libvirt-9.0.0/tests")
POOLS = ["pool-dir", "pool-dir-naming", "pool-logical", "pool-logical-create", "pool-logical-noname",
         "pool-logical-nopath"]
VOLS = [("dir", "vol-file"), ("dir", "vol-file-naming"), ("dir", "vol-file-backing"), ("dir", "vol-qcow2"),
        ("dir", "vol-qcow2-nobacking"), ("logical", "vol-logical"), ("logical", "vol-logical-backing")]
needs_data = pytest.mark.skipif(not DATA.is_dir(), reason="libvirt 9.0 sources not unpacked")


@needs_data
@pytest.mark.parametrize("name", POOLS)
def test_pool_matches_libvirt_output(name: str) -> None:
    defn = parse_pool((DATA / "storagepoolxml2xmlin" / f"{name}.xml").read_text())
    expected = (DATA / "storagepoolxml2xmlout" / f"{name}.xml").read_text()
    assert defn.with_sizes(0, 0, 0).format() == expected
    assert parse_pool(defn.format()) == defn


@needs_data
@pytest.mark.parametrize("pool_type,name", VOLS)
def test_volume_matches_libvirt_output(pool_type: str, name: str) -> None:
    vol = parse_volume((DATA / "storagevolxml2xmlin" / f"{name}.xml").read_text(), pool_type)
    assert vol.to_xml() == (DATA / "storagevolxml2xmlout" / f"{name}.xml").read_text()
    assert parse_volume(vol.to_xml(), pool_type) == vol


@pytest.mark.parametrize("name", ["a/b", "..", ".", "../../etc/passwd", "x\ny", "a\x00b"])
def test_hostile_volume_names_are_refused(name: str) -> None:
    escaped = name.replace("\x00", "&#0;")
    xml = f"<volume><name>{escaped}</name><capacity>1</capacity></volume>"
    with pytest.raises(DriverError) as exc:
        parse_volume(xml)
    assert exc.value.code in (C.VIR_ERR_XML_ERROR, C.VIR_ERR_XML_DETAIL)


@pytest.mark.parametrize("vg", ["-ff", "a b", "x/y", "..", "vg;rm -rf /"])
def test_hostile_volume_group_names_are_refused(vg: str) -> None:
    xml = f"<pool type='logical'><name>p</name><source><name>{vg}</name></source></pool>"
    with pytest.raises(DriverError) as exc:
        parse_pool(xml)
    assert exc.value.code == C.VIR_ERR_XML_ERROR


@pytest.mark.parametrize("xml,code", [
    ("<pool type='dir'><name>p</name></pool>", C.VIR_ERR_XML_ERROR),  # no target path
    ("<pool type='dir'><name>p</name><target><path>relative</path></target></pool>", C.VIR_ERR_XML_ERROR),
    ("<pool type='iscsi'><name>p</name></pool>", C.VIR_ERR_CONFIG_UNSUPPORTED),
    ("<pool><name>p</name></pool>", C.VIR_ERR_XML_ERROR),
    ("<pool type='logical'><name>p</name><source><device path='-oops'/></source></pool>", C.VIR_ERR_XML_ERROR),
    ("<pool type='dir'><name>p</name><target><path>/x</path><permissions><mode>999</mode></permissions>"
     "</target></pool>", C.VIR_ERR_XML_ERROR),
])
def test_bad_pools_get_coded_errors(xml: str, code: int) -> None:
    with pytest.raises(DriverError) as exc:
        parse_pool(xml)
    assert exc.value.code == code


def test_sizes_units_and_backing_store() -> None:
    vol = parse_volume("<volume><name>v</name><capacity unit='G'>5</capacity><allocation unit='KB'>3"
                       "</allocation><target><format type='qcow2'/></target><backingStore><path>/b,c</path>"
                       "<format type='raw'/></backingStore></volume>")
    assert (vol.capacity, vol.allocation, vol.format) == (5 * 1024 ** 3, 3000, "qcow2")
    assert (vol.backing_path, vol.backing_format) == ("/b,c", "raw")
