"""Restoring a folder of files in one run: `-f DIR -o OUTDIR` of the single-file tools.

Every audio file under DIR is restored into the same place under OUTDIR (WAV and FLAC keep their container,
other formats become WAV), with its channels and sample format, after one model load. A file is judged on its
own: one without a clear band edge or without gaps is skipped with its reason, one that cannot be read fails,
and the others go on. Each output gets its provenance record (inference/provenance.py) before the audio is
renamed into place, so an output that exists was written whole and says what made it; a rerun skips the
outputs made with this run's settings, refuses to keep ones made otherwise unless --redo-changed, and restores
the rest. The run ends with a summary and report.csv (one row per file).
"""
import csv
import io
import os
import sys
import time
from dataclasses import dataclass, field

import soundfile as sf
from tqdm import tqdm

from audiokit.files import write_text
from audiokit.tool_io import InputError, output_subtype, read_input, write_audio
from datasets.prepare_manifest import find_audio
from inference import provenance
from inference.cli_common import choose_model, load_restorer, run_facts, run_settings
from inference.sharding import parse_shard, shard_from_env, shard_slice

KEPT_CONTAINERS = (".wav", ".flac")  # other inputs (MP3, Ogg, ...) are written as WAV
REPORT_COLUMNS = ("file", "output", "status", "duration_s", "restored", "compute_s", "message")
SHOWN_PROBLEMS = 20  # refused and failed files listed after the summary; report.csv has them all


@dataclass(frozen=True)
class Plan:
    """What a tool decided for one file: restore it (status "restore") with `params`, or skip it (a status
    such as "full_band" or "no_gaps") with the reason in `message`."""
    status: str
    message: str
    params: dict = field(default_factory=dict)
    detail: object = None  # the tool's own finding (e.g. the band edge), for its --plot


@dataclass
class Job:
    source: str  # relative to DIR
    output: str  # relative to OUTDIR
    duration: float
    status: str = ""
    restored: str = ""
    compute_s: float = 0.0
    message: str = ""


def output_name(relative):
    stem, extension = os.path.splitext(relative)
    return relative if extension.lower() in KEPT_CONTAINERS else stem + ".wav"


def _duration(path):
    try:
        return sf.info(path).duration
    except (sf.LibsndfileError, RuntimeError, OSError):  # read_input reports it, with its reason, in its turn
        return 0.0


def check_folders(args):
    """DIR holds audio and OUTDIR can be made outside the files read; before any model is loaded."""
    if args.plot:
        raise InputError(f"{args.input}: --plot is for one file; leave it out with a folder")
    source, target = os.path.abspath(args.input), os.path.abspath(args.output)
    if source == target:
        raise InputError(f"{args.output}: the output folder is the input folder; choose another -o")
    if os.path.exists(target) and not os.path.isdir(target):
        raise InputError(f"{args.output}: is a file; with a folder as input (-f DIR), -o names a folder")
    try:
        os.makedirs(target, exist_ok=True)
    except OSError as error:
        raise InputError(f"{args.output}: cannot create the output folder ({error.strerror})") from None
    inside = os.path.relpath(target, source)
    files = [path for path in find_audio(source) if inside.startswith("..") or
             not (path + os.sep).startswith(inside + os.sep)]  # OUTDIR inside DIR: its files are outputs, not inputs
    if not files:
        raise InputError(f"{args.input}: no audio files in this folder")
    return files


def _report_name(args):
    shard = parse_shard(args.shard) if args.shard is not None else shard_from_env()
    return "report.csv" if shard in (None, (0, 1)) else f"report_shard{shard[0]}of{shard[1]}.csv"


def run_collection(args, task):
    """Restores every audio file under args.input into args.output with `task` (the tool's plan and restore);
    returns the exit status: 1 when any file failed."""
    files = check_folders(args)
    selected = [files[i] for i in shard_slice(len(files), args.shard)]
    jobs = [Job(path, output_name(path), _duration(os.path.join(args.input, path))) for path in selected]
    choice = choose_model(args, task.steps_key)
    settings = run_settings(args, choice)
    wanted = {job.source: provenance.file_settings(settings, task.settings, os.path.join(args.input, job.source))
              for job in jobs}
    _mark_done(args, jobs, wanted)
    started, restorer = time.monotonic(), None
    bar = tqdm(total=round(sum(job.duration for job in jobs), 1), unit="s", desc="audio", disable=args.quiet,
               bar_format="{desc}: {percentage:3.0f}%|{bar}| {n:.1f}/{total:.1f} s [{elapsed}<{remaining}] {postfix}")
    try:
        for count, job in enumerate(jobs, 1):
            bar.set_postfix_str(f"file {count}/{len(jobs)}")
            if not job.status:
                clock = time.monotonic()
                restorer = _restore(args, task, choice, settings, wanted[job.source], job, restorer)
                job.compute_s = time.monotonic() - clock
            bar.update(round(job.duration, 1))
    finally:  # an interrupted run still leaves the report of what it did
        bar.close()
        report = os.path.join(args.output, _report_name(args))
        _write_report(report, jobs)
    return _summary(jobs, report, time.monotonic() - started)


