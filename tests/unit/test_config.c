/*
 * test_config: licensed.conf -> struct config (config/config.c, with
 * inifile.c, credential.c and value.c underneath).
 *
 * Each test runs in its own scratch directory (testutil.h) holding a
 * client-secret of mode 0600; messages are compared whole.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "config/config.h"
#include "tests/unit/testutil.h"

/* Lines 1-4 of most test files: a complete [tenant] with a secret. */
#define TENANT                                                                 \
	"[tenant]\n"                                                           \
	"tenant_id = contoso.onmicrosoft.com\n"                                \
	"client_id = 3f2c1b8e-5d4a-4e6f-9a7b-2c1d0e9f8a7b\n"                   \
	"client_secret_file = client-secret\n"

static int setup(void **state)
{
	if (tmp_setup(state) < 0)
		return -1;
	tmp_write("client-secret", 0600, "s3cret~value\n");
	return 0;
}

/* Load text as licensed.conf into *c; it must load without a message. */
static void load_ok(const char *text, struct config *c)
{
	struct diags d = { 0 };
	int r;

	tmp_write("licensed.conf", 0644, text);
	r = config_load("licensed.conf", c, &d);
	assert_no_diags(&d);
	assert_int_equal(r, 0);
}

/*
 * Load text as licensed.conf; it must fail with exactly the messages of
 * want (NULL-terminated) and leave the caller's struct untouched.
 */
static void load_bad_(const char *text, const char *const *want)
{
	struct config c, zero;
	struct diags d = { 0 };
	int r;

	memset(&c, 0, sizeof(c));
	memset(&zero, 0, sizeof(zero));
	tmp_write("licensed.conf", 0644, text);
	r = config_load("licensed.conf", &c, &d);
	assert_diags_(&d, want);
	assert_int_equal(r, 2);
	assert_memory_equal(&c, &zero, sizeof(c));
	diags_clear(&d);
}

#define load_bad(text, ...)                                                    \
	load_bad_((text), (const char *const[]){ __VA_ARGS__, NULL })

static void test_defaults_when_optional_keys_absent(void **state)
{
	struct config c;

	(void)state;
	load_ok(TENANT, &c);
	assert_string_equal(c.path, "licensed.conf");
	assert_string_equal(c.tenant_id, "contoso.onmicrosoft.com");
	assert_string_equal(c.client_id,
			    "3f2c1b8e-5d4a-4e6f-9a7b-2c1d0e9f8a7b");
	assert_int_equal(c.auth, CONFIG_AUTH_SECRET);
	assert_string_equal(c.client_secret_file, "client-secret");
	assert_null(c.certificate_file);
	assert_string_equal(c.credential_path, "client-secret");
	assert_false(c.is_credential_from_systemd);
	assert_string_equal(c.authority, "https://login.microsoftonline.com");
	assert_string_equal(c.graph, "https://graph.microsoft.com");
	assert_null(c.ca_file);
	assert_null(c.proxy);
	assert_string_equal(c.policy, "/etc/licensed/policy.ini");
	assert_string_equal(c.state_dir, "/var/lib/licensed");
	assert_int_equal(c.interval_sec, 5 * 60);
	assert_int_equal(c.full_sync_sec, 24 * 3600);
	assert_false(c.is_dry_run);
	assert_null(c.metrics_file);
	assert_int_equal(c.write_rate, 0); /* auto */
	assert_int_equal(c.read_rate, 0);
	assert_int_equal(c.removal, CONFIG_REMOVAL_OWNED);
	assert_int_equal(c.removal_grace_sec, 24 * 3600);
	assert_int_equal(c.max_removals, 50);
	assert_int_equal(c.max_removal_percent, 10);
	config_free(&c);
}

