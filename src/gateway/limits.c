/*
 * limits — the arithmetic every rate-limit adapter shares (see limits.h),
 * so the memory and Redis buckets answer alike.
 */
#include "gateway/limits.h"

void limit_result_fill(const struct limit_rule *rule, uint32_t cost, bool allowed, double tokens,
		       struct limit_result *out)
{
	double rate = (double)rule->count / (double)rule->seconds; /* tokens per second */
	out->allowed = allowed;
	out->limit = rule->count;
	out->remaining = (uint32_t)tokens;
	out->reset = (uint32_t)((rule->count - tokens) / rate + 0.999);
	/* Time until the next request could pass (even when only looking). */
	double want = cost > 1 ? cost : 1;
	out->retry_after = tokens >= want ? 0 : (uint32_t)((want - tokens) / rate + 0.999);
	if (!out->allowed && out->retry_after == 0)
		out->retry_after = 1;
}

uint32_t limit_backoff_wait(const struct limit_rule *rule, double failures, uint64_t since_ns)
{
	if (failures <= rule->count)
		return 0;
	unsigned doublings = (unsigned)(failures - rule->count - 1);
	uint64_t delay = doublings >= 32 ? rule->seconds : 1ull << doublings;
	if (delay > rule->seconds)
		delay = rule->seconds;
	uint64_t delay_ns = delay * 1000000000ull;
	if (since_ns >= delay_ns)
		return 0;
	return (uint32_t)((delay_ns - since_ns + 999999999ull) / 1000000000ull);
}
