import dataclasses

import pytest

from hwmodels.errors import EstimateError, UnknownAcceleratorError, UnknownNodeError
from hwmodels.ethosu import EthosUCounters, energy
from hwmodels.mac import mac_unit
from hwmodels.nodes import get_node

BASE = EthosUCounters(
    "ethos-u55-128",
    macs=30_000_000,
    sram_bytes=2_000_000,
    offchip_bytes=400_000,
    offchip_kind="flash",
    cycles=300_000,
    clock_hz=500e6,
)


def test_split_follows_counters_and_tables():
    e = energy(BASE, node="45nm")
    node = get_node("45nm")
    assert e.mac_mj == pytest.approx(BASE.macs * mac_unit("int8", "int32", "45nm").energy_pj * 1e-9)
    assert e.offchip_mj == pytest.approx(BASE.offchip_bytes * node.flash_pj_per_byte * 1e-9)
    assert e.total_mj == pytest.approx(e.mac_mj + e.sram_mj + e.offchip_mj + e.static_mj)
    assert e.to_dict()["total_mj"] == e.total_mj


@pytest.mark.parametrize("field", ["macs", "sram_bytes", "offchip_bytes", "cycles"])
def test_each_counter_raises_energy(field):
    more = dataclasses.replace(BASE, **{field: getattr(BASE, field) * 2})
    assert energy(more).total_mj > energy(BASE).total_mj


def test_dram_dearer_than_flash_and_7nm_cheaper_than_45nm():
    dram = dataclasses.replace(BASE, offchip_kind="dram")
    assert energy(dram).offchip_mj > energy(BASE).offchip_mj
    assert energy(BASE, "7nm").total_mj < energy(BASE, "45nm").total_mj


def test_bigger_engine_leaks_more_per_second():
    big = dataclasses.replace(BASE, accelerator="ethos-u65-256")
    assert energy(big).static_mj > energy(BASE).static_mj


@pytest.mark.parametrize(
    ("change", "node", "error", "match"),
    [
        (
            {"accelerator": "ethos-u99"},
            "45nm",
            UnknownAcceleratorError,
            "unknown Ethos-U accelerator 'ethos-u99'",
        ),
        ({}, "3nm", UnknownNodeError, "unknown process node '3nm'"),
        (
            {"offchip_kind": "tape"},
            "45nm",
            EstimateError,
            r"offchip_kind must be one of \['flash', 'dram'\]",
        ),
        ({"macs": -5}, "45nm", EstimateError, "macs must be >= 0, got -5"),
        ({"clock_hz": 0.0}, "45nm", EstimateError, "clock_hz must be > 0"),
    ],
)
def test_bad_counters_raise(change, node, error, match):
    with pytest.raises(error, match=match):
        energy(dataclasses.replace(BASE, **change), node)
