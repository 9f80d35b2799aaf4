/*
 * policy_load: read policy INI files.  See policy_load.h.
 *
 * Sections: [defaults], [exclude] and [precedence] are settings; every
 * other section is a rule.  The callbacks below append to a struct policy
 * as lines pass and report problems with their file and line; a rule is
 * checked for completeness when its section ends, and the precedence
 * chains once every file is read (policy_validate()).
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "config/inifile.h"
#include "config/policy_load.h"
#include "config/value.h"
#include "policy/policy.h"

enum section {
	SECTION_NONE, /* before the first section header */
	SECTION_SKIP, /* a section already reported as wrong */
	SECTION_DEFAULTS,
	SECTION_EXCLUDE,
	SECTION_PRECEDENCE,
	SECTION_RULE,
};

/* Lines where the keys of the current rule were set (0: not yet). */
struct rule_seen {
	unsigned group;
	unsigned sku;
	unsigned plans;
	unsigned usage_location;
	const char *last_list; /* the list key a continuation extends */
};

struct ploader {
	struct policy pol;
	const char *file; /* current file, owned by pol.files */
	enum section section;
	struct rule_seen seen;
	struct origin defaults_usage;
	struct diags *diags;
	int error;
};

static const char *const rule_keys[] = { "group", "sku", "disabled_plans",
					 "enabled_plans", "usage_location" };

