"""A web page that restores one audio file and lets you hear and see the difference.

    python inference/app.py                                        # the shipped model, on http://127.0.0.1:7860
    python inference/app.py --config CONFIG.yaml --ckpt EXPERT.ckpt [--port 8080] [--max-minutes 5]

Upload a file (any rate, mono or multichannel, WAV / FLAC / OGG / MP3), choose bandwidth extension or inpainting,
press Restore, then compare the original and restored players and spectrograms and download the result (44.1 kHz,
the input's channels and sample format). Bandwidth extension shows the band edge detected on upload (the picture
and words of the upsampling tool's --plot) and keeps it unless you type another cutoff; an uncertain answer leaves
the cutoff empty, and the page waits for one. Inpainting takes gaps typed as in --gaps, or finds dropouts and
marks them on the waveform. The page runs the engine, the checks and the one-line error messages of the
command-line tools (inference/A2SB_upsample_api.py and A2SB_inpaint_api.py).

Serving: it listens on 127.0.0.1 unless --host says otherwise; one restoration runs at a time and the others wait
in a queue whose position the page shows; uploads larger than --max-upload-mb or longer than --max-minutes are
refused with a message; each browser session's files are deleted when the session ends, and everything when the
app stops. The browser never names a path on the server: the models are the ones named when the app starts (the
model options of the tools) and the released models whose checkpoints are already here.
"""
import argparse
import inspect
import os
import shutil
import signal
import sys
import tempfile
import time
from argparse import Namespace
from dataclasses import dataclass
from html import escape

import numpy as np
import yaml

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import gradio as gr  # noqa: E402
from huggingface_hub import try_to_load_from_cache  # noqa: E402

from audiokit.band_edge import BandEdge, detect_band_edge  # noqa: E402
from audiokit.cli import USER_ERRORS, run_main  # noqa: E402
from audiokit.constants import SAMPLE_RATE  # noqa: E402
from audiokit.decoding import AudioInfo, info as audio_info  # noqa: E402
from audiokit.plots import EdgeMark, save_spectrogram_png, save_waveform_png  # noqa: E402
from audiokit.tool_io import InputError, output_subtype, read_input, write_audio  # noqa: E402
from inference import released  # noqa: E402
from inference.A2SB_inpaint_api import _DETECT_DEFAULTS, describe, parse_gaps  # noqa: E402
from inference.cli_common import add_model_options, load_restorer, sampling_config  # noqa: E402
from inference.engine import CHECKPOINTS_ENV, INPAINT_MODES, Restorer, check_cutoff  # noqa: E402
from inference.gaps import detect_gaps, validate_gaps  # noqa: E402
from models.bridge import check_steps  # noqa: E402

SHIPPED_MODEL = "small"  # the page's model when none is named, once inference/released.py ships it
BANDWIDTH, INPAINT = "Bandwidth extension", "Inpainting"
KEPT_CONTAINERS = (".wav", ".flac")  # lossless containers the restored file keeps; others become WAV
MIB = 1024 * 1024  # Gradio's MB
CACHE_SWEEP = (600, 3600)  # Gradio's copies of uploads and outputs: every 10 min, those older than an hour go


# ---- one upload ------------------------------------------------------------------------------------------

@dataclass
class Upload:
    """A file as the page holds it: its name as the user knows it, its audio at 44.1 kHz (channels, samples),
    the file's own format, the band edge found in it, and the 16-bit WAV of it that the original player plays."""
    name: str
    audio: np.ndarray
    info: AudioInfo
    edge: BandEdge
    preview: str

    @property
    def seconds(self):
        return self.audio.shape[1] / SAMPLE_RATE


def named(error, path, name):
    """The one-line message of a user error, with the server's copy of the upload called by the file's own name."""
    return str(error).replace(path, name) if path else str(error)


def open_upload(path, folder, max_seconds):
    """Reads and checks an uploaded file as the tools do, finds its band edge, writes its preview into `folder`."""
    seconds = audio_info(path).duration  # the header alone: a file too long is refused before it is decoded
    if seconds > max_seconds:
        raise InputError(f"{path}: {seconds:.1f} s long; this page takes files of up to {max_seconds:g} s")
    audio, file_info = read_input(path)
    edge = detect_band_edge(audio, SAMPLE_RATE, source_sr=file_info.sample_rate)
    preview = os.path.join(folder, "original.wav")
    write_audio(preview, audio, "PCM_16")
    return Upload(os.path.basename(path), audio, file_info, edge, preview)


