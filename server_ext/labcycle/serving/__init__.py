"""Model serving: the model server process, micro-batching, prediction capture, supervision."""
