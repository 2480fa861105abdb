"""Analytic hardware models: number formats, MAC units, accelerators. Knows nothing of TFLite."""

from hwmodels.accelerator import (
    ACCELERATORS,
    ETHOSU_SYSTEMS,
    PRESETS,
    AcceleratorConfig,
    LayerCost,
    ModelCost,
    estimate,
    get_accelerator,
)
from hwmodels.errors import (
    EdgePerfError,
    EstimateError,
    UnknownAcceleratorError,
    UnknownFormatError,
    UnknownNodeError,
)
from hwmodels.ethosu import EnergyBreakdown, EthosUCounters, energy
from hwmodels.fingerprint import fingerprint
from hwmodels.formats import FORMATS, NumberFormat, get_format
from hwmodels.mac import MacUnit, mac_unit
from hwmodels.nodes import get_node

__all__ = [
    "ACCELERATORS",
    "ETHOSU_SYSTEMS",
    "FORMATS",
    "PRESETS",
    "AcceleratorConfig",
    "EdgePerfError",
    "EnergyBreakdown",
    "EstimateError",
    "EthosUCounters",
    "LayerCost",
    "MacUnit",
    "ModelCost",
    "NumberFormat",
    "UnknownAcceleratorError",
    "UnknownFormatError",
    "UnknownNodeError",
    "energy",
    "estimate",
    "fingerprint",
    "get_accelerator",
    "get_format",
    "get_node",
    "mac_unit",
]
