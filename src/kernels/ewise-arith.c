/* The portable table: every arithmetic, comparison, rounding, cast and
 * where kernel as plain C loops, stamped from ewise-loops.h.  O3 lets GCC
 * vectorise them (with SSE2 here) behind its run-time overlap check, which
 * the -O2 "very cheap" cost model would refuse; no-trapping-math lets it
 * inline the rounding functions.  Neither changes a result. */
#pragma GCC optimize("O3,no-trapping-math")

#include "kernels/ewise-loops.h"

FLOE__EW_CORE_LOOPS()
FLOE__EW_UNARY_ROUNDING(FLOE__EW_LOOP1)

const floe__ewise_table floe__ewise_base = {FLOE__EW_CORE_ENTRIES()
                                                FLOE__EW_UNARY_ROUNDING(FLOE__EW_ENTRY1)};
