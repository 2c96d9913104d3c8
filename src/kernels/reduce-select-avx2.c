/* reduce-select.c built for AVX2+FMA CPUs; the results do not change. */
#define REDUCE_ISA avx2
#include "reduce-select.c"
