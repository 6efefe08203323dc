#ifndef FAKE_HOST_H
#define FAKE_HOST_H
#include "policy.h"
#define FAKE_MAX 16
extern policy_participant_t fake_waiting[FAKE_MAX];
extern uint32_t fake_count;
extern char fake_lines[8][512];
extern int fake_logged;
policy_participant_t fake_person(const char *id, uint64_t waited_ms, const char *name, const char *value);
#endif
