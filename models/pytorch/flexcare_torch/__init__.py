"""FlexCare backbone in PyTorch: model, trainer on the tensor store, ONNX export."""
import os

# OpenMP threads that spin while waiting for work cost up to 8x per training step on a CPU
# shared with other processes (2 threads on 2 busy cores: 12 s instead of 1.5-2.5 s per step).
# Must be set before torch loads libgomp; an explicit setting wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
from .config import FlexCareConfig, TaskHead
from .model import FlexCare, FlexCareOutput

__all__ = ["FlexCare", "FlexCareConfig", "FlexCareOutput", "TaskHead"]
