"""loratui: LoRA training for Stable Diffusion, end to end, in the terminal."""

__version__ = "0.1.0"
