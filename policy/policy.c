/*
 * policy: pure helpers over the policy model.  See policy.h.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>

#include "policy/policy.h"

/* ISO 3166-1 alpha-2, all 249 assigned codes, in order. */
static const char countries[] =
	"AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ "
	"BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ "
	"CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ "
	"DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR "
	"GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY "
	"HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP "
	"KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY "
	"MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ "
	"NA NC NE NF NG NI NL NO NP NR NU NZ OM "
	"PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW "
	"SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ "
	"TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ "
	"UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW";

bool policy_is_country(const char *code)
{
	if (strlen(code) != 2 || !isupper((unsigned char)code[0]) ||
	    !isupper((unsigned char)code[1]))
		return false;
	/* "ZW" ends the table without a space: stop before stepping past. */
	for (const char *c = countries; c < countries + sizeof(countries) - 1;
	     c += 3)
		if (c[0] == code[0] && c[1] == code[1])
			return true;
	return false;
}

static bool is_name_char(char c)
{
	return isalnum((unsigned char)c) || c == '_' || c == '-' || c == '.';
}

int policy_ref_parse(const char *text, struct ref *ret)
{
	struct ref r = { NULL, false, { { 0 } } };
	size_t len = strlen(text);

	if (guid_is_shaped(text)) {
		if (guid_parse(text, &r.id) < 0)
			return -EINVAL;
		r.is_id = true;
	} else {
		if (len == 0 || len > POLICY_NAME_MAX)
			return -EINVAL;
		for (size_t i = 0; i < len; i++)
			if (!is_name_char(text[i]))
				return -EINVAL;
	}
	r.name = strdup(text);
	if (!r.name)
		return -ENOMEM;
	*ret = r;
	return 0;
}

bool policy_ref_same(const struct ref *a, const struct ref *b)
{
	if (a->is_id != b->is_id)
		return false;
	if (a->is_id)
		return guid_equal(&a->id, &b->id);
	return strcasecmp(a->name, b->name) == 0;
}

static void ref_clear(struct ref *r)
{
	free(r->name);
	r->name = NULL;
}

static void rule_clear(struct rule *r)
{
	free(r->name);
	free(r->groups);
	ref_clear(&r->sku);
	for (size_t i = 0; i < r->n_plans; i++)
		ref_clear(&r->plans[i]);
	free(r->plans);
}

static void chain_clear(struct chain *c)
{
	free(c->name);
	for (size_t i = 0; i < c->n_skus; i++)
		ref_clear(&c->skus[i]);
	free(c->skus);
}

void policy_free(struct policy *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n_rules; i++)
		rule_clear(&p->rules[i]);
	free(p->rules);
	for (size_t i = 0; i < p->n_chains; i++)
		chain_clear(&p->chains[i]);
	free(p->chains);
	for (size_t i = 0; i < p->n_excluded_upns; i++)
		free(p->excluded_upns[i]);
	free(p->excluded_upns);
	free(p->excluded_ids);
	for (size_t i = 0; i < p->n_files; i++)
		free(p->files[i]);
	free(p->files);
	memset(p, 0, sizeof(*p));
}

/*
 * A SKU may appear once in one chain: twice in the same chain is a cycle
 * (A > B > A), in two chains the ranking between them is undefined.
 */
static int validate_chain(const struct policy *p, size_t ci,
			  struct diags *diags)
{
	const struct chain *c = &p->chains[ci];
	int n = 0;

	for (size_t i = 0; i < c->n_skus; i++) {
		const struct ref *s = &c->skus[i];
		int r = 0, n_before = n; /* one message per repeated SKU */

		for (size_t j = 0; j < i && n == n_before; j++)
			if (policy_ref_same(s, &c->skus[j])) {
				r = diags_add(diags, c->at.file, c->at.line,
					      "precedence '%s': '%s' appears "
					      "twice (a cycle)",
					      c->name, s->name);
				n++;
			}
		for (size_t k = 0; k < ci && n == n_before; k++)
			for (size_t j = 0;
			     j < p->chains[k].n_skus && n == n_before; j++)
				if (policy_ref_same(s, &p->chains[k].skus[j])) {
					r = diags_add(diags, c->at.file,
						      c->at.line,
						      "precedence '%s': '%s' "
						      "is already ranked in "
						      "'%s' (%s:%u)",
						      c->name, s->name,
						      p->chains[k].name,
						      p->chains[k].at.file,
						      p->chains[k].at.line);
					n++;
				}
		if (r < 0)
			return r;
	}
	return n;
}

int policy_validate(const struct policy *p, struct diags *diags)
{
	int n = 0;

	for (size_t i = 0; i < p->n_chains; i++) {
		int r = validate_chain(p, i, diags);

		if (r < 0)
			return r;
		n += r;
	}
	return n;
}

static int guid_cmp(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct guid));
}

ssize_t policy_count_groups(const struct policy *p)
{
	struct guid *all = NULL;
	size_t n_all = 0, n = 0;

	for (size_t i = 0; i < p->n_rules; i++)
		n_all += p->rules[i].n_groups;
	if (n_all == 0)
		return 0;
	all = malloc(n_all * sizeof(*all));
	if (!all)
		return -ENOMEM;
	n_all = 0;
	for (size_t i = 0; i < p->n_rules; i++)
		for (size_t g = 0; g < p->rules[i].n_groups; g++)
			all[n_all++] = p->rules[i].groups[g];
	qsort(all, n_all, sizeof(*all), guid_cmp);
	for (size_t i = 0; i < n_all; i++)
		n += i == 0 || !guid_equal(&all[i], &all[i - 1]);
	free(all);
	return (ssize_t)n;
}

size_t policy_count_skus(const struct policy *p)
{
	size_t n = 0;

	for (size_t i = 0; i < p->n_rules; i++) {
		bool seen = false;

		if (!p->rules[i].has_sku)
			continue;
		for (size_t j = 0; j < i && !seen; j++)
			seen = p->rules[j].has_sku &&
			       policy_ref_same(&p->rules[i].sku,
					       &p->rules[j].sku);
		n += !seen;
	}
	return n;
}

int64_t policy_sku_free(const struct sku *s)
{
	int64_t free_units = s->enabled - s->warning - s->consumed;

	return free_units > 0 ? free_units : 0;
}

const struct sku *policy_find_sku(const struct sku *skus, size_t n,
				  const struct ref *r)
{
	for (size_t i = 0; i < n; i++)
		if (r->is_id ? guid_equal(&skus[i].id, &r->id)
			     : strcasecmp(skus[i].part_number, r->name) == 0)
			return &skus[i];
	return NULL;
}

const struct service_plan *policy_find_plan(const struct sku *s,
					    const struct ref *r)
{
	for (size_t i = 0; i < s->n_plans; i++)
		if (r->is_id ? guid_equal(&s->plans[i].id, &r->id)
			     : strcasecmp(s->plans[i].name, r->name) == 0)
			return &s->plans[i];
	return NULL;
}
