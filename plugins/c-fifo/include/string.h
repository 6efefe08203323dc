/* Freestanding stand-in for the parts of <string.h> the bindings and the policy use. */
#ifndef COHORT_STRING_H
#define COHORT_STRING_H
#include <stddef.h>
void *memcpy(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
#endif
