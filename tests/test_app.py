"""inference/app.py: the page's functions with the tiny model (the `model` fixture), and the page itself in a real
headless Chromium (Debian's, driven by Selenium through the system chromedriver; scripts/install.sh installs both)."""
import os
import socket
import subprocess
import sys
import time
import urllib.request
from argparse import Namespace

import numpy as np
import pytest
import soundfile as sf
import soxr

from audiokit.band_edge import BandEdge
from audiokit.constants import SAMPLE_RATE
from helpers import assert_one_line_error, brick_wall, kept_band_error, run_tool, write_corrupt
from inference import app, released
from inference.engine import Restorer

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
APP = os.path.join(REPO, "inference", "app.py")
SCREENSHOT = os.path.join(REPO, "docs", "images", "web_app.png")
UPDATE_SCREENSHOT_ENV = "A2SB_UPDATE_SCREENSHOT"  # =1: the browser test also writes the README's picture


def band_limited(music, seconds, channels=2, cutoff=4000):
    return np.stack([brick_wall(music(seconds, seed=seed), cutoff) for seed in range(channels)]).astype(np.float32)


@pytest.fixture
def upload(tmp_path, music):
    """A 3 s stereo file at 48 kHz in 24 bits, band-limited at 4 kHz, opened as the page opens an upload."""
    path = tmp_path / "song.wav"
    sf.write(path, soxr.resample(band_limited(music, 3.0).T, SAMPLE_RATE, 48000), 48000, subtype="PCM_24")
    folder = tmp_path / "upload"
    folder.mkdir()
    return app.open_upload(str(path), str(folder), max_seconds=600)


@pytest.fixture(scope="module")
def restorer(model):
    config, checkpoints = model
    return Restorer.from_config(config, checkpoints=checkpoints, device="cpu")


def app_args(*argv):
    return app.build_parser().parse_args([str(a) for a in argv])


# ---- uploads -----------------------------------------------------------------------------------------------

def test_an_upload_is_read_at_44k_with_its_band_edge_and_a_preview(upload):
    assert upload.name == "song.wav"
    assert upload.audio.shape == (2, 3 * SAMPLE_RATE)
    assert (upload.info.sample_rate, upload.info.channels, upload.info.subtype) == (48000, 2, "PCM_24")
    assert upload.edge.status == "edge" and 3800 < upload.edge.edge_hz < 4100
    assert app.suggested_cutoff(upload.edge) == round(upload.edge.edge_hz)
    preview = sf.info(upload.preview)
    assert (preview.samplerate, preview.channels, preview.subtype, preview.frames) == (SAMPLE_RATE, 2, "PCM_16",
                                                                                       3 * SAMPLE_RATE)
    assert "song.wav: 3.00 s, 48000 Hz, 2 channels, PCM_24" == app.describe_upload(upload)
    assert app.describe_edge(upload.edge).startswith("detected: band edge at")


def test_bad_uploads_give_the_tools_one_line_naming_the_file_not_the_servers_copy(tmp_path, music):
    text = write_corrupt(str(tmp_path / "notes.wav"))
    with pytest.raises(ValueError) as error:
        app.open_upload(text, str(tmp_path), max_seconds=600)
    assert app.named(error.value, text, "notes.wav") == "notes.wav: cannot decode audio (Format not recognised.)"
    long = str(tmp_path / "long.wav")
    sf.write(long, music(3.0), SAMPLE_RATE)
    with pytest.raises(ValueError) as error:
        app.open_upload(long, str(tmp_path), max_seconds=2)
    assert app.named(error.value, long, "long.wav") == "long.wav: 3.0 s long; this page takes files of up to 2 s"
    silent = str(tmp_path / "silent.wav")
    sf.write(silent, np.zeros(SAMPLE_RATE, dtype=np.float32), SAMPLE_RATE)
    with pytest.raises(ValueError, match="silent"):
        app.open_upload(silent, str(tmp_path), max_seconds=600)


