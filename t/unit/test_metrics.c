/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for mf_metrics: the counters, the descriptor table (names as
 * Prometheus wants them), and the one renderer (JSON nesting, flat view,
 * Prometheus exposition format 0.0.4, --get), plus mf_heartbeat's
 * classification of rows.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "mf_heartbeat.h"
#include "mf_log.h"
#include "mf_metrics.h"
#include "mf_store.h"

#include "mf_banned.h"

typedef int (*render_fn)(const struct mf_doc *, FILE *);

/* Render @d with @fn into a malloc'd string. */
static char *render(const struct mf_doc *d, render_fn fn)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_int_equal(fn(d, f), 0);
	assert_int_equal(fclose(f), 0);
	return buf;
}

static char *get(const struct mf_doc *d, const char *key, int *ret)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	*ret = mf_doc_get(d, key, f);
	assert_int_equal(fclose(f), 0);
	return buf;
}

static void test_descs(void **state)
{
	(void)state;
	for (size_t i = 0; i < MF_M__COUNT; i++) {
		const struct mf_metric_desc *m = &mf_metric_descs[i];
		size_t n;

		assert_non_null(m->key);
		assert_non_null(m->name);
		assert_non_null(m->help);
		assert_true(m->div >= 1);
		assert_int_equal(strncmp(m->name, "musefs_mount_", 13), 0);
		n = strlen(m->name);
		/* counters end in _total, gauges never do */
		if (m->type == MF_METRIC_COUNTER)
			assert_true(n > 6 && !strcmp(m->name + n - 6, "_total"));
		else
			assert_false(n > 6 && !strcmp(m->name + n - 6, "_total"));
		/* the unit is in the name, base units only */
		if (*m->unit)
			assert_non_null(strstr(m->name, m->unit));
		assert_int_equal(mf_metric_by_key(m->key), (int)i);
		/* one family has one type, help and unit */
		for (size_t j = 0; j < i; j++) {
			const struct mf_metric_desc *o = &mf_metric_descs[j];

			if (strcmp(o->name, m->name) != 0)
				continue;
			assert_int_equal(o->type, m->type);
			assert_string_equal(o->help, m->help);
			assert_non_null(m->label);
			assert_non_null(o->label);
			assert_string_not_equal(o->label, m->label);
		}
	}
	assert_int_equal(mf_metric_by_key("nope"), -1);
}

static void test_counters(void **state)
{
	int64_t v[MF_M__COUNT];

	(void)state;
	mf_metrics_start();
	mf_metric_inc(MF_M_READS);
	mf_metric_add(MF_M_READ_BYTES, 4096);
	mf_metric_add(MF_M_READ_BYTES, 10);
	mf_metric_set(MF_M_CACHE_BUDGET, 1 << 20);
	mf_metric_inc(MF_M_WORKERS_BUSY);
	mf_metrics_worker_seen();
	mf_metrics_worker_seen();	/* once per thread */
	mf_metrics_changelog(10, 7);
	mf_metrics_snapshot(v);
	assert_int_equal(v[MF_M_READS], 1);
	assert_int_equal(v[MF_M_READ_BYTES], 4106);
	assert_int_equal(v[MF_M_CACHE_BUDGET], 1 << 20);
	assert_int_equal(v[MF_M_STORE_HEAD], 10);
	assert_int_equal(v[MF_M_WATERMARK], 7);
	assert_int_equal(v[MF_M_LAG_SEQ], 3);
	assert_true(v[MF_M_LAG_MS] >= 0);
	assert_true(v[MF_M_UPTIME_MS] >= 0);
	assert_true(v[MF_M_RSS_BYTES] > 0);
	assert_int_equal(v[MF_M_WORKERS_IDLE], 0);	/* 1 thread, 1 busy */
	mf_metric_add(MF_M_WORKERS_BUSY, -1);
	mf_metrics_changelog(10, 10);
	mf_metrics_snapshot(v);
	assert_int_equal(v[MF_M_WORKERS_IDLE], 1);
	assert_int_equal(v[MF_M_LAG_SEQ], 0);
	assert_int_equal(v[MF_M_LAG_MS], 0);
	{
		char *text;
		size_t len;

		assert_int_equal(mf_metrics_render_mount(MF_DOC_JSON, &text,
							 &len), 0);
		assert_int_equal(strncmp(text, "{\"uptime_s\":", 12), 0);
		assert_non_null(strstr(text, ",\"reads\":1,\"read_bytes\":4106,"));
		assert_non_null(strstr(text, "\"workers\":{\"busy\":0,\"idle\":1}"));
		assert_int_equal(len, strlen(text));
		free(text);
		assert_int_equal(mf_metrics_render_mount(MF_DOC_FLAT, &text,
							 &len), 0);
		assert_non_null(strstr(text, "\nread_bytes=4106\n"));
		free(text);
	}
	mf_metrics_start();
	mf_metrics_snapshot(v);
	assert_int_equal(v[MF_M_READS], 0);
}