def describe_upload(upload):
    channels = upload.info.channels
    return (f"{upload.name}: {upload.seconds:.2f} s, {upload.info.sample_rate} Hz, {channels} "
            f"channel{'s' if channels > 1 else ''}, {upload.info.subtype}")


def describe_edge(edge):
    """What the detector concluded, in the words the upsampling tool prints, and what the page does with it."""
    if edge.status == "edge":
        return (f"detected: {edge.message} (confidence {edge.confidence:.2f}); kept as the cutoff unless you type "
                "another")
    if edge.status == "full_band":
        return f"full band: {edge.message}; nothing is missing (type a cutoff to regenerate above it anyway)"
    return f"uncertain: {edge.message}; type a cutoff in Hz to restore"


def edge_picture(upload, folder):
    """The input's spectrogram beside its average spectrum with the edge marked: what the tool's --plot shows."""
    edge = upload.edge
    if edge.status == "edge":
        title = f"band edge {edge.edge_hz:.0f} Hz, confidence {edge.confidence:.2f}"
    else:
        title = f"{edge.status.replace('_', ' ')} (confidence {edge.confidence:.2f})"
    path = os.path.join(folder, "band_edge.png")
    save_spectrogram_png(path, {upload.name: upload.audio.mean(axis=0)}, SAMPLE_RATE, None,
                         EdgeMark(edge.edge_hz, edge.spectrum_hz, edge.spectrum_db, title))
    return path


def waveform_picture(upload, gaps, folder):
    """The waveform with the gaps shaded."""
    path = os.path.join(folder, "gaps.png")
    title = f"gaps: {describe(gaps)}" if gaps else "no gaps marked"
    save_waveform_png(path, upload.audio.mean(axis=0), SAMPLE_RATE, gaps, title)
    return path


def suggested_cutoff(edge):
    """The cutoff field's value after an upload: the detected edge, or nothing where the detector saw none."""
    return round(edge.edge_hz) if edge.status == "edge" else None


def choose_cutoff(upload, cutoff):
    """The cutoff to restore above, by the upsampling tool's rules: a typed one (also on a full-band file, as the
    tool's --force --cutoff), else the detected edge; never a guess."""
    if cutoff is not None:
        check_cutoff(cutoff, "cutoff")
        return float(cutoff)
    edge = upload.edge
    if edge.status == "edge":
        check_cutoff(edge.edge_hz, f"{upload.name}: detected band edge", "; type a cutoff in Hz")
        return edge.edge_hz
    if edge.status == "full_band":
        raise ValueError(f"{upload.name}: the input is full-band ({edge.message}); type a cutoff in Hz to "
                         "regenerate above it anyway")
    raise ValueError(f"{upload.name}: {edge.message}; type a cutoff in Hz")


def read_gaps(upload, text):
    """Gaps typed as the inpainting tool's --gaps takes them, checked against the file."""
    if not text or not text.strip():
        raise ValueError(f"{upload.name}: no gaps given; type them as START-END in seconds (e.g. 1.0-1.2, "
                         "3.7-4.0) or press Find dropouts")
    try:
        gaps = parse_gaps(text)
    except argparse.ArgumentTypeError as error:
        raise ValueError(str(error)) from None
    try:
        return validate_gaps(gaps, upload.seconds)
    except ValueError as error:
        raise ValueError(f"{upload.name}: {error}") from None


def find_gaps(upload, min_ms, threshold_db):
    """Dropouts as the inpainting tool's --detect-gaps finds them; refuses a file without any."""
    min_ms = _DETECT_DEFAULTS["min_ms"] if min_ms is None else min_ms
    threshold_db = _DETECT_DEFAULTS["threshold_db"] if threshold_db is None else threshold_db
    gaps = detect_gaps(upload.audio, SAMPLE_RATE, min_ms=min_ms, threshold_db=threshold_db)
    if not gaps:
        raise ValueError(f"{upload.name}: no dropouts found (no stretch of {min_ms:g} ms or more at or below "
                         f"{threshold_db:g} dBFS away from the ends); type the gaps instead")
    return gaps