def test_the_cutoff_follows_the_upsampling_tools_rules(upload):
    assert app.choose_cutoff(upload, None) == upload.edge.edge_hz
    assert app.choose_cutoff(upload, 6000) == 6000.0
    with pytest.raises(ValueError, match=r"^cutoff: cutoff 100 Hz is outside \[500, 22050\) Hz"):
        app.choose_cutoff(upload, 100)
    unsure = BandEdge("uncertain", None, 0.0, "no clear band edge found; the spectrum falls gradually")
    upload.edge = unsure
    assert app.suggested_cutoff(unsure) is None
    with pytest.raises(ValueError, match="^song.wav: no clear band edge found; the spectrum falls gradually; type a "
                                         "cutoff in Hz$"):
        app.choose_cutoff(upload, None)
    upload.edge = BandEdge("full_band", None, 0.9, "no band edge")
    with pytest.raises(ValueError, match="^song.wav: the input is full-band"):
        app.choose_cutoff(upload, None)
    assert app.choose_cutoff(upload, 8000) == 8000.0  # as the tool's --force --cutoff


def test_gaps_are_typed_as_in_the_inpainting_tool_or_found(upload):
    assert app.read_gaps(upload, "1.0-1.2, 2.0-2.5") == [(1.0, 1.2), (2.0, 2.5)]
    for text, message in (("", "no gaps given"), ("1.0", "bad gap '1.0'"), ("2.5-3.5", "lies outside the file"),
                          ("1.0-1.5,1.2-1.8", "overlap")):
        with pytest.raises(ValueError, match=message):
            app.read_gaps(upload, text)
    with pytest.raises(ValueError, match="^song.wav: no dropouts found"):
        app.find_gaps(upload, None, None)
    upload.audio[:, SAMPLE_RATE:SAMPLE_RATE + SAMPLE_RATE // 5] = 0
    (start, end), = app.find_gaps(upload, 10, -80)
    assert abs(start - 1.0) < 0.01 and abs(end - 1.2) < 0.01


# ---- restoring ---------------------------------------------------------------------------------------------

def test_bandwidth_extension_writes_the_file_its_preview_and_the_pictures(upload, restorer, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    result = app.restore(restorer, upload, app.Settings(app.BANDWIDTH, cutoff=4000, steps=2), str(out),
                         progress=False)
    assert os.path.basename(result.file) == "song_restored.wav"
    info = sf.info(result.file)
    assert (info.samplerate, info.channels, info.subtype, info.frames) == (SAMPLE_RATE, 2, "PCM_24", 3 * SAMPLE_RATE)
    restored, _ = sf.read(result.file, dtype="float32")
    for channel in range(2):
        assert kept_band_error(restored[:, channel], upload.audio[channel], 3500) < 1e-3
    assert sf.info(result.preview).subtype == "PCM_16"
    assert os.path.getsize(result.picture) > 1000
    assert result.summary.startswith("song.wav: bandwidth extension above 4000 Hz, 2 time points, seed 0: restored in")
    assert sorted(os.listdir(out)) == ["before_after.png", "restored.wav", "song_restored.wav"]  # no temporary left


def test_inpainting_keeps_the_audio_outside_the_gaps(upload, restorer, tmp_path):
    result = app.restore(restorer, upload, app.Settings(app.INPAINT, gaps="1.0-1.2", steps=2, mode="full"),
                         str(tmp_path), progress=False)
    restored, _ = sf.read(result.file, dtype="float32")
    reach = int(0.2 * SAMPLE_RATE)  # the regenerated frames reach 3 hops past the gap; 24-bit rounding elsewhere
    assert np.abs(restored[:SAMPLE_RATE - reach] - upload.audio.T[:SAMPLE_RATE - reach]).max() < 1e-6
    assert "inpainted 1.000-1.200 s, 2 time points" in result.summary


def test_restoring_checks_the_settings_before_sampling(upload, restorer, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(ValueError, match="^time points: the number of sampling time points must be an integer of at "
                                         "least 2"):
        app.restore(restorer, upload, app.Settings(app.BANDWIDTH, cutoff=4000, steps=1), str(out))
    with pytest.raises(ValueError, match="^song.wav: gap"):
        app.restore(restorer, upload, app.Settings(app.INPAINT, gaps="2.9-3.5", steps=2), str(out))
    assert os.listdir(out) == []


def test_a_flac_stays_flac_and_an_mp3_becomes_wav(tmp_path, music, restorer):
    for name, subtype, expected in (("a.flac", "PCM_16", ("a_restored.flac", "PCM_16")),
                                    ("b.mp3", "MPEG_LAYER_III", ("b_restored.wav", "PCM_16"))):
        path = str(tmp_path / name)
        sf.write(path, band_limited(music, 2.0, channels=1)[0], SAMPLE_RATE, subtype=subtype)
        upload = app.open_upload(path, str(tmp_path), max_seconds=600)
        out = tmp_path / name.replace(".", "_")
        out.mkdir()
        result = app.restore(restorer, upload, app.Settings(cutoff=4000, steps=2), str(out), progress=False)
        assert (os.path.basename(result.file), sf.info(result.file).subtype) == expected


# ---- models and sessions -----------------------------------------------------------------------------------

def test_the_model_named_at_startup_comes_first_and_is_loaded_once(model):
    config, checkpoints = model
    models = app.Models(app_args("--config", config, "--ckpt", ",".join(checkpoints), "--device", "cpu"))
    label = "tiny_sampling.yaml + expert0.ckpt + expert1.ckpt"
    assert models.labels[0] == label
    assert models.get(label) is models.get(label)
    assert (models.default_steps(label, app.BANDWIDTH), models.default_steps(label, app.INPAINT)) == (50, 200)
    with pytest.raises(ValueError, match="unknown model 'other'"):
        models.get("other")
    with_steps = app.Models(app_args("--config", config, "--ckpt", ",".join(checkpoints), "-n", 3))
    assert with_steps.default_steps(label, app.INPAINT) == 3


def test_the_shipped_model_is_the_default_and_released_models_are_offered_only_when_here(tmp_path, monkeypatch):
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "empty_cache"))
    monkeypatch.setattr(released, "MODELS", {name: released.MODELS[name] for name in ("twosplit", "onesplit")})
    monkeypatch.chdir(tmp_path)
    assert not app.released_here("twosplit")
    assert list(app.model_options(app_args("--model", "onesplit"))) == ["onesplit"]
    for name in released.model_files("twosplit"):  # the files as local paths
        (tmp_path / name).touch()
    assert app.released_here("twosplit")
    # in the Hub's cache layout
    snapshot = tmp_path / "cache" / f"models--{released.HUB_REPO.replace('/', '--')}"
    (snapshot / "refs").mkdir(parents=True)
    (snapshot / "refs" / "main").write_text("abc")
    (snapshot / "snapshots" / "abc" / released.HUB_FOLDER).mkdir(parents=True)
    for name in released.model_files("onesplit"):
        (snapshot / "snapshots" / "abc" / released.HUB_FOLDER / name).touch()
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "cache"))
    assert list(app.model_options(app_args("--ckpt", "x.ckpt"))) == ["ensemble_2split_sampling.yaml + x.ckpt",
                                                                    "twosplit", "onesplit"]
    monkeypatch.delenv("A2SB_CHECKPOINTS", raising=False)
    with pytest.raises(ValueError, match="^no model named: pass --config CONFIG.yaml --ckpt CHECKPOINT"):
        app.model_options(app_args())
    monkeypatch.setitem(released.MODELS, app.SHIPPED_MODEL, "small_sampling.yaml")
    assert list(app.model_options(app_args()))[0] == app.SHIPPED_MODEL


