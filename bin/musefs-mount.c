/* SPDX-License-Identifier: MIT */
/*
 * musefs-mount - mount the store as a read-only, tag-driven tree.
 *
 * Options may be given as --name VALUE, --name=VALUE or -o name=VALUE (so
 * the mount works from /etc/fstab); fstab words (auto, noauto, user,
 * users, _netdev, nofail, defaults, rw/ro) are accepted and ignored; other
 * -o options go to FUSE, which refuses unknown ones by name.
 */
#include "../mount/mf_fs.h"
#include "../mount/mf_metricsfs.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "mf_heartbeat.h"
#include "mf_log.h"
#include "mf_main.h"
#include "mf_metrics.h"
#include "mf_template.h"
#include "mf_banned.h"

#define DEFAULT_TEMPLATE "$albumartist/$album/$title"
#define MAX_FALLBACKS 64

struct mount_opts {
	const char *db;
	const char *tmpl;
	struct mf_template_fallback fallbacks[MAX_FALLBACKS];
	size_t nfallbacks;
	const char *default_fallback;
	bool skip_on_missing;
	enum mf_serve_mode mode;
	unsigned poll_ms;
	unsigned heartbeat_s;	/* 0: no heartbeat */
	bool expose_metrics;
	bool foreground;
	bool single;
	bool debug;
	int verbose;
	int quiet;
	char *fuse_opts;	/* comma-joined -o options for FUSE */
	const char *mountpoint;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: musefs-mount [OPTION]... MOUNTPOINT\n"
		"\n"
		"Serve the store as a read-only tree of synthesized files.\n"
		"\n"
		"  --db PATH               store file (default: $MUSEFS_DB, else\n"
		"                          ${XDG_DATA_HOME:-$HOME/.local/share}/musefs/library.db)\n"
		"  --template T            path template (default: '%s')\n"
		"  --fallback KEY=VALUE    value for KEY when a track has none (repeat)\n"
		"  --default-fallback V    value for any other absent field\n"
		"  --skip-on-missing       leave out tracks missing a needed field\n"
		"  --mode MODE             synthesis (default) or structure-only\n"
		"  --poll-interval-ms N    how often to look for store changes (1000)\n"
		"  --heartbeat-s N         write a heartbeat row to the store every N\n"
		"                          seconds (10; 0 disables)\n"
		"  --expose-metrics        serve /.musefs-metrics/metrics (Prometheus)\n"
		"  -f                      stay in the foreground\n"
		"  -s                      single-threaded (debugging)\n"
		"  -d                      FUSE debug output (implies -f)\n"
		"  -o OPT[,OPT...]         the options above as name=value, or FUSE\n"
		"                          mount options (allow_other, ...)\n"
		"  -v, -q                  more or fewer messages\n"
		"  -h, --help, -V, --version\n",
		DEFAULT_TEMPLATE);
}

static int add_fuse_opt(struct mount_opts *o, const char *opt)
{
	size_t old = o->fuse_opts ? strlen(o->fuse_opts) : 0;
	char *p = realloc(o->fuse_opts, old + strlen(opt) + 2);

	if (!p)
		return -ENOMEM;
	if (old)
		p[old++] = ',';
	memcpy(p + old, opt, strlen(opt) + 1);
	o->fuse_opts = p;
	return 0;
}

static int parse_uint(const char *name, const char *v, unsigned min,
		      unsigned max, unsigned *out)
{
	char *end;
	unsigned long n;

	errno = 0;
	n = strtoul(v, &end, 10);
	if (errno || end == v || *end || n < min || n > max || v[0] == '-') {
		mf_err(NULL, "invalid value for '%s': '%s' (expected %u..%u)",
		       name, v, min, max);
		return -EINVAL;
	}
	*out = (unsigned)n;
	return 0;
}

