/* SPDX-License-Identifier: MIT */
/* fuzz_wav - libFuzzer target: mf_wav_probe() on the input as a file. */
#include "fuzz_probe.h"
#include "mf_wav.h"

FUZZ_PROBER(mf_wav_probe)
