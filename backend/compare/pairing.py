"""Which source episode a generated episode came from, and from which source frame.

Records read (all optional):

- the provenance record the converters write (``backend.provenance``, schema
  ``rollout_studio.provenance/1``): ``meta/rollout_studio_provenance.json`` in folders, the JSON
  attribute ``rollout_studio_provenance`` of ``/data`` (or ``/``) in HDF5 files. Its ``episodes``
  entries say ``output_episode``, ``source_episode``, ``source_path`` (or ``input``: an index into
  ``inputs``) and ``frame_offset`` (output frame t is source frame frame_offset + t). Records chain:
  ``inputs[i].provenance`` embeds the input's own record;
- ``meta/rollout_studio_idm_prepare.json`` (IDM prepare: ``episodes`` with ``episode`` and
  ``source_episode``; the source is the prepare record's second input, the source dataset);
- a Cosmos output's sample name or ``input_path`` (``..._episode_000003[_seed2]`` -> episode 3).

Pairing a generated dataset with a chosen source dataset follows the lineage (replayed HDF5 ->
IDM dataset -> Cosmos outputs -> LeRobot dataset -> source HDF5), through embedded records first and
the files on disk second, until it reaches the chosen source, adding up frame offsets on the way.
Without any record it pairs by episode index (method "index"), and every caller says so: the
sentences below (``pairing_sentence``, ``disagreement``, ``position_warning``) are what the CLI and
the Compare pane print. Manual overrides win over everything, and where they disagree with a record
the callers say what the record says.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from backend.errors import StudioError
from backend.model import Dataset, Episode

PROVENANCE_FILE = "rollout_studio_provenance.json"
PROVENANCE_ATTR = "rollout_studio_provenance"
IDM_PREPARE_FILE = "rollout_studio_idm_prepare.json"
MAX_HOPS = 8
_EPISODE_NAME = re.compile(r"(?:episode|demo)[_-]?(\d+)(?:_seed\d+)?$")
_DEMO_NAME = re.compile(r"demo_\d+")
# methods whose partner a record (or a Cosmos sample name) states, as opposed to a guess or a request
RECORDED = ("provenance", "lineage", "cosmos_name")


@dataclass(frozen=True)
class SourceRef:
    path: Path | None  # None: the record does not name the source file
    episode: int
    frame_offset: int = 0  # source frame of the generated episode's frame 0
    record: dict[str, Any] | None = field(default=None, compare=False, repr=False)  # the source's own record

    def to_json(self) -> dict[str, Any]:
        return {
            "path": None if self.path is None else str(self.path),
            "episode": self.episode,
            "frame_offset": self.frame_offset,
        }


@dataclass(frozen=True)
class Pair:
    generated: int  # episode index in the generated dataset
    source: int | None  # episode index in the source dataset; None: no partner
    # "override" | "provenance" | "lineage" | "cosmos_name" | "index" (a guess: same number) | "none"
    # | "given" (both episode numbers named by the user, no record says otherwise)
    method: str
    note: str = ""
    frame_offset: int = 0  # source frame matching the generated episode's frame 0 (0 when unknown)

    def offset_s(self, source_fps: float) -> float:
        """The alignment offset this pairing implies (generated starts ``frame_offset`` frames in)."""
        return -self.frame_offset / source_fps if source_fps else 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "generated": self.generated,
            "source": self.source,
            "method": self.method,
            "note": self.note,
            "frame_offset": self.frame_offset,
        }


# -- reading records ----------------------------------------------------------------------------------
def _load_json(path: Path) -> dict[str, Any] | None:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    return value if isinstance(value, dict) else None


def read_provenance_path(path: str | Path) -> dict[str, Any] | None:
    """The provenance record stored with a dataset path, or None. Never raises."""
    path = Path(path)
    try:
        if path.is_dir():
            for candidate in (path / "meta" / PROVENANCE_FILE, path / PROVENANCE_FILE):
                if candidate.is_file():
                    return _load_json(candidate)
            return None
        if path.is_file() and path.suffix.lower() in (".hdf5", ".h5", ".he5"):
            import h5py

            with h5py.File(path, "r") as handle:
                for node in (handle.get("data"), handle):
                    if node is not None and PROVENANCE_ATTR in node.attrs:
                        raw = node.attrs[PROVENANCE_ATTR]
                        raw = raw.decode("utf-8") if isinstance(raw, bytes) else str(raw)
                        value = json.loads(raw)
                        return value if isinstance(value, dict) else None
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    return None


def read_provenance(dataset: Dataset) -> dict[str, Any] | None:
    value = dataset.info.get("provenance") if isinstance(dataset.info, dict) else None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            value = None
    if isinstance(value, dict):
        return value
    return read_provenance_path(dataset.path)


def _base(path: Path) -> Path:
    return path if path.is_dir() else path.parent


def _resolve(text: Any, base: Path) -> Path | None:
    if not isinstance(text, str) or not text:
        return None
    path = Path(text).expanduser()
    return path if path.is_absolute() else (base / path)


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _inputs(record: dict[str, Any], base: Path) -> list[tuple[Path | None, str, dict[str, Any] | None]]:
    """(path, role, embedded record) per input."""
    out = []
    for item in record.get("inputs") or []:
        if isinstance(item, str):
            out.append((_resolve(item, base), "", None))
        elif isinstance(item, dict):
            embedded = item.get("provenance") if isinstance(item.get("provenance"), dict) else None
            out.append((_resolve(item.get("path"), base), str(item.get("role") or ""), embedded))
    return out


def episode_sources(
    record: dict[str, Any], base: Path, default_input: int | None = None
) -> dict[int, SourceRef]:
    """Per generated episode index: its source as ``record`` states it.

    ``base`` resolves relative paths. ``default_input`` names the input an entry without a path or
    ``input`` refers to (else the input with role "source", else the first).
    """
    inputs = _inputs(record, base)
    if default_input is None:
        default_input = next((i for i, (_, role, _) in enumerate(inputs) if role == "source"), 0)
    raw = record.get("episodes", record.get("episode_sources"))
    items: list[tuple[Any, Any]] = []
    if isinstance(raw, dict):
        items = list(raw.items())
    elif isinstance(raw, list):
        for n, entry in enumerate(raw):
            if isinstance(entry, dict):
                key = next((entry[k] for k in ("output_episode", "episode", "index") if k in entry), n)
                items.append((key, entry))
    out: dict[int, SourceRef] = {}
    for key, entry in items:
        index = _as_int(key)
        if index is None:
            continue
        which = default_input
        path: Path | None = None
        episode: int | None = None
        offset = 0
        if isinstance(entry, dict):
            src = entry.get("source")
            if isinstance(src, dict):
                episode = _as_int(src.get("episode", src.get("index")))
                path = _resolve(src.get("path"), base)
                offset = _as_int(src.get("frame_offset")) or 0
            elif src is not None:
                episode = _as_int(src)
            if episode is None:
                episode = _as_int(entry.get("source_episode"))
            if _as_int(entry.get("input")) is not None:
                which = int(entry["input"])
            path = _resolve(entry.get("source_path"), base) or path
            offset = _as_int(entry.get("frame_offset")) or offset
        else:
            episode = _as_int(entry)
        if episode is None:
            continue
        embedded = None
        if 0 <= which < len(inputs):
            in_path, _, embedded = inputs[which]
            path = path or in_path
        out[index] = SourceRef(path, episode, offset, embedded)
    return out


def secondary_sources(record: dict[str, Any] | None, base: Path, target: Path) -> dict[int, int]:
    """Episodes of ``target`` named by an entry's extra ``<kind>_episode`` key, when ``target`` is the
    record's input with role "source" but entries point at another input (lerobot_to_hdf5 maps
    each demo to its template demo and keeps ``lerobot_episode`` for the LeRobot source)."""
    if not record:
        return {}
    inputs = _inputs(record, base)
    if not any(role == "source" and _same_path(path, target) for path, role, _ in inputs):
        return {}
    out: dict[int, int] = {}
    for entry in record.get("episodes") or []:
        if not isinstance(entry, dict) or _as_int(entry.get("output_episode")) is None:
            continue
        keys = [k for k in entry if k.endswith("_episode") and k not in ("source_episode", "output_episode")]
        if len(keys) == 1 and _as_int(entry[keys[0]]) is not None:
            out[int(entry["output_episode"])] = int(entry[keys[0]])
    return out


def secondary_refs(record: dict[str, Any] | None, base: Path) -> dict[int, SourceRef]:
    """Like ``secondary_sources`` but as references into the record's "source" input, whatever it is,
    so the lineage can be followed from there (replayed HDF5 -> IDM dataset -> ... -> LeRobot)."""
    if not record:
        return {}
    inputs = _inputs(record, base)
    which = next((i for i, (_, role, _) in enumerate(inputs) if role == "source"), None)
    if which is None:
        return {}
    path, _, embedded = inputs[which]
    out: dict[int, SourceRef] = {}
    for entry in record.get("episodes") or []:
        if not isinstance(entry, dict) or _as_int(entry.get("output_episode")) is None:
            continue
        keys = [k for k in entry if k.endswith("_episode") and k not in ("source_episode", "output_episode")]
        if len(keys) == 1 and _as_int(entry[keys[0]]) is not None:
            out[int(entry["output_episode"])] = SourceRef(path, int(entry[keys[0]]), 0, embedded)
    return out


def dataset_sources(dataset: Dataset) -> dict[int, SourceRef]:
    """Every per-episode source the dataset's records state (provenance, IDM prepare)."""
    base = _base(dataset.path)
    out: dict[int, SourceRef] = {}
    record = read_provenance(dataset)
    if dataset.path.is_dir():
        prepare = _load_json(dataset.path / "meta" / IDM_PREPARE_FILE)
        if prepare:
            # IDM prepare: inputs are [cosmos outputs, source dataset]; episodes name source episodes
            merged = dict(prepare)
            merged["inputs"] = (record or {}).get("inputs") or []
            default = 1 if len(merged["inputs"]) > 1 else len(merged["inputs"])  # beyond range: path unknown
            out.update(episode_sources(merged, base, default_input=default))
    if record:
        out.update(episode_sources(record, base))
    return out