# ---- restoring -------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Settings:
    """What the page asks for besides the file and the model."""
    task: str = BANDWIDTH
    cutoff: float | None = None
    gaps: str = ""
    steps: int | None = None
    seed: int | None = 0
    ode: bool = False
    mode: str = "auto"


@dataclass(frozen=True)
class Restored:
    file: str  # the restored file to download
    preview: str  # its 16-bit WAV for the player
    picture: str  # spectrograms before and after, on one scale
    summary: str


def restore(restorer, upload, settings, folder, progress=True):
    """Restores an upload as the page's settings say; writes the outputs into `folder`."""
    if settings.steps is not None:
        check_steps(settings.steps, "time points")
    seed = 0 if settings.seed is None else int(settings.seed)
    started = time.perf_counter()
    if settings.task == BANDWIDTH:
        cutoff = choose_cutoff(upload, settings.cutoff)
        steps = settings.steps or restorer.bandwidth_steps
        out = restorer.bandwidth_extension(upload.audio, cutoff, n_steps=steps, seed=seed, ode=settings.ode,
                                           progress=progress)
        what = f"bandwidth extension above {cutoff:.0f} Hz"
    elif settings.task == INPAINT:
        gaps = read_gaps(upload, settings.gaps)
        steps = settings.steps or restorer.inpainting_steps
        out = restorer.inpaint(upload.audio, gaps, n_steps=steps, seed=seed, ode=settings.ode, mode=settings.mode,
                               progress=progress)
        what = f"inpainted {describe(gaps)}"
    else:
        raise ValueError(f"unknown task {settings.task!r}; choose {BANDWIDTH} or {INPAINT}")
    seconds = time.perf_counter() - started
    stem, extension = os.path.splitext(upload.name)
    path = os.path.join(folder, stem + "_restored" + (extension.lower() if extension.lower() in KEPT_CONTAINERS
                                                        else ".wav"))
    write_audio(path, out, output_subtype(upload.info.subtype, path))
    preview = os.path.join(folder, "restored.wav")
    write_audio(preview, out, "PCM_16")
    picture = os.path.join(folder, "before_after.png")
    title = f"{upload.name}: {what}"
    save_spectrogram_png(picture, {"original": upload.audio.mean(axis=0), "restored": out.mean(axis=0)},
                         SAMPLE_RATE, f"{title} (one colour scale)", same_scale=True)
    return Restored(path, preview, picture,
                    f"{title}, {steps} time points, seed {seed}: restored in {seconds:.1f} s")


# ---- models ----------------------------------------------------------------------------------------------

def released_here(model):
    """Whether every checkpoint of a released model is a local file or already in the Hugging Face cache: the page
    offers no model that would need a download first."""
    try:
        names = released.model_files(model)
    except (OSError, KeyError, TypeError, ValueError):  # a model whose config lists no released files
        return False
    return all(os.path.isfile(name) or isinstance(
        try_to_load_from_cache(released.HUB_REPO, f"{released.HUB_FOLDER}/{name}"), str) for name in names)


def model_options(args):
    """label -> model options as the tools' load_restorer reads them: the model named on the command line first
    (the shipped model when none is), then every other released model whose checkpoints are here."""
    chosen = args
    if not (args.model or args.config or args.ckpt):
        if SHIPPED_MODEL in released.MODELS:
            chosen = Namespace(**{**vars(args), "model": SHIPPED_MODEL})
        elif not os.environ.get(CHECKPOINTS_ENV):
            raise ValueError(f"no model named: pass --config CONFIG.yaml --ckpt CHECKPOINT (e.g. configs/tiny_cpu.yaml "
                             f"and a checkpoint of it), or --model NAME ({', '.join(released.MODELS)}) with its "
                             f"checkpoints in the Hugging Face cache")
    options = {_label(chosen): chosen}
    for model in released.MODELS:
        if model != chosen.model and released_here(model):
            options[model] = Namespace(**{**vars(args), "model": model, "config": None, "ckpt": None})
    return options


def _label(args):
    """A model's name on the page: the released name, or the file names of the config and checkpoints."""
    if args.model and not (args.config or args.ckpt):
        return args.model
    files = [os.path.basename(path.strip()) for value in args.ckpt or [] for path in value.split(",") if path.strip()]
    return " + ".join([args.model or os.path.basename(sampling_config(args))] + files)


