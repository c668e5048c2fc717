"""Every command the README and docs/ show in ```bash blocks, and their Python examples, run here, so the docs
cannot drift from the code.

Each command runs through bash, as a reader would paste it, in a scratch copy of the repository's layout
(symbolic links) that also holds the files the examples name: degraded.wav, in.wav and a randomly initialised
checkpoint of configs/tiny_cpu.yaml at demo_run/tiny/checkpoints/last.ckpt (what scripts/demo.sh leaves).
- RUN: cheap commands, run for real.
- NOT_RUN: commands that cannot run here, each with the reason.
- all others are run with `python` standing for tests/argcheck.py: every option is parsed by the program's own
  parser (argparse or the Lightning CLI, config files included) and nothing more happens. That is how commands
  that need a GPU, a download or real music are checked.
"""
import glob
import os
import re
import stat
import subprocess
import sys

import pytest
import yaml

from argcheck import PARSED
from audiokit.tool_io import write_audio
from corrupt.waveform import band_limit
from datasets.synthetic import music_like
from models.unet import UNet
from models.unet_weights import save_released_layout

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOCS = ["README.md", *sorted(os.path.relpath(path, ROOT) for pattern in ("*.md", "results/*.md")
                              for path in glob.glob(os.path.join(ROOT, "docs", pattern)))]
# What a command may use from the repository (linked into the scratch folder where it exists).
LAYOUT = ("main.py", "configs", "audiokit", "datasets", "corrupt", "models", "inference", "benchmarks", "scripts",
          "tests", "pretrained", "requirements.txt")

NOT_RUN = {
    "bash scripts/demo.sh": "installs packages, then trains and restores for about five minutes",
    "bash scripts/install.sh && python3 -m pytest -q tests": "installs packages and runs this very test suite",
    "bash scripts/train_small.sh": "installs music with apt-get and trains for an hour",
}
RUN = {
    "python inference/A2SB_upsample_api.py -f degraded.wav -o restored.wav -n 5 --config configs/tiny_cpu.yaml "
    "--ckpt demo_run/tiny/checkpoints/last.ckpt": "restored.wav",
    "python inference/A2SB_inpaint_api.py -f in.wav -o out.wav --gaps 1.0-1.3,3.7-4.0 -n 5 --config "
    "configs/tiny_cpu.yaml --ckpt demo_run/tiny/checkpoints/last.ckpt": "out.wav",
    "python main.py fit --config configs/pretrain.yaml --print_config": None,
}


def fenced(language):
    """{block text: [doc:line, ...]} of every ```language block of the docs."""
    blocks = {}
    for doc in DOCS:
        with open(os.path.join(ROOT, doc)) as file:
            text = file.read()
        for match in re.finditer(rf"^```{language}\n(.*?)^```", text, re.S | re.M):
            blocks.setdefault(match.group(1), []).append(f"{doc}:{text[:match.start()].count(chr(10)) + 2}")
    return blocks


def commands():
    """{command: [doc:line, ...]}: each line of the bash blocks, continuations joined, comments left out."""
    found = {}
    for block, places in fenced("bash").items():
        for line in re.sub(r"[ \t]*\\\n\s*", " ", block).splitlines():
            command = re.sub(r"\s+#.*$", "", line).strip()
            if command and not command.startswith("#"):
                found.setdefault(command, []).extend(places)
    return found


COMMANDS = commands()
PARSE_ONLY = sorted(set(COMMANDS) - set(NOT_RUN) - set(RUN))


def test_the_docs_show_commands_and_every_list_names_one():
    assert len(COMMANDS) >= 20 and PARSE_ONLY
    stale = sorted((set(NOT_RUN) | set(RUN)) - set(COMMANDS))
    assert not stale, f"listed here but no longer in the docs: {stale}"


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    """A scratch folder laid out like the repository, with the files the examples read."""
    root = tmp_path_factory.mktemp("docs_commands")
    for name in LAYOUT:
        if os.path.exists(os.path.join(ROOT, name)):
            os.symlink(os.path.join(ROOT, name), root / name)
    music = music_like(6.0, seed=1)[None]
    write_audio(str(root / "in.wav"), music)
    write_audio(str(root / "degraded.wav"), band_limit(music, 4000.0))
    with open(os.path.join(ROOT, "configs", "tiny_cpu.yaml")) as file:
        network = yaml.safe_load(file)["model"]["vf_model"]["init_args"]
    (root / "demo_run" / "tiny" / "checkpoints").mkdir(parents=True)
    save_released_layout(UNet(**network), root / "demo_run" / "tiny" / "checkpoints" / "last.ckpt")
    return root


