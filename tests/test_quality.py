"""benchmarks/quality.py end to end: two generated files, a tiny checkpoint, every task and method."""
import json
import os

import pytest
import soundfile as sf

from benchmarks import quality
from datasets.synthetic import music_like
from inference import evaluate

SR = 44100


@pytest.fixture
def folder(tmp_path):
    for i, seconds in enumerate((4.0, 5.0)):
        os.makedirs(tmp_path / "music" / f"album{i}")
        sf.write(tmp_path / "music" / f"album{i}" / "track.wav", music_like(seconds, seed=i), SR, subtype="PCM_16")
    return tmp_path / "music"


def run(argv, capsys):
    code = quality.main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.slow
def test_table_has_every_method_and_task_and_matches_evaluate(tmp_path, folder, model, capsys, monkeypatch):
    config, checkpoints = model
    out = tmp_path / "out"
    argv = ["--folder", folder, "--model", f"tiny={config}:{','.join(checkpoints)}", "--tasks", "bwe4000,inpaint",
            "--steps", "2,3", "--samplers", "sde,ode", "--gains", "0.03", "--excerpt-seconds", 3.5, "--device", "cpu",
            "--out", out, "-q"]
    code, printed, err = run(argv, capsys)
    assert code == 0, err
    report = (out / "results.md").read_text()
    for name in ("bwe4000", "inpaint"):
        assert (out / f"{name}.png").stat().st_size > 10000
        summary = json.loads((out / f"{name}.json").read_text())["summary"]
        labels = [(row["method"], row["sampler"], row["steps"]) for row in summary]
        baseline = "band replication" if name == "bwe4000" else "LPC interpolation"
        assert labels == [("degraded input", "", ""), (baseline, "", ""), ("tiny", "sde", 2), ("tiny", "sde", 3),
                          ("tiny", "ode", 2), ("tiny", "ode", 3)]
        assert all(row["n"] == 2 and row["compute_s_per_s"] >= 0 for row in summary)
        csv_lines = (out / f"{name}.csv").read_text().splitlines()
        assert len(csv_lines) == 1 + 6 * 2
        for label, sampler, steps in labels:
            assert f"| {label} | {sampler or '-'} | {steps or '-'} | 2 |" in report
    # the numbers are evaluate.py's on the same files
    for task, baseline in (("bwe4000", "band replication"), ("inpaint", "LPC interpolation")):
        summary = json.loads((out / f"{task}.json").read_text())["summary"]
        ours = {(r["method"], r["sampler"], r["steps"]): r for r in summary}
        folder_name = quality.parse_tasks(task)[0].folder
        for slug, key in (("degraded", ("degraded input", "", "")), ("baseline", (baseline, "", "")),
                          ("tiny_sde_3", ("tiny", "sde", 3)), ("tiny_ode_2", ("tiny", "ode", 2))):
            assert evaluate.main([str(out / "runs" / slug), "-q"]) == 0
            expected = json.loads((out / "runs" / slug / "results.json").read_text())["summary"]
            want = next(s for s in expected if s["dataset"] == "gain=1" and s["task"] == folder_name)
            for metric in evaluate.METRICS:
                if want[metric] is None:
                    assert ours[key][metric] is None
                else:
                    assert ours[key][metric] == pytest.approx(want[metric], rel=1e-9), (task, slug, metric)
    # the degraded input scores as expected: nothing above the cutoff, LSD low near 0; the baseline helps
    bwe = json.loads((out / "bwe4000.json").read_text())["summary"]
    assert bwe[0]["lsd_high"] > 2 * bwe[1]["lsd_high"] and bwe[0]["lsd_low"] < 1.5
    gaps = json.loads((out / "inpaint.json").read_text())["summary"]
    assert gaps[1]["lsd_gap"] < 0.5 * gaps[0]["lsd_gap"]
    # the steps and samplers table: the regenerated part's LSD per task, as in the task tables
    steps_table = report.split("## Steps and samplers")[1].split("##")[0]
    sde3 = next(line for line in steps_table.splitlines() if line.startswith("| tiny | sde | 3 |"))
    bwe_sde3 = next(r for r in bwe if r["sampler"] == "sde" and r["steps"] == 3)
    assert sde3.split("|")[4].strip() == f"{bwe_sde3['lsd_high']:.3f}"
    # excerpt by excerpt against the baseline: the count and mean difference from the per-file rows
    rows = json.loads((out / "bwe4000.json").read_text())["files"]
    ours = [r["lsd_high"] for r in rows if r["method"] == "tiny" and r["sampler"] == "ode" and r["steps"] == 2]
    theirs = [r["lsd_high"] for r in rows if r["method"] == "band replication"]
    wins = sum(a < b for a, b in zip(ours, theirs))
    diff = sum(a - b for a, b in zip(ours, theirs)) / len(ours)
    assert f"| tiny | ode | 2 | bwe4000 | {wins} of 2 | {diff:+.3f} |" in report
    # the level sweep has both gains for each task, at the most steps of the first sampler
    assert "| tiny | bwe4000 | x0.03 |" in report and "| tiny | inpaint | x1 |" in report
    assert (out / "runs" / "tiny_sde_3" / "gain=0.03" / "cutoff_freq=4000").is_dir()
    assert not (out / "runs" / "tiny_ode_3" / "gain=0.03").exists()

    # a rerun restores nothing (everything is on disk) and writes the same tables
    before = (out / "bwe4000.json").read_text()
    monkeypatch.setattr(quality.Method, "restore", lambda *a: pytest.fail("restored again"))
    code, _, err = run(argv, capsys)
    assert code == 0, err
    assert (out / "bwe4000.json").read_text() == before
    # other excerpts (another seed) may not mix into the same folder
    code, _, err = run([*argv, "--seed", 1], capsys)
    assert code == 1 and "other excerpt settings" in err


