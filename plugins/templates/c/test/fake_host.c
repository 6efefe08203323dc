/* A native stand-in for the wit-bindgen bindings and cohort's host functions, for
   ./test.sh: the waitroom of one decision (index 0 = waited longest), the lines
   logged, and the bindings' string and participant helpers, with libc. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fake_host.h"

policy_participant_t fake_waiting[FAKE_MAX];
uint32_t fake_count;
char fake_lines[8][512];
int fake_logged;

void policy_string_dup_n(policy_string_t *ret, const char *s, size_t len) {
    ret->ptr = malloc(len ? len : 1);
    memcpy(ret->ptr, s, len);
    ret->len = len;
}
void policy_string_dup(policy_string_t *ret, const char *s) { policy_string_dup_n(ret, s, strlen(s)); }
void policy_string_free(policy_string_t *s) {
    if (s->len > 0) free(s->ptr);
    s->ptr = NULL;
    s->len = 0;
}
void policy_list_string_free(policy_list_string_t *l) {
    for (size_t i = 0; i < l->len; i++) policy_string_free(&l->ptr[i]);
    if (l->len > 0) free(l->ptr);
    l->len = 0;
}
void policy_participant_free(policy_participant_t *p) {
    policy_string_free(&p->id);
    for (size_t i = 0; i < p->attributes.len; i++) {
        policy_string_free(&p->attributes.ptr[i].f0);
        policy_string_free(&p->attributes.ptr[i].f1);
    }
    if (p->attributes.len > 0) free(p->attributes.ptr);
    p->attributes.len = 0;
    policy_list_string_free(&p->previous_partners);
    policy_list_string_free(&p->avoid);
}

/* A participant you own: id, waited ms, and one attribute (or none). */
policy_participant_t fake_person(const char *id, uint64_t waited_ms, const char *name, const char *value) {
    policy_participant_t p;
    memset(&p, 0, sizeof p);
    policy_string_dup(&p.id, id);
    p.waited_ms = waited_ms;
    if (name) {
        p.attributes.len = 1;
        p.attributes.ptr = malloc(sizeof(policy_tuple2_string_string_t));
        policy_string_dup(&p.attributes.ptr[0].f0, name);
        policy_string_dup(&p.attributes.ptr[0].f1, value);
    }
    return p;
}

static policy_participant_t copy(const policy_participant_t *p) {
    char id[64], name[64] = "", value[64] = "";
    snprintf(id, sizeof id, "%.*s", (int)p->id.len, p->id.ptr);
    if (p->attributes.len) {
        snprintf(name, sizeof name, "%.*s", (int)p->attributes.ptr[0].f0.len, p->attributes.ptr[0].f0.ptr);
        snprintf(value, sizeof value, "%.*s", (int)p->attributes.ptr[0].f1.len, p->attributes.ptr[0].f1.ptr);
    }
    policy_participant_t c = fake_person(id, p->waited_ms, p->attributes.len ? name : NULL, value);
    for (size_t i = 0; i < p->avoid.len; i++) {
        c.avoid.ptr = realloc(c.avoid.ptr, sizeof(policy_string_t) * (c.avoid.len + 1));
        policy_string_dup_n(&c.avoid.ptr[c.avoid.len++], (const char *)p->avoid.ptr[i].ptr, p->avoid.ptr[i].len);
    }
    return c;
}

uint32_t cohort_matchmaker_host_waiting_count(void) { return fake_count; }
bool cohort_matchmaker_host_waiting_get(uint32_t index, cohort_matchmaker_host_participant_t *ret) {
    if (index >= fake_count) return false;
    *ret = copy(&fake_waiting[index]); /* the caller owns it, as with the real host */
    return true;
}
void cohort_matchmaker_host_log(policy_string_t *line) {
    if (fake_logged < 8) snprintf(fake_lines[fake_logged++], 512, "%.*s", (int)line->len, line->ptr);
}
