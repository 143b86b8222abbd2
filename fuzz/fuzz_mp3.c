/* SPDX-License-Identifier: MIT */
/* fuzz_mp3 - libFuzzer target: mf_mp3_probe() on the input as a file. */
#include "fuzz_probe.h"
#include "mf_mp3.h"

FUZZ_PROBER(mf_mp3_probe)
