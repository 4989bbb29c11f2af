"""Training engine: torch/diffusers/peft. Never imports textual."""