def cosmos_name_source(episode: Episode) -> SourceRef | None:
    """Source of a Cosmos output from its name or its sample's ``input_path`` (``..._episode_000003``)."""
    extra = episode.extra or {}
    sample = extra.get("sample") if isinstance(extra.get("sample"), dict) else {}
    input_path = sample.get("input_path") if isinstance(sample.get("input_path"), str) else None
    root = None
    if input_path:
        json_path = extra.get("json")
        video = _resolve(input_path, Path(json_path).parent if json_path else episode.dataset.path)
        if video is not None:
            for parent in video.parents:  # the LeRobot dataset holding the input video
                if (parent / "meta" / "info.json").is_file():
                    root = parent
                    break
    for text in (extra.get("name"), Path(input_path).stem if input_path else None):
        match = _EPISODE_NAME.search(text or "")
        if match:
            return SourceRef(root, int(match.group(1)))
    return None


# -- following the lineage ------------------------------------------------------------------------------
def _same_path(a: Path | None, b: Path) -> bool:
    if a is None:
        return False
    try:
        return a.resolve() == Path(b).resolve()
    except OSError:
        return False


def trace_to(ref: SourceRef, target: Path, hops: int = MAX_HOPS) -> SourceRef | None:
    """Follow records from ``ref`` until an episode of ``target``; frame offsets add up."""
    current = ref
    total_offset = ref.frame_offset
    seen: set[tuple[str, int]] = set()
    for _ in range(hops):
        if current.path is None:
            return None
        if _same_path(current.path, target):
            return SourceRef(current.path, current.episode, total_offset)
        key = (str(current.path), current.episode)
        if key in seen:
            return None
        seen.add(key)
        record = current.record or read_provenance_path(current.path)
        nxt = None
        if record:
            nxt = episode_sources(record, _base(current.path)).get(current.episode)
        if nxt is None and current.path.is_dir():
            prepare = _load_json(current.path / "meta" / IDM_PREPARE_FILE)
            if prepare:
                merged = dict(prepare)
                merged["inputs"] = (record or {}).get("inputs") or []
                nxt = episode_sources(merged, _base(current.path), default_input=1).get(current.episode)
        if nxt is None:
            return None
        total_offset += nxt.frame_offset
        current = nxt
    return None


