"""Benchmark: hdf5-to-lerobot v3.0 (H.264, 2 cameras 640x480) on every core, against the machine's
ceiling and LeRobot 0.6.1's best writer mode, all in one run on one input.

Parts (each a set of child processes; CPU from their rusage, peak memory as the largest sum of PSS over
every process of the group, sampled from /proc/<pid>/smaps_rollup every 0.2 s):
  studio_all_cores     ``convert hdf5-to-lerobot --format v3.0 --jobs N`` on all N usable cores
  studio_small         the same on ``--small-demos`` demos: how time and peak memory grow with the input;
                       and once on one demo (``studio_one_demo``): no run of whole-episode tasks is
                       shorter, so ``ratios.small_bound_episode_frames_per_s`` is the most the small
                       input can reach on any number of cores
  ceiling              N independent conversions side by side, each pinned to one core
                       (``taskset -c i``, ``--jobs 1``), each converting ``--ceiling-demos`` demos
  lerobot_all_cores    LeRobot 0.6.1 ``LeRobotDataset.create(streaming_encoding=True)`` fed the way
                       LeIsaac's isaaclab2lerobot does it (whole demo arrays, add_frame per frame,
                       save_episode per demo, finalize), H.264 g=2 crf=30 like the studio
  studio_two_cores     ``taskset -c 0,1`` with ``--jobs 2`` and ``--jobs 1``
  lerobot_two_cores    LeRobot under ``taskset -c 0,1``
  floors               what the work itself allows, side by side like the ceiling (one process per core,
                       ``--ceiling-demos`` demos each): ``decode`` only reads and decompresses every kept
                       camera frame (the studio's reader: h5py's lzf decoder, which LeIsaac's loop and so
                       LeRobot's use too), ``encode`` adds the colour conversion and x264 with the studio's
                       settings into real files, ``encode_ultrafast`` the same with x264's fastest preset;
                       ``ratios.floor_*_over_lerobot`` say how far above LeRobot any converter of this
                       input can get at all
LeRobot runs in ``--lerobot-python`` (Python >= 3.12); when it cannot import lerobot there, its parts are
skipped with the reason. Every figure is episode-frames per second (frames written to the dataset, read
back from its meta/info.json; video frames counted from the packets of its MP4s). LeRobot's figure is
given twice: for the whole process and from create() to finalize() (``_inside``: its ~20 s of imports
left out); ``ratios.studio_over_lerobot`` uses the latter, which favours LeRobot.

    .venv/bin/python benchmarks/convert_scale.py --demos 4 --frames 40 --ceiling-demos 1 --lerobot-demos 1 \
        --two-core-demos 2 --small-demos 1 --lerobot-python .cache/lr312/bin/python     (a quick look here)
    benchmarks/run_on_device.sh run        (the full race on the 16-core device machine: see that script;
                                            defaults: 120 demos, about 4 minutes there)
    benchmarks/run_on_device.sh run --repeat 3 --parts studio_all_cores,studio_two_cores
                                           (the 2 -> 16 core ratio from three rounds: the median of each)
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

TASK = "Pick the orange"
SKIP = 5  # frames LeIsaac's converter and the studio drop at the start of each demo
PARTS = (
    "studio_all_cores",
    "studio_small",
    "ceiling",
    "lerobot_all_cores",
    "studio_two_cores",
    "lerobot_two_cores",
    "floors",
)
FLOOR_STAGES = ("decode", "encode_ultrafast", "encode")
TARGETS = {
    "studio_over_ceiling": 0.8,
    "studio_over_lerobot": 30.0,
    "two_core_episode_frames_per_s": 60.0,
    "jobs2_over_jobs1_two_cores": 1.0,
    "efficiency_2_to_16_cores": 6.5,
    "peak_pss_mb_16_workers": 1536,
}


# ---------------------------------------------------------------- the machine and its processes


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def cpu_topology(cpus: list[int]) -> dict[str, Any]:
    """How the usable CPUs sit on the machine's cores (Linux sysfs): a "core" of ``os.cpu_count`` may
    be one of two hardware threads sharing a physical core, which changes what 16 workers can do."""
    cores: dict[int, tuple[str, str]] = {}
    for cpu in cpus:
        top = Path(f"/sys/devices/system/cpu/cpu{cpu}/topology")
        try:
            cores[cpu] = (
                (top / "physical_package_id").read_text().strip(),
                (top / "core_id").read_text().strip(),
            )
        except OSError:
            return {"known": False}
    physical = len(set(cores.values()))
    two = cpus[:2]
    return {
        "known": True,
        "physical_cores": physical,
        "threads_per_core": round(len(cpus) / physical, 2) if physical else None,
        "two_core_cpus": two,
        "two_core_cpus_share_a_core": len(two) == 2 and cores[two[0]] == cores[two[1]],
    }


def _parents() -> dict[int, int]:
    """pid -> parent pid of every process now."""
    out: dict[int, int] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        out[int(entry.name)] = int(fields[1])
    return out


def _pss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as handle:
            for line in handle:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


class TreePss:
    """Samples the sum of PSS over some processes and all their descendants; keeps the largest."""

    def __init__(self, interval: float = 0.2) -> None:
        self.interval = interval
        self.roots: list[int] = []
        self.peak_kb = 0
        self.peak_processes = 0
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="pss-sampler", daemon=True)

    def start(self, roots: list[int]) -> None:
        self.roots = list(roots)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def sample(self) -> None:
        children: dict[int, list[int]] = {}
        for pid, parent in _parents().items():
            children.setdefault(parent, []).append(pid)
        seen: set[int] = set()
        todo = list(self.roots)
        while todo:
            pid = todo.pop()
            if pid in seen:
                continue
            seen.add(pid)
            todo.extend(children.get(pid, ()))
        total = sum(_pss_kb(pid) for pid in seen)
        self.samples += 1
        if total > self.peak_kb:
            self.peak_kb = total
        self.peak_processes = max(self.peak_processes, len(seen))

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval)


def _cpu_of_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def pinned(argv: list[str], cores: list[int] | None) -> list[str]:
    if cores is None:
        return argv
    if shutil.which("taskset") is None:
        raise SystemExit("taskset is not installed: it pins the conversions to cores")
    return ["taskset", "-c", ",".join(str(c) for c in cores), *argv]


def run_group(name: str, argvs: list[list[str]], env: dict[str, str], logs: Path) -> dict[str, Any]:
    """Start every argv at once, wait for all; wall time, CPU (children's rusage), peak tree PSS."""
    logs.mkdir(parents=True, exist_ok=True)
    sampler = TreePss()
    cpu_before = _cpu_of_children()
    start = time.perf_counter()
    procs = []
    for i, argv in enumerate(argvs):
        out = open(logs / f"{name}-{i}.out", "wb")  # noqa: SIM115 - closed below
        # cwd: the checkout first on PYTHONPATH (``python -m`` puts the working folder before it)
        cwd = env.get("PYTHONPATH", str(REPO)).split(os.pathsep)[0]
        procs.append((subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=cwd), out))
    sampler.start([p.pid for p, _ in procs])
    codes = []
    for proc, out in procs:
        codes.append(proc.wait())
        out.close()
    seconds = time.perf_counter() - start
    sampler.stop()
    cpu = _cpu_of_children() - cpu_before
    for i, code in enumerate(codes):
        if code != 0:
            tail = (logs / f"{name}-{i}.out").read_text(errors="replace")[-3000:]
            raise RuntimeError(f"{name}: process {i} exited with {code}: {' '.join(argvs[i])}\n{tail}")
    return {
        "processes_started": len(argvs),
        "seconds": seconds,
        "cpu_s": cpu,
        "cores_busy": cpu / seconds,
        "peak_pss_mb": sampler.peak_kb / 1024.0,
        "peak_processes": sampler.peak_processes,
        "pss_samples": sampler.samples,
    }


