"""Caption tokenization and text encoding with sd-scripts' semantics.

Long captions (max_token_length 150 / 225) are tokenized to 2 + N tokens and cut into N/75 windows of
``<bos> 75 tokens <eos>``; each window goes through the encoder and the windows' inner 75 states are
stitched back between the first window's <bos> state and the last window's final state. The result is
(B, N + 2, D): 77 for 75 tokens, 152 for 150, 227 for 225 (as sd-scripts feeds the UNet).

SD1/SD2: hidden state of the clip_skip-th last layer, through the final layer norm.
SDXL: encoder 1's penultimate layer and encoder 2's penultimate layer (no final norm), concatenated,
plus encoder 2's projected pooled output of the first window. clip_skip does not apply to SDXL.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from loratui.core.errors import LoratuiError

WINDOW = 77  # CLIP's context: <bos> + 75 tokens + <eos>/<pad>


@dataclass
class TextConditioning:
    hidden_states: torch.Tensor  # (B, 2 + max_token_length, D)
    pooled: torch.Tensor | None  # (B, D2) for SDXL, else None

    def to(self, *args, **kwargs) -> "TextConditioning":
        pooled = self.pooled.to(*args, **kwargs) if self.pooled is not None else None
        return TextConditioning(self.hidden_states.to(*args, **kwargs), pooled)


def _check_length(max_token_length: int) -> None:
    if max_token_length not in (75, 150, 225):
        raise LoratuiError(f"training.max_token_length must be 75, 150 or 225, not {max_token_length}")


def _windows(ids: torch.Tensor, tokenizer) -> torch.Tensor:
    """(B, 2+N) ids -> (B, N/75, 77) windows, each starting with <bos> and ending with <eos>/<pad>."""
    bos, eos, pad = ids[:, :1], tokenizer.eos_token_id, tokenizer.pad_token_id
    inner = ids.shape[1] - 2
    out = []
    for start in range(1, inner + 1, WINDOW - 2):
        chunk = torch.cat([bos, ids[:, start:start + WINDOW - 2], ids[:, -1:]], dim=1).clone()
        if pad != eos:
            # OpenCLIP-style padding ("!"): a window cut inside the text must still end with <eos>,
            # and an empty window reads "<bos> <eos> <pad>...".
            cut = (chunk[:, -2] != eos) & (chunk[:, -2] != pad)
            chunk[cut, -1] = eos
            empty = chunk[:, 1] == pad
            chunk[empty, 1] = eos
        out.append(chunk)
    return torch.stack(out, dim=1)


def tokenize(base, captions: list[str], max_token_length: int = 75) -> list[torch.Tensor]:
    """Token ids per tokenizer, each (B, max_token_length/75, 77)."""
    _check_length(max_token_length)
    result = []
    for tokenizer in base.tokenizers:
        ids = tokenizer(list(captions), padding="max_length", truncation=True, max_length=max_token_length + 2,
                        return_tensors="pt").input_ids
        result.append(ids.unsqueeze(1) if max_token_length == 75 else _windows(ids, tokenizer))
    return result


def _stitch(states: torch.Tensor, batch: int) -> torch.Tensor:
    """(B*n, 77, D) window states -> (B, 2 + 75n, D)."""
    states = states.reshape(batch, -1, states.shape[-1])
    n = states.shape[1] // WINDOW
    if n == 1:
        return states
    parts = [states[:, :1]]
    for w in range(n):
        parts.append(states[:, w * WINDOW + 1:(w + 1) * WINDOW - 1])
    parts.append(states[:, -1:])
    return torch.cat(parts, dim=1)


def _flat(ids: torch.Tensor, device) -> tuple[torch.Tensor, int, int]:
    if ids.dim() == 2:
        ids = ids.unsqueeze(1)
    batch, n, _ = ids.shape
    return ids.reshape(-1, ids.shape[-1]).to(device), batch, n


def encode_text(base, token_ids: list[torch.Tensor], clip_skip: int = 1) -> TextConditioning:
    """Encode token ids from ``tokenize`` with the model's text encoder(s)."""
    if clip_skip < 1:
        raise LoratuiError(f"training.clip_skip must be 1 or more, not {clip_skip}")
    if base.family == "sdxl":
        return _encode_sdxl(base, token_ids)
    encoder = base.text_encoders[0]
    ids, batch, _ = _flat(token_ids[0], encoder.device)
    if clip_skip == 1:
        states = encoder(ids, return_dict=True).last_hidden_state
    else:
        out = encoder(ids, output_hidden_states=True, return_dict=True)
        states = _final_norm(encoder)(out.hidden_states[-clip_skip])
    return TextConditioning(_stitch(states, batch), None)


def _final_norm(encoder):
    model = getattr(encoder, "text_model", encoder)
    return model.final_layer_norm


def _encode_sdxl(base, token_ids: list[torch.Tensor]) -> TextConditioning:
    te1, te2 = base.text_encoders
    ids1, batch, n = _flat(token_ids[0], te1.device)
    ids2, _, _ = _flat(token_ids[1], te2.device)
    h1 = te1(ids1, output_hidden_states=True, return_dict=True).hidden_states[-2]
    out2 = te2(ids2, output_hidden_states=True, return_dict=True)
    h2 = out2.hidden_states[-2]
    pooled = out2.text_embeds.reshape(batch, n, -1)[:, 0]  # the first window's pooled output
    hidden = torch.cat([_stitch(h1, batch), _stitch(h2, batch).to(h1.dtype)], dim=-1)
    return TextConditioning(hidden, pooled)
