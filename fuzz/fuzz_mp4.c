/* SPDX-License-Identifier: MIT */
/* fuzz_mp4 - libFuzzer target: mf_mp4_probe() on the input as a file. */
#include "fuzz_probe.h"
#include "mf_mp4.h"

FUZZ_PROBER(mf_mp4_probe)