def pair_episodes(generated: Dataset, source: Dataset, overrides: dict[int, int] | None = None) -> list[Pair]:
    """A pair for every episode of ``generated``: override > records (direct or through the lineage)
    > Cosmos sample name > same index."""
    overrides = overrides or {}
    recorded = dataset_sources(generated)
    secondary = secondary_sources(read_provenance(generated), _base(generated.path), source.path)
    further = secondary_refs(read_provenance(generated), _base(generated.path))
    source_indices = {e.index for e in source.episodes}
    pairs: list[Pair] = []
    for episode in generated.episodes:
        g = episode.index
        if g in overrides:
            s = overrides[g]
            ok = s in source_indices
            pairs.append(Pair(g, s if ok else None, "override", "" if ok else f"source has no episode {s}"))
            continue
        ref = recorded.get(g)
        method = "provenance"
        if ref is None:
            ref, method = cosmos_name_source(episode), "cosmos_name"
        note = "no provenance record"
        if ref is not None:
            if ref.path is None or _same_path(ref.path, source.path):
                if ref.episode in source_indices:
                    pairs.append(
                        Pair(
                            g,
                            ref.episode,
                            method,
                            "" if ref.path else "record names no source file",
                            ref.frame_offset,
                        )
                    )
                    continue
                note = f"recorded source episode {ref.episode} is not in {source.path.name}"
            else:
                found = trace_to(ref, source.path)
                if found is not None and found.episode in source_indices:
                    pairs.append(
                        Pair(
                            g,
                            found.episode,
                            "lineage",
                            f"via {ref.path.name}:{ref.episode}",
                            found.frame_offset,
                        )
                    )
                    continue
                note = f"recorded source is {ref.path.name}:{ref.episode}, not in {source.path.name}"
        if secondary.get(g) in source_indices:
            pairs.append(
                Pair(g, secondary[g], "provenance", "recorded as this episode's source dataset episode")
            )
            continue
        via = further.get(g)
        found = trace_to(via, source.path) if via is not None else None
        if via is not None and found is not None and found.episode in source_indices:
            name = via.path.name if via.path is not None else "?"
            pairs.append(Pair(g, found.episode, "lineage", f"via {name}:{via.episode}", found.frame_offset))
            continue
        if g in source_indices:
            pairs.append(Pair(g, g, "index", note))
        else:
            pairs.append(Pair(g, None, "none", f"{note}; source has no episode {g}"))
    return pairs


