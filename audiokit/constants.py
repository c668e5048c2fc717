"""The sampling rate and the STFT grid that every layer shares (see docs/DESIGN.md, "Representation").

They live in audiokit/, the ground floor: reading audio and preparing data need them and must not import models/,
and everything above (datasets/, corrupt/, models/, inference/, benchmarks/) imports them from here.
"""
SAMPLE_RATE = 44100  # Hz; files at other rates are resampled to it
N_FFT = 2048
HOP_LENGTH = 512
N_BINS = N_FFT // 2  # image height: the one-sided STFT's N_FFT // 2 + 1 bins less the dropped DC bin
SEGMENT_SAMPLES = 130560  # a training segment: 256 frames