class Models:
    """The models the page offers; each is loaded when first chosen and one is held in memory at a time (the
    restorations run one at a time, so only one thread ever calls `get`)."""

    def __init__(self, args):
        self.options = model_options(args)
        self.labels = list(self.options)
        self._label, self._restorer = None, None
        self.get(self.labels[0])  # a bad checkpoint or config fails when the app starts, not on the first click

    def default_steps(self, label, task):
        """The model's own number of time points for a task: its config's bandwidth_steps or inpainting_steps (the
        tools' default for -n), unless the app was started with -n."""
        options = self.options[label]
        if options.n_steps is not None:
            return options.n_steps
        key = "bandwidth_steps" if task == BANDWIDTH else "inpainting_steps"
        with open(sampling_config(options)) as file:
            config = yaml.safe_load(file)
        return int(config.get(key, inspect.signature(Restorer).parameters[key].default))

    def get(self, label):
        if label not in self.options:
            raise ValueError(f"unknown model {label!r}; this page offers {', '.join(self.labels)}")
        if label != self._label:
            self._label, self._restorer = None, None  # free the weights held before loading others
            self._restorer = load_restorer(self.options[label])
            self._label = label
        return self._restorer


# ---- the page --------------------------------------------------------------------------------------------

class Sessions:
    """Each browser session's files, in a folder of its own under `root`; a session's folder goes when it ends."""

    def __init__(self, root):
        self.root = root

    def folder(self, request, kind):
        """A fresh folder for one upload's or one restoration's files (the previous one of that kind goes)."""
        base = os.path.join(self.root, request.session_hash)
        stale = [name for name in os.listdir(base) if name.startswith(kind)] if os.path.isdir(base) else []
        for name in stale:
            shutil.rmtree(os.path.join(base, name), ignore_errors=True)
        return tempfile.mkdtemp(prefix=kind, dir=_made(base))

    def end(self, request: gr.Request):
        shutil.rmtree(os.path.join(self.root, request.session_hash), ignore_errors=True)


def _made(folder):
    os.makedirs(folder, exist_ok=True)
    return folder


def status_html(text, error=False):
    """One line under the Restore button; errors in the tools' 'error: ...' form."""
    if not text:
        return ""
    if error:
        return f'<p class="a2sb-error">error: {escape(text)}</p>'
    return f'<p class="a2sb-note">{escape(text)}</p>'


def restore_button(task, cutoff, upload):
    """The Restore button says what is missing instead of letting the page guess."""
    if upload is None:
        return gr.Button("Upload a file to restore", interactive=False)
    if task == BANDWIDTH and cutoff is None:
        return gr.Button("Type a cutoff (Hz) to restore", interactive=False)
    return gr.Button("Restore", interactive=True)


CSS = ".a2sb-error {color: #b00020; font-weight: 600} .a2sb-note {color: #1b5e20}"