def test_each_session_keeps_its_files_in_its_own_folder_until_it_ends(tmp_path):
    sessions = app.Sessions(str(tmp_path))
    one, two = Namespace(session_hash="one"), Namespace(session_hash="two")
    first = sessions.folder(one, "restore")
    later = sessions.folder(one, "restore")
    upload = sessions.folder(one, "upload")
    assert not os.path.exists(first) and os.path.isdir(later) and os.path.isdir(upload)
    other = sessions.folder(two, "restore")
    sessions.end(one)
    assert os.listdir(tmp_path) == ["two"] and os.path.isdir(other)


def test_the_page_builds_with_its_controls(model, tmp_path):
    config, checkpoints = model
    args = app_args("--config", config, "--ckpt", ",".join(checkpoints), "--device", "cpu")
    page = app.build_page(app.Models(args), args, app.Sessions(str(tmp_path)))
    ids = {block.elem_id for block in page.blocks.values() if getattr(block, "elem_id", None)}
    assert {"upload", "cutoff", "gaps", "steps", "seed", "restore", "status", "original", "restored",
            "download"} <= ids


def test_bad_startup_options_end_in_one_line(model, capsys, tmp_path):
    config, _ = model
    code, _, err = run_tool(app.main, ["--config", config, "--ckpt", tmp_path / "missing.ckpt"], capsys)
    assert_one_line_error(code, err, "missing.ckpt", "not found")
    code, _, err = run_tool(app.main, ["--max-minutes", "0"], capsys)
    assert_one_line_error(code, err, "--max-minutes: must be positive")