#define NTHREADS 4
#define NADDS 100000

static void *adder(void *arg)
{
	(void)arg;
	mf_metrics_worker_seen();
	for (int i = 0; i < NADDS; i++)
		mf_metric_inc(MF_M_LOOKUPS);
	return NULL;
}

/* No increment is lost when threads race (the atomics at work). */
static void test_threads(void **state)
{
	pthread_t t[NTHREADS];
	int64_t v[MF_M__COUNT];

	(void)state;
	mf_metrics_start();
	for (int i = 0; i < NTHREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, adder, NULL), 0);
	for (int i = 0; i < NTHREADS; i++)
		pthread_join(t[i], NULL);
	mf_metrics_snapshot(v);
	assert_int_equal(v[MF_M_LOOKUPS], (int64_t)NTHREADS * NADDS);
	/* the worker threads have exited: only this thread is counted */
	assert_int_equal(v[MF_M_WORKERS_IDLE], 1);
}

static void test_json(void **state)
{
	struct mf_doc *d = mf_doc_new();
	char *s;

	(void)state;
	assert_non_null(d);
	assert_int_equal(mf_doc_str(d, "store.path", "/a \"b\"\\\n\x01"), 0);
	assert_int_equal(mf_doc_int(d, "store.size", -5), 0);
	assert_int_equal(mf_doc_int(d, "tracks.by_format.flac", 3), 0);
	assert_int_equal(mf_doc_empty_object(d, "tracks.extra"), 0);
	assert_int_equal(mf_doc_fixed(d, "tracks.hours", 1500, 1000), 0);
	assert_int_equal(mf_doc_null(d, "last"), 0);
	assert_int_equal(mf_doc_int(d, "list.0.a", 1), 0);
	assert_int_equal(mf_doc_int(d, "list.0.b", 2), 0);
	assert_int_equal(mf_doc_int(d, "list.1.a", 3), 0);
	assert_int_equal(mf_doc_empty_array(d, "none"), 0);
	assert_int_equal(mf_doc_fixed(d, "neg", -2050, 1000), 0);
	assert_int_equal(mf_doc_fixed(d, "whole", 2000, 1000), 0);
	/* misuse: reopening a closed object, leaf/container clashes, bad keys */
	assert_int_equal(mf_doc_int(d, "store.x", 1), -EINVAL);
	assert_int_equal(mf_doc_int(d, "whole", 1), -EINVAL);
	assert_int_equal(mf_doc_int(d, "whole.x", 1), -EINVAL);
	assert_int_equal(mf_doc_int(d, "list", 1), -EINVAL);
	assert_int_equal(mf_doc_int(d, "", 1), -EINVAL);
	assert_int_equal(mf_doc_int(d, "a..b", 1), -EINVAL);
	assert_int_equal(mf_doc_int(d, "a.", 1), -EINVAL);
	assert_int_equal(mf_doc_int(d, "a b", 1), -EINVAL);
	assert_int_equal(mf_doc_int(d, "mix.0", 1), 0);
	assert_int_equal(mf_doc_int(d, "mix.x", 1), -EINVAL);
	assert_int_equal(mf_doc_int(d, "mix.0", 1), -EINVAL);
	assert_int_equal(mf_doc_int(d, "tracks.hours", 1), -EINVAL);
	assert_int_equal(mf_doc_int(d, "list.0.a.b", 1), -EINVAL);
	assert_int_equal(mf_doc_int(d, "mix", 1), -EINVAL);
	s = render(d, mf_doc_render_json);
	assert_string_equal(s,
		"{\"store\":{\"path\":\"/a \\\"b\\\"\\\\\\n\\u0001\","
		"\"size\":-5},\"tracks\":{\"by_format\":{\"flac\":3},"
		"\"extra\":{},\"hours\":1.5},\"last\":null,"
		"\"list\":[{\"a\":1,\"b\":2},{\"a\":3}],\"none\":[],"
		"\"neg\":-2.05,\"whole\":2,\"mix\":[1]}\n");
	free(s);
	s = render(d, mf_doc_render_flat);
	assert_string_equal(s,
		"store.path=/a \"b\"\\\\\\n\x01\n"
		"store.size=-5\ntracks.by_format.flac=3\ntracks.hours=1.5\n"
		"last=\nlist.0.a=1\nlist.0.b=2\nlist.1.a=3\nneg=-2.05\n"
		"whole=2\nmix.0=1\n");
	free(s);
	mf_doc_free(d);

	d = mf_doc_new();
	s = render(d, mf_doc_render_json);
	assert_string_equal(s, "{}\n");
	free(s);
	mf_doc_free(d);
	mf_doc_free(NULL);
}