def _mark_done(args, jobs, wanted):
    """Outputs already made with these settings are done; made otherwise: refused unless --redo-changed (or
    --overwrite, which restores everything again)."""
    seen, changed = {}, []
    for job in jobs:
        if job.output in seen:
            job.status, job.message = "refused", f"same output file as {seen[job.output]}; rename one of the two"
            continue
        seen[job.output] = job.source
        output = os.path.join(args.output, job.output)
        if args.overwrite or not os.path.exists(output):
            continue
        differs = provenance.differences(provenance.read_settings(output), wanted[job.source])
        if not differs:
            job.status, job.message = "done", "already restored with these settings"
        elif not args.redo_changed:
            changed.append((job.output, differs))
    if changed:
        output, differs = changed[0]
        raise ValueError(f"{args.output}: {len(changed)} output(s) were made with other settings than this run's, "
                         f"e.g. {output}: {'; '.join(differs)}; pass --redo-changed to restore them again with "
                         "these settings, or choose another -o")


def _restore(args, task, choice, settings, wanted, job, restorer):
    """Restores one file into its job's status; returns the restorer (loaded with the first file that needs it)."""
    source, output = os.path.join(args.input, job.source), os.path.join(args.output, job.output)
    try:
        audio, info = read_input(source)
        subtype = output_subtype(info.subtype, output, args.subtype)
    except (ValueError, OSError) as error:
        job.status, job.message = "failed", str(error).removeprefix(f"{source}: ")
        return restorer
    try:
        plan = task.plan(source, audio, info)
    except ValueError as error:  # the tool will not restore this file as asked (e.g. no clear band edge)
        job.status, job.message = "refused", str(error).removeprefix(f"{source}: ")
        return restorer
    job.message, job.restored = plan.message, task.restored_part(plan)
    if plan.status != "restore":
        job.status = plan.status
        return restorer
    restorer = restorer or load_restorer(args, choice)  # a model that does not load ends the run
    try:
        restored = task.restore(restorer, audio, plan, choice.steps, False)
        os.makedirs(os.path.dirname(output), exist_ok=True)
        # the record first: the audio, renamed into place last, marks the file as done
        provenance.write_record(output, wanted, run_facts(args, choice), {"source": os.path.abspath(source),
                                                                          **plan.params})
        write_audio(output, restored, subtype)
        job.status = "restored"
    except Exception as error:  # one file (out of memory, a full disk) must not end the run
        reason = str(error) if isinstance(error, (ValueError, OSError)) else f"{type(error).__name__}: {error}"
        job.status, job.message = "failed", reason
    return restorer


def _write_report(path, jobs):
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(REPORT_COLUMNS)
    for job in jobs:
        writer.writerow([job.source, job.output, job.status or "not_reached", f"{job.duration:.2f}", job.restored,
                         f"{job.compute_s:.1f}", job.message])
    write_text(path, text.getvalue())


def _summary(jobs, report, seconds):
    counts = {}
    for job in jobs:
        counts[job.status] = counts.get(job.status, 0) + 1
    parts = [f"restored {counts.pop('restored', 0)}", f"skipped {counts.pop('done', 0)} already done"]
    problems = [job for job in jobs if job.status in ("refused", "failed")]
    failed, refused = counts.pop("failed", 0), counts.pop("refused", 0)
    parts += [f"skipped {n} {status.replace('_', ' ')}" for status, n in sorted(counts.items())]
    parts += [f"refused {refused}", f"failed {failed}"]
    audio = sum(job.duration for job in jobs)
    print(f"{', '.join(parts)} (of {len(jobs)} files, {audio:.1f} s of audio, in {seconds:.1f} s); report: {report}")
    for job in problems[:SHOWN_PROBLEMS]:
        print(f"  {job.status}: {job.source}: {job.message}", file=sys.stderr)
    if len(problems) > SHOWN_PROBLEMS:
        print(f"  ... {len(problems) - SHOWN_PROBLEMS} more in {report}", file=sys.stderr)
    return 1 if failed else 0