def source_for(
    generated: Dataset, episode_index: int, source: Dataset, overrides: dict[int, int] | None = None
) -> Pair:
    for pair in pair_episodes(generated, source, overrides):
        if pair.generated == episode_index:
            return pair
    raise StudioError(f"no episode {episode_index}", generated.path)


def generated_for(
    generated: Dataset, source_index: int, source: Dataset, overrides: dict[int, int] | None = None
) -> Pair:
    """The first generated episode made from ``source_index`` (recorded pairings before index ones)."""
    pairs = pair_episodes(generated, source, overrides)
    for pair in sorted(pairs, key=lambda p: p.method == "index"):
        if pair.source == source_index:
            return pair
    raise StudioError(f"no episode made from source episode {source_index}", generated.path)


def parse_overrides(items: list[str] | None) -> dict[int, int]:
    """``["4=7", "5=2"]`` (generated=source) -> {4: 7, 5: 2}."""
    out: dict[int, int] = {}
    for item in items or []:
        for part in str(item).split(","):
            left, sep, right = part.strip().partition("=")
            if not sep or _as_int(left) is None or _as_int(right) is None:
                raise StudioError(f"pair override {part!r} is not GENERATED=SOURCE (two episode numbers)")
            out[int(left)] = int(right)
    return out


# -- what the pairing says --------------------------------------------------------------------------------
def episode_name(dataset: Dataset | None, index: int) -> str:
    """``demo_5`` for a LeIsaac demo, else ``episode 5``."""
    if dataset is not None:
        try:
            name = dataset.episode(index).source
        except StudioError:
            name = ""
        if isinstance(name, str) and _DEMO_NAME.fullmatch(name):
            return name
    return f"episode {index}"