static void test_get(void **state)
{
	struct mf_doc *d = mf_doc_new();
	char *s;
	int ret;

	(void)state;
	assert_int_equal(mf_doc_int(d, "tracks.total", 42), 0);
	assert_int_equal(mf_doc_str(d, "scan.outcome", "ok"), 0);
	assert_int_equal(mf_doc_empty_array(d, "mounts"), 0);
	s = get(d, "tracks.total", &ret);
	assert_int_equal(ret, 0);
	assert_string_equal(s, "42\n");
	free(s);
	s = get(d, "scan.outcome", &ret);
	assert_int_equal(ret, 0);
	assert_string_equal(s, "ok\n");
	free(s);
	s = get(d, "tracks", &ret);
	assert_int_equal(ret, -ENOENT);
	free(s);
	s = get(d, "mounts", &ret);
	assert_int_equal(ret, -ENOENT);
	free(s);
	mf_doc_free(d);
}

static void test_prometheus(void **state)
{
	struct mf_doc *d = mf_doc_new();
	int64_t v[MF_M__COUNT] = { 0 };
	bool present[MF_M__COUNT] = { false };
	char labels[128] = "", *s;

	(void)state;
	assert_int_equal(mf_prom_label(labels, sizeof(labels), "mountpoint",
				       "/m \"x\"\\\n"), 0);
	assert_string_equal(labels, "mountpoint=\"/m \\\"x\\\"\\\\\\n\"");
	assert_int_equal(mf_prom_label(labels, sizeof(labels), "host", "h"), 0);
	assert_string_equal(labels,
			    "mountpoint=\"/m \\\"x\\\"\\\\\\n\",host=\"h\"");
	assert_int_equal(mf_prom_label(labels, 20, "x", "y"), -ENAMETOOLONG);
	assert_string_equal(labels,
			    "mountpoint=\"/m \\\"x\\\"\\\\\\n\",host=\"h\"");

	v[MF_M_SEG_BYTES_INLINE] = 10;
	v[MF_M_SEG_BYTES_ART] = 20;
	v[MF_M_REFRESH_LAST_NS] = 1500000;
	present[MF_M_SEG_BYTES_INLINE] = present[MF_M_SEG_BYTES_ART] = true;
	present[MF_M_REFRESH_LAST_NS] = true;
	assert_int_equal(mf_doc_int(d, "plain", 7), 0);
	assert_int_equal(mf_doc_mount_metrics(d, "m.0", "a=\"1\"", v, present), 0);
	assert_int_equal(mf_doc_mount_metrics(d, "m.1", NULL, v, present), 0);
	s = render(d, mf_doc_render_prometheus);
	assert_string_equal(s,
		"# HELP musefs_mount_served_bytes_total Bytes served, by segment kind.\n"
		"# TYPE musefs_mount_served_bytes_total counter\n"
		"musefs_mount_served_bytes_total{a=\"1\",kind=\"inline\"} 10\n"
		"musefs_mount_served_bytes_total{a=\"1\",kind=\"art\"} 20\n"
		"musefs_mount_served_bytes_total{kind=\"inline\"} 10\n"
		"musefs_mount_served_bytes_total{kind=\"art\"} 20\n"
		"# HELP musefs_mount_last_refresh_duration_seconds Duration of the last refresh pass.\n"
		"# TYPE musefs_mount_last_refresh_duration_seconds gauge\n"
		"musefs_mount_last_refresh_duration_seconds{a=\"1\"} 0.0015\n"
		"musefs_mount_last_refresh_duration_seconds 0.0015\n");
	free(s);
	mf_doc_free(d);
}

