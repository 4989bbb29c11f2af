"""Caption tokenization and text encoding with sd-scripts' semantics.

Long captions (max_token_length 150 / 225) are tokenized to 2 + N tokens and cut into N/75 windows of
``<bos> 75 tokens <eos>``; each window goes through the encoder and the windows' inner 75 states are
stitched back between the first window's <bos> state and the last window's final state. The result is
(B, N + 2, D): 77 for 75 tokens, 152 for 150, 227 for 225 (as sd-scripts feeds the UNet).

SD1/SD2: hidden state of the clip_skip-th last layer, through the final layer norm.
SDXL: encoder 1's penultimate layer and encoder 2's penultimate layer (no final norm), concatenated,
plus encoder 2's projected pooled output of the first window. clip_skip does not apply to SDXL.

Sample prompts (``encode_sample_prompt``) are encoded as sd-scripts' long-prompt-weighting sample pipelines
(library/lpw_stable_diffusion.py, sdxl_lpw_stable_diffusion.py) do: A1111 weights, up to 225 tokens.
"""

from __future__ import annotations

import re
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


def _join(states: torch.Tensor, batch: int, whole_windows: bool) -> torch.Tensor:
    """Window states -> one sequence: stitched as training does, or each window whole (77 per window,
    as sd-scripts' sample pipeline joins them: lpw's no_boseos_middle=False)."""
    return states.reshape(batch, -1, states.shape[-1]) if whole_windows else _stitch(states, batch)


def encode_text(base, token_ids: list[torch.Tensor], clip_skip: int = 1, *,
                whole_windows: bool = False) -> TextConditioning:
    """Encode token ids from ``tokenize`` with the model's text encoder(s)."""
    if clip_skip < 1:
        raise LoratuiError(f"training.clip_skip must be 1 or more, not {clip_skip}")
    if base.family == "sdxl":
        return _encode_sdxl(base, token_ids, whole_windows)
    encoder = base.text_encoders[0]
    ids, batch, _ = _flat(token_ids[0], encoder.device)
    if clip_skip == 1:
        states = encoder(ids, return_dict=True).last_hidden_state
    else:
        out = encoder(ids, output_hidden_states=True, return_dict=True)
        states = _final_norm(encoder)(out.hidden_states[-clip_skip])
    return TextConditioning(_join(states, batch, whole_windows), None)


def _final_norm(encoder):
    model = getattr(encoder, "text_model", encoder)
    return model.final_layer_norm


def _encode_sdxl(base, token_ids: list[torch.Tensor], whole_windows: bool = False) -> TextConditioning:
    te1, te2 = base.text_encoders
    ids1, batch, n = _flat(token_ids[0], te1.device)
    ids2, _, _ = _flat(token_ids[1], te2.device)
    h1 = te1(ids1, output_hidden_states=True, return_dict=True).hidden_states[-2]
    out2 = te2(ids2, output_hidden_states=True, return_dict=True)
    h2 = out2.hidden_states[-2]
    pooled = out2.text_embeds.reshape(batch, n, -1)[:, 0]  # the first window's pooled output
    hidden = torch.cat([_join(h1, batch, whole_windows), _join(h2, batch, whole_windows).to(h1.dtype)], dim=-1)
    return TextConditioning(hidden, pooled)


# ---- sample prompts: sd-scripts' long-prompt-weighting pipeline ---------------------------------------

SAMPLE_PROMPT_WINDOWS = 3  # sd-scripts samples with max_embeddings_multiples=3: up to 225 tokens

_ATTENTION = re.compile(r"""
\\\(|\\\)|\\\[|\\]|\\\\|\\|\(|\[|:([+-]?[.\d]+)\)|\)|]|[^\\()\[\]:]+|:
""", re.X)


def parse_prompt_attention(text: str) -> list[tuple[str, float]]:
    """A1111 prompt weights, as sd-scripts' lpw pipeline reads them: ``(a)`` x1.1, ``[a]`` /1.1,
    ``(a:1.3)``, nesting multiplies, ``\\(`` ``\\)`` ``\\[`` ``\\]`` ``\\\\`` are literal; runs of one
    weight are merged. ``an (important) word`` -> [("an ", 1.0), ("important", 1.1), (" word", 1.0)]."""
    res: list[list] = []
    round_brackets: list[int] = []
    square_brackets: list[int] = []

    def multiply_range(start: int, multiplier: float) -> None:
        for p in range(start, len(res)):
            res[p][1] *= multiplier

    for m in _ATTENTION.finditer(text):
        piece, weight = m.group(0), m.group(1)
        if piece.startswith("\\"):
            res.append([piece[1:], 1.0])
        elif piece == "(":
            round_brackets.append(len(res))
        elif piece == "[":
            square_brackets.append(len(res))
        elif weight is not None and round_brackets:
            multiply_range(round_brackets.pop(), float(weight))
        elif piece == ")" and round_brackets:
            multiply_range(round_brackets.pop(), 1.1)
        elif piece == "]" and square_brackets:
            multiply_range(square_brackets.pop(), 1 / 1.1)
        else:
            res.append([piece, 1.0])
    for pos in round_brackets:  # unclosed brackets weigh to the end
        multiply_range(pos, 1.1)
    for pos in square_brackets:
        multiply_range(pos, 1 / 1.1)
    if not res:
        res = [["", 1.0]]
    i = 0
    while i + 1 < len(res):
        if res[i][1] == res[i + 1][1]:
            res[i][0] += res[i + 1][0]
            res.pop(i + 1)
        else:
            i += 1
    return [(piece, weight) for piece, weight in res]


