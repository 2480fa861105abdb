import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hwmodels.accelerator import (
    ACCELERATORS,
    ETHOSU_SYSTEMS,
    PRESETS,
    AcceleratorConfig,
    LayerCost,
    equal_area_array,
    estimate,
    get_accelerator,
)
from hwmodels.errors import EstimateError, UnknownAcceleratorError, UnknownFormatError
from hwmodels.mac import mac_unit
from hwmodels.work import LayerWork, OpKind


def conv(name="conv", hw=28, cin=64, cout=64, k=3) -> LayerWork:
    out = hw * hw * cout
    red = cin * k * k
    return LayerWork(
        name,
        OpKind.CONV,
        macs=out * red,
        weight_elems=red * cout + cout,
        input_elems=hw * hw * cin,
        output_elems=out,
        output_shape=(1, hw, hw, cout),
        kernel_hw=(k, k),
        in_channels=cin,
        out_channels=cout,
        reduction=red,
    )


def depthwise(hw=28, c=64, k=3) -> LayerWork:
    out = hw * hw * c
    return LayerWork(
        "dw",
        OpKind.DEPTHWISE,
        macs=out * k * k,
        weight_elems=c * k * k,
        input_elems=out,
        output_elems=out,
        output_shape=(1, hw, hw, c),
        kernel_hw=(k, k),
        in_channels=1,
        out_channels=c,
        reduction=k * k,
    )


def add(n=28 * 28 * 64) -> LayerWork:
    return LayerWork(
        "add",
        OpKind.ELEMENTWISE,
        elem_ops=n,
        input_elems=2 * n,
        output_elems=n,
        output_shape=(1, 28, 28, 64),
    )


SMALL = [conv("c1"), depthwise(), conv("c2", cout=128), add()]


def test_presets_cover_the_formats_at_equal_area():
    assert set(PRESETS) == {
        "npu-int4",
        "npu-int8",
        "npu-fp8-e4m3",
        "npu-fp8-e5m2",
        "npu-fp16",
        "npu-bf16",
    }
    areas = {
        n: a.rows * a.cols * mac_unit(a.fmt, a.acc, a.node).area_um2 for n, a in PRESETS.items()
    }
    biggest = max(areas.values())
    for name, area in areas.items():
        # Equal budget; rows x cols rounding loses at most one column of MACs.
        assert area <= 0.25e6 and area > biggest - PRESETS[name].rows * 200


def test_layer_costs_add_up_to_the_total():
    cost = estimate(SMALL, "npu-int8")
    assert len(cost.layers) == len(SMALL)
    for attr in (
        "latency_ms",
        "mac_mj",
        "sram_mj",
        "offchip_mj",
        "static_mj",
        "weight_kb",
        "cycles",
    ):
        assert getattr(cost.total, attr) == pytest.approx(
            sum(getattr(lc, attr) for lc in cost.layers)
        )
    assert cost.energy_mj == pytest.approx(sum(lc.energy_mj for lc in cost.layers))
    assert cost.peak_sram_kb == max(lc.sram_kb for lc in cost.layers)
    assert cost.total.macs == sum(w.macs for w in SMALL)


def test_layer_cost_iadd_takes_peak_sram_and_marks_mixed_bound():
    a = LayerCost("a", cycles=10, sram_kb=5, bound="compute")
    a += LayerCost("b", cycles=4, sram_kb=9, bound="memory")
    assert (a.cycles, a.sram_kb, a.bound) == (14, 9, "mixed")


def test_cycles_are_the_roofline_max():
    for lc in estimate(SMALL, "npu-fp16").layers:
        assert lc.cycles == pytest.approx(max(lc.compute_cycles, lc.memory_cycles, 1.0))
        assert lc.bound == ("compute" if lc.compute_cycles >= lc.memory_cycles else "memory")


def test_utilisation_follows_layer_shape():
    acc = get_accelerator("npu-int8")
    dense, dw = (
        estimate([conv(cin=acc.rows, cout=acc.cols, k=1)], acc),
        estimate([depthwise()], acc),
    )
    assert dense.layers[0].utilisation == pytest.approx(1.0)
    assert dw.layers[0].utilisation < 0.2
    # Depthwise reduces over 9 taps only: far more cycles per MAC than a dense conv.
    assert (
        dw.layers[0].compute_cycles / dw.total.macs
        > dense.layers[0].compute_cycles / dense.total.macs
    )