/* The flat text a heartbeat stores parses back to the same values. */
static void test_flat_roundtrip(void **state)
{
	struct mf_doc *d = mf_doc_new();
	int64_t v[MF_M__COUNT], back[MF_M__COUNT] = { 0 };
	bool present[MF_M__COUNT] = { false };
	char *s;

	(void)state;
	for (size_t i = 0; i < MF_M__COUNT; i++)
		v[i] = (int64_t)(i * 1000003 + 7);
	v[MF_M_LAG_MS] = -1234;
	assert_int_equal(mf_doc_mount_metrics(d, "", NULL, v, NULL), 0);
	s = render(d, mf_doc_render_flat);
	mf_metrics_parse_flat(s, back, present);
	for (size_t i = 0; i < MF_M__COUNT; i++) {
		assert_true(present[i]);
		assert_int_equal(back[i], v[i]);
	}
	free(s);
	mf_doc_free(d);

	/* garbage is skipped, never a crash */
	memset(present, 0, sizeof(present));
	mf_metrics_parse_flat(NULL, back, present);
	mf_metrics_parse_flat("reads=\nreads=x\nreads=1.\nreads=-\n=5\n"
			      "unknown=3\nreads=99999999999999999999\n"
			      "opens=12\nlookups=3.5\nuptime_s=2.25",
			      back, present);
	assert_false(present[MF_M_READS]);
	assert_true(present[MF_M_OPENS]);
	assert_int_equal(back[MF_M_OPENS], 12);
	assert_false(present[MF_M_LOOKUPS] && back[MF_M_LOOKUPS] != 3);
	assert_true(present[MF_M_UPTIME_MS]);
	assert_int_equal(back[MF_M_UPTIME_MS], 2250);
}

static void test_classify(void **state)
{
	char host[256];
	int64_t now = 1000000;

	(void)state;
	assert_int_equal(mf_heartbeat_hostname(host, sizeof(host)), 0);
	assert_int_equal(mf_heartbeat_classify("stopped", host, getpid(), now,
					       10, now, host), MF_MOUNT_STOPPED);
	assert_int_equal(mf_heartbeat_classify("running", host, getpid(), now - 5,
					       10, now, host), MF_MOUNT_LIVE);
	assert_int_equal(mf_heartbeat_classify("running", host, getpid(),
					       now - 30, 10, now, host),
			 MF_MOUNT_LIVE);
	assert_int_equal(mf_heartbeat_classify("running", host, getpid(),
					       now - 31, 10, now, host),
			 MF_MOUNT_STALE);
	/* pid gone on this host: stale at once; on another host: by age */
	assert_int_equal(mf_heartbeat_classify("running", host, INT32_MAX,
					       now, 10, now, host),
			 MF_MOUNT_STALE);
	assert_int_equal(mf_heartbeat_classify("running", "elsewhere",
					       INT32_MAX, now, 10, now, host),
			 MF_MOUNT_LIVE);
	assert_int_equal(mf_heartbeat_classify("running", host, -1, now, 10,
					       now, host), MF_MOUNT_STALE);
	assert_string_equal(mf_mount_state_name(MF_MOUNT_LIVE), "live");
	assert_string_equal(mf_mount_state_name(MF_MOUNT_STALE), "stale");
	assert_string_equal(mf_mount_state_name(MF_MOUNT_STOPPED), "stopped");
}

static int samples;	/* written by the heartbeat thread, read after join */

static void count_sample(void *ctx)
{
	(void)ctx;
	samples++;
}