static void test_every_key_parsed(void **state)
{
	struct config c;

	(void)state;
	tmp_write("ca.pem", 0644, "-----BEGIN CERTIFICATE-----\n");
	load_ok("[tenant]\n"
		"tenant_id = 72F988BF-86F1-41AF-91AB-2D7CD011DB47\n"
		"client_id = 3f2c1b8e-5d4a-4e6f-9a7b-2c1d0e9f8a7b\n"
		"client_secret_file = client-secret\n"
		"authority = https://login.microsoftonline.us/\n"
		"graph = https://graph.microsoft.us:443//\n"
		"ca_file = ca.pem\n"
		"proxy = socks5h://proxy.example.com:1080\n"
		"[daemon]\n"
		"policy = /srv/policy.d\n"
		"state_dir = /srv/state\n"
		"interval = 90s\n"
		"full_sync = 7d\n"
		"dry_run = YES\n"
		"metrics_file = /srv/licensed.prom\n"
		"write_rate = 1\n"
		"read_rate = 70\n"
		"[safety]\n"
		"removal = authoritative\n"
		"removal_grace = 0\n"
		"max_removals = 0\n"
		"max_removal_percent = 100\n",
		&c);
	assert_string_equal(c.tenant_id,
			    "72F988BF-86F1-41AF-91AB-2D7CD011DB47");
	assert_string_equal(c.authority, "https://login.microsoftonline.us");
	assert_string_equal(c.graph, "https://graph.microsoft.us:443");
	assert_string_equal(c.ca_file, "ca.pem");
	assert_string_equal(c.proxy, "socks5h://proxy.example.com:1080");
	assert_int_equal(c.write_rate, 1);
	assert_int_equal(c.read_rate, 70);
	assert_string_equal(c.policy, "/srv/policy.d");
	assert_string_equal(c.state_dir, "/srv/state");
	assert_int_equal(c.interval_sec, 90);
	assert_int_equal(c.full_sync_sec, 7 * 86400);
	assert_true(c.is_dry_run);
	assert_string_equal(c.metrics_file, "/srv/licensed.prom");
	assert_int_equal(c.removal, CONFIG_REMOVAL_AUTHORITATIVE);
	assert_int_equal(c.removal_grace_sec, 0);
	assert_int_equal(c.max_removals, 0);
	assert_int_equal(c.max_removal_percent, 100);
	config_free(&c);
}

static void test_removal_never_and_inline_comments(void **state)
{
	struct config c;

	(void)state;
	load_ok(TENANT "[safety]\n"
		       "removal = never ; add and correct only\n"
		       "removal_grace = 36h\t; a day and a half\n"
		       "# a comment\n"
		       "max_removals: 7\n",
		&c);
	assert_int_equal(c.removal, CONFIG_REMOVAL_NEVER);
	assert_int_equal(c.removal_grace_sec, 36 * 3600);
	assert_int_equal(c.max_removals, 7);
	config_free(&c);
}

static void test_relative_paths_resolved_against_config_dir(void **state)
{
	struct config c;
	struct diags d = { 0 };

	(void)state;
	tmp_mkdir("etc");
	tmp_write("etc/client-secret", 0600, "s3cret\n");
	tmp_write("etc/ca.pem", 0644, "x\n");
	tmp_write("etc/licensed.conf", 0644,
		  TENANT "ca_file = ca.pem\n"
			 "[daemon]\n"
			 "policy = policy.d\n"
			 "state_dir = state\n"
			 "metrics_file = /run/m.prom\n");
	assert_int_equal(config_load("etc/licensed.conf", &c, &d), 0);
	assert_no_diags(&d);
	assert_string_equal(c.path, "etc/licensed.conf");
	assert_string_equal(c.credential_path, "etc/client-secret");
	assert_string_equal(c.client_secret_file, "client-secret");
	assert_string_equal(c.ca_file, "etc/ca.pem");
	assert_string_equal(c.policy, "etc/policy.d");
	assert_string_equal(c.state_dir, "etc/state");
	assert_string_equal(c.metrics_file, "/run/m.prom");
	config_free(&c);
}

static void test_absolute_config_path_resolves_absolute(void **state)
{
	char path[PATH_MAX + 32], want[PATH_MAX + 32];
	struct config c;
	struct diags d = { 0 };

	tmp_write("licensed.conf", 0644, TENANT "[daemon]\npolicy = p.ini\n");
	(void)snprintf(path, sizeof(path), "%s/licensed.conf", tmp_dir(state));
	assert_int_equal(config_load(path, &c, &d), 0);
	assert_no_diags(&d);
	(void)snprintf(want, sizeof(want), "%s/p.ini", tmp_dir(state));
	assert_string_equal(c.policy, want);
	(void)snprintf(want, sizeof(want), "%s/client-secret", tmp_dir(state));
	assert_string_equal(c.credential_path, want);
	config_free(&c);
}