/* One named option from the command line or -o; @v may be NULL for flags. */
static int set_opt(struct mount_opts *o, const char *name, char *v)
{
	if (strcmp(name, "db") == 0) {
		o->db = v;
	} else if (strcmp(name, "template") == 0) {
		o->tmpl = v;
	} else if (strcmp(name, "fallback") == 0) {
		char *eq = v ? strchr(v, '=') : NULL;

		if (!eq || eq == v) {
			mf_err(NULL, "invalid value for 'fallback': '%s' "
			       "(expected KEY=VALUE)", v ? v : "");
			return -EINVAL;
		}
		if (o->nfallbacks == MAX_FALLBACKS) {
			mf_err(NULL, "too many 'fallback' options (max %d)",
			       MAX_FALLBACKS);
			return -EINVAL;
		}
		*eq = '\0';
		o->fallbacks[o->nfallbacks].field = v;
		o->fallbacks[o->nfallbacks].value = eq + 1;
		o->nfallbacks++;
	} else if (strcmp(name, "default-fallback") == 0 ||
		   strcmp(name, "default_fallback") == 0) {
		o->default_fallback = v;
	} else if (strcmp(name, "skip-on-missing") == 0 ||
		   strcmp(name, "skip_on_missing") == 0) {
		o->skip_on_missing = true;
	} else if (strcmp(name, "mode") == 0) {
		if (v && strcmp(v, "synthesis") == 0) {
			o->mode = MF_SERVE_SYNTHESIS;
		} else if (v && strcmp(v, "structure-only") == 0) {
			o->mode = MF_SERVE_STRUCTURE_ONLY;
		} else {
			mf_err(NULL, "invalid value for 'mode': '%s' (expected "
			       "synthesis or structure-only)", v ? v : "");
			return -EINVAL;
		}
	} else if (strcmp(name, "heartbeat-s") == 0 ||
		   strcmp(name, "heartbeat_s") == 0) {
		return parse_uint("heartbeat-s", v ? v : "", 0, 86400,
				  &o->heartbeat_s);
	} else if (strcmp(name, "expose-metrics") == 0 ||
		   strcmp(name, "expose_metrics") == 0) {
		o->expose_metrics = true;
		return 0;
	} else if (strcmp(name, "poll-interval-ms") == 0 ||
		   strcmp(name, "poll_interval_ms") == 0) {
		return parse_uint("poll-interval-ms", v ? v : "", 10, 3600000,
				  &o->poll_ms);
	} else {
		return 1;	/* not ours */
	}
	if (!v && strcmp(name, "skip-on-missing") != 0 &&
	    strcmp(name, "skip_on_missing") != 0) {
		mf_err(NULL, "option '%s' needs a value", name);
		return -EINVAL;
	}
	return 0;
}

/* Split one -o argument on unescaped commas and dispatch each item. */
static int parse_o(struct mount_opts *o, char *arg)
{
	static const char *const ignored[] = {
		"auto", "noauto", "user", "users", "nouser", "_netdev",
		"nofail", "defaults", "ro", "rw", "exec", "noexec", "suid",
		"nosuid", "dev", "nodev", "async", "atime", "noatime",
	};
	char *p = arg, *item = arg, *w = arg;
	int ret;

	for (;; p++) {
		if (*p == '\\' && p[1]) {
			*w++ = *++p;
			continue;
		}
		if (*p != ',' && *p != '\0') {
			*w++ = *p;
			continue;
		}
		bool end = *p == '\0';
		char *eq, *v = NULL;
		size_t i;

		*w = '\0';
		if (*item) {
			for (i = 0; i < sizeof(ignored) / sizeof(*ignored); i++)
				if (strcmp(item, ignored[i]) == 0)
					break;
			if (i == sizeof(ignored) / sizeof(*ignored)) {
				eq = strchr(item, '=');
				if (eq) {
					*eq = '\0';
					v = eq + 1;
				}
				ret = set_opt(o, item, v);
				if (ret < 0)
					return ret;
				if (ret > 0) {
					if (eq)
						*eq = '=';
					if (add_fuse_opt(o, item) < 0)
						return -ENOMEM;
				}
			}
		}
		if (end)
			break;
		item = w = p + 1;
	}
	return 0;
}

