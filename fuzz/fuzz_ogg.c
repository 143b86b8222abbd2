/* SPDX-License-Identifier: MIT */
/* fuzz_ogg - libFuzzer target: mf_ogg_probe() on the input as a file. */
#include "fuzz_probe.h"
#include "mf_ogg.h"

FUZZ_PROBER(mf_ogg_probe)