static void test_credentials_directory_group_readable_ok(void **state)
{
	char creds[PATH_MAX + 32], want[2 * PATH_MAX];
	struct config c;

	(void)snprintf(creds, sizeof(creds), "%s/creds", tmp_dir(state));
	tmp_mkdir("creds");
	tmp_write("creds/client-secret", 0640, "from-systemd\n");
	assert_int_equal(unlink("client-secret"), 0);
	assert_int_equal(setenv("CREDENTIALS_DIRECTORY", creds, 1), 0);
	load_ok(TENANT, &c);
	(void)snprintf(want, sizeof(want), "%s/client-secret", creds);
	assert_string_equal(c.credential_path, want);
	assert_true(c.is_credential_from_systemd);
	config_free(&c);
}

static void test_credentials_directory_has_no_fallback(void **state)
{
	char creds[PATH_MAX + 32], want[2 * PATH_MAX];

	(void)snprintf(creds, sizeof(creds), "%s/creds", tmp_dir(state));
	tmp_mkdir("creds");
	assert_int_equal(setenv("CREDENTIALS_DIRECTORY", creds, 1), 0);
	(void)snprintf(want, sizeof(want),
		       "licensed.conf:4: client_secret_file: "
		       "'%s/client-secret' does not exist",
		       creds);
	load_bad(TENANT, want);
}

static void test_credentials_directory_not_for_absolute_name(void **state)
{
	char text[2 * PATH_MAX], want[4 * PATH_MAX];
	const char *dir = tmp_dir(state);

	tmp_write("abs-secret", 0644, "x\n");
	assert_int_equal(setenv("CREDENTIALS_DIRECTORY", "/nonexistent", 1), 0);
	(void)snprintf(text, sizeof(text),
		       "[tenant]\ntenant_id = contoso.com\n"
		       "client_id = 3f2c1b8e-5d4a-4e6f-9a7b-2c1d0e9f8a7b\n"
		       "client_secret_file = %s/abs-secret\n",
		       dir);
	(void)snprintf(want, sizeof(want),
		       "licensed.conf:4: client_secret_file: '%s/abs-secret' "
		       "is readable by group or others (mode 0644); run "
		       "'chmod 600 %s/abs-secret'",
		       dir, dir);
	load_bad(text, want);
}

static void test_credentials_directory_must_be_absolute(void **state)
{
	struct config c;

	(void)state;
	tmp_mkdir("creds");
	assert_int_equal(setenv("CREDENTIALS_DIRECTORY", "creds", 1), 0);
	load_ok(TENANT, &c);
	assert_string_equal(c.credential_path, "client-secret");
	assert_false(c.is_credential_from_systemd);
	config_free(&c);
}

static void test_secret_readable_by_others_refused(void **state)
{
	(void)state;
	tmp_write("client-secret", 0644, "s3cret\n");
	load_bad(TENANT, "licensed.conf:4: client_secret_file: "
			 "'client-secret' is readable by group or others "
			 "(mode 0644); run 'chmod 600 client-secret'");
}

static void test_secret_readable_by_group_refused(void **state)
{
	(void)state;
	tmp_write("client-secret", 0640, "s3cret\n");
	load_bad(TENANT, "licensed.conf:4: client_secret_file: "
			 "'client-secret' is readable by group or others "
			 "(mode 0640); run 'chmod 600 client-secret'");
}

static void test_secret_missing(void **state)
{
	(void)state;
	assert_int_equal(unlink("client-secret"), 0);
	load_bad(TENANT, "licensed.conf:4: client_secret_file: "
			 "'client-secret' does not exist");
}

static void test_secret_empty_or_blank(void **state)
{
	(void)state;
	tmp_write("client-secret", 0600, "");
	load_bad(TENANT, "licensed.conf:4: client_secret_file: "
			 "'client-secret' is empty");
	tmp_write("client-secret", 0600, " \t\r\n\n");
	load_bad(TENANT, "licensed.conf:4: client_secret_file: "
			 "'client-secret' is empty");
}

static void test_secret_trailing_whitespace_allowed(void **state)
{
	struct config c;

	(void)state;
	tmp_write("client-secret", 0600, "s3cret \t\r\n\r\n");
	load_ok(TENANT, &c);
	config_free(&c);
}

static void test_secret_of_two_lines_refused(void **state)
{
	(void)state;
	tmp_write("client-secret", 0600, "one\ntwo\n");
	load_bad(TENANT, "licensed.conf:4: client_secret_file: "
			 "'client-secret' holds more than one line; it must "
			 "hold the client secret alone");
}

static void test_secret_not_a_regular_file(void **state)
{
	(void)state;
	assert_int_equal(unlink("client-secret"), 0);
	tmp_mkdir("client-secret");
	load_bad(TENANT, "licensed.conf:4: client_secret_file: "
			 "'client-secret' is not a regular file");
}

