/* First come, first served, as a C policy: the arriving participant plus those who
   waited longest, skipping anyone a chosen member must avoid (a recent failed probe).
   It reads only as many waiting participants as it needs, however many wait. */
#include <stdlib.h>
#include <string.h>
#include "policy.h"

static bool same(const policy_string_t *a, const policy_string_t *b) {
    return a->len == b->len && memcmp(a->ptr, b->ptr, a->len) == 0;
}

static bool lists(const policy_list_string_t *list, const policy_string_t *id) {
    for (size_t i = 0; i < list->len; i++)
        if (same(&list->ptr[i], id)) return true;
    return false;
}

bool exports_policy_configure(policy_string_t *config, policy_string_t *err) {
    (void)err;
    policy_string_free(config);
    return true;
}

void exports_policy_on_join(policy_participant_t *p) { policy_participant_free(p); }

void exports_policy_on_leave(policy_string_t *id) { policy_string_free(id); }

bool exports_policy_find_match(policy_participant_t *arriving, uint32_t group_size, policy_list_string_t *ret) {
    uint32_t n = cohort_matchmaker_host_waiting_count();
    bool found = false;
    if (group_size >= 1 && n + 1 >= group_size) {
        policy_participant_t *chosen = malloc(sizeof(policy_participant_t) * group_size);
        uint32_t count = 0;
        chosen[count++] = *arriving;
        for (uint32_t i = 0; i < n && count < group_size; i++) {
            cohort_matchmaker_host_participant_t p;
            if (!cohort_matchmaker_host_waiting_get(i, &p)) continue;
            bool ok = true;
            for (uint32_t m = 0; m < count && ok; m++)
                ok = !lists(&chosen[m].avoid, &p.id) && !lists(&p.avoid, &chosen[m].id);
            if (ok) chosen[count++] = p;
            else policy_participant_free(&p);
        }
        if (count == group_size) {
            ret->len = group_size;
            ret->ptr = malloc(sizeof(policy_string_t) * group_size);
            for (uint32_t m = 0; m < count; m++)
                policy_string_dup_n(&ret->ptr[m], (const char *)chosen[m].id.ptr, chosen[m].id.len);
            found = true;
        }
        for (uint32_t m = 1; m < count; m++) policy_participant_free(&chosen[m]);
        free(chosen);
    }
    policy_participant_free(arriving);
    return found;
}

bool exports_policy_should_reject_for_rtt(policy_participant_t *a, policy_participant_t *b,
                                          double *rtt_ms, double *max_p2p_rtt_ms) {
    policy_participant_free(a);
    policy_participant_free(b);
    if (!max_p2p_rtt_ms) return false;
    if (!rtt_ms) return true;
    return *rtt_ms > *max_p2p_rtt_ms;
}
