"""The plan every surgery operation returns first: what goes where, sizes, warnings.

An operation is two steps: ``plan_<op>(...)`` reads the inputs' metadata only and returns a ``Plan``
(``rollout-studio edit ... --plan`` prints it, the Browse dialog shows it); ``execute(plan)``
(``backend.surgery.run``) writes the outputs it lists. A plan is plain data (``to_json``), so what the
user saw is exactly what runs.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Piece:
    """One output episode: frames ``start``..``stop - 1`` of episode ``episode`` of input ``input``."""

    input: int
    episode: int
    start: int
    stop: int
    task: str

    @property
    def frames(self) -> int:
        return self.stop - self.start


@dataclass
class Output:
    path: str
    pieces: list[Piece] = field(default_factory=list)
    bytes: int = 0  # estimated size on disk

    @property
    def episodes(self) -> int:
        return len(self.pieces)

    @property
    def frames(self) -> int:
        return sum(p.frames for p in self.pieces)


@dataclass
class Plan:
    operation: str  # merge, split, delete, keep, trim, retask, rename-feature, ...
    inputs: list[str]
    input_formats: list[str]
    format: str  # the outputs' format (DatasetFormat value)
    outputs: list[Output]
    method: str = "rewrite"  # "join" (LeRobot files joined as they are) or "rewrite" (episode by episode)
    video: dict[str, str] = field(default_factory=dict)  # camera -> what happens to its video
    changes: list[str] = field(default_factory=list)  # what the operation changes, one line each
    warnings: list[str] = field(default_factory=list)
    options: dict[str, Any] = field(default_factory=dict)  # renames, removals, codec, ...
    # per cut window of a camera (trim): episode, camera, mode (copy / splice / encode), encoded, copied, reason
    cuts: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        for output, entry in zip(self.outputs, data["outputs"], strict=True):
            entry["episodes"] = output.episodes
            entry["frames"] = output.frames
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Plan:
        outputs = [
            Output(o["path"], [Piece(**p) for p in o["pieces"]], int(o.get("bytes", 0)))
            for o in data["outputs"]
        ]
        fields = {k: v for k, v in data.items() if k != "outputs"}
        return cls(outputs=outputs, **fields)

    def lines(self) -> list[str]:
        """The plan as a person reads it."""
        out = [
            f"{self.operation}: {len(self.inputs)} input(s) -> {len(self.outputs)} output(s) as {self.format}"
        ]
        for number, (path, fmt) in enumerate(zip(self.inputs, self.input_formats, strict=True)):
            out.append(f"  input {number}: {path} ({fmt})")
        for output in self.outputs:
            sources = sorted({p.input for p in output.pieces})
            trimmed = sum(1 for p in output.pieces if p.start > 0)
            out.append(
                f"  -> {output.path}: {output.episodes} episode{'' if output.episodes == 1 else 's'}, {output.frames} frames, "
                f"about {human_bytes(output.bytes)}, from input(s) {', '.join(map(str, sources))}"
                + (f" ({trimmed} cut)" if trimmed else "")
            )
        out.append(f"  method: {METHODS.get(self.method, self.method)}")
        out += [f"  change: {line}" for line in self.changes]
        out += [f"  video {camera}: {what}" for camera, what in sorted(self.video.items())]
        out += [f"  cut episode {c['episode']} {c['camera']}: {cut_text(c)}" for c in self.cuts]
        out += [f"  warning: {line}" for line in self.warnings]
        return out

    def text(self) -> str:
        return "\n".join(self.lines())


METHODS = {
    "join": "files joined as they are (rows renumbered, videos linked or copied, nothing re-encoded)",
    "rewrite": "episodes written one by one through the format's writer",
}


def cut_text(cut: dict[str, Any]) -> str:
    """One cut window as a person reads it."""
    if cut["mode"] == "copy":
        return f"{cut['copied']} frames, packets copied (starts on a keyframe)"
    if cut["mode"] == "splice":
        return (
            f"{cut['encoded']} frame(s) re-encoded up to the next keyframe, "
            f"{cut['copied']} copied from it (one stream, the source's codec settings)"
        )
    return f"all {cut['encoded']} frames re-encoded ({cut['reason']})"


def human_bytes(size: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(size) < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GiB"