#define CERT_TENANT                                                            \
	"[tenant]\n"                                                           \
	"tenant_id = contoso.onmicrosoft.com\n"                                \
	"client_id = 3f2c1b8e-5d4a-4e6f-9a7b-2c1d0e9f8a7b\n"                   \
	"certificate_file = app.pem\n"

static void test_certificate_with_key_accepted(void **state)
{
	struct config c;

	(void)state;
	tmp_write("app.pem", 0600,
		  "-----BEGIN CERTIFICATE-----\nMIIB\n"
		  "-----END CERTIFICATE-----\n"
		  "-----BEGIN PRIVATE KEY-----\nMIIE\n"
		  "-----END PRIVATE KEY-----\n");
	load_ok(CERT_TENANT, &c);
	assert_int_equal(c.auth, CONFIG_AUTH_CERTIFICATE);
	assert_string_equal(c.certificate_file, "app.pem");
	assert_string_equal(c.credential_path, "app.pem");
	assert_null(c.client_secret_file);
	config_free(&c);
}

static void test_certificate_without_key_refused(void **state)
{
	(void)state;
	tmp_write("app.pem", 0600,
		  "-----BEGIN CERTIFICATE-----\nMIIB\n"
		  "-----END CERTIFICATE-----\n");
	load_bad(CERT_TENANT, "licensed.conf:4: certificate_file: 'app.pem' "
			      "must hold the PEM certificate and its private "
			      "key");
}

static void test_certificate_readable_by_others_refused(void **state)
{
	(void)state;
	tmp_write("app.pem", 0604,
		  "-----BEGIN CERTIFICATE-----\n"
		  "-----BEGIN RSA PRIVATE KEY-----\n");
	load_bad(CERT_TENANT, "licensed.conf:4: certificate_file: 'app.pem' "
			      "is readable by group or others (mode 0604); "
			      "run 'chmod 600 app.pem'");
}

static void test_two_auth_methods_refused(void **state)
{
	(void)state;
	tmp_write("app.pem", 0600, "x\n");
	load_bad(TENANT "certificate_file = app.pem\n",
		 "licensed.conf:5: more than one authentication method: "
		 "keep one of client_secret_file, certificate_file and "
		 "managed_identity");
	load_bad("[tenant]\n"
		 "managed_identity = yes\n"
		 "tenant_id = contoso.onmicrosoft.com\n"
		 "client_secret_file = client-secret\n",
		 "licensed.conf:4: more than one authentication method: "
		 "keep one of client_secret_file, certificate_file and "
		 "managed_identity");
}

static void test_no_auth_method_refused(void **state)
{
	(void)state;
	load_bad("\n[tenant]\n"
		 "tenant_id = contoso.onmicrosoft.com\n"
		 "client_id = 3f2c1b8e-5d4a-4e6f-9a7b-2c1d0e9f8a7b\n"
		 "managed_identity = no\n",
		 "licensed.conf:2: no authentication method: set "
		 "client_secret_file, certificate_file or managed_identity = "
		 "yes in [tenant]");
}

static void test_required_keys_missing(void **state)
{
	(void)state;
	load_bad("[tenant]\nclient_secret_file = client-secret\n",
		 "licensed.conf:1: missing required key 'tenant_id' in "
		 "[tenant]",
		 "licensed.conf:1: missing required key 'client_id' in "
		 "[tenant]");
}

static void test_no_tenant_section(void **state)
{
	(void)state;
	load_bad("[daemon]\ninterval = 5m\n",
		 "licensed.conf: missing required key 'tenant_id' in "
		 "[tenant]",
		 "licensed.conf: no authentication method: set "
		 "client_secret_file, certificate_file or managed_identity = "
		 "yes in [tenant]");
}

#define MI_TENANT                                                              \
	"[tenant]\n"                                                           \
	"tenant_id = contoso.onmicrosoft.com\n"                                \
	"managed_identity = yes\n"

static void test_managed_identity_defaults(void **state)
{
	struct config c;

	(void)state;
	load_ok(MI_TENANT, &c);
	assert_int_equal(c.auth, CONFIG_AUTH_MANAGED_IDENTITY);
	assert_null(c.client_id);
	assert_null(c.credential_path);
	assert_string_equal(c.authority, "http://169.254.169.254");
	assert_string_equal(c.graph, "https://graph.microsoft.com");
	config_free(&c);
}