def python_path(workdir, name, body):
    """A folder whose `python` and `python3` are shell scripts running BODY (where this test's interpreter is
    $PYTHON): the docs say `python` and `python3`, and a machine may have only one of them."""
    folder = workdir / name
    if not folder.exists():
        folder.mkdir()
        for program in ("python", "python3"):
            path = folder / program
            path.write_text(f'#!/bin/sh\nPYTHON="{sys.executable}"\n{body}\n')
            path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(folder)


def parse_only_path(workdir):
    """`python` runs tests/argcheck.py and logs each call to $CALLS."""
    return python_path(workdir, "argcheck_bin", f'echo "$*" >> "$CALLS"\n'
                                                f'exec "$PYTHON" "{os.path.join(ROOT, "tests", "argcheck.py")}" "$@"')


def real_path(workdir):
    """`python` is this test's interpreter."""
    return python_path(workdir, "python_bin", 'exec "$PYTHON" "$@"')


def bash(command, cwd, path_first, **env):
    path = os.pathsep.join([path_first, os.environ["PATH"]])
    env = dict(os.environ, PATH=path, OMP_NUM_THREADS="2", **env)
    env.pop("A2SB_CHECKPOINTS", None)
    return subprocess.run(["bash", "-c", command], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


@pytest.mark.slow
@pytest.mark.parametrize("command", PARSE_ONLY)
def test_command_parses(command, workdir, tmp_path):
    calls = tmp_path / "calls"
    result = bash(command, workdir, parse_only_path(workdir), CALLS=str(calls))
    where = ", ".join(COMMANDS[command])
    assert result.returncode == 0, f"{where}: {command}\n{result.stderr[-2000:]}"
    runs = calls.read_text().splitlines() if calls.exists() else []
    assert runs, f"{where}: {command}: no python command ran"
    assert result.stdout.count(PARSED) == len(runs), f"{where}: {command}\n{result.stderr[-2000:]}"


@pytest.mark.slow
@pytest.mark.parametrize("command", sorted(RUN))
def test_command_runs(command, workdir):
    result = bash(command, workdir, real_path(workdir))
    assert result.returncode == 0, f"{', '.join(COMMANDS[command])}: {command}\n{result.stderr[-2000:]}"
    if RUN[command]:
        assert (workdir / RUN[command]).stat().st_size > 0
        os.remove(workdir / RUN[command])


@pytest.mark.slow
@pytest.mark.parametrize("example", sorted(fenced("python")))
def test_python_example_runs(example, workdir):
    result = subprocess.run([sys.executable, "-c", example], cwd=workdir, capture_output=True, text=True,
                            timeout=600, env=dict(os.environ, OMP_NUM_THREADS="2"))
    assert result.returncode == 0, f"{', '.join(fenced('python')[example])}:\n{result.stderr[-2000:]}"


def test_relative_links_name_existing_files():
    """Links between the docs (and to pictures) survive files moving."""
    history = glob.glob(os.path.join(ROOT, "docs", "*", "*.md"))
    documents = [*DOCS, *sorted(os.path.relpath(path, ROOT) for path in history),
                 os.path.join("benchmarks", "README.md")]
    broken = []
    for doc in documents:
        with open(os.path.join(ROOT, doc)) as file:
            targets = re.findall(r"\]\(([^)\s]+)\)", file.read())
        for target in targets:
            path = target.split("#")[0]
            if path and not re.match(r"[a-z]+:", path) and \
                    not os.path.exists(os.path.join(ROOT, os.path.dirname(doc), path)):
                broken.append(f"{doc}: {target}")
    assert not broken


def test_not_run_commands_name_existing_scripts():
    for command in NOT_RUN:
        for script in re.findall(r"scripts/\S+\.sh", command):
            assert os.path.isfile(os.path.join(ROOT, script)), command