static void report(struct ploader *l, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void report(struct ploader *l, unsigned line, const char *fmt, ...)
{
	char text[DIAG_TEXT_MAX];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (diags_add(l->diags, l->file, line, "%s", text) < 0)
		l->error = -ENOMEM;
}

/* Grow an array by one element; returns the new element or NULL. */
static void *grow(void *pv, size_t *n, size_t size)
{
	void **p = pv;
	char *v = realloc(*p, (*n + 1) * size);

	if (!v)
		return NULL;
	*p = v;
	memset(v + *n * size, 0, size);
	return v + (*n)++ * size;
}

static struct rule *current_rule(struct ploader *l)
{
	return &l->pol.rules[l->pol.n_rules - 1];
}

static void start_rule(struct ploader *l, const struct inifile_pos *at,
		       const char *name)
{
	struct rule *r;

	for (const char *c = name; *c; c++)
		if (iscntrl((unsigned char)*c)) {
			report(l, at->line,
			       "control character in section name");
			return;
		}
	if (strlen(name) > POLICY_NAME_MAX) {
		report(l, at->line, "rule name longer than %d characters",
		       POLICY_NAME_MAX);
		return;
	}
	for (size_t i = 0; i < l->pol.n_rules; i++)
		if (strcasecmp(l->pol.rules[i].name, name) == 0) {
			report(l, at->line,
			       "duplicate rule '[%s]' (first at %s:%u)", name,
			       l->pol.rules[i].at.file,
			       l->pol.rules[i].at.line);
			return;
		}
	if (l->pol.n_rules >= POLICY_MAX_RULES) {
		report(l, at->line, "more than %d rules", POLICY_MAX_RULES);
		return;
	}
	r = grow(&l->pol.rules, &l->pol.n_rules, sizeof(*r));
	if (!r || !(r->name = strdup(name))) {
		l->error = -ENOMEM;
		return;
	}
	r->at.file = l->file;
	r->at.line = at->line;
	l->section = SECTION_RULE;
}

/*
 * At the end of a rule: it needs a group and a SKU.  A key that was
 * written but malformed has been reported already, so only a key never
 * written is reported here.
 */
static void finish_rule(struct ploader *l)
{
	const struct rule *r;

	if (l->section != SECTION_RULE)
		return;
	r = current_rule(l);
	if (!l->seen.group)
		report(l, r->at.line, "rule '%s' has no 'group'", r->name);
	if (!l->seen.sku)
		report(l, r->at.line, "rule '%s' has no 'sku'", r->name);
}

static int on_section(void *user, const struct inifile_pos *at,
		      const char *name)
{
	struct ploader *l = user;

	finish_rule(l);
	memset(&l->seen, 0, sizeof(l->seen));
	l->section = SECTION_SKIP;
	if (strcasecmp(name, "defaults") == 0)
		l->section = SECTION_DEFAULTS;
	else if (strcasecmp(name, "exclude") == 0)
		l->section = SECTION_EXCLUDE;
	else if (strcasecmp(name, "precedence") == 0)
		l->section = SECTION_PRECEDENCE;
	else
		start_rule(l, at, name);
	return l->error;
}

/* A two-letter country code, upper-cased into dst. */
static void set_usage_location(struct ploader *l, unsigned line,
			       const char *value, char dst[3])
{
	char code[3] = { 0 };

	if (strlen(value) == 2) {
		code[0] = (char)toupper((unsigned char)value[0]);
		code[1] = (char)toupper((unsigned char)value[1]);
	}
	if (!policy_is_country(code)) {
		report(l, line,
		       "invalid usage location '%s' (an ISO 3166-1 alpha-2 "
		       "country code such as US or DE)",
		       value);
		return;
	}
	memcpy(dst, code, 3);
}

/* Call each(l, line, item) for every item of a list value. */
static void for_each_item(struct ploader *l, unsigned line, const char *key,
			  const char *value,
			  void (*each)(struct ploader *, unsigned,
				       const char *))
{
	char **items = NULL;
	size_t n = 0;
	int r = value_list(value, &items, &n);

	if (r == -ENOMEM)
		l->error = r;
	else if (r < 0 || n == 0)
		report(l, line,
		       "malformed list for '%s' (items separated by "
		       "commas or spaces, none empty)",
		       key);
	for (size_t i = 0; i < n && l->error == 0; i++)
		each(l, line, items[i]);
	value_list_free(items, n);
}

static void add_group(struct ploader *l, unsigned line, const char *item)
{
	struct rule *r = current_rule(l);
	struct guid g, *dst;

	if (guid_parse(item, &g) < 0) {
		report(l, line,
		       "malformed group id '%s' (groups are given by object "
		       "id, a GUID)",
		       item);
		return;
	}
	for (size_t i = 0; i < r->n_groups; i++)
		if (guid_equal(&r->groups[i], &g))
			return; /* listed twice: harmless */
	if (r->n_groups >= POLICY_MAX_GROUPS) {
		report(l, line, "more than %d groups in rule '%s'",
		       POLICY_MAX_GROUPS, r->name);
		return;
	}
	dst = grow(&r->groups, &r->n_groups, sizeof(*dst));
	if (!dst)
		l->error = -ENOMEM;
	else
		*dst = g;
}

/* Parse a SKU or plan reference, reporting a bad spelling. */
static int parse_ref(struct ploader *l, unsigned line, const char *what,
		     const char *item, struct ref *ret)
{
	int r = policy_ref_parse(item, ret);

	if (r == -ENOMEM)
		l->error = r;
	else if (r < 0 && guid_is_shaped(item))
		report(l, line, "malformed GUID '%s' for %s", item, what);
	else if (r < 0)
		report(l, line,
		       "malformed %s '%s' (a name of letters, digits, '_', "
		       "'-' and '.', or a GUID)",
		       what, item);
	return r;
}

static void add_plan(struct ploader *l, unsigned line, const char *item)
{
	struct rule *r = current_rule(l);
	struct ref ref, *dst;

	if (parse_ref(l, line, "service plan", item, &ref) < 0)
		return;
	if (r->n_plans >= POLICY_MAX_PLANS) {
		report(l, line, "more than %d plans in rule '%s'",
		       POLICY_MAX_PLANS, r->name);
		free(ref.name);
		return;
	}
	dst = grow(&r->plans, &r->n_plans, sizeof(*dst));
	if (!dst) {
		l->error = -ENOMEM;
		free(ref.name);
		return;
	}
	*dst = ref;
}

static void set_sku(struct ploader *l, unsigned line, const char *value)
{
	struct rule *r = current_rule(l);

	if (parse_ref(l, line, "SKU", value, &r->sku) == 0)
		r->has_sku = true;
}

/* A key that may be given once per rule; reports the repeat. */
static bool once(struct ploader *l, unsigned *seen, unsigned line,
		 const char *key)
{
	if (*seen) {
		report(l, line, "duplicate key '%s' (first set on line %u)",
		       key, *seen);
		return false;
	}
	*seen = line;
	return true;
}

static void rule_plans(struct ploader *l, unsigned line, const char *key,
		       const char *value)
{
	struct rule *r = current_rule(l);
	bool is_allow = strcmp(key, "enabled_plans") == 0;

	if (l->seen.plans && r->is_allow_list != is_allow) {
		report(l, line,
		       "'enabled_plans' and 'disabled_plans' exclude each "
		       "other (the other is on line %u); keep one",
		       l->seen.plans);
		return;
	}
	if (!once(l, &l->seen.plans, line, key))
		return;
	r->is_allow_list = is_allow;
	r->has_plans = true;
	for_each_item(l, line, key, value, add_plan);
}

static void unknown_key(struct ploader *l, unsigned line, const char *where,
			const char *key, const char *const *known, size_t n)
{
	const char *hint = value_closest(key, known, n);

	if (hint)
		report(l, line, "unknown key '%s' in %s (did you mean '%s'?)",
		       key, where, hint);
	else
		report(l, line, "unknown key '%s' in %s", key, where);
}

static void rule_key(struct ploader *l, const struct inifile_pos *at,
		     const char *key, const char *value)
{
	struct rule *r = current_rule(l);
	char where[POLICY_NAME_MAX + 16];

	if (at->is_continuation) {
		if (l->seen.last_list == rule_keys[0])
			for_each_item(l, at->line, key, value, add_group);
		else if (l->seen.last_list)
			for_each_item(l, at->line, key, value, add_plan);
		else
			report(l, at->line,
			       "indented line would continue the value of "
			       "'%s'; remove the indentation",
			       key);
		return;
	}
	l->seen.last_list = NULL;
	if (strcmp(key, "group") == 0) {
		l->seen.group = at->line;
		l->seen.last_list = rule_keys[0];
		for_each_item(l, at->line, key, value, add_group);
	} else if (strcmp(key, "sku") == 0) {
		if (once(l, &l->seen.sku, at->line, key))
			set_sku(l, at->line, value);
	} else if (strcmp(key, "disabled_plans") == 0 ||
		   strcmp(key, "enabled_plans") == 0) {
		l->seen.last_list = rule_keys[2];
		rule_plans(l, at->line, key, value);
	} else if (strcmp(key, "usage_location") == 0) {
		if (once(l, &l->seen.usage_location, at->line, key))
			set_usage_location(l, at->line, value,
					   r->usage_location);
	} else {
		(void)snprintf(where, sizeof(where), "rule '%s'", r->name);
		unknown_key(l, at->line, where, key, rule_keys,
			    sizeof(rule_keys) / sizeof(rule_keys[0]));
	}
}

static void add_excluded(struct ploader *l, unsigned line, const char *item)
{
	struct policy *p = &l->pol;
	struct guid g;

	if (p->n_excluded_ids + p->n_excluded_upns >= POLICY_MAX_EXCLUDED) {
		report(l, line, "more than %d excluded users",
		       POLICY_MAX_EXCLUDED);
	} else if (guid_parse(item, &g) == 0) {
		struct guid *dst = grow(&p->excluded_ids, &p->n_excluded_ids,
					sizeof(*dst));

		if (!dst)
			l->error = -ENOMEM;
		else
			*dst = g;
	} else if (guid_is_shaped(item)) {
		report(l, line, "malformed user object id '%s'", item);
	} else if (strchr(item, '@') && item[0] != '@') {
		char **dst = grow(&p->excluded_upns, &p->n_excluded_upns,
				  sizeof(*dst));

		if (!dst || !(*dst = strdup(item))) {
			l->error = -ENOMEM;
			return;
		}
		for (char *c = *dst; *c; c++)
			*c = (char)tolower((unsigned char)*c);
	} else {
		report(l, line,
		       "'%s' is neither a user object id nor a user "
		       "principal name",
		       item);
	}
}

static int chain_add(struct ploader *l, struct chain *c, unsigned line,
		     const char *text, size_t len)
{
	char item[POLICY_NAME_MAX + 1];
	struct ref *dst;

	while (len > 0 && isspace((unsigned char)*text)) {
		text++;
		len--;
	}
	while (len > 0 && isspace((unsigned char)text[len - 1]))
		len--;
	if (len == 0 || len > POLICY_NAME_MAX) {
		report(l, line,
		       "precedence '%s': empty or over-long SKU between '>'",
		       c->name);
		return -EINVAL;
	}
	memcpy(item, text, len);
	item[len] = '\0';
	if (c->n_skus >= POLICY_MAX_CHAIN) {
		report(l, line, "precedence '%s': more than %d SKUs", c->name,
		       POLICY_MAX_CHAIN);
		return -EINVAL;
	}
	dst = grow(&c->skus, &c->n_skus, sizeof(*dst));
	if (!dst)
		return l->error = -ENOMEM;
	if (parse_ref(l, line, "SKU", item, dst) < 0) {
		c->n_skus--;
		return -EINVAL;
	}
	return 0;
}

static void precedence_key(struct ploader *l, const struct inifile_pos *at,
			   const char *name, const char *value)
{
	struct policy *p = &l->pol;
	struct chain *c;

	for (size_t i = 0; i < p->n_chains; i++)
		if (strcasecmp(p->chains[i].name, name) == 0) {
			report(l, at->line,
			       "duplicate precedence '%s' (first at %s:%u)",
			       name, p->chains[i].at.file,
			       p->chains[i].at.line);
			return;
		}
	if (p->n_chains >= POLICY_MAX_CHAINS) {
		report(l, at->line, "more than %d precedence chains",
		       POLICY_MAX_CHAINS);
		return;
	}
	c = grow(&p->chains, &p->n_chains, sizeof(*c));
	if (!c || !(c->name = strdup(name))) {
		l->error = -ENOMEM;
		return;
	}
	c->at.file = l->file;
	c->at.line = at->line;
	for (const char *s = value;;) {
		size_t len = strcspn(s, ">");

		if (chain_add(l, c, at->line, s, len) < 0)
			return;
		if (s[len] == '\0')
			break;
		s += len + 1;
	}
	if (c->n_skus < 2)
		report(l, at->line,
		       "precedence '%s' needs at least two SKUs: BEST > "
		       "NEXT",
		       name);
}

static void settings_key(struct ploader *l, const struct inifile_pos *at,
			 const char *key, const char *value)
{
	static const char *const defaults_keys[] = { "usage_location" };
	static const char *const exclude_keys[] = { "users" };

	if (l->section == SECTION_PRECEDENCE) {
		precedence_key(l, at, key, value);
	} else if (l->section == SECTION_EXCLUDE) {
		if (strcmp(key, "users") == 0)
			for_each_item(l, at->line, key, value, add_excluded);
		else
			unknown_key(l, at->line, "[exclude]", key, exclude_keys,
				    1);
	} else if (strcmp(key, "usage_location") == 0) {
		if (l->defaults_usage.line) {
			report(l, at->line,
			       "duplicate key 'usage_location' (first set at "
			       "%s:%u)",
			       l->defaults_usage.file, l->defaults_usage.line);
			return;
		}
		l->defaults_usage.file = l->file;
		l->defaults_usage.line = at->line;
		set_usage_location(l, at->line, value, l->pol.usage_location);
	} else {
		unknown_key(l, at->line, "[defaults]", key, defaults_keys, 1);
	}
}

static int on_key(void *user, const struct inifile_pos *at, const char *section,
		  const char *key, const char *value)
{
	struct ploader *l = user;

	(void)section;
	if (l->section == SECTION_SKIP)
		return l->error;
	if (l->section == SECTION_NONE) {
		report(l, at->line, "'%s' is outside any section", key);
	} else if (value[0] == '\0') {
		report(l, at->line, "missing value for '%s'", key);
		if (l->section == SECTION_RULE && strcmp(key, "sku") == 0)
			l->seen.sku = at->line; /* reported once is enough */
		if (l->section == SECTION_RULE && strcmp(key, "group") == 0)
			l->seen.group = at->line;
	} else if (l->section == SECTION_RULE) {
		rule_key(l, at, key, value);
	} else if (at->is_continuation && l->section != SECTION_EXCLUDE) {
		report(l, at->line,
		       "indented line would continue the value of '%s'; "
		       "remove the indentation",
		       key);
	} else {
		settings_key(l, at, key, value);
	}
	return l->error;
}

static int load_file(struct ploader *l, const char *path)
{
	static const struct inifile_ops ops = { on_section, on_key };
	char **name;
	int r;

	name = grow(&l->pol.files, &l->pol.n_files, sizeof(*name));
	if (!name || !(*name = strdup(path)))
		return -ENOMEM;
	l->file = *name;
	l->section = SECTION_NONE;
	memset(&l->seen, 0, sizeof(l->seen));
	r = inifile_parse(path, &ops, l, l->diags);
	if (r >= 0)
		finish_rule(l);
	return r < 0 ? r : l->error;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool is_ini_name(const char *name)
{
	size_t len = strlen(name);

	return name[0] != '.' && len > 4 && strcmp(name + len - 4, ".ini") == 0;
}

/*
 * The *.ini files of dir, sorted, as "dir/name".  Returns 0, 1 when a
 * problem was reported, or -ENOMEM.
 */
static int list_dir(struct ploader *l, const char *dir, char ***ret,
		    size_t *ret_n)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **v = NULL;
	size_t n = 0;
	int r = 0;

	if (!d) {
		report(l, 0, "cannot read: %s", strerror(errno));
		return 1;
	}
	while ((e = readdir(d))) {
		char **dst;
		size_t len;

		if (!is_ini_name(e->d_name))
			continue;
		if (n >= POLICY_MAX_FILES) {
			report(l, 0, "more than %d policy files",
			       POLICY_MAX_FILES);
			r = 1;
			break;
		}
		dst = grow(&v, &n, sizeof(*dst));
		len = strlen(dir) + strlen(e->d_name) + 2;
		if (!dst || !(*dst = malloc(len))) {
			r = -ENOMEM;
			break;
		}
		(void)snprintf(*dst, len, "%s/%s", dir, e->d_name);
	}
	closedir(d);
	if (r >= 0 && n > 0) /* qsort(NULL, 0, ...) is undefined */
		qsort(v, n, sizeof(*v), cmp_names);
	*ret = v;
	*ret_n = n;
	return r;
}

static int load_dir(struct ploader *l, const char *dir)
{
	char **files = NULL;
	size_t n = 0;
	int r;

	l->file = dir;
	r = list_dir(l, dir, &files, &n);
	if (r == 0 && n == 0)
		report(l, 0, "no *.ini files in the policy directory");
	for (size_t i = 0; i < n && r >= 0; i++)
		r = load_file(l, files[i]);
	value_list_free(files, n);
	return r < 0 ? r : 0;
}

int policy_load(const char *path, struct policy *ret, struct diags *diags)
{
	struct ploader l = { .diags = diags };
	size_t before = diags_count(diags);
	struct stat st;
	int r;

	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		r = load_dir(&l, path);
	else
		r = load_file(&l, path);
	if (r < 0)
		goto out;
	r = policy_validate(&l.pol, diags);
	if (r < 0)
		goto out;
	if (diags_count(diags) == before && l.pol.n_rules == 0) {
		l.file = path;
		report(&l, 0,
		       "no rules: add a section with a 'group' and a 'sku'");
	}
	if (diags_count(diags) > before) {
		r = l.error < 0 ? l.error : 2;
		goto out;
	}
	*ret = l.pol;
	memset(&l.pol, 0, sizeof(l.pol));
	r = 0;
out:
	policy_free(&l.pol);
	return r;
}