def test_memory_bound_when_weights_dominate():
    fc = LayerWork(
        "fc",
        OpKind.FULLY_CONNECTED,
        macs=4096 * 4096,
        weight_elems=4096 * 4096,
        input_elems=4096,
        output_elems=4096,
        output_shape=(1, 4096),
        in_channels=4096,
        out_channels=4096,
        reduction=4096,
    )
    lc = estimate([fc], "npu-int8").layers[0]
    assert lc.bound == "memory"
    assert lc.offchip_mj > lc.mac_mj


def test_activation_spill_goes_off_chip():
    acc = dataclasses.replace(get_accelerator("npu-int8"), name="tiny-sram", sram_kb=16)
    big = add(n=100_000)  # 300 KB of int8 activations
    assert (
        estimate([big], acc).layers[0].offchip_mj > estimate([big], "npu-int8").layers[0].offchip_mj
    )


def test_ethosu_systems_match_their_mac_counts_and_are_found_by_name():
    from hwmodels.ethosu import TARGETS

    assert set(ETHOSU_SYSTEMS) == {"ethos-u55-128", "ethos-u65-256", "ethos-u85-512"}
    assert set(ACCELERATORS) == set(PRESETS) | set(ETHOSU_SYSTEMS)
    for name, system in ETHOSU_SYSTEMS.items():
        assert system.rows * system.cols == TARGETS[name].macs_per_cycle
        assert get_accelerator(name.upper()) is system


def test_sram_bandwidth_bounds_an_elementwise_layer():
    # U55 at 500 MHz reads and writes its SRAM at 4 GB/s = 8 bytes per cycle.
    big = add(n=1_000_000)  # 2 MB read, 1 MB written (int8)
    lc = estimate([big], "ethos-u55-128").layers[0]
    assert lc.bound == "memory"
    assert lc.memory_cycles == pytest.approx(3_000_000 / 8)
    assert lc.offchip_mj == 0  # the Shared_Sram arena holds it: nothing spills to flash
    # The generic preset has no SRAM bandwidth bound: a layer that fits its SRAM moves nothing.
    fits = add(n=100_000)
    assert estimate([fits], "npu-int8").layers[0].memory_cycles == 0
    assert estimate([fits], "ethos-u55-128").layers[0].memory_cycles == pytest.approx(300_000 / 8)


def test_ethosu_u65_spills_what_its_384kb_sram_cannot_hold():
    small, big = add(n=50_000), add(n=200_000)  # 150 KB vs 600 KB of int8 activations
    u65 = {n: estimate([w], "ethos-u65-256").layers[0] for n, w in (("small", small), ("big", big))}
    assert u65["small"].offchip_mj == 0 and u65["big"].offchip_mj > 0
    # 600 KB over DRAM at 3.75 bytes per cycle (1 GHz, 3.75 GB/s).
    assert u65["big"].memory_cycles == pytest.approx(600_000 / 3.75)


@pytest.mark.parametrize("fmt", ["int4", "fp16"])
def test_bytes_scale_with_format_width(fmt):
    a, b = estimate(SMALL, "npu-int8"), estimate(SMALL, f"npu-{fmt}")
    ratio = {"int4": 0.5, "fp16": 2.0}[fmt]
    assert b.weight_kb == pytest.approx(a.weight_kb * ratio)
    assert b.total.sram_mj / b.accelerator.sram_kb > 0


def test_int8_beats_fp_formats_on_energy_at_equal_area():
    e = {n: estimate(SMALL, n).energy_mj for n in PRESETS}
    assert e["npu-int4"] < e["npu-int8"] < e["npu-fp8-e4m3"] < e["npu-fp16"]


def test_to_dict_is_json_ready():
    import json

    d = estimate(SMALL, "npu-bf16").to_dict()
    json.dumps(d)
    assert d["accelerator"] == "npu-bf16" and len(d["layers"]) == len(SMALL)
    assert "layers" not in estimate(SMALL, "npu-bf16").to_dict(layers=False)


