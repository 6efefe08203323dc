/* Tests of __NAME__'s logic, natively against a fake host. ./test.sh */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fake_host.h"

static int failures;
#define CHECK(cond) do { if (!(cond)) { printf("FAILED %s:%d: %s\n", __FILE__, __LINE__, #cond); failures++; } } while (0)

static void configure(const char *json) {
    policy_string_t config, err = {0};
    policy_string_dup(&config, json);
    CHECK(exports_policy_configure(&config, &err));
    policy_string_free(&err);
}

static void set_waiting(int n, policy_participant_t *people) {
    for (uint32_t i = 0; i < fake_count; i++) policy_participant_free(&fake_waiting[i]);
    fake_count = (uint32_t)n;
    for (int i = 0; i < n; i++) fake_waiting[i] = people[i];
}

/* Asks for a group of two; the ids, space-separated, or "none". */
static const char *ask(policy_participant_t arriving) {
    static char out[256];
    policy_list_string_t ret = {0};
    if (!exports_policy_find_match(&arriving, 2, &ret)) return "none";
    out[0] = 0;
    for (size_t i = 0; i < ret.len; i++)
        snprintf(out + strlen(out), sizeof out - strlen(out), "%s%.*s", i ? " " : "", (int)ret.ptr[i].len, ret.ptr[i].ptr);
    policy_list_string_free(&ret);
    return out;
}

int main(void) {
    configure("{}");
    set_waiting(2, (policy_participant_t[]){fake_person("old", 9000, NULL, NULL), fake_person("mid", 4000, NULL, NULL)});
    CHECK(strcmp(ask(fake_person("new", 0, NULL, NULL)), "new old") == 0);

    configure("{\"group_by\": \"team\"}");
    set_waiting(2, (policy_participant_t[]){fake_person("a", 5000, "team", "red"), fake_person("b", 3000, "team", "blue")});
    CHECK(strcmp(ask(fake_person("new", 0, "team", "blue")), "new b") == 0);
    CHECK(strcmp(ask(fake_person("n2", 0, "team", "green")), "none") == 0);

    configure("{\"group_by\": \"team\", \"max_wait_ms\": 60000}");
    set_waiting(1, (policy_participant_t[]){fake_person("a", 70000, "team", "red")});
    CHECK(strcmp(ask(fake_person("new", 0, "team", "blue")), "new a") == 0);
    CHECK(fake_logged == 1 && strcmp(fake_lines[0], "grouped across team after waiting 60000 ms") == 0);

    policy_string_t bad, err = {0};
    policy_string_dup(&bad, "{\"group_by\": 3}");
    CHECK(!exports_policy_configure(&bad, &err) && err.len > 0);
    policy_string_free(&err);
    configure("{}"); /* frees what the last configuration kept */
    set_waiting(0, NULL);
    if (failures) return 1;
    printf("ok: all tests passed\n");
    return 0;
}