def _said_by(method: str) -> str:
    return "its Cosmos sample name" if method == "cosmos_name" else "provenance"


def pairing_sentence(pair: Pair, source: Dataset | None = None, letter: str = "B", a_letter: str = "A") -> str:
    """One line: how generated episode ``pair.generated`` (side ``letter``) was paired with side A.

    "paired by provenance: B episode 4 came from demo_5 of A", "paired by position: ...", ...
    """
    b = f"{letter} episode {pair.generated}"
    if pair.source is None:
        return f"{b} has no partner in {a_letter}" + (f": {pair.note}" if pair.note else "")
    a = f"{episode_name(source, pair.source)} of {a_letter}"
    if pair.method in ("provenance", "lineage"):
        text = f"paired by provenance: {b} came from {a}"
        if pair.method == "lineage" and pair.note:
            text += f" ({pair.note})"
    elif pair.method == "cosmos_name":
        text = f"paired by Cosmos sample name: {b} came from {a}"
    elif pair.method == "override":
        text = f"paired as asked: {b} with {a}"
    elif pair.method == "given":
        text = f"compared as given: {b} with {a}" + (f" ({pair.note})" if pair.note else "")
    else:
        text = (
            f"paired by position: {b} with {a} (no provenance record leads from {letter} to {a_letter}; "
            "check the pair)"
        )
    if pair.frame_offset:
        text += f", {letter} starts at source frame {pair.frame_offset}"
    return text


def disagreement(
    compared: int, recorded: Pair, source: Dataset | None = None, letter: str = "B", a_letter: str = "A"
) -> str:
    """The warning when the pair compared is not the one a record states."""
    g = recorded.generated
    return (
        f"compared {episode_name(source, compared)} of {a_letter} with {letter} episode {g} as asked; "
        f"{_said_by(recorded.method)} says {letter} episode {g} came from "
        f"{episode_name(source, int(recorded.source or 0))} of {a_letter}"
    )


def position_warning(pairs: list[Pair], letter: str = "B", a_letter: str = "A") -> str:
    """The warning for a batch where some episodes could only be paired by position ("" when none)."""
    guessed = [p for p in pairs if p.method == "index"]
    if not guessed:
        return ""
    return (
        f"{len(guessed)} of {len(pairs)} episodes paired by position ({letter} episode N with episode N "
        f"of {a_letter}): no provenance record leads from {letter} to {a_letter}; check the pairs or give "
        f"them with --pair {letter}_EP={a_letter}_EP"
    )


def recorded_pair(generated: Dataset, episode_index: int, source: Dataset) -> Pair | None:
    """The partner a record states for ``episode_index`` (no overrides, no guess), or None."""
    try:
        pair = source_for(generated, episode_index, source)
    except StudioError:
        return None
    return pair if pair.method in RECORDED and pair.source is not None else None