def test_the_documented_command_parses():
    done = subprocess.run([sys.executable, APP, "--help"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    for option in ("--host", "--port", "--max-upload-mb", "--max-minutes", "--model", "--config", "--ckpt"):
        assert option in done.stdout


# ---- the page in a real browser ----------------------------------------------------------------------------

SERVER_START_S = 180  # torch and gradio imports on a busy 2-core machine
RESTORE_S = 240
UI_S = 60


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def answers(url):
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status == 200
    except OSError:
        return False


@pytest.fixture(scope="module")
def server(model, tmp_path_factory):
    """The app on a free local port in a subprocess with the tiny model, its temporary files in a folder of their own
    (`files`); stopped at the end of the module, after which it must have left no file there."""
    config, checkpoints = model
    log_path = tmp_path_factory.mktemp("app") / "server.log"
    files = tmp_path_factory.mktemp("app_files")
    port = free_port()
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "TMPDIR": str(files)}
    with open(log_path, "w") as log:
        process = subprocess.Popen([sys.executable, APP, "--config", config, "--ckpt", ",".join(checkpoints),
                                    "--device", "cpu", "--port", str(port)], stdout=log, stderr=subprocess.STDOUT,
                                   env=env, cwd=REPO)
    try:
        url = f"http://127.0.0.1:{port}/"
        deadline = time.monotonic() + SERVER_START_S
        while not answers(url):
            assert process.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, f"the app did not start in {SERVER_START_S} s:\n{log_path.read_text()}"
            time.sleep(0.5)
        assert url.rstrip("/") in log_path.read_text()  # it prints its address
        yield Namespace(url=url, files=files)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=20)
    # (Gradio leaves an empty folder of its own there, made when it is imported)
    assert [path for path in files.rglob("*") if path.is_file()] == [], log_path.read_text()
    assert not list(files.glob("a2sb_app_*")), log_path.read_text()


