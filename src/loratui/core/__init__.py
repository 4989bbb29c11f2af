"""Pure-Python domain core: no textual, no torch, no onnxruntime (a test enforces it)."""