# ---------------------------------------------------------------- input and outputs


def _write_part(path: Path, first: int, count: int, frames: int) -> None:
    """demo_0..demo_{count-1} of ``path`` hold what demos first..first+count-1 of one recording would."""
    from tests import recordings

    image_block, targets, states = recordings._image_block, recordings.joint_targets, recordings._state_group
    recordings._image_block = lambda demo, *rest: image_block(demo + first, *rest)
    recordings.joint_targets = lambda demo, *rest: targets(demo + first, *rest)
    recordings._state_group = lambda *args: states(*args[:-1], args[-1] + first)
    spec = recordings.RecordingSpec(
        [recordings.DemoSpec(frames) for _ in range(count)], cameras=("front", "wrist"), width=640, height=480
    )
    recordings.write_recording(path, spec)


def make_input(path: Path, demos: int, frames: int, workers: int) -> Path:
    """tests/recordings.py's recording of ``demos`` demos, written in parts side by side and joined
    (HDF5 object copies: compressed chunks are copied as they are)."""
    import h5py

    from tests.recordings import DemoSpec, RecordingSpec, write_recording

    workers = max(1, min(workers, demos // 2))
    if workers == 1:
        spec = RecordingSpec(
            [DemoSpec(frames) for _ in range(demos)], cameras=("front", "wrist"), width=640, height=480
        )
        return write_recording(path, spec)
    bounds = [demos * i // workers for i in range(workers + 1)]
    parts = [path.with_name(f"{path.stem}.part{i}.hdf5") for i in range(workers)]
    with multiprocessing.get_context("spawn").Pool(workers) as pool:
        pool.starmap(
            _write_part,
            [(part, bounds[i], bounds[i + 1] - bounds[i], frames) for i, part in enumerate(parts)],
        )
    total = 0
    with h5py.File(path, "w") as out:
        data = out.create_group("data")
        for i, part in enumerate(parts):
            with h5py.File(part, "r") as handle:
                if i == 0:
                    for key, value in handle["data"].attrs.items():
                        data.attrs[key] = value
                total += int(handle["data"].attrs["total"])
                for local in range(bounds[i + 1] - bounds[i]):
                    number = bounds[i] + local
                    handle.copy(handle["data"][f"demo_{local}"], data, name=f"demo_{number}")
                    data[f"demo_{number}"].attrs["seed"] = 1000 + number
            part.unlink()
        data.attrs["total"] = total
    return path


def dataset_counts(root: Path) -> dict[str, Any]:
    """Episodes and frames a LeRobot dataset says it holds, and the frames its videos hold per camera."""
    info = json.loads((root / "meta" / "info.json").read_text())
    counts: dict[str, Any] = {"episodes": info["total_episodes"], "frames": info["total_frames"]}
    try:
        import av
    except ImportError:
        return counts
    video: dict[str, int] = {}
    for mp4 in sorted((root / "videos").rglob("*.mp4")):
        key = mp4.relative_to(root / "videos").parts[0]
        if key.startswith("chunk-"):  # v2.1 layout: videos/chunk-000/<key>/episode_*.mp4
            key = mp4.relative_to(root / "videos").parts[1]
        with av.open(str(mp4)) as container:
            stream = container.streams.video[0]
            video[key] = video.get(key, 0) + sum(1 for p in container.demux(stream) if p.size)
    counts["video_frames"] = video
    return counts


def summed_counts(roots: list[Path]) -> dict[str, Any]:
    total: dict[str, Any] = {"episodes": 0, "frames": 0}
    video: dict[str, int] = {}
    for root in roots:
        one = dataset_counts(root)
        total["episodes"] += one["episodes"]
        total["frames"] += one["frames"]
        for key, n in one.get("video_frames", {}).items():
            video[key] = video.get(key, 0) + n
    if video:
        total["video_frames"] = video
    return total


def finish(result: dict[str, Any], counts: dict[str, Any]) -> dict[str, Any]:
    result.update(counts)
    result["episode_frames_per_s"] = counts["frames"] / result["seconds"]
    result["cpu_ms_per_episode_frame"] = 1000.0 * result["cpu_s"] / counts["frames"]
    video = counts.get("video_frames")
    if video:
        result["video_frames_missing"] = {k: counts["frames"] - n for k, n in video.items()}
    return {k: (round(v, 3) if isinstance(v, float) else v) for k, v in result.items()}


# ---------------------------------------------------------------- the studio


def studio_supports_jobs(python: str, env: dict[str, str]) -> bool:
    done = subprocess.run(
        [python, "-m", "backend.cli", "convert", "hdf5-to-lerobot", "--help"],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        check=False,
    )
    return "--jobs" in done.stdout


def studio_argv(
    python: str, src: Path, out: Path, jobs: int | None, demos: int | None, with_jobs: bool
) -> list[str]:
    argv = [python, "-m", "backend.cli", "convert", "hdf5-to-lerobot", str(src), "--out", str(out)]
    argv += ["--format", "v3.0", "--codec", "h264", "--task", TASK, "--hash", "fast", "--quiet"]
    if jobs is not None and with_jobs:
        argv += ["--jobs", str(jobs)]
    if demos is not None:
        argv += ["--demos", ",".join(str(i) for i in range(demos))]
    return argv


# ---------------------------------------------------------------- LeRobot 0.6.1 (a child process)


def lerobot_features(cameras: list[str], height: int, width: int) -> dict[str, Any]:
    joints = ["shoulder_pan", "shoulder_lift", "elbow_flex", "wrist_flex", "wrist_roll", "gripper"]
    vector = {"dtype": "float32", "shape": (6,), "names": [f"{j}.pos" for j in joints]}
    features: dict[str, Any] = {"action": dict(vector), "observation.state": dict(vector)}
    for cam in cameras:
        features[f"observation.images.{cam}"] = {
            "dtype": "video",
            "shape": [height, width, 3],
            "names": ["height", "width", "channels"],
        }
    return features


def lerobot_child(src: Path, out: Path, demos: int, encoder_threads: int | None) -> None:
    """LeIsaac's isaaclab2lerobot loop on LeRobot 0.6.1's writer with streaming encoding."""
    import av
    import h5py
    import lerobot
    import numpy as np
    from lerobot.configs.video import RGBEncoderConfig
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    from backend.units import JointSpace, Unit

    space = JointSpace.so101(Unit.RADIANS)  # LeIsaac's preprocess_joint_pos: radians -> LeRobot's range
    started = time.perf_counter()
    with h5py.File(src, "r") as handle:
        names = sorted(handle["data"].keys(), key=lambda n: int(n.split("_")[1]))[:demos]
        first = handle["data"][names[0]]["obs"]
        cameras = [c for c in ("front", "wrist") if c in first]
        height, width = first[cameras[0]].shape[1:3]
        dataset = LeRobotDataset.create(
            repo_id="rollout-studio/convert-scale",
            fps=30,
            features=lerobot_features(cameras, height, width),
            root=out,
            robot_type="so101_follower",
            use_videos=True,
            rgb_encoder=RGBEncoderConfig(vcodec="h264", g=2, crf=30),
            streaming_encoding=True,
            encoder_threads=encoder_threads,
        )
        kept = 0
        for name in names:
            demo = handle["data"][name]
            if "success" in demo.attrs and not demo.attrs["success"]:
                continue
            actions = space.convert(np.array(demo["actions"]), Unit.LEROBOT_RANGE).astype(np.float32)
            state = space.convert(np.array(demo["obs/joint_pos"]), Unit.LEROBOT_RANGE).astype(np.float32)
            images = {cam: np.array(demo[f"obs/{cam}"]) for cam in cameras}
            if len(actions) < 10:
                continue
            for t in range(SKIP, len(actions)):
                frame = {"action": actions[t], "observation.state": state[t], "task": TASK}
                for cam in cameras:
                    frame[f"observation.images.{cam}"] = images[cam][t]
                dataset.add_frame(frame)
            dataset.save_episode()
            kept += 1
        dataset.finalize()
    encoder = getattr(dataset.writer, "_streaming_encoder", None)
    dropped = dict(getattr(encoder, "_dropped_frames", {}) or {})
    print(
        json.dumps(
            {
                "episodes": kept,
                "seconds_inside": time.perf_counter() - started,
                "dropped_frames_reported": dropped,
                "versions": {
                    "lerobot": getattr(lerobot, "__version__", "?"),
                    "av": av.__version__,
                    "python": platform.python_version(),
                },
            }
        )
    )


def floor_child(src: Path, out: Path, demos: int, stage: str) -> None:
    """One core's share of a floor: every kept frame of each camera of demos 0..demos-1, read (and for
    the encode stages encoded into ``out``) with the studio's own reader and encoder, nothing else."""
    import threading as _threading

    import h5py

    from backend.convert.camera_worker import _Buffers, _Files, _slabs
    from backend.media.encoder import VideoEncoder

    files = _Files()
    buffers = _Buffers(2, _threading.Event())
    frames = 0
    started = time.perf_counter()
    with h5py.File(src, "r") as handle:
        names = sorted(handle["data"].keys(), key=lambda n: int(n.split("_")[1]))[:demos]
        jobs = []
        for name in names:
            obs = handle["data"][name]["obs"]
            for cam in ("front", "wrist"):
                if cam in obs:
                    jobs.append(
                        {"dataset": f"data/{name}/obs/{cam}", "start": SKIP, "stop": obs[cam].shape[0]}
                    )
    h5, fd = files.get(str(src))
    out.mkdir(parents=True, exist_ok=True)
    for k, job in enumerate(jobs):
        encoder = None
        if stage != "decode":
            height, width = h5[job["dataset"]].shape[1:3]
            encoder = VideoEncoder(
                out / f"{k}.mp4",
                int(width),
                int(height),
                30.0,
                codec="h264",
                preset="ultrafast" if stage == "encode_ultrafast" else None,
                options={"threads": "1"},
            )
        for _t0, block, buffer in _slabs(h5, job, buffers, fd):
            if encoder is not None:
                for frame in block:
                    encoder.write(frame)
            frames += len(block)
            buffers.give_back(buffer)
        if encoder is not None:
            encoder.close()
    files.close()
    print(
        json.dumps({"camera_frames": frames, "cameras": 2, "seconds_inside": time.perf_counter() - started})
    )


def lerobot_probe(python: str, env: dict[str, str]) -> tuple[bool, str]:
    code = (
        "import lerobot, av; from lerobot.datasets.lerobot_dataset import LeRobotDataset; "
        "print(lerobot.__version__, av.__version__)"
    )
    try:
        done = subprocess.run(
            [python, "-c", code], capture_output=True, text=True, env=env, cwd=REPO, timeout=300, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return False, f"{python}: {exc}"
    if done.returncode != 0:
        lines = (done.stderr or done.stdout).strip().splitlines() or ["no output"]
        return False, f"{python} cannot import lerobot: {lines[-1]}"
    return True, done.stdout.strip()


def lerobot_argv(python: str, src: Path, out: Path, demos: int) -> list[str]:
    return [python, __file__, "--lerobot-child", "--src", str(src), "--out", str(out), "--demos", str(demos)]


# ---------------------------------------------------------------- the race


def child_env(work: Path, root: Path = REPO) -> dict[str, str]:
    path = os.environ.get("PYTHONPATH", "")
    return dict(
        os.environ,
        PYTHONPATH=f"{root}{os.pathsep}{path}" if path else str(root),
        PYTHONUNBUFFERED="1",
        HF_HOME=str(work / "hf"),
        HF_LEROBOT_HOME=str(work / "hf" / "lerobot"),
        HF_HUB_OFFLINE="1",
        HF_DATASETS_OFFLINE="1",
        TQDM_DISABLE="1",
        SVT_LOG="1",
        ROLLOUT_STUDIO_HOME=str(work / "studio-home"),
    )


class Race:
    def __init__(self, args: argparse.Namespace, work: Path) -> None:
        self.args = args
        self.work = work
        self.root = (args.studio_root or REPO).resolve()
        self.env = child_env(work, self.root)
        self.cores = sorted(os.sched_getaffinity(0))
        self.logs = work / "logs"
        self.report: dict[str, Any] = {}
        self.runs: dict[str, Any] = {}
        self.rounds: dict[str, list[dict[str, Any]]] = {}

    def save(self) -> None:
        self.report["runs"] = self.runs
        self.report["ratios"] = ratios(self.runs, len(self.cores))
        if self.args.json_out:
            self.args.json_out.write_text(json.dumps(self.report, indent=2))

    def part(self, key: str, fn: Any, gate: str | None = None, round_: int = 0) -> None:
        """Run one part; in a later round (``--repeat``), its median run by rate stands for it and
        every run's rate is kept under ``rates``."""
        if (gate or key) not in self.args.parts:
            return
        print(f"[convert_scale] {key} (round {round_ + 1}) ...", file=sys.stderr, flush=True)
        try:
            result = fn()
        except Exception as exc:  # one failed part still leaves the others' figures
            result = {"failed": str(exc)[-4000:]}
        self.rounds.setdefault(key, []).append(result)
        done = [r for r in self.rounds[key] if r.get("episode_frames_per_s")]
        if len(self.rounds[key]) > 1 and done:
            done.sort(key=lambda r: r["episode_frames_per_s"])
            self.runs[key] = dict(done[(len(done) - 1) // 2])  # the median (the lower one of two)
            self.runs[key]["rates"] = [r.get("episode_frames_per_s") for r in self.rounds[key]]
            self.runs[key]["peak_pss_mb_runs"] = [r.get("peak_pss_mb") for r in self.rounds[key]]
        else:
            self.runs[key] = result
        print(f"[convert_scale] {key}: {json.dumps(result)}", file=sys.stderr, flush=True)
        shutil.rmtree(self.work / "outputs", ignore_errors=True)
        self.save()

    def studio(self, key: str, cores: list[int] | None, jobs: int, demos: int | None) -> dict[str, Any]:
        out = self.work / "outputs" / key
        argv = studio_argv(self.args.python, self.src, out, jobs, demos, self.with_jobs)
        result = run_group(key, [pinned(argv, cores)], self.env, self.logs)
        result.update(
            {"cores": len(cores) if cores else len(self.cores), "jobs": jobs if self.with_jobs else "n/a"}
        )
        return finish(result, dataset_counts(out))

    def ceiling(self) -> dict[str, Any]:
        outs = [self.work / "outputs" / f"ceiling-{c}" for c in self.cores]
        demos = min(self.args.ceiling_demos, self.args.demos)
        argvs = [
            pinned(studio_argv(self.args.python, self.src, out, 1, demos, self.with_jobs), [core])
            for core, out in zip(self.cores, outs, strict=True)
        ]
        result = run_group("ceiling", argvs, self.env, self.logs)
        result.update({"conversions": len(argvs), "demos_each": demos, "cores": len(self.cores)})
        result = finish(result, summed_counts(outs))
        result["episode_frames_per_s_each"] = round(result["episode_frames_per_s"] / len(argvs), 2)
        return result

    def lerobot(self, key: str, cores: list[int] | None) -> dict[str, Any]:
        if not self.lerobot_ok:
            return {"skipped": self.lerobot_reason}
        out = self.work / "outputs" / key
        demos = min(self.args.lerobot_demos, self.args.demos)
        argv = pinned(lerobot_argv(self.args.lerobot_python, self.src, out, demos), cores)
        result = run_group(key, [argv], self.env, self.logs)
        inside = (self.logs / f"{key}-0.out").read_text().strip().splitlines()
        child = json.loads(inside[-1])
        result.update(
            {
                "cores": len(cores) if cores else len(self.cores),
                "demos": demos,
                "seconds_inside": child["seconds_inside"],
                "dropped_frames_reported": child["dropped_frames_reported"],
                "versions": child["versions"],
                "mode": "LeRobotDataset.create(streaming_encoding=True, rgb_encoder=RGBEncoderConfig("
                "vcodec='h264', g=2, crf=30), encoder_threads=None); add_frame per frame, save_episode "
                "per demo, finalize",
            }
        )
        result = finish(result, dataset_counts(out))
        result["episode_frames_per_s_inside"] = round(result["frames"] / child["seconds_inside"], 3)
        return result

    def floor(self, stage: str) -> dict[str, Any]:
        outs = [self.work / "outputs" / f"floor-{stage}-{c}" for c in self.cores]
        demos = min(self.args.ceiling_demos, self.args.demos)
        argvs = [
            pinned(
                [
                    self.args.python,
                    __file__,
                    "--floor-child",
                    stage,
                    "--src",
                    str(self.src),
                    "--out",
                    str(out),
                    "--demos",
                    str(demos),
                ],
                [core],
            )
            for core, out in zip(self.cores, outs, strict=True)
        ]
        result = run_group(f"floor-{stage}", argvs, self.env, self.logs)
        camera_frames = 0
        for i in range(len(argvs)):
            camera_frames += json.loads((self.logs / f"floor-{stage}-{i}.out").read_text().splitlines()[-1])[
                "camera_frames"
            ]
        result.update(
            {"processes": len(argvs), "demos_each": demos, "cores": len(self.cores), "stage": stage}
        )
        # episode-frames: two camera frames each (the input's cameras), as the conversions count them
        return finish(result, {"episodes": demos * len(argvs), "frames": camera_frames // 2})

    def run(self) -> dict[str, Any]:
        args = self.args
        two = self.cores[:2]
        self.with_jobs = studio_supports_jobs(args.python, self.env)
        if args.parts & {"lerobot_all_cores", "lerobot_two_cores"}:
            self.lerobot_ok, self.lerobot_reason = lerobot_probe(args.lerobot_python, self.env)
        else:
            self.lerobot_ok, self.lerobot_reason = False, "not asked for"
        self.report = {
            "benchmark": "convert_scale",
            "machine": {
                "cpu_model": cpu_model(),
                "cpu_count": os.cpu_count(),
                "usable_cores": len(self.cores),
                "topology": cpu_topology(self.cores),
                "load_average_before": round(os.getloadavg()[0], 2),
                "studio_python_av": subprocess.run(
                    [
                        args.python,
                        "-c",
                        "import platform, av; print(platform.python_version(), av.__version__)",
                    ],
                    capture_output=True,
                    text=True,
                    env=self.env,
                    check=False,
                ).stdout.strip(),
            },
            "studio_has_jobs_flag": self.with_jobs,
            "studio_root": str(self.root),
            "lerobot": {"importable": self.lerobot_ok, "detail": self.lerobot_reason},
            "settings": {
                "studio": "convert hdf5-to-lerobot --format v3.0 --codec h264 (the writer's defaults: "
                "gop 2, crf 30, x264 preset veryfast)",
                "lerobot": "h264 (libx264) g=2 crf=30, x264 default preset (medium); streaming encoding",
                "skip_frames": SKIP,
            },
            "targets": TARGETS,
        }
        started = time.perf_counter()
        if args.input:
            self.src = args.input
        else:
            self.src = make_input(self.work / "recording.hdf5", args.demos, args.frames, len(self.cores))
        self.report["input"] = {
            "demos": args.demos,
            "frames_per_demo": args.frames,
            "kept_episode_frames": args.demos * (args.frames - SKIP),
            "cameras": 2,
            "size": "640x480",
            "hdf5": "lzf, chunks of 100 frames (LeIsaac streaming layout); tests/recordings.py, "
            "written in parts side by side and joined (same content as one write_recording)",
            "input_mb": round(self.src.stat().st_size / 1e6, 1),
            "generate_s": round(time.perf_counter() - started, 2),
        }
        self.save()
        n = len(self.cores)
        small = min(args.small_demos, args.demos)
        demos = min(args.two_core_demos, args.demos)
        for round_ in range(args.repeat):
            # --repeat: the studio's runs again, in the same order each round (all cores, the small input,
            # then 2 cores with --jobs 2 and --jobs 1), so that slow spells of the machine fall on every one
            self.part(
                "studio_all_cores", lambda: self.studio("studio_all_cores", None, n, None), round_=round_
            )
            self.part("studio_small", lambda: self.studio("studio_small", None, n, small), round_=round_)
            if round_ == 0:
                # one demo on every core: its two camera tasks' time is what any run of whole-episode
                # tasks takes at least, however few demos and many cores (the small input's bound)
                self.part(
                    "studio_one_demo", lambda: self.studio("studio_one_demo", None, n, 1), gate="studio_small"
                )
            if round_ == 0:
                self.part("ceiling", self.ceiling)
                self.part("lerobot_all_cores", lambda: self.lerobot("lerobot_all_cores", None))
            for jobs in (2, 1):
                key = f"studio_two_cores_jobs{jobs}"
                self.part(
                    key,
                    lambda k=key, j=jobs: self.studio(k, two, j, demos),
                    gate="studio_two_cores",
                    round_=round_,
                )
        self.part("lerobot_two_cores", lambda: self.lerobot("lerobot_two_cores", two))
        for stage in FLOOR_STAGES:
            self.part(f"floor_{stage}", lambda s=stage: self.floor(s), gate="floors")
        self.report["machine"]["load_average_after"] = round(os.getloadavg()[0], 2)
        self.report["total_s"] = round(time.perf_counter() - started, 1)
        self.save()
        return self.report


def _rate(runs: dict[str, Any], key: str, field: str = "episode_frames_per_s") -> float | None:
    value = runs.get(key, {}).get(field)
    return float(value) if value else None


def ratios(runs: dict[str, Any], cores: int) -> dict[str, Any]:
    def div(a: float | None, b: float | None) -> float | None:
        return round(a / b, 3) if a and b else None

    inside = "episode_frames_per_s_inside"
    small_run = runs.get("studio_small", {})
    studio, two = _rate(runs, "studio_all_cores"), _rate(runs, "studio_two_cores_jobs2")
    out: dict[str, Any] = {
        "studio_over_ceiling": div(studio, _rate(runs, "ceiling")),
        # LeRobot's rate from create() to finalize() (its imports left out, which favours it)
        "studio_over_lerobot": div(studio, _rate(runs, "lerobot_all_cores", inside)),
        "studio_over_lerobot_two_cores": div(two, _rate(runs, "lerobot_two_cores", inside)),
        "studio_over_lerobot_whole_process": div(studio, _rate(runs, "lerobot_all_cores")),
        "jobs2_over_jobs1_two_cores": div(two, _rate(runs, "studio_two_cores_jobs1")),
        f"efficiency_2_to_{cores}_cores": div(studio, two),
        "cores_ratio": round(cores / 2, 2),
        "large_over_small_throughput": div(studio, _rate(runs, "studio_small")),
    }
    one = runs.get("studio_one_demo", {})
    if one.get("seconds") and small_run.get("frames") and studio:
        # the small input converted in the one demo's time: the most any whole-episode split gives it
        bound = small_run["frames"] / one["seconds"]
        out["small_bound_episode_frames_per_s"] = round(bound, 1)
        out["large_over_small_bound"] = div(studio, bound)
    lerobot = _rate(runs, "lerobot_all_cores", inside)
    for stage in FLOOR_STAGES:
        floor = _rate(runs, f"floor_{stage}")
        if floor:
            # the most any converter doing this stage's work could reach, over LeRobot
            out[f"floor_{stage}_over_lerobot"] = div(floor, lerobot)
            out[f"studio_over_floor_{stage}"] = div(studio, floor)
    rates16, rates2 = (runs.get(k, {}).get("rates") for k in ("studio_all_cores", "studio_two_cores_jobs2"))
    if rates16 and rates2:  # --repeat: each round's own ratio too
        out[f"efficiency_2_to_{cores}_cores_each_round"] = [
            div(a, b) for a, b in zip(rates16, rates2, strict=False)
        ]
    rates_small = runs.get("studio_small", {}).get("rates")
    if rates16 and rates_small:
        out["large_over_small_throughput_each_round"] = [
            div(a, b) for a, b in zip(rates16, rates_small, strict=False)
        ]
    big, small = runs.get("studio_all_cores", {}), runs.get("studio_small", {})
    if big.get("peak_pss_mb") and small.get("peak_pss_mb"):
        out["large_over_small_peak_pss"] = round(big["peak_pss_mb"] / small["peak_pss_mb"], 3)
        out["growth"] = {
            "episodes": [small.get("episodes"), big.get("episodes")],
            "seconds": [small.get("seconds"), big.get("seconds")],
            "peak_pss_mb": [small.get("peak_pss_mb"), big.get("peak_pss_mb")],
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--demos", type=int, default=120, help="demos in the input (120)")
    parser.add_argument("--frames", type=int, default=150, help="frames per demo (150)")
    parser.add_argument("--small-demos", type=int, default=6, help="demos of studio_small (6)")
    parser.add_argument(
        "--ceiling-demos", type=int, default=8, help="demos each one-core conversion converts (8)"
    )
    parser.add_argument("--lerobot-demos", type=int, default=8, help="demos LeRobot converts (8)")
    parser.add_argument("--two-core-demos", type=int, default=24, help="demos of the 2-core studio runs (24)")
    parser.add_argument(
        "--repeat", type=int, default=1, help="rounds of the studio's all-core and 2-core runs (median kept)"
    )
    parser.add_argument("--parts", default=",".join(PARTS), help=f"comma-separated, of {', '.join(PARTS)}")
    parser.add_argument("--python", default=sys.executable, help="interpreter running the studio")
    parser.add_argument(
        "--studio-root", type=Path, default=None, help="the checkout the studio runs from (default: this one)"
    )
    parser.add_argument("--lerobot-python", default=sys.executable, help="interpreter holding lerobot 0.6.1")
    parser.add_argument("--input", type=Path, default=None, help="an existing input HDF5 (skips generating)")
    parser.add_argument("--work", type=Path, default=None, help="work folder (default: a new temporary one)")
    parser.add_argument(
        "--json-out", type=Path, default=None, help="also write the JSON here, after every part"
    )
    parser.add_argument("--lerobot-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--src", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--encoder-threads", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--floor-child", choices=FLOOR_STAGES, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.floor_child:
        floor_child(args.src, args.out, args.demos, args.floor_child)
        return
    if args.lerobot_child:
        lerobot_child(args.src, args.out, args.demos, args.encoder_threads)
        return
    args.parts = {p.strip() for p in args.parts.split(",") if p.strip()}
    unknown = args.parts - set(PARTS)
    if unknown:
        parser.error(f"unknown parts: {', '.join(sorted(unknown))}")
    work = args.work or Path(tempfile.mkdtemp(prefix="rs-bench-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        report = Race(args, work).run()
        print(json.dumps(report, indent=2))
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