static void test_managed_identity_local_http_authority(void **state)
{
	struct config c;

	(void)state;
	load_ok(MI_TENANT "authority = http://127.0.0.1:8081/\n"
			  "client_id = 3f2c1b8e-5d4a-4e6f-9a7b-2c1d0e9f8a7b\n",
		&c);
	assert_string_equal(c.authority, "http://127.0.0.1:8081");
	assert_string_equal(c.client_id,
			    "3f2c1b8e-5d4a-4e6f-9a7b-2c1d0e9f8a7b");
	config_free(&c);
}

static void test_http_authority_refused_without_managed_identity(void **state)
{
	(void)state;
	load_bad(TENANT "authority = http://127.0.0.1:8081\n",
		 "licensed.conf:5: plain http is only accepted for the "
		 "managed identity endpoint; use https");
}

static void test_remote_http_authority_refused(void **state)
{
	(void)state;
	load_bad(MI_TENANT "authority = http://login.example.com\n",
		 "licensed.conf:4: invalid value 'http://login.example.com' "
		 "for 'authority' (plain http is only accepted for the "
		 "managed identity endpoint on 169.254.169.254, 127.0.0.1 or "
		 "localhost)");
}

static void test_http_graph_refused(void **state)
{
	(void)state;
	load_bad(MI_TENANT "graph = http://127.0.0.1:8080\n",
		 "licensed.conf:4: invalid value 'http://127.0.0.1:8080' for "
		 "'graph' (plain http is not accepted here; use https)");
}

static void test_malformed_values(void **state)
{
	(void)state;
	load_bad("[tenant]\n"
		 "tenant_id = contoso\n"
		 "client_id = 3f2c1b8e\n"
		 "authority = https://login.example.com/?x=1\n"
		 "proxy = proxy:3128\n"
		 "write_rate = 0\n"
		 "[daemon]\n"
		 "interval = 0\n"
		 "full_sync = 1w\n"
		 "dry_run = maybe\n"
		 "[safety]\n"
		 "removal = Owned\n"
		 "max_removal_percent = 101\n",
		 "licensed.conf:2: invalid value 'contoso' for 'tenant_id' (a "
		 "tenant GUID or a verified domain such as "
		 "contoso.onmicrosoft.com)",
		 "licensed.conf:3: invalid value '3f2c1b8e' for 'client_id' "
		 "(a GUID: xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)",
		 "licensed.conf:4: invalid value "
		 "'https://login.example.com/?x=1' for 'authority' (a query "
		 "or fragment is not allowed here)",
		 "licensed.conf:5: invalid value 'proxy:3128' for 'proxy' "
		 "(use http://HOST:PORT or socks5://HOST:PORT)",
		 "licensed.conf:6: unknown key 'write_rate' in [tenant] (it "
		 "belongs in [daemon])",
		 "licensed.conf:8: invalid duration '0' for 'interval' (a "
		 "number of seconds, or with an s, m, h or d suffix, at least "
		 "1s)",
		 "licensed.conf:9: invalid duration '1w' for 'full_sync' (a "
		 "number of seconds, or with an s, m, h or d suffix)",
		 "licensed.conf:10: invalid value 'maybe' for 'dry_run' (yes "
		 "or no)",
		 "licensed.conf:12: invalid removal mode 'Owned' (owned, "
		 "authoritative or never)",
		 "licensed.conf:13: invalid number '101' for "
		 "'max_removal_percent' (0 to 100)");
}

static void test_missing_value(void **state)
{
	(void)state;
	load_bad(TENANT "proxy =\n"
			"[daemon]\n"
			"interval = ; comment only\n",
		 "licensed.conf:5: missing value for 'proxy'",
		 "licensed.conf:7: missing value for 'interval'");
}

static void test_ca_file_must_exist(void **state)
{
	(void)state;
	load_bad(TENANT "ca_file = ca.pem\n",
		 "licensed.conf:5: ca_file 'ca.pem': No such file or "
		 "directory");
}

static void test_duplicate_key(void **state)
{
	(void)state;
	load_bad(TENANT "tenant_id = fabrikam.com\n",
		 "licensed.conf:5: duplicate key 'tenant_id' (first set on "
		 "line 2)");
}

static void test_duplicate_section(void **state)
{
	(void)state;
	load_bad(TENANT "[daemon]\ninterval = 5m\n[daemon]\nfull_sync = 1d\n",
		 "licensed.conf:7: duplicate section '[daemon]' (first on "
		 "line 5)");
}

