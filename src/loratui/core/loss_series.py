"""A run's loss and learning rate per step, in memory that stays flat however long the run
(core/runs.py feeds it; the TUI's loss chart draws ``view()``). No torch, no textual, no numpy."""

from __future__ import annotations

import math
from array import array
from collections import deque


class LossSeries:
    """Loss and learning rate per step in flat memory: at most ``capacity`` points, each the mean of
    ``width`` consecutive steps (the width doubles when the points fill up, so 100,000 steps cost
    the same as 5,000), plus the last ``tail`` steps as they came, for a zoom on the recent steps.
    ``ema`` is the exponential moving average of the raw losses (bias-corrected at the start).
    A point's ``step`` is its bin's last step; ``view()``'s ``start``, its first (the chart's axis
    starts at the first one: 1, not the 64 a bin of 64 steps ends at)."""

    FIELDS = ("step", "loss", "low", "high", "ema", "lr")

    def __init__(self, capacity: int = 4096, tail: int = 2048, smoothing: float = 0.98):
        self.capacity, self.smoothing = capacity, smoothing
        self.width = 1
        self.bins = {f: array("d") for f in self.FIELDS}
        self.counts = array("l")
        self.recent: deque[tuple[float, float, float, float]] = deque(maxlen=tail)  # step, loss, ema, lr
        self.epochs: list[tuple[int, int]] = []  # (step, epoch) at each epoch end
        self._acc: list | None = None  # [count, sum, low, high, step, ema, lr] of the bin being filled
        self._ema, self._ema_weight = 0.0, 0.0
        self.last_step = 0
        self.first_step: int | None = None  # the first bin's first step (a bin after it starts after the last)
        self.version = 0  # bumped by every change: a chart whose view is of this version need not copy it again

    def __len__(self) -> int:
        return len(self.counts) + (1 if self._acc else 0)

    def add(self, step: int, loss: float, lr: float | None = None) -> None:
        self.version += 1
        if step <= self.last_step:
            self.rewind(step)
        if not isinstance(loss, (int, float)) or not math.isfinite(loss):
            return
        self.last_step = step
        self._ema = self.smoothing * self._ema + (1 - self.smoothing) * loss
        self._ema_weight = self.smoothing * self._ema_weight + (1 - self.smoothing)
        ema = self._ema / self._ema_weight
        lr = float("nan") if lr is None else lr
        self.recent.append((step, loss, ema, lr))
        self._into_bin(step, loss, ema, lr)

    def _into_bin(self, step: int, loss: float, ema: float, lr: float) -> None:
        acc = self._acc
        if acc is None:
            if not self.counts:
                self.first_step = step
            self._acc = acc = [1, loss, loss, loss, step, ema, lr]
        else:
            acc[0] += 1
            acc[1] += loss
            acc[2], acc[3], acc[4], acc[5], acc[6] = min(acc[2], loss), max(acc[3], loss), step, ema, lr
        if acc[0] >= self.width:
            self._close_bin()

    def add_many(self, steps: list[int], losses: list[float], lrs: list[float]) -> None:
        """``add`` for a stretch of steps, binned with slices (several times faster for a catch-up)."""
        n = len(steps)
        if not n:
            return
        self.version += 1
        if steps[-1] - steps[0] != n - 1 or steps[0] <= self.last_step or not math.isfinite(sum(losses)):
            for step, loss, lr in zip(steps, losses, lrs):  # restarts or odd values inside: the careful way
                self.add(step, loss, lr)
            return
        smoothing, rest = self.smoothing, 1 - self.smoothing
        ema, weight, emas = self._ema, self._ema_weight, []
        for loss in losses:
            ema = smoothing * ema + rest * loss
            weight = smoothing * weight + rest
            emas.append(ema / weight)
        self._ema, self._ema_weight, self.last_step = ema, weight, steps[-1]
        tail = self.recent.maxlen or n
        self.recent.extend(zip(steps[-tail:], losses[-tail:], emas[-tail:], lrs[-tail:]))
        i = 0
        while i < n:
            acc = self._acc
            if acc is not None or n - i < self.width:  # fill the open bin one step at a time
                take = min(n - i, self.width - (acc[0] if acc else 0))
                for j in range(i, i + take):
                    self._into_bin(steps[j], losses[j], emas[j], lrs[j])
                i += take
                continue
            j = i + self.width
            if not self.counts:
                self.first_step = steps[i]
            part = losses[i:j]
            for name, value in zip(self.FIELDS, (steps[j - 1], sum(part) / len(part), min(part), max(part),
                                                 emas[j - 1], lrs[j - 1])):
                self.bins[name].append(value)
            self.counts.append(len(part))
            if len(self.counts) >= self.capacity:
                self._halve()
            i = j

    def add_event(self, event: dict) -> None:
        kind = event.get("event")
        if kind == "step":
            self.add(int(event["step"]), event.get("loss"), event.get("lr"))
        elif kind == "epoch_end":
            self.version += 1
            self.epochs.append((int(event["step"]), int(event["epoch"])))

    def _close_bin(self) -> None:
        count, total, low, high, step, ema, lr = self._acc
        self._acc = None
        for name, value in zip(self.FIELDS, (step, total / count, low, high, ema, lr)):
            self.bins[name].append(value)
        self.counts.append(count)
        if len(self.counts) >= self.capacity:
            self._halve()

    def _halve(self) -> None:
        """Merge neighbouring points: the width doubles, memory stays where it was."""
        b, c = self.bins, self.counts
        n = len(c) // 2 * 2
        merged = {f: array("d") for f in self.FIELDS}
        counts = array("l")
        for i in range(0, n, 2):
            j = i + 1
            total = c[i] + c[j]
            for name, value in (("step", b["step"][j]), ("loss", (b["loss"][i] * c[i] + b["loss"][j] * c[j]) / total),
                                ("low", min(b["low"][i], b["low"][j])), ("high", max(b["high"][i], b["high"][j])),
                                ("ema", b["ema"][j]), ("lr", b["lr"][j])):
                merged[name].append(value)
            counts.append(total)
        for i in range(n, len(c)):  # an odd last point stays as it is
            for name in self.FIELDS:
                merged[name].append(b[name][i])
            counts.append(c[i])
        self.bins, self.counts, self.width = merged, counts, self.width * 2

    def rewind(self, step: int) -> None:
        """Forget the points from ``step`` on (a run resumed from an earlier state, or restarted)."""
        self.version += 1
        keep = sum(1 for s in self.bins["step"] if s < step)
        for name in self.FIELDS:
            del self.bins[name][keep:]
        del self.counts[keep:]
        self._acc = None
        if not keep:
            self.first_step = None
        while self.recent and self.recent[-1][0] >= step:
            self.recent.pop()
        self.epochs = [(s, e) for s, e in self.epochs if s < step]
        self.last_step = step - 1
        if self.recent:
            self._ema, self._ema_weight = self.recent[-1][2], 1.0
        elif keep:
            self._ema, self._ema_weight = self.bins["ema"][-1], 1.0
        else:
            self._ema, self._ema_weight = 0.0, 0.0

    def view(self, last_steps: int | None = None) -> dict[str, list[float]]:
        """The points to draw: {"step", "loss", "low", "high", "ema", "lr", "start"} lists, the whole run or
        its last ``last_steps`` steps (raw steps when the recent buffer covers them); ``start``: the first
        step of each point's bin (the step after the point before)."""
        first = self.last_step - last_steps + 1 if last_steps else None
        if first is not None and self.recent and self.recent[0][0] <= first:
            rows = [r for r in self.recent if r[0] >= first]
            steps, losses, emas, lrs = (list(col) for col in zip(*rows)) if rows else ([], [], [], [])
            return {"step": steps, "loss": losses, "low": losses, "high": losses, "ema": emas, "lr": lrs,
                    "start": list(steps)}
        out = {name: list(values) for name, values in self.bins.items()}
        if self._acc:
            count, total, low, high, step, ema, lr = self._acc
            for name, value in zip(self.FIELDS, (step, total / count, low, high, ema, lr)):
                out[name].append(value)
        steps = out["step"]
        if steps:
            start = int(steps[0] if self.first_step is None else min(self.first_step, steps[0]))
            out["start"] = [start] + [int(step) + 1 for step in steps[:-1]]
        else:
            out["start"] = []
        if first is not None:
            keep = sum(1 for s in out["step"] if s < first)
            out = {name: values[keep:] for name, values in out.items()}
        return out
