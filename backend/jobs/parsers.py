"""Progress parsers: turn a tool's log text into progress, loss points and an ETA.

Formats understood (as the real tools print them):

- ``cosmos``: Cosmos-Predict iteration lines, e.g.
  ``[RANK 0] Iteration 37: Hit counter: 3/100 | Loss: 0.1230 | Time: 1.2s`` and
  ``[..|INFO|..iter_speed.py:80:every_n_impl] 1200 : iter_speed 1.10 seconds per iteration | Loss: 0.0900``.
- ``hf_trainer``: Hugging Face Trainer dict lines, e.g.
  ``{'loss': 0.4567, 'grad_norm': 1.2, 'learning_rate': 9.5e-05, 'epoch': 0.05}`` (step from the tqdm bar
  printed beside them, else counted with ``log_every``).
- ``tqdm``: ``desc:  45%|████▌     | 45/100 [00:10<00:12,  4.50it/s]`` (``\\r``-separated updates).
- ``regex``: a template's own pattern with named groups ``done``, ``total``, ``loss``.

Parsers are fed whole chunks of text (many lines at once) and scan them with compiled regular
expressions, so a tool printing megabytes per second costs little.
"""

from __future__ import annotations

import ast
import math
import re
from dataclasses import dataclass, field
from typing import Any

_NUM = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?|nan|inf"