static void test_unknown_key_with_hint(void **state)
{
	(void)state;
	load_bad(TENANT "[daemon]\nintervall = 5m\nDry_Run = no\n",
		 "licensed.conf:6: unknown key 'intervall' in [daemon] (did "
		 "you mean 'interval'?)",
		 "licensed.conf:7: unknown key 'Dry_Run' in [daemon] (did you "
		 "mean 'dry_run'?)");
}

static void test_unknown_key_without_hint(void **state)
{
	(void)state;
	load_bad(TENANT "colour = blue\n[safety]\ninterval = 5m\n",
		 "licensed.conf:5: unknown key 'colour' in [tenant]",
		 "licensed.conf:7: unknown key 'interval' in [safety] (it "
		 "belongs in [daemon])");
}

/* SPEC 2: auto (Graph's documented rate, adapting), or a cap below it. */
static void test_rates_auto_or_a_cap(void **state)
{
	struct config c;

	(void)state;
	load_ok(TENANT "[daemon]\nwrite_rate = auto\nread_rate = AUTO\n", &c);
	assert_int_equal(c.write_rate, 0);
	assert_int_equal(c.read_rate, 0);
	config_free(&c);
	load_ok(TENANT "[daemon]\nwrite_rate = 20\nread_rate = 1\n", &c);
	assert_int_equal(c.write_rate, CONFIG_WRITE_RATE_MAX);
	assert_int_equal(c.read_rate, 1);
	config_free(&c);
}

static void test_rates_out_of_range(void **state)
{
	(void)state;
	load_bad(TENANT "[daemon]\nwrite_rate = 21\nread_rate = 0\n",
		 "licensed.conf:6: invalid rate '21' for 'write_rate' (auto, "
		 "or a cap of 1 to 20 per second: Graph's documented limit)",
		 "licensed.conf:7: invalid rate '0' for 'read_rate' (auto, or "
		 "a cap of 1 to 70 per second: Graph's documented limit)");
	load_bad(
		TENANT "[daemon]\nwrite_rate = fast\nread_rate = 7.5\n",
		"licensed.conf:6: invalid rate 'fast' for 'write_rate' (auto, "
		"or a cap of 1 to 20 per second: Graph's documented limit)",
		"licensed.conf:7: invalid rate '7.5' for 'read_rate' (auto, or "
		"a cap of 1 to 70 per second: Graph's documented limit)");
}

static void test_unknown_section_and_its_keys_skipped(void **state)
{
	(void)state;
	load_bad(TENANT "[tennant]\nfoo = bar\nbaz = 1\n[Daemon]\n",
		 "licensed.conf:5: unknown section '[tennant]' (expected "
		 "[tenant], [daemon] or [safety])",
		 "licensed.conf:8: unknown section '[Daemon]' (expected "
		 "[tenant], [daemon] or [safety])");
}

static void test_key_outside_section(void **state)
{
	(void)state;
	load_bad("interval = 5m\n" TENANT,
		 "licensed.conf:1: 'interval' is outside any section");
}

static void test_indented_continuation_refused(void **state)
{
	(void)state;
	load_bad(TENANT "  more-secret\n"
			"[daemon]\n"
			"\tinterval = 5m\n"
			"\t; an indented comment is fine\n"
			"  full_sync = 1d\n",
		 "licensed.conf:5: indented line would continue the value of "
		 "'client_secret_file'; remove the indentation",
		 "licensed.conf:9: indented line would continue the value of "
		 "'interval'; remove the indentation");
}

static void test_syntax_errors_each_reported(void **state)
{
	(void)state;
	load_bad(TENANT "just words\n"
			"[daemon\n"
			"[daemon] junk\n"
			"[ ]\n"
			" = 5m\n"
			"[safety]\n"
			"= 5\n",
		 "licensed.conf:5: expected 'key = value' or '[section]'",
		 "licensed.conf:6: unterminated section header (no ']')",
		 "licensed.conf:7: unexpected text after ']'",
		 "licensed.conf:8: empty section name",
		 "licensed.conf:9: indented line would continue the value of "
		 "'client_secret_file'; remove the indentation",
		 "licensed.conf:11: missing key name before '='");
}

/* A line of n characters: "; xxx...". */
static char *comment_line(size_t n)
{
	char *s = malloc(n + 2);

	assert_non_null(s);
	memset(s, 'x', n);
	s[0] = ';';
	s[n] = '\n';
	s[n + 1] = '\0';
	return s;
}

