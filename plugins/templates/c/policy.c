/* __NAME__: a matchmaking policy for cohort, in C.

   It groups participants who share the value of an attribute (`group_by` in the
   experiment's `matchmaker.config`, named as in `matchmaker.attributes` without its
   `param:` or `answer:` prefix), the longest waiting first. Once someone has waited
   `max_wait_ms`, they may be grouped with anyone. Without `group_by` it is first come,
   first served. Ownership rules: see cohort_policy.h.

   Test the logic natively with `./test.sh`; build with `./build.sh`. */
#include "cohort_policy.h"

static policy_string_t group_by; /* empty: first come, first served */
static double max_wait_ms = 60000, scan = 200;

bool exports_policy_configure(policy_string_t *config, policy_string_t *err) {
    policy_string_free(&group_by);
    const uint8_t *by = cohort_config_find(config, "group_by");
    bool ok = !by || cohort_config_string(config, "group_by", &group_by);
    if (cohort_config_find(config, "max_wait_ms")) ok = ok && cohort_config_number(config, "max_wait_ms", &max_wait_ms);
    if (cohort_config_find(config, "scan")) ok = ok && cohort_config_number(config, "scan", &scan);
    if (!ok) policy_string_dup(err, "config: `group_by` must be a string, `max_wait_ms` and `scan` numbers");
    policy_string_free(config);
    return ok;
}

void exports_policy_on_join(policy_participant_t *p) { policy_participant_free(p); }

void exports_policy_on_leave(policy_string_t *id) { policy_string_free(id); }

/* Nobody in `group` avoids `p`, nor `p` them. */
static bool compatible(const policy_participant_t *p, const policy_participant_t *group, uint32_t count) {
    for (uint32_t m = 0; m < count; m++)
        if (cohort_same(&group[m].id, &p->id) || cohort_lists(&group[m].avoid, &p->id) || cohort_lists(&p->avoid, &group[m].id))
            return false;
    return true;
}

bool exports_policy_find_match(policy_participant_t *arriving, uint32_t group_size, policy_list_string_t *ret) {
    uint32_t n = cohort_matchmaker_host_waiting_count();
    if (n > (uint32_t)scan) n = (uint32_t)scan;
    bool found = false, mixed = false;
    if (group_size >= 1 && n + 1 >= group_size) {
        const policy_string_t *key = group_by.len ? cohort_attribute(arriving, &group_by) : NULL;
        policy_participant_t *group = malloc(sizeof(policy_participant_t) * group_size);
        uint32_t count = 0;
        group[count++] = *arriving;
        for (uint32_t i = 0; i < n && count < group_size; i++) {
            policy_participant_t p; /* read lazily: index 0 has waited longest */
            if (!cohort_matchmaker_host_waiting_get(i, &p)) continue;
            const policy_string_t *value = group_by.len ? cohort_attribute(&p, &group_by) : NULL;
            bool same = !group_by.len || (key && value && cohort_same(key, value));
            bool patient = (double)p.waited_ms >= max_wait_ms || (double)arriving->waited_ms >= max_wait_ms;
            if ((same || patient) && compatible(&p, group, count)) {
                group[count++] = p;
                mixed = mixed || !same;
            } else {
                policy_participant_free(&p);
            }
        }
        if (count == group_size) {
            ret->len = group_size;
            ret->ptr = malloc(sizeof(policy_string_t) * group_size); /* the host frees it */
            for (uint32_t m = 0; m < count; m++)
                policy_string_dup_n(&ret->ptr[m], (const char *)group[m].id.ptr, group[m].id.len);
            if (mixed) cohort_logf("grouped across %S after waiting %u ms", &group_by, (unsigned)max_wait_ms);
            found = true;
        }
        for (uint32_t m = 1; m < count; m++) policy_participant_free(&group[m]);
        free(group);
    }
    policy_participant_free(arriving);
    return found;
}

/* The usual rule: no threshold → accept; no RTT → reject; above → reject. */
bool exports_policy_should_reject_for_rtt(policy_participant_t *a, policy_participant_t *b, double *rtt_ms,
                                          double *max_p2p_rtt_ms) {
    policy_participant_free(a);
    policy_participant_free(b);
    if (!max_p2p_rtt_ms) return false;
    if (!rtt_ms) return true;
    return *rtt_ms > *max_p2p_rtt_ms;
}
