"""FlexCare backbone in PyTorch: model, trainer on the tensor store, ONNX export."""
from .config import FlexCareConfig, TaskHead
from .model import FlexCare, FlexCareOutput

__all__ = ["FlexCare", "FlexCareConfig", "FlexCareOutput", "TaskHead"]