static void test_overlong_line_reported_at_its_line(void **state)
{
	char text[1024];
	char *ok = comment_line(198), *too_long = comment_line(199);

	(void)state;
	(void)snprintf(text, sizeof(text), "%s%s%s%scolour = red\n", TENANT, ok,
		       too_long, ok);
	load_bad(text, "licensed.conf:6: line is longer than 198 characters",
		 "licensed.conf:8: unknown key 'colour' in [tenant]");
	free(ok);
	free(too_long);
}

static void test_overlong_value_line_not_cut(void **state)
{
	char text[1024];
	char *too_long = comment_line(300);

	(void)state;
	memcpy(too_long, "proxy = http://", 15);
	(void)snprintf(text, sizeof(text), "%s%s", TENANT, too_long);
	load_bad(text, "licensed.conf:5: line is longer than 198 characters");
	free(too_long);
}

static void test_crlf_line_endings(void **state)
{
	struct config c;

	(void)state;
	load_ok("[tenant]\r\n"
		"tenant_id = contoso.onmicrosoft.com\r\n"
		"client_id = 3f2c1b8e-5d4a-4e6f-9a7b-2c1d0e9f8a7b\r\n"
		"client_secret_file = client-secret\r\n"
		"[daemon]\r\n"
		"interval = 5m\r\n",
		&c);
	assert_string_equal(c.tenant_id, "contoso.onmicrosoft.com");
	assert_string_equal(c.credential_path, "client-secret");
	assert_int_equal(c.interval_sec, 300);
	config_free(&c);
}

static void test_crlf_errors_keep_line_numbers(void **state)
{
	(void)state;
	load_bad(TENANT "\r\n[daemon]\r\ninterval = soon\r\n",
		 "licensed.conf:7: invalid duration 'soon' for 'interval' (a "
		 "number of seconds, or with an s, m, h or d suffix, at least "
		 "1s)");
}

static void test_utf8_bom_skipped(void **state)
{
	struct config c;

	(void)state;
	load_ok("\xEF\xBB\xBF" TENANT, &c);
	assert_string_equal(c.tenant_id, "contoso.onmicrosoft.com");
	config_free(&c);
}

static void test_bom_only_on_first_line(void **state)
{
	(void)state;
	load_bad(TENANT "\xEF\xBB\xBF[daemon]\n",
		 "licensed.conf:5: expected 'key = value' or '[section]'");
}

static void test_nul_byte_refused(void **state)
{
	static const char text[] = "[tenant]\ntenant_id = con\0toso.com\n";
	struct config c = { 0 };
	struct diags d = { 0 };

	(void)state;
	tmp_write_bytes("licensed.conf", 0644, text, sizeof(text) - 1);
	assert_int_equal(config_load("licensed.conf", &c, &d), 2);
	assert_diags(&d, "licensed.conf:2: NUL byte in a text file");
	assert_null(c.path);
	diags_clear(&d);
}

static void test_empty_file(void **state)
{
	(void)state;
	load_bad("", "licensed.conf: empty file: no section and no setting");
	load_bad("; only\n\n# comments\n",
		 "licensed.conf: empty file: no section and no setting");
}

static void test_unreadable_paths(void **state)
{
	struct config c = { 0 };
	struct diags d = { 0 };

	(void)state;
	assert_int_equal(config_load("nope.conf", &c, &d), 2);
	tmp_mkdir("dir.conf");
	assert_int_equal(config_load("dir.conf", &c, &d), 2);
	assert_diags(&d, "nope.conf: cannot read: No such file or directory",
		     "dir.conf: cannot read: not a regular file");
	assert_null(c.path);
	diags_clear(&d);
}

static void test_three_errors_all_reported(void **state)
{
	(void)state;
	load_bad("[tenant]\n"
		 "tenant_id = contoso\n"
		 "[daemon]\n"
		 "interval = soon\n"
		 "[safety]\n"
		 "removal = all\n",
		 "licensed.conf:2: invalid value 'contoso' for 'tenant_id' (a "
		 "tenant GUID or a verified domain such as "
		 "contoso.onmicrosoft.com)",
		 "licensed.conf:4: invalid duration 'soon' for 'interval' (a "
		 "number of seconds, or with an s, m, h or d suffix, at least "
		 "1s)",
		 "licensed.conf:6: invalid removal mode 'all' (owned, "
		 "authoritative or never)");
}