static int parse_args(int argc, char **argv, struct mount_opts *o)
{
	enum { O_DB = 256, O_TEMPLATE, O_FALLBACK, O_DEFFB, O_SKIP, O_MODE,
	       O_POLL, O_HEARTBEAT, O_METRICS };
	static const struct option longopts[] = {
		{ "db", required_argument, NULL, O_DB },
		{ "template", required_argument, NULL, O_TEMPLATE },
		{ "fallback", required_argument, NULL, O_FALLBACK },
		{ "default-fallback", required_argument, NULL, O_DEFFB },
		{ "skip-on-missing", no_argument, NULL, O_SKIP },
		{ "mode", required_argument, NULL, O_MODE },
		{ "poll-interval-ms", required_argument, NULL, O_POLL },
		{ "heartbeat-s", required_argument, NULL, O_HEARTBEAT },
		{ "expose-metrics", no_argument, NULL, O_METRICS },
		{ "verbose", no_argument, NULL, 'v' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c, ret = 0;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "fsdo:vqhV", longopts, NULL)) != -1) {
		switch (c) {
		case O_DB: ret = set_opt(o, "db", optarg); break;
		case O_TEMPLATE: ret = set_opt(o, "template", optarg); break;
		case O_FALLBACK: ret = set_opt(o, "fallback", optarg); break;
		case O_DEFFB: ret = set_opt(o, "default-fallback", optarg); break;
		case O_SKIP: ret = set_opt(o, "skip-on-missing", NULL); break;
		case O_MODE: ret = set_opt(o, "mode", optarg); break;
		case O_POLL: ret = set_opt(o, "poll-interval-ms", optarg); break;
		case O_HEARTBEAT: ret = set_opt(o, "heartbeat-s", optarg); break;
		case O_METRICS: ret = set_opt(o, "expose-metrics", NULL); break;
		case 'f': o->foreground = true; break;
		case 's': o->single = true; break;
		case 'd': o->debug = true; o->foreground = true; break;
		case 'o': ret = parse_o(o, optarg); break;
		case 'v': o->verbose++; break;
		case 'q': o->quiet++; break;
		case 'h': usage(stdout); return 1;
		case 'V': printf("musefs-mount %s\n", MF_VERSION); return 1;
		case ':':
			mf_err(NULL, "option '%s' needs a value", argv[optind - 1]);
			return -EINVAL;
		default:
			mf_err(NULL, "unknown option '%s'", argv[optind - 1]);
			return -EINVAL;
		}
		if (ret < 0)
			return ret;
	}
	/* mount(8) calls us as: musefs-mount DB MOUNTPOINT -o opts */
	if (optind + 2 == argc && !o->db)
		o->db = argv[optind++];
	if (optind + 1 != argc) {
		mf_err(NULL, optind >= argc ? "no MOUNTPOINT given" :
		       "too many arguments");
		return -EINVAL;
	}
	o->mountpoint = argv[optind];
	return 0;
}

