"""Training: Hydra config, pipeline (logs -> features -> policy -> ONNX), tracking."""