/* The row of mountpoint "/m" in store @path: state and metrics. */
static bool read_row(const char *path, char *state, size_t slen,
		     char *metrics, size_t mlen)
{
	struct mf_store *s = NULL;
	sqlite3_stmt *st = NULL;
	bool found = false;

	assert_int_equal(mf_store_open(path, MF_STORE_READONLY, &s, NULL, 0), 0);
	assert_int_equal(sqlite3_prepare_v2(mf_store_db(s), "SELECT state, "
			 "metrics FROM mount_heartbeats WHERE mountpoint = '/m'",
			 -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW) {
		snprintf(state, slen, "%s", sqlite3_column_text(st, 0));
		snprintf(metrics, mlen, "%s", sqlite3_column_text(st, 1));
		found = true;
	}
	sqlite3_finalize(st);
	mf_store_close(s);
	return found;
}

/* A real thread against a real store: a row appears, then stops. */
static void test_heartbeat_thread(void **state)
{
	char dir[] = "/tmp/mf-test-hb.XXXXXX", path[64], rstate[16],
	     metrics[8192], cmd[96];
	struct mf_heartbeat_config cfg = {
		.mountpoint = "/m", .template_src = "$title",
		.mode = "synthesis", .interval_s = 1, .sample = count_sample,
	};
	struct mf_heartbeat *hb = NULL;
	struct mf_store *s = NULL;
	int64_t v[MF_M__COUNT];
	bool found = false;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/store.db", dir);
	assert_int_equal(mf_store_open(path, MF_STORE_CREATE, &s, NULL, 0), 0);
	mf_store_close(s);
	mf_metrics_start();
	cfg.db_path = path;
	assert_int_equal(mf_heartbeat_start(&cfg, &hb), 0);
	for (int i = 0; i < 100 && !found; i++) {
		found = read_row(path, rstate, sizeof(rstate), metrics,
				 sizeof(metrics));
		if (!found)
			usleep(50000);
	}
	assert_true(found);
	assert_string_equal(rstate, "running");
	assert_non_null(strstr(metrics, "\nheartbeat.writes="));
	mf_heartbeat_stop(hb);
	assert_true(read_row(path, rstate, sizeof(rstate), metrics,
			     sizeof(metrics)));
	assert_string_equal(rstate, "stopped");
	assert_true(samples >= 2);
	mf_metrics_snapshot(v);
	assert_true(v[MF_M_HEARTBEATS] >= 2);
	assert_int_equal(v[MF_M_HEARTBEAT_ERRORS], 0);

	/* a store that cannot be opened: errors are counted, stop still works */
	cfg.db_path = "/nonexistent/dir/store.db";
	cfg.sample = NULL;
	mf_log_set_level(MF_LOG_ERROR);	/* the expected warning */
	assert_int_equal(mf_heartbeat_start(&cfg, &hb), 0);
	mf_heartbeat_stop(hb);
	mf_log_set_level(MF_LOG_WARN);
	mf_metrics_snapshot(v);
	assert_true(v[MF_M_HEARTBEAT_ERRORS] >= 1);

	cfg.interval_s = 0;
	assert_int_equal(mf_heartbeat_start(&cfg, &hb), -EINVAL);
	assert_null(hb);
	mf_heartbeat_stop(NULL);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

static void test_sample_only(void **state)
{
	struct mf_doc *d = mf_doc_new();
	static const struct mf_metric_desc up = {
		NULL, "x_up", NULL, MF_METRIC_GAUGE, "", 1, "Up."
	};
	char *s;
	int ret;

	(void)state;
	assert_int_equal(mf_doc_int(d, "a", 1), 0);
	assert_int_equal(mf_doc_sample(d, &up, "m=\"1\"", 1), 0);
	assert_int_equal(mf_doc_int(d, "b", 2), 0);
	assert_int_equal(mf_doc_sample(d, &up, "m=\"2\"", 0), 0);
	s = render(d, mf_doc_render_json);
	assert_string_equal(s, "{\"a\":1,\"b\":2}\n");
	free(s);
	s = render(d, mf_doc_render_flat);
	assert_string_equal(s, "a=1\nb=2\n");
	free(s);
	s = render(d, mf_doc_render_prometheus);
	assert_string_equal(s, "# HELP x_up Up.\n# TYPE x_up gauge\n"
			    "x_up{m=\"1\"} 1\nx_up{m=\"2\"} 0\n");
	free(s);
	s = get(d, "x_up", &ret);
	assert_int_equal(ret, -ENOENT);
	free(s);
	mf_doc_free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_descs),
		cmocka_unit_test(test_counters),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_get),
		cmocka_unit_test(test_prometheus),
		cmocka_unit_test(test_flat_roundtrip),
		cmocka_unit_test(test_classify),
		cmocka_unit_test(test_sample_only),
		cmocka_unit_test(test_heartbeat_thread),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