def build_page(models, args, sessions):
    """The Gradio page: upload, task settings, model, Restore; players, pictures and the file to download."""
    max_seconds = 60 * args.max_minutes
    with gr.Blocks(title="A2SB audio restoration", analytics_enabled=False, delete_cache=CACHE_SWEEP) as page:
        upload_state = gr.State(None)
        gr.Markdown("## A2SB audio restoration\nUpload a file, choose what to restore, press **Restore**, then "
                    "listen to the original and the restored file side by side.")
        with gr.Row():
            with gr.Column(scale=2):
                file = gr.File(label=f"Audio file (WAV, FLAC, OGG, MP3, ...; up to {args.max_minutes:g} min, "
                                     f"{args.max_upload_mb:g} MB)", elem_id="upload", height=120)
                about = gr.HTML(elem_id="about")
                task = gr.Radio([BANDWIDTH, INPAINT], value=BANDWIDTH, label="Task", elem_id="task")
                with gr.Group(visible=True) as bandwidth_box:
                    cutoff = gr.Number(label="Cutoff (Hz): everything above it is regenerated", precision=0,
                                       placeholder="the band edge found in the file, or type one", elem_id="cutoff")
                with gr.Group(visible=False) as inpaint_box:
                    gaps = gr.Textbox(label="Gaps in seconds (START-END, comma-separated)",
                                      placeholder="1.0-1.2, 3.7-4.0", elem_id="gaps")
                    with gr.Row():
                        min_ms = gr.Number(_DETECT_DEFAULTS["min_ms"], label="Shortest dropout (ms)")
                        threshold_db = gr.Number(_DETECT_DEFAULTS["threshold_db"], label="Dropout level (dBFS)")
                    find = gr.Button("Find dropouts", elem_id="find")
                    mode = gr.Radio(list(INPAINT_MODES), value="auto", label="Mode (auto: one window per gap "
                                                                              "when they are short and apart)")
                model = gr.Dropdown(models.labels, value=models.labels[0], label="Model", elem_id="model")
                with gr.Row():
                    steps = gr.Number(models.default_steps(models.labels[0], BANDWIDTH), precision=0,
                                      label="Time points (more: slower)", elem_id="steps")
                    seed = gr.Number(args.seed, precision=0, label="Seed", elem_id="seed")
                ode = gr.Checkbox(args.ode, label="Deterministic sampling (ODE)")
                run = gr.Button("Upload a file to restore", variant="primary", interactive=False, elem_id="restore")
                status = gr.HTML(elem_id="status")
            with gr.Column(scale=3):
                # the pictures carry their own titles; a label would cover the top of them
                edge_image = gr.Image(label="Input spectrogram and its band edge", show_label=False, type="filepath",
                                      interactive=False, buttons=["fullscreen"], elem_id="edge_picture")
                gaps_image = gr.Image(label="Waveform and gaps", show_label=False, type="filepath", interactive=False,
                                      buttons=["fullscreen"], visible=False, elem_id="gaps_picture")
                with gr.Row():
                    original = gr.Audio(label="Original (44.1 kHz)", type="filepath", interactive=False,
                                        elem_id="original")
                    restored = gr.Audio(label="Restored", type="filepath", interactive=False, elem_id="restored")
                comparison = gr.Image(label="Spectrograms before and after (one colour scale)", show_label=False,
                                      type="filepath", interactive=False, buttons=["fullscreen", "download"],
                                      elem_id="comparison")
                download = gr.File(label="Restored file (44.1 kHz, the input's channels and sample format)",
                                   interactive=False, elem_id="download")

        def on_upload(path, chosen_task, request: gr.Request):
            # a new file clears everything the previous one left on the page
            shown = {upload_state: None, about: "", edge_image: None, gaps_image: None, cutoff: None, gaps: "",
                     original: None, restored: None, comparison: None, download: None, status: ""}
            if path is not None:
                try:
                    folder = sessions.folder(request, "upload")
                    upload = open_upload(path, folder, max_seconds)
                    shown.update({edge_image: edge_picture(upload, folder),
                                  gaps_image: waveform_picture(upload, [], folder)})
                except USER_ERRORS as error:
                    shown[status] = status_html(named(error, path, os.path.basename(path)), True)
                else:
                    shown.update({upload_state: upload, cutoff: suggested_cutoff(upload.edge),
                                  original: upload.preview, about: f"{escape(describe_upload(upload))}<br>"
                                                                   f"{escape(describe_edge(upload.edge))}"})
            shown[run] = restore_button(chosen_task, shown[cutoff], shown[upload_state])
            return shown

        file.change(on_upload, [file, task], [upload_state, about, edge_image, gaps_image, cutoff, gaps, original,
                                              restored, comparison, download, status, run], concurrency_limit=2)

        def on_task(chosen_task, label, cutoff_value, upload):
            bandwidth = chosen_task == BANDWIDTH
            return [gr.Group(visible=bandwidth), gr.Group(visible=not bandwidth), gr.Image(visible=bandwidth),
                    gr.Image(visible=not bandwidth), models.default_steps(label, chosen_task),
                    restore_button(chosen_task, cutoff_value, upload)]

        task.change(on_task, [task, model, cutoff, upload_state],
                    [bandwidth_box, inpaint_box, edge_image, gaps_image, steps, run], queue=False)
        model.change(models.default_steps, [model, task], steps, queue=False)
        cutoff.change(restore_button, [task, cutoff, upload_state], run, queue=False)

        def on_find(upload, shortest, level, request: gr.Request):
            if upload is None:
                return "", None, status_html("upload an audio file first", True)
            try:
                found = find_gaps(upload, shortest, level)
                picture = waveform_picture(upload, found, sessions.folder(request, "gaps"))
            except USER_ERRORS as error:
                return gr.Textbox(), gr.Image(), status_html(str(error), True)
            return ", ".join(f"{a:.3f}-{b:.3f}" for a, b in found), picture, status_html(
                f"{upload.name}: found {len(found)} dropout(s): {describe(found)}")

        find.click(on_find, [upload_state, min_ms, threshold_db], [gaps, gaps_image, status])

        def on_gaps(upload, text, request: gr.Request):
            if upload is None or not text.strip():
                return gr.Image(), ""
            try:
                return waveform_picture(upload, read_gaps(upload, text), sessions.folder(request, "gaps")), ""
            except USER_ERRORS as error:
                return gr.Image(), status_html(str(error), True)

        gaps.blur(on_gaps, [upload_state, gaps], [gaps_image, status])
        gaps.submit(on_gaps, [upload_state, gaps], [gaps_image, status])

        def on_restore(upload, label, chosen_task, cutoff_value, gap_text, n_steps, seed_value, deterministic,
                       inpaint_mode, request: gr.Request, progress=gr.Progress(track_tqdm=True)):
            if upload is None:
                return None, None, None, status_html("upload an audio file first", True)
            settings = Settings(chosen_task, cutoff_value, gap_text or "", n_steps, seed_value, deterministic,
                                inpaint_mode)
            try:
                progress(0, desc="loading the model")
                restorer = models.get(label)
                result = restore(restorer, upload, settings, sessions.folder(request, "restore"))
            except USER_ERRORS as error:
                return None, None, None, status_html(str(error), True)
            return result.preview, result.picture, result.file, status_html(result.summary)

        run.click(on_restore, [upload_state, model, task, cutoff, gaps, steps, seed, ode, mode],
                  [restored, comparison, download, status], concurrency_limit=1, concurrency_id="restore",
                  show_progress_on=[restored, comparison])
        page.unload(sessions.end)
    return page