def test_bad_arguments(tmp_path, folder, capsys):
    code, _, err = run(["--folder", folder, "--tasks", "bwe30000", "--out", tmp_path / "o"], capsys)
    assert code == 1 and "cutoff 30000 Hz" in err
    code, _, err = run(["--folder", folder, "--tasks", "denoise", "--out", tmp_path / "o"], capsys)
    assert code == 1 and "unknown task 'denoise'" in err
    code, _, err = run(["--folder", folder, "--model", "x=missing.yaml:a.ckpt", "--out", tmp_path / "o"], capsys)
    assert code == 1 and "missing.yaml: file not found" in err
    code, _, err = run(["--folder", folder, "--model", "degraded=a:b", "--out", tmp_path / "o"], capsys)
    assert code == 1 and "NAME must be" in err
    with pytest.raises(SystemExit):
        quality.main(["--folder", str(folder), "--steps", "1"])
    assert "at least 2" in capsys.readouterr().err
    code, _, err = run(["--folder", tmp_path / "nowhere", "--out", tmp_path / "o"], capsys)
    assert code == 1 and "not a folder" in err


def test_level_norm_choices_reach_the_engine(tmp_path, model):
    config, checkpoints = model
    spec = f"tiny={config}:{','.join(checkpoints)}"
    both = quality.parse_model(spec, "cpu", "both")
    assert [(m.name, m.overrides) for m in both] == [("tiny-norm", {"normalize_level": True}),
                                                     ("tiny-raw", {"normalize_level": False})]
    assert both[1].load().normalize_level is False and both[0].load().normalize_level is True
    assert quality.parse_model(spec, "cpu", "config")[0].load().normalize_level is True  # the engine default
    assert quality.parse_model(spec, "cpu", "off")[0].overrides == {"normalize_level": False}


def test_several_excerpts_per_file_each_in_its_own_stretch(tmp_path):
    path = tmp_path / "long.wav"
    sf.write(path, music_like(13.0), SR)
    files = [("long.wav", str(path))]
    parts, skipped = quality.choose_excerpts(files, 3.0, None, seed=0, per_file=4)
    assert skipped == [] and len({e.name for e in parts}) == 4 and {e.seconds for e in parts} == {3.0}
    spans = sorted((e.start_s, e.start_s + e.seconds) for e in parts)
    for k, (start, end) in enumerate(spans):  # the k-th quarter (3.25 s) holds the k-th excerpt
        assert k * 3.25 - 0.005 <= start and end <= (k + 1) * 3.25 + 0.005
    assert len({round(start % 3.25, 2) for start, _ in spans}) > 1  # positions inside the stretches vary
    single, _ = quality.choose_excerpts(files, 3.0, None, seed=0)
    assert [e.name for e in single] == [quality.item_folder_name("long.wav")]  # one excerpt: the names of before
    none, skipped = quality.choose_excerpts(files, 3.0, None, seed=0, per_file=5)
    assert none == [] and skipped == [f"{path}: too short (13.00 s, need 15 s)"]


def test_excerpts_are_seeded_and_independent_of_listing_order(folder):
    files = [(f"album{i}/track.wav", str(folder / f"album{i}" / "track.wav")) for i in range(2)]
    first, _ = quality.choose_excerpts(files, 3.0, None, seed=0)
    again, _ = quality.choose_excerpts(files[::-1], 3.0, None, seed=0)
    assert first == again and [e.seconds for e in first] == [3.0, 3.0]
    assert 0 <= first[0].start_s <= 1.0 and 0 <= first[1].start_s <= 2.0
    starts = {tuple(e.start_s for e in quality.choose_excerpts(files, 3.0, None, seed=s)[0]) for s in range(4)}
    assert len(starts) > 1
    one, _ = quality.choose_excerpts(files, 3.0, 1, seed=0)
    assert len(one) == 1
    short, skipped = quality.choose_excerpts(files, 10.0, None, seed=0)
    assert [e.seconds for e in short] == [4.0, 5.0] and skipped == []
    (folder / "broken.wav").write_bytes(b"RIFF garbage" * 20)
    sf.write(folder / "short.wav", music_like(2.0), SR)
    files += [("broken.wav", str(folder / "broken.wav")), ("short.wav", str(folder / "short.wav"))]
    kept, skipped = quality.choose_excerpts(files, 10.0, None, seed=0)
    assert len(kept) == 2 and len(skipped) == 2
    broken, short = sorted(skipped)
    assert broken.startswith(f"{folder / 'broken.wav'}: cannot decode")
    assert short == f"{folder / 'short.wav'}: too short (2.00 s, need 3 s)"
