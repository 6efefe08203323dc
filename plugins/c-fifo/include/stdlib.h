/* Freestanding stand-in for the parts of <stdlib.h> the wit-bindgen C bindings use;
   implemented in ../alloc.c (no libc, so the component imports nothing). */
#ifndef COHORT_STDLIB_H
#define COHORT_STDLIB_H
#include <stddef.h>
void *malloc(size_t size);
void *realloc(void *ptr, size_t size);
void free(void *ptr);
_Noreturn void abort(void);
#endif