static void test_diags_appended_after_existing(void **state)
{
	struct config c = { 0 };
	struct diags d = { 0 };

	(void)state;
	assert_int_equal(diags_add(&d, "other", 1, "earlier"), 0);
	tmp_write("licensed.conf", 0644, TENANT "colour = red\n");
	assert_int_equal(config_load("licensed.conf", &c, &d), 2);
	assert_diags(&d, "other:1: earlier",
		     "licensed.conf:5: unknown key 'colour' in [tenant]");
	diags_clear(&d);
}

static double seconds_since(const struct timespec *t0)
{
	struct timespec t1;

	(void)clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) +
	       (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

/* Regression: each line without '=' was scanned to the end of the file. */
static void test_many_bad_lines_checked_in_linear_time(void **state)
{
	enum { N = 300000 };
	char *text = malloc(2 * N + 16);
	struct config c = { 0 };
	struct diags d = { 0 };
	struct timespec t0;

	(void)state;
	assert_non_null(text);
	memcpy(text, "[tenant]\n", 9);
	for (size_t i = 0; i < N; i++)
		memcpy(text + 9 + 2 * i, "x\n", 2);
	tmp_write_bytes("licensed.conf", 0644, text, 9 + 2 * N);
	(void)clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(config_load("licensed.conf", &c, &d), 2);
	assert_true(seconds_since(&t0) < 1.0);
	assert_int_equal(d.n, DIAGS_MAX);
	assert_int_equal(diags_count(&d), N);
	diags_clear(&d);
	free(text);
}

static void test_names_and_free_null(void **state)
{
	(void)state;
	config_free(NULL);
	assert_string_equal(config_auth_name(CONFIG_AUTH_NONE), "none");
	assert_string_equal(config_auth_name(CONFIG_AUTH_SECRET),
			    "client secret");
	assert_string_equal(config_auth_name(CONFIG_AUTH_CERTIFICATE),
			    "certificate");
	assert_string_equal(config_auth_name(CONFIG_AUTH_MANAGED_IDENTITY),
			    "managed identity");
	assert_string_equal(config_removal_name(CONFIG_REMOVAL_OWNED), "owned");
	assert_string_equal(config_removal_name(CONFIG_REMOVAL_AUTHORITATIVE),
			    "authoritative");
	assert_string_equal(config_removal_name(CONFIG_REMOVAL_NEVER), "never");
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, tmp_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_defaults_when_optional_keys_absent),
		T(test_every_key_parsed),
		T(test_removal_never_and_inline_comments),
		T(test_relative_paths_resolved_against_config_dir),
		T(test_absolute_config_path_resolves_absolute),
		T(test_credentials_directory_group_readable_ok),
		T(test_credentials_directory_has_no_fallback),
		T(test_credentials_directory_not_for_absolute_name),
		T(test_credentials_directory_must_be_absolute),
		T(test_secret_readable_by_others_refused),
		T(test_secret_readable_by_group_refused),
		T(test_secret_missing),
		T(test_secret_empty_or_blank),
		T(test_secret_trailing_whitespace_allowed),
		T(test_secret_of_two_lines_refused),
		T(test_secret_not_a_regular_file),
		T(test_certificate_with_key_accepted),
		T(test_certificate_without_key_refused),
		T(test_certificate_readable_by_others_refused),
		T(test_two_auth_methods_refused),
		T(test_no_auth_method_refused),
		T(test_required_keys_missing),
		T(test_no_tenant_section),
		T(test_managed_identity_defaults),
		T(test_managed_identity_local_http_authority),
		T(test_http_authority_refused_without_managed_identity),
		T(test_remote_http_authority_refused),
		T(test_http_graph_refused),
		T(test_malformed_values),
		T(test_missing_value),
		T(test_ca_file_must_exist),
		T(test_duplicate_key),
		T(test_duplicate_section),
		T(test_unknown_key_with_hint),
		T(test_unknown_key_without_hint),
		T(test_rates_auto_or_a_cap),
		T(test_rates_out_of_range),
		T(test_unknown_section_and_its_keys_skipped),
		T(test_key_outside_section),
		T(test_indented_continuation_refused),
		T(test_syntax_errors_each_reported),
		T(test_overlong_line_reported_at_its_line),
		T(test_overlong_value_line_not_cut),
		T(test_crlf_line_endings),
		T(test_crlf_errors_keep_line_numbers),
		T(test_utf8_bom_skipped),
		T(test_bom_only_on_first_line),
		T(test_nul_byte_refused),
		T(test_empty_file),
		T(test_unreadable_paths),
		T(test_three_errors_all_reported),
		T(test_diags_appended_after_existing),
		T(test_many_bad_lines_checked_in_linear_time),
		T(test_names_and_free_null),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