int main(int argc, char **argv)
{
	struct mount_opts o = { .mode = MF_SERVE_SYNTHESIS, .poll_ms = 1000,
				.heartbeat_s = 10 };
	struct mf_heartbeat_config hbc;
	struct mf_heartbeat *hb = NULL;
	char abs_mp[PATH_MAX];
	struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
	struct mf_fs_config cfg;
	struct mf_template *tmpl = NULL;
	struct mf_fs *fs = NULL;
	struct fuse_session *se = NULL;
	struct fuse_loop_config *lc = NULL;
	struct stat sb;
	char dbpath[PATH_MAX], abs_db[PATH_MAX], err[PATH_MAX + 256];
	size_t nfiles = 0, ndirs = 0;
	int ret, status = 1;

	mf_main_init("musefs-mount");
	ret = parse_args(argc, argv, &o);
	if (ret > 0)
		return 0;
	if (ret < 0) {
		usage(stderr);
		goto out;
	}
	mf_main_verbosity(o.verbose, o.quiet);
	if (mf_main_db_path(o.db, dbpath, sizeof(dbpath)) < 0)
		goto out;
	/* worker threads open the store after fuse_daemonize() did chdir("/") */
	if (!realpath(dbpath, abs_db)) {
		mf_err(NULL, "cannot open store '%s': %s", dbpath, strerror(errno));
		goto out;
	}
	if (mf_template_parse(o.tmpl ? o.tmpl : DEFAULT_TEMPLATE, &tmpl, err,
			      sizeof(err)) < 0) {
		mf_err(NULL, "invalid template '%s': %s",
		       o.tmpl ? o.tmpl : DEFAULT_TEMPLATE, err);
		goto out;
	}
	if (stat(o.mountpoint, &sb) < 0 || !S_ISDIR(sb.st_mode)) {
		mf_err(NULL, "cannot mount on '%s': %s", o.mountpoint,
		       errno && !S_ISDIR(sb.st_mode) ? strerror(errno) :
		       "not a directory");
		goto out;
	}
	if (!realpath(o.mountpoint, abs_mp)) {
		mf_err(NULL, "cannot mount on '%s': %s", o.mountpoint,
		       strerror(errno));
		goto out;
	}
	mf_metrics_start();
	memset(&cfg, 0, sizeof(cfg));
	cfg.db_path = abs_db;
	cfg.tmpl = tmpl;
	cfg.topts.fallbacks = o.fallbacks;
	cfg.topts.nfallbacks = o.nfallbacks;
	cfg.topts.default_fallback = o.default_fallback;
	cfg.topts.skip_on_missing = o.skip_on_missing;
	cfg.mode = o.mode;
	cfg.poll_ms = o.poll_ms;
	cfg.entry_timeout_s = 1.0;
	ret = mf_fs_new(&cfg, &fs, err, sizeof(err));
	if (ret < 0) {
		mf_err(NULL, "%s", err);
		goto out;
	}
	mf_fs_counts(fs, &nfiles, &ndirs);
	mf_info(NULL, "%zu files in %zu directories", nfiles, ndirs);

	if (fuse_opt_add_arg(&args, argv[0]) < 0 ||
	    fuse_opt_add_arg(&args, "-o") < 0 ||
	    fuse_opt_add_arg(&args, "ro,default_permissions,fsname=musefs,"
			     "subtype=musefs") < 0 ||
	    (o.fuse_opts && (fuse_opt_add_arg(&args, "-o") < 0 ||
			     fuse_opt_add_arg(&args, o.fuse_opts) < 0)) ||
	    (o.debug && fuse_opt_add_arg(&args, "-d") < 0)) {
		mf_err(NULL, "out of memory");
		goto out;
	}
	se = fuse_session_new(&args, mf_metricsfs_ops(mf_fs_ops(),
			      o.expose_metrics, mf_fs_sample_metrics, fs),
			      sizeof(struct fuse_lowlevel_ops), fs);
	if (!se) {
		mf_err(NULL, "cannot start FUSE (bad -o option?)");
		goto out;
	}
	if (fuse_set_signal_handlers(se) != 0) {
		mf_err(NULL, "cannot set signal handlers");
		goto out_destroy;
	}
	if (fuse_session_mount(se, o.mountpoint) != 0) {
		mf_err(NULL, "cannot mount on '%s'", o.mountpoint);
		goto out_signals;
	}
	if (fuse_daemonize(o.foreground) != 0) {
		mf_err(NULL, "cannot daemonize");
		goto out_unmount;
	}
	ret = mf_fs_start(fs, se);
	if (ret < 0) {
		mf_err(NULL, "cannot start the refresh thread: %s",
		       strerror(-ret));
		goto out_unmount;
	}
	if (o.heartbeat_s) {
		memset(&hbc, 0, sizeof(hbc));
		hbc.db_path = abs_db;
		hbc.mountpoint = abs_mp;
		hbc.template_src = o.tmpl ? o.tmpl : DEFAULT_TEMPLATE;
		hbc.mode = o.mode == MF_SERVE_STRUCTURE_ONLY ? "structure-only" :
			   "synthesis";
		hbc.interval_s = o.heartbeat_s;
		hbc.sample = mf_fs_sample_metrics;
		hbc.ctx = fs;
		ret = mf_heartbeat_start(&hbc, &hb);
		if (ret < 0)	/* telemetry never stops the mount */
			mf_warn(NULL, "cannot start the heartbeat: %s",
				strerror(-ret));
	}
	if (o.single) {
		ret = fuse_session_loop(se);
	} else {
		lc = fuse_loop_cfg_create();
		if (!lc) {
			mf_err(NULL, "out of memory");
			goto out_stop;
		}
		fuse_loop_cfg_set_clone_fd(lc, 1);
		fuse_loop_cfg_set_max_threads(lc, 16);
		ret = fuse_session_loop_mt(se, lc);
	}
	/* a signal (SIGINT, SIGTERM) ending the loop is a clean exit */
	status = ret < 0 ? 1 : 0;
out_stop:
	mf_heartbeat_stop(hb);
	mf_fs_stop(fs);
out_unmount:
	fuse_session_unmount(se);
out_signals:
	fuse_remove_signal_handlers(se);
out_destroy:
	fuse_session_destroy(se);
out:
	if (lc)
		fuse_loop_cfg_destroy(lc);
	fuse_opt_free_args(&args);
	mf_fs_free(fs);
	mf_template_free(tmpl);
	free(o.fuse_opts);
	return status;
}
