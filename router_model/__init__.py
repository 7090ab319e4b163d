"""What ships: the featurizer, policies, the ONNX export and the runtime."""
