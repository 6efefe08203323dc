/* Helpers for cohort policies in C: attribute lookup, config values, formatted log
   lines, id lists. Header-only, freestanding (no libc beyond what include/ provides).

   Who frees what (the wit-bindgen C conventions, for cohort's world):
   - Arguments of the exported functions (`exports_policy_*`) are yours: free them
     (policy_participant_free, policy_string_free) or keep them.
   - A participant from cohort_matchmaker_host_waiting_get is yours: free it.
   - Arguments you pass to the host's functions (cohort_matchmaker_host_log) are
     borrowed: the host copies them; you still own (and free) them.
   - What you return — the `ret` list of find-match, the `err` string of configure —
     you allocate (malloc, policy_string_dup) and the host frees after the call. */
#ifndef COHORT_POLICY_H
#define COHORT_POLICY_H
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "policy.h"

/* Whether two strings are equal, and whether a C string equals a string. */
static inline bool cohort_same(const policy_string_t *a, const policy_string_t *b) {
    return a->len == b->len && memcmp(a->ptr, b->ptr, a->len) == 0;
}

static inline bool cohort_is(const policy_string_t *s, const char *c) {
    size_t n = strlen(c);
    return s->len == n && memcmp(s->ptr, c, n) == 0;
}

/* Whether `list` holds `id` (e.g. a participant's `avoid`). */
static inline bool cohort_lists(const policy_list_string_t *list, const policy_string_t *id) {
    for (size_t i = 0; i < list->len; i++)
        if (cohort_same(&list->ptr[i], id)) return true;
    return false;
}

/* The value of attribute `name` of `p` (borrowed from `p`), or NULL. */
static inline const policy_string_t *cohort_attribute(const policy_participant_t *p, const policy_string_t *name) {
    for (size_t i = 0; i < p->attributes.len; i++)
        if (cohort_same(&p->attributes.ptr[i].f0, name)) return &p->attributes.ptr[i].f1;
    return NULL;
}

/* Finds `"key":` at the top level of a flat JSON object; the position of its value. */
static inline const uint8_t *cohort_config_find(const policy_string_t *config, const char *key) {
    size_t n = strlen(key), depth = 0;
    const uint8_t *s = config->ptr, *end = config->ptr + config->len;
    for (const uint8_t *p = s; p < end; p++) {
        if (*p == '{' || *p == '[') depth++;
        else if (*p == '}' || *p == ']') depth--;
        else if (*p == '"') {
            const uint8_t *start = ++p;
            while (p < end && *p != '"') p += (*p == '\\') ? 2 : 1;
            if (depth == 1 && (size_t)(p - start) == n && memcmp(start, key, n) == 0) {
                const uint8_t *v = p + 1;
                while (v < end && (*v == ' ' || *v == ':' || *v == '\n' || *v == '\t' || *v == '\r')) v++;
                return v < end ? v : NULL;
            }
        }
    }
    return NULL;
}

/* The string value of `key` (without escapes) as a new string you own; false if absent
   or not a string. */
static inline bool cohort_config_string(const policy_string_t *config, const char *key, policy_string_t *out) {
    const uint8_t *v = cohort_config_find(config, key), *end = config->ptr + config->len;
    if (!v || *v != '"') return false;
    const uint8_t *start = ++v;
    while (v < end && *v != '"') v++;
    if (v >= end) return false;
    policy_string_dup_n(out, (const char *)start, (size_t)(v - start));
    return true;
}

/* The non-negative number value of `key` (digits and an optional fraction); false if
   absent or not such a number. */
static inline bool cohort_config_number(const policy_string_t *config, const char *key, double *out) {
    const uint8_t *v = cohort_config_find(config, key), *end = config->ptr + config->len;
    if (!v || *v < '0' || *v > '9') return false;
    double value = 0, scale = 0;
    for (; v < end && ((*v >= '0' && *v <= '9') || *v == '.'); v++) {
        if (*v == '.') { scale = 1; continue; }
        value = value * 10 + (*v - '0');
        if (scale) scale *= 10;
    }
    *out = scale ? value / scale : value;
    return true;
}

/* Logs a line for the event log, printf-style with %s (C string), %S (a
   policy_string_t *), %u (unsigned), %d (int) and %%; at most 500 bytes. */
static inline void cohort_logf(const char *format, ...) {
    char buf[512];
    size_t n = 0;
    va_list args;
    va_start(args, format);
#define COHORT_PUT(c) do { if (n < 500) buf[n++] = (char)(c); } while (0)
    for (const char *f = format; *f; f++) {
        if (*f != '%' || !f[1]) { COHORT_PUT(*f); continue; }
        f++;
        if (*f == 's') {
            for (const char *s = va_arg(args, const char *); s && *s; s++) COHORT_PUT(*s);
        } else if (*f == 'S') {
            const policy_string_t *s = va_arg(args, const policy_string_t *);
            for (size_t i = 0; s && i < s->len; i++) COHORT_PUT(s->ptr[i]);
        } else if (*f == 'u' || *f == 'd') {
            long long v = (*f == 'u') ? (long long)va_arg(args, unsigned) : va_arg(args, int);
            char digits[24];
            int k = 0;
            unsigned long long m = v < 0 ? (unsigned long long)(-v) : (unsigned long long)v;
            if (v < 0) COHORT_PUT('-');
            do { digits[k++] = (char)('0' + m % 10); m /= 10; } while (m);
            while (k) COHORT_PUT(digits[--k]);
        } else {
            COHORT_PUT(*f);
        }
    }
#undef COHORT_PUT
    va_end(args);
    policy_string_t line = { (uint8_t *)buf, n };
    cohort_matchmaker_host_log(&line); /* borrowed: the host copies it */
}
#endif