def test_empty_model_costs_nothing():
    cost = estimate([], "npu-int8")
    assert cost.latency_ms == 0 and cost.energy_mj == 0 and cost.layers == []


def test_custom_config_and_explicit_leakage():
    acc = AcceleratorConfig("mine", "int8", rows=16, cols=16, leakage_mw=50.0, offchip_kind="flash")
    lc = estimate([conv()], acc).layers[0]
    assert lc.static_mj == pytest.approx(50.0 * lc.latency_ms * 1e-3)


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"rows": 0}, "rows must be > 0, got 0"),
        ({"clock_mhz": -1.0}, "clock_mhz must be > 0"),
        ({"offchip_kind": "hbm"}, r"offchip_kind must be one of \['dram', 'flash'\], got 'hbm'"),
        ({"leakage_mw": -2.0}, "leakage_mw must be >= 0"),
        ({"sram_gbps": 0.0}, "sram_gbps must be > 0 or None, got 0.0"),
        ({"vector_lanes": -4}, "vector_lanes must be > 0 or None, got -4"),
    ],
)
def test_bad_configs_raise(change, match):
    acc = dataclasses.replace(get_accelerator("npu-int8"), **change)
    with pytest.raises(EstimateError, match=match):
        estimate([conv()], acc)


def test_unknown_accelerator_and_format_raise():
    with pytest.raises(
        UnknownAcceleratorError, match="unknown accelerator 'npu-int2'; expected one of: npu-int4"
    ):
        estimate([conv()], "npu-int2")
    with pytest.raises(UnknownFormatError, match="unknown number format 'int3'"):
        estimate([conv()], AcceleratorConfig("x", "int3", 8, 8))


def test_negative_work_raises():
    with pytest.raises(EstimateError, match="layer 'bad': element counts must be >= 0"):
        estimate([LayerWork("bad", OpKind.CONV, macs=-1)], "npu-int8")


def test_equal_area_array_refuses_too_small_budget():
    with pytest.raises(EstimateError, match="holds no fp32 MAC"):
        equal_area_array("fp32", area_mm2=1e-6)


_dims = st.integers(min_value=1, max_value=256)


@st.composite
def conv_layers(draw) -> LayerWork:
    hw, cin, cout, k = draw(_dims), draw(_dims), draw(_dims), draw(st.sampled_from([1, 3, 5]))
    return conv(f"c{hw}x{cin}x{cout}", hw=hw, cin=cin, cout=cout, k=k)


@settings(max_examples=60, deadline=None)
@given(st.lists(conv_layers(), max_size=8), st.sampled_from(sorted(PRESETS)))
def test_any_conv_stack_costs_add_up_and_respect_the_roofline(layers, name):
    cost = estimate(layers, name)
    assert cost.total.cycles == pytest.approx(sum(lc.cycles for lc in cost.layers))
    assert cost.energy_mj == pytest.approx(sum(lc.energy_mj for lc in cost.layers))
    for lc, w in zip(cost.layers, layers, strict=True):
        assert lc.cycles >= max(lc.compute_cycles, lc.memory_cycles)
        assert 0 < lc.utilisation <= 1
        # The array never does more than rows x cols MACs a cycle.
        accel = PRESETS[name]
        assert w.macs <= lc.compute_cycles * accel.rows * accel.cols * (1 + 1e-9)
        assert min(lc.mac_mj, lc.sram_mj, lc.offchip_mj, lc.static_mj) >= 0


@settings(max_examples=40, deadline=None)
@given(conv_layers())
def test_more_output_channels_never_cost_less(layer):
    wider = conv(
        hw=layer.output_shape[1],
        cin=layer.in_channels,
        cout=layer.out_channels + 64,
        k=layer.kernel_hw[0],
    )
    a, b = estimate([layer], "npu-int8"), estimate([wider], "npu-int8")
    assert b.total.cycles >= a.total.cycles * (1 - 1e-12)
    assert b.energy_mj > a.energy_mj