# ---- command line ----------------------------------------------------------------------------------------

def build_parser():
    parser = argparse.ArgumentParser(
        description="A2SB restoration in the browser: a local web page to upload a file, restore it (bandwidth "
                    "extension or inpainting) and compare the original and the restored audio.")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default %(default)s: this machine only; 0.0.0.0 lets every "
                             "network the machine is on reach the page)")
    parser.add_argument("--port", type=int, default=7860, help="port to listen on (default %(default)s)")
    parser.add_argument("--max-upload-mb", type=float, default=200.0,
                        help="largest upload accepted, in MB of 2^20 bytes (default %(default)s)")
    parser.add_argument("--max-minutes", type=float, default=10.0,
                        help="longest audio accepted, in minutes (default %(default)s)")
    parser.add_argument("--max-queue", type=int, default=16,
                        help="restorations that may wait while one runs; more are turned away (default %(default)s)")
    add_model_options(parser, "bandwidth_steps or inpainting_steps, by task")
    return parser


def check_limits(args):
    for flag, value in (("--max-upload-mb", args.max_upload_mb), ("--max-minutes", args.max_minutes),
                        ("--max-queue", args.max_queue)):
        if not value > 0:
            raise ValueError(f"{flag}: must be positive, got {value:g}")
    if args.n_steps is not None:
        check_steps(args.n_steps, "--n-steps")


def serve(args):
    """Loads the first model, then serves the page until interrupted; the app's files go when it stops."""
    check_limits(args)
    models = Models(args)
    root = tempfile.mkdtemp(prefix="a2sb_app_")
    # Gradio's own copies of uploads and outputs go there too, so that stopping the app removes them all
    os.environ["GRADIO_TEMP_DIR"] = os.path.join(root, "gradio")
    signal.signal(signal.SIGTERM, _stop)
    try:
        page = build_page(models, args, Sessions(os.path.join(root, "sessions")))
        page.queue(default_concurrency_limit=1, max_size=args.max_queue)
        page.launch(server_name=args.host, server_port=args.port, max_file_size=int(args.max_upload_mb * MIB),
                    css=CSS, footer_links=["gradio"], ssr_mode=False, mcp_server=False)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return 0


def _stop(signum, frame):
    """SIGTERM (a service manager's or a test's stop) ends the app as Ctrl-C does: Gradio closes its server and the
    app's files are removed."""
    raise KeyboardInterrupt


def main(argv=None):
    return run_main(serve, build_parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
