/* SPDX-License-Identifier: MIT */
/* fuzz_flac - libFuzzer target: mf_flac_probe() on the input as a file. */
#include "fuzz_probe.h"
#include "mf_flac.h"

FUZZ_PROBER(mf_flac_probe)
