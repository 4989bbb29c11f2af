"""Captioners: WD14 (onnxruntime), BLIP/BLIP2/GIT (transformers). Never imports textual."""
