"""The Textual app. Never imports torch, diffusers, transformers, onnxruntime, peft or bitsandbytes."""