@pytest.fixture
def browser(tmp_path, monkeypatch):
    """Debian's headless Chromium through the system chromedriver (Selenium Manager never downloads anything)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    for program in ("/usr/bin/chromium", "/usr/bin/chromedriver"):
        assert os.path.exists(program), f"{program} is missing: run scripts/install.sh"
    monkeypatch.setenv("SE_OFFLINE", "true")
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1250"):
        options.add_argument(argument)
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    options.add_experimental_option("prefs", {"download.default_directory": str(downloads),
                                              "download.prompt_for_download": False})
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    driver.set_page_load_timeout(UI_S)
    driver.downloads = downloads
    try:
        yield driver
    finally:
        driver.quit()


def wait_for(driver, seconds, condition, what):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, seconds, poll_frequency=0.25).until(condition,
                                                                     message=f"waited {seconds} s for {what}")


def element(driver, css):
    from selenium.webdriver.common.by import By

    return driver.find_element(By.CSS_SELECTOR, css)


def elements(driver, css):
    from selenium.webdriver.common.by import By

    return driver.find_elements(By.CSS_SELECTOR, css)


def open_page(driver, url):
    driver.get(url)
    wait_for(driver, UI_S, lambda d: elements(d, "#upload input[type=file]"), "the upload field")


def upload_file(driver, path):
    element(driver, "#upload input[type=file]").send_keys(str(path))


def set_number(driver, css, value):
    field = element(driver, css)
    field.clear()
    field.send_keys(str(value))


def session_folders(server):
    (root,) = server.files.glob("a2sb_app_*")
    sessions = root / "sessions"
    return os.listdir(sessions) if sessions.exists() else []


def prepare_bandwidth(driver, url, path, steps):
    """Opens the page, uploads `path`, waits for its band edge and sets the time points."""
    open_page(driver, url)
    upload_file(driver, path)
    wait_for(driver, UI_S, lambda d: "detected: band edge" in element(d, "#about").text, "the band edge")
    set_number(driver, "#steps input", steps)


def wait_for_restored(driver):
    wait_for(driver, RESTORE_S, lambda d: elements(d, "#download a") and elements(d, "#restored audio"),
             "the restored player and file")


@pytest.mark.slow
def test_the_page_restores_an_upload_and_shows_errors_in_one_line(server, browser, tmp_path, music):
    stereo = band_limited(music, 3.0)
    source = tmp_path / "three_seconds.wav"
    sf.write(source, stereo.T, SAMPLE_RATE, subtype="PCM_16")
    text = write_corrupt(str(tmp_path / "not_audio.wav"))
    shots = tmp_path / "screenshots"
    shots.mkdir()

    open_page(browser, server.url)
    browser.save_screenshot(str(shots / "1_empty.png"))
    upload_file(browser, text)
    wait_for(browser, UI_S, lambda d: element(d, "#status").text.strip(), "the error line")
    browser.save_screenshot(str(shots / "2_not_audio.png"))
    assert element(browser, "#status").text.strip() == \
        "error: not_audio.wav: cannot decode audio (Format not recognised.)"
    assert "Traceback" not in browser.page_source
    assert not element(browser, "#restore").is_enabled()

    prepare_bandwidth(browser, server.url, source, steps=3)
    browser.save_screenshot(str(shots / "3_uploaded.png"))
    cutoff = int(element(browser, "#cutoff input").get_attribute("value"))
    assert 3800 < cutoff < 4100
    element(browser, "#restore").click()
    wait_for_restored(browser)
    browser.save_screenshot(str(shots / "4_restored.png"))
    status = element(browser, "#status").text
    assert status.startswith(f"three_seconds.wav: bandwidth extension above {cutoff} Hz, 3 time points"), status

    element(browser, "#download a").click()
    restored = browser.downloads / "three_seconds_restored.wav"
    wait_for(browser, UI_S, lambda d: restored.exists(), "the download")
    info = sf.info(restored)
    assert (info.samplerate, info.channels, info.frames, info.subtype) == (SAMPLE_RATE, 2, stereo.shape[1], "PCM_16")
    if os.environ.get(UPDATE_SCREENSHOT_ENV) == "1":
        save_small_png(shots / "4_restored.png", SCREENSHOT)
    # leaving the page ends the session: its files go at once
    assert session_folders(server)
    browser.get("about:blank")
    wait_for(browser, UI_S, lambda d: not session_folders(server), "the session's files to go")


def save_small_png(source, target):
    """The README's picture of the page: 256 colours keep it small."""
    from PIL import Image

    os.makedirs(os.path.dirname(target), exist_ok=True)
    Image.open(source).convert("RGB").quantize(256).save(target, optimize=True)


@pytest.mark.slow
def test_two_restorations_at_once_queue_and_both_finish(server, browser, tmp_path, music):
    paths = []
    for name in ("first.wav", "second.wav"):
        paths.append(tmp_path / name)
        sf.write(paths[-1], band_limited(music, 3.0, channels=1)[0], SAMPLE_RATE)
    prepare_bandwidth(browser, server.url, paths[0], steps=8)  # long enough for the second to wait behind it
    first = browser.current_window_handle
    browser.switch_to.new_window("tab")
    prepare_bandwidth(browser, server.url, paths[1], steps=3)
    second = browser.current_window_handle
    browser.switch_to.window(first)
    element(browser, "#restore").click()
    browser.switch_to.window(second)
    element(browser, "#restore").click()
    wait_for(browser, UI_S, lambda d: "queue: 1/1" in element(d, "#restored").text, "the queue position")
    browser.save_screenshot(str(tmp_path / "queued.png"))
    wait_for_restored(browser)
    browser.switch_to.window(first)
    wait_for_restored(browser)
    assert "first.wav: bandwidth extension" in element(browser, "#status").text
