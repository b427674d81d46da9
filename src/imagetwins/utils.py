"""imagededup-compatible helpers: ``from imagetwins.utils import plot_duplicates``."""

from imagetwins.report import plot_duplicates

__all__ = ["plot_duplicates"]


def __getattr__(name: str):
    # imagededup 0.3's other helper, a PyTorch model and its transform for CNN(model_config=...): imagetwins runs no
    # torch, so the import says what takes its place (was: "cannot import name 'CustomModel'", and nothing else)
    if name == "CustomModel":
        raise ImportError("imagededup's CustomModel (a PyTorch model and its transform) has no counterpart here: "
                          "imagetwins runs no torch. Pass CNN(model_config=imagetwins.embedding.ModelConfig(path="
                          "'model.onnx', input_size=..., mean=..., std=...)) for your model exported to ONNX, or "
                          "CNN(model_config=f) with any callable f((N, H, W, 3) uint8 array) -> (N, d) vectors",
                          name=name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
