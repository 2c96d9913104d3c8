/* reduce-arith.c built for AVX2+FMA CPUs (see the note at its top: same
 * operations, same order, same bits; only the vector width changes). */
#define REDUCE_ISA avx2
#include "reduce-arith.c"
