/* A small allocator for a freestanding wasm32 module: size classes of powers of two
   (16 B .. 256 MiB) with free lists, memory grown with memory.grow. Enough for the
   short-lived strings and lists of a policy call; no libc needed. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define CLASSES 25
#define HEADER 8

extern unsigned char __heap_base;
static uintptr_t heap_top = 0;
static uintptr_t heap_end = 0;
static void *free_lists[CLASSES];

static int class_of(size_t size) {
    size_t need = size + HEADER, cap = 16;
    int c = 0;
    while (cap < need && c < CLASSES - 1) { cap <<= 1; c++; }
    return cap < need ? -1 : c;
}

static void *carve(size_t bytes) {
    if (heap_top == 0) heap_top = heap_end = (uintptr_t)&__heap_base;
    heap_top = (heap_top + 7) & ~(uintptr_t)7;
    if (heap_top + bytes > heap_end) {
        size_t pages = (heap_top + bytes - heap_end + 65535) / 65536;
        if (__builtin_wasm_memory_grow(0, pages) == (size_t)-1) return 0;
        heap_end += pages * 65536;
    }
    void *p = (void *)heap_top;
    heap_top += bytes;
    return p;
}

void *malloc(size_t size) {
    int c = class_of(size);
    if (c < 0) return 0;
    unsigned char *block = free_lists[c];
    if (block) {
        free_lists[c] = *(void **)(block + HEADER);
    } else {
        block = carve((size_t)16 << c);
        if (!block) return 0;
    }
    *(uint32_t *)block = (uint32_t)c;
    return block + HEADER;
}

void free(void *ptr) {
    if (!ptr) return;
    unsigned char *block = (unsigned char *)ptr - HEADER;
    uint32_t c = *(uint32_t *)block;
    *(void **)(block + HEADER) = free_lists[c];
    free_lists[c] = block;
}

void *realloc(void *ptr, size_t size) {
    if (!ptr) return malloc(size);
    uint32_t c = *(uint32_t *)((unsigned char *)ptr - HEADER);
    size_t cap = ((size_t)16 << c) - HEADER;
    if (size <= cap) return ptr;
    void *bigger = malloc(size);
    if (bigger) { memcpy(bigger, ptr, cap); free(ptr); }
    return bigger;
}

_Noreturn void abort(void) { __builtin_trap(); }

void *memcpy(void *dst, const void *src, size_t n) {
    unsigned char *d = dst; const unsigned char *s = src;
    while (n--) *d++ = *s++;
    return dst;
}

void *memset(void *dst, int c, size_t n) {
    unsigned char *d = dst;
    while (n--) *d++ = (unsigned char)c;
    return dst;
}

int memcmp(const void *a, const void *b, size_t n) {
    const unsigned char *x = a, *y = b;
    for (; n; n--, x++, y++) if (*x != *y) return *x - *y;
    return 0;
}

size_t strlen(const char *s) {
    size_t n = 0;
    while (s[n]) n++;
    return n;
}