_COSMOS_WARMUP = re.compile(rf"Iteration (\d+): Hit counter: [^|\n\r]*\| Loss: ({_NUM})")
_COSMOS_SPEED = re.compile(rf"(\d+) : iter_speed ({_NUM}) seconds per iteration \| Loss: ({_NUM})")
_HF_DICT = re.compile(r"\{'(?:loss|train_runtime|eval_loss)'[^{}\n\r]*\}")
_TQDM = re.compile(
    r"(\d{1,3})%\|[^|\n\r]*\|\s*(\d+(?:\.\d+)?[kMGT]?)/(\d+(?:\.\d+)?[kMGT]?)\s*"
    r"\[([\d:]+)<([\d:?]+)(?:,\s*([^\]\n\r]*))?\]"
)
_SUFFIX = {"k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12}

KINDS = ("cosmos", "hf_trainer", "tqdm", "regex")


def _number(text: str) -> float:
    if text and text[-1] in _SUFFIX:
        return float(text[:-1]) * _SUFFIX[text[-1]]
    return float(text)


def _clock(text: str) -> float | None:
    if "?" in text:
        return None
    seconds = 0.0
    for part in text.split(":"):
        seconds = seconds * 60 + float(part or 0)
    return seconds


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


@dataclass
class Update:
    """What one chunk of log told us; None means "no news"."""

    done: float | None = None
    total: float | None = None
    loss: float | None = None
    eta: float | None = None
    text: str | None = None
    points: list[tuple[float, float | None, dict[str, float] | None]] = field(default_factory=list)

    def empty(self) -> bool:
        return (
            self.done is None
            and self.total is None
            and self.loss is None
            and not self.points
            and not self.text
        )


class ProgressParser:
    """Stateful parser for one job; ``feed`` it text, get an :class:`Update`."""

    def __init__(self, kinds: list[Any] | str | None, total: float | None = None, unit: str = "") -> None:
        if isinstance(kinds, str):
            kinds = [kinds]
        self.kinds: list[str] = []
        self.patterns: list[re.Pattern[str]] = []
        self.log_every = 10
        for kind in kinds or []:
            if isinstance(kind, dict):
                if "regex" in kind:
                    self.kinds.append("regex")
                    self.patterns.append(re.compile(kind["regex"]))
                elif kind.get("kind") == "hf_trainer":
                    self.kinds.append("hf_trainer")
                    self.log_every = int(kind.get("log_every", 10))
                elif kind.get("kind") in KINDS:
                    self.kinds.append(kind["kind"])
                else:
                    raise ValueError(f"unknown progress parser {kind!r}")
            elif kind in KINDS:
                self.kinds.append(kind)
            else:
                raise ValueError(f"unknown progress parser {kind!r}")
        if "hf_trainer" in self.kinds and "tqdm" not in self.kinds:
            self.kinds.append("tqdm")  # the Trainer's step counter is its tqdm bar
        self.total = total
        self.unit = unit
        self.step: float | None = None  # last step seen by any parser
        self._hf_logs = 0

    def feed(self, text: str) -> Update:
        update = Update(total=self.total)
        if not text:
            return update
        for kind in self.kinds:
            if kind == "tqdm":
                self._tqdm(text, update)
            elif kind == "cosmos":
                self._cosmos(text, update)
            elif kind == "hf_trainer":
                self._hf(text, update)
        for pattern in self.patterns:
            self._regex(pattern, text, update)
        if update.done is not None:
            self.step = update.done
            total = update.total or self.total
            loss = f" · loss {update.loss:.4g}" if update.loss is not None else ""
            unit = f" {self.unit}" if self.unit else ""
            update.text = (
                f"{update.done:g}/{total:g}{unit}{loss}" if total else f"{update.done:g}{unit}{loss}"
            )
        return update

    # -- formats ------------------------------------------------------------------------------------
    def _tqdm(self, text: str, update: Update) -> None:
        if "%|" not in text:  # cheap test first: most log text has no bar
            return
        last = None
        for last in _TQDM.finditer(text):  # noqa: B007 - only the newest bar matters
            pass
        if last is None:
            return
        done, total = _number(last.group(2)), _number(last.group(3))
        # A bar that is a sub-task of a training log (hf) must not override a known total
        update.done = done
        update.total = total if total > 0 else update.total
        update.eta = _clock(last.group(5))

    def _cosmos(self, text: str, update: Update) -> None:
        found: list[tuple[int, float, float | None, float | None]] = []  # (pos, step, loss, speed)
        if "Hit counter" in text:
            for m in _COSMOS_WARMUP.finditer(text):
                found.append((m.start(), float(m.group(1)), _finite(float(m.group(2))), None))
        if "iter_speed" in text:
            for m in _COSMOS_SPEED.finditer(text):
                found.append((m.start(), float(m.group(1)), _finite(float(m.group(3))), float(m.group(2))))
        if not found:
            return
        found.sort()
        for _pos, step, loss, speed in found:
            metrics = {"seconds_per_iteration": speed} if speed is not None else None
            update.points.append((step, loss, metrics))
        _pos, step, loss, speed = found[-1]
        update.done = step
        update.loss = loss
        if speed is not None and self.total:
            update.eta = max(0.0, (self.total - step) * speed)

    def _hf(self, text: str, update: Update) -> None:
        if "{'" not in text:
            return
        for m in _HF_DICT.finditer(text):
            try:
                data = ast.literal_eval(m.group(0))
            except (ValueError, SyntaxError):
                continue
            if not isinstance(data, dict):
                continue
            values: dict[str, float] = {}
            for key, value in data.items():
                try:
                    values[str(key)] = float(value)
                except (TypeError, ValueError):
                    continue
            if "loss" in values or "eval_loss" in values:
                self._hf_logs += 1
                step = self.step if self.step is not None else float(self._hf_logs * self.log_every)
                # a tqdm bar in the same chunk may be ahead of the dict line: use the bar seen before it
                before = None
                for before in _TQDM.finditer(text, 0, m.start()):  # noqa: B007
                    pass
                if before is not None:
                    step = _number(before.group(2))
                loss = values.pop("loss", None)
                if loss is None:
                    loss = values.get("eval_loss")
                update.points.append((step, _finite(loss), values or None))
                if loss is not None:
                    update.loss = _finite(loss)
            elif "train_loss" in values:
                update.loss = _finite(values["train_loss"])
                if update.done is None and self.step is not None:
                    update.done = self.step

    def _regex(self, pattern: re.Pattern[str], text: str, update: Update) -> None:
        last = None
        for m in pattern.finditer(text):
            last = m
            groups = m.groupdict()
            if groups.get("loss") is not None:
                step = groups.get("done") or groups.get("step")
                if step is not None:
                    update.points.append((float(step), _finite(float(groups["loss"])), None))
        if last is None:
            return
        groups = last.groupdict()
        if groups.get("done") is not None:
            update.done = float(groups["done"])
        if groups.get("total") is not None:
            update.total = float(groups["total"])
        if groups.get("loss") is not None:
            update.loss = _finite(float(groups["loss"]))