def _weighted_tokens(tokenizer, text: str, limit: int) -> tuple[list[int], list[float]]:
    """Token ids (no <bos>/<eos>) and each one's weight, at most ``limit`` (longer prompts are cut)."""
    tokens: list[int] = []
    weights: list[float] = []
    for piece, weight in parse_prompt_attention(text):
        # truncation only keeps the tokenizer from warning about long pieces: the cut below is the same
        ids = tokenizer(piece, truncation=True, max_length=limit + 2).input_ids[1:-1]
        tokens += ids
        weights += [weight] * len(ids)
        if len(tokens) > limit:
            break
    return tokens[:limit], weights[:limit]


def _padded(tokenizer, tokens: list[int], length: int) -> list[int]:
    """<bos> tokens <eos> <pad>... to ``length`` ids (the tokenizer's own padding, as training pads)."""
    padding = [tokenizer.pad_token_id] * (length - 2 - len(tokens))
    return [tokenizer.bos_token_id] + tokens + [tokenizer.eos_token_id] + padding


def _as_windows(tokenizer, rows: list[list[int]]) -> torch.Tensor:
    """(B, windows, 77) from (B, 2 + 75 * windows) ids, with training's windowing (``_windows``)."""
    ids = torch.tensor(rows)
    return ids.unsqueeze(1) if ids.shape[1] == WINDOW else _windows(ids, tokenizer)


def _inner_weights(weights: list[float], inner: int) -> list[float]:
    return weights + [1.0] * (inner - len(weights))


def encode_sample_prompt(base, prompt: str, negative: str = "", clip_skip: int = 1,
                         max_token_length: int = 75) -> tuple[TextConditioning, TextConditioning]:
    """(prompt, negative prompt) conditioning for a sample image, encoded as sd-scripts' sample pipelines
    encode them, with A1111 weights (``parse_prompt_attention``) and long prompts in 75-token windows.

    SD1/SD2 (lpw_stable_diffusion.get_weighted_text_embeddings, max_embeddings_multiples=3): up to 225
    tokens whatever max_token_length is; both prompts get the longer one's window count; each window is
    encoded on its own and kept whole, (1, 77 * windows, D); the weighted states are rescaled so their
    mean is the unweighted one's. clip_skip as in training.
    SDXL (sdxl_lpw_stable_diffusion: the training's tokenize / encode strategies): up to max_token_length
    tokens, windows stitched as in training, (1, 2 + max_token_length, D1 + D2); each encoder's states
    times the weights, not rescaled; the pooled output is encoder 2's of the first window.

    A prompt of at most 75 tokens without weights is encoded exactly as the plain pipelines did. Padding is
    the tokenizer's own, as in training (sd-scripts' SD1/SD2 sample pipeline pads with <eos>: the same for
    SD1, whose pad token is <eos>; SD2 pads with its "!" pad token, as its training, A1111 and ComfyUI do)."""
    inner = WINDOW - 2
    sdxl = base.family == "sdxl"
    _check_length(max_token_length)
    limit = max_token_length if sdxl else SAMPLE_PROMPT_WINDOWS * inner
    parsed = [[_weighted_tokens(tok, text, limit) for text in (prompt, negative)] for tok in base.tokenizers]
    if sdxl:
        windows = max_token_length // inner
    else:
        longest = max(len(tokens) for tokens, _ in parsed[0])
        windows = max(1, min(SAMPLE_PROMPT_WINDOWS, (longest - 1) // inner + 1))
    length = windows * inner + 2
    widths = [encoder.config.hidden_size for encoder in base.text_encoders]
    pair = []
    for row in range(2):  # one at a time, as the pipelines encode them (a batch of two rounds differently)
        ids = [_as_windows(tok, [_padded(tok, per_tokenizer[row][0], length)])
               for tok, per_tokenizer in zip(base.tokenizers, parsed)]
        cond = encode_text(base, ids, clip_skip, whole_windows=not sdxl)
        parts = cond.hidden_states[0].split(widths, dim=-1)
        weighted = []
        for part, per_tokenizer in zip(parts, parsed):
            weights = per_tokenizer[row][1]
            if sdxl:  # training's layout: <bos> 75 * windows tokens <eos>
                flat = [1.0] + _inner_weights(weights, windows * inner) + [1.0]
                weighted.append(part if all(w == 1.0 for w in flat) else
                                part * torch.tensor(flat, device=part.device, dtype=part.dtype).unsqueeze(-1))
            else:  # whole windows: <bos> 75 tokens <eos>, each
                flat = []
                for w in range(windows):
                    flat += [1.0] + _inner_weights(weights[w * inner:(w + 1) * inner], inner) + [1.0]
                weighted.append(_rescaled(part, flat))
        pooled = cond.pooled
        pair.append(TextConditioning(torch.cat(weighted, dim=-1).unsqueeze(0), pooled))
    return pair[0], pair[1]


def _rescaled(states: torch.Tensor, weights: list[float]) -> torch.Tensor:
    """(L, D) states times each token's weight, rescaled so their mean is what it was (lpw's way); states
    without weights are left exactly as encoded."""
    if all(w == 1.0 for w in weights):
        return states
    previous = states.float().mean().to(states.dtype)
    states = states * torch.tensor(weights, device=states.device, dtype=states.dtype).unsqueeze(-1)
    current = states.float().mean().to(states.dtype)
    return states * (previous / current)
