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
#include "../mount/mf_loop.h"
#include "../mount/mf_metricsfs.h"

#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
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
#define MAX_ROOTS 64
#define MAX_WORKERS 16	/* FUSE worker threads at most */

/* Exit statuses (docs/musefs-mount.1, EXIT STATUS). */
enum {
	EXIT_FAIL = 1,		/* any other failure */
	EXIT_USAGE = 2,		/* bad option or template */
	EXIT_NOSTORE = 3,	/* the store is missing or unreadable */
	EXIT_NOMOUNTPOINT = 4,	/* the mountpoint is missing or no dir */
	EXIT_MOUNT = 5,		/* the kernel refused the mount */
};

struct mount_opts {
	const char *db;
	const char *tmpl;
	struct mf_template_fallback fallbacks[MAX_FALLBACKS];
	size_t nfallbacks;
	const char *roots[MAX_ROOTS];	/* --root, as given */
	size_t nroots;
	const char *default_fallback;
	bool skip_on_missing;
	enum mf_serve_mode mode;
	unsigned poll_ms;
	unsigned heartbeat_s;	/* 0: no heartbeat */
	bool expose_metrics;
	bool foreground;
	bool single;
	bool batch;		/* --scheduler batch */
	bool dry_run;
	bool allow_other;
	bool casefold;
	unsigned attr_ttl_ms;
	unsigned cache_mib;
	unsigned id3v2;
	unsigned file_mode, dir_mode;
	uid_t uid;
	gid_t gid;
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
		"  --owner USER            owner of every file (default: you)\n"
		"  --group GROUP           group of every file (default: yours)\n"
		"  --file-mode MODE        permission bits of files (0444)\n"
		"  --dir-mode MODE         permission bits of directories (0555)\n"
		"  --allow-other           let other users in (needs\n"
		"                          user_allow_other in /etc/fuse.conf)\n"
		"  --attr-ttl-ms N         kernel attribute/entry cache (60000)\n"
		"  --case-insensitive      names match whatever their ASCII case\n"
		"  --cache-mib N           layout cache budget in MiB (64)\n"
		"  --id3v2-version 3|4     ID3v2 version of synthesized MP3 tags (4)\n"
		"  --root DIR              serve only backing files under DIR,\n"
		"                          never through a symlink (repeatable)\n"
		"  --dry-run               check the template, print sample paths,\n"
		"                          counts and collisions, and exit\n"
		"  -f                      stay in the foreground\n"
		"  --scheduler batch|normal  CPU scheduling of the FUSE workers\n"
		"                          (batch: no wake-up preemption; default)\n"
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

static int parse_mode(const char *name, const char *v, unsigned *out)
{
	char *end;
	unsigned long n;

	errno = 0;
	n = strtoul(v, &end, 8);
	if (errno || end == v || *end || n > 07777 || v[0] == '-') {
		mf_err(NULL, "invalid value for '%s': '%s' (expected an octal "
		       "mode such as 0444)", name, v);
		return -EINVAL;
	}
	*out = (unsigned)n;
	return 0;
}

static int parse_owner(const char *v, uid_t *out)
{
	struct passwd *pw = getpwnam(v);
	unsigned n;

	if (pw) {
		*out = pw->pw_uid;
		return 0;
	}
	if (parse_uint("owner", v, 0, 0x7fffffff, &n) < 0)
		return -EINVAL;
	*out = (uid_t)n;
	return 0;
}

static int parse_group(const char *v, gid_t *out)
{
	struct group *gr = getgrnam(v);
	unsigned n;

	if (gr) {
		*out = gr->gr_gid;
		return 0;
	}
	if (parse_uint("group", v, 0, 0x7fffffff, &n) < 0)
		return -EINVAL;
	*out = (gid_t)n;
	return 0;
}

/* Options that take no value. */
static bool is_flag(const char *name)
{
	return strcmp(name, "skip-on-missing") == 0 ||
	       strcmp(name, "expose-metrics") == 0 ||
	       strcmp(name, "allow-other") == 0 ||
	       strcmp(name, "case-insensitive") == 0 ||
	       strcmp(name, "dry-run") == 0;
}

/*
 * One named option from the command line or -o; @v may be NULL for flags.
 * '_' and '-' are the same in names (fstab habits). Returns 0, 1 when the
 * name is not ours (a FUSE option), or -EINVAL.
 */
static int set_opt(struct mount_opts *o, const char *raw, char *v)
{
	char name[64];
	size_t i;

	for (i = 0; raw[i] && i + 1 < sizeof(name); i++)
		name[i] = raw[i] == '_' ? '-' : raw[i];
	name[i] = '\0';
	if (is_flag(name) && v) {
		mf_err(NULL, "option '%s' takes no value", name);
		return -EINVAL;
	}
	if (!is_flag(name) && !v && strcmp(name, "db") != 0 &&
	    strcmp(name, "template") != 0 && strcmp(name, "fallback") != 0 &&
	    strcmp(name, "default-fallback") != 0 && strcmp(name, "mode") != 0 &&
	    strcmp(name, "poll-interval-ms") != 0 && strcmp(name, "owner") != 0 &&
	    strcmp(name, "group") != 0 && strcmp(name, "file-mode") != 0 &&
	    strcmp(name, "dir-mode") != 0 && strcmp(name, "attr-ttl-ms") != 0 &&
	    strcmp(name, "cache-mib") != 0 && strcmp(name, "id3v2-version") != 0 &&
	    strcmp(name, "heartbeat-s") != 0 && strcmp(name, "root") != 0 &&
	    strcmp(name, "scheduler") != 0)
		return 1;	/* not ours */
	if (!is_flag(name) && !v) {
		mf_err(NULL, "option '%s' needs a value", name);
		return -EINVAL;
	}
	if (strcmp(name, "expose-metrics") == 0) {
		o->expose_metrics = true;
		return 0;
	} else if (strcmp(name, "heartbeat-s") == 0) {
		return parse_uint(name, v, 0, 86400, &o->heartbeat_s);
	} else if (strcmp(name, "allow-other") == 0) {
		o->allow_other = true;
		return 0;
	} else if (strcmp(name, "case-insensitive") == 0) {
		o->casefold = true;
		return 0;
	} else if (strcmp(name, "dry-run") == 0) {
		o->dry_run = true;
		return 0;
	} else if (strcmp(name, "owner") == 0) {
		return parse_owner(v, &o->uid);
	} else if (strcmp(name, "group") == 0) {
		return parse_group(v, &o->gid);
	} else if (strcmp(name, "file-mode") == 0) {
		return parse_mode(name, v, &o->file_mode);
	} else if (strcmp(name, "dir-mode") == 0) {
		return parse_mode(name, v, &o->dir_mode);
	} else if (strcmp(name, "attr-ttl-ms") == 0) {
		return parse_uint(name, v, 0, 86400000, &o->attr_ttl_ms);
	} else if (strcmp(name, "cache-mib") == 0) {
		return parse_uint(name, v, 1, 65536, &o->cache_mib);
	} else if (strcmp(name, "id3v2-version") == 0) {
		return parse_uint(name, v, 3, 4, &o->id3v2);
	} else if (strcmp(name, "root") == 0) {
		if (o->nroots == MAX_ROOTS) {
			mf_err(NULL, "option 'root': at most %d roots",
			       MAX_ROOTS);
			return -EINVAL;
		}
		o->roots[o->nroots++] = v;
		return 0;
	}
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
	} else if (strcmp(name, "default-fallback") == 0) {
		o->default_fallback = v;
	} else if (strcmp(name, "skip-on-missing") == 0) {
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
	} else if (strcmp(name, "poll-interval-ms") == 0) {
		return parse_uint("poll-interval-ms", v, 10, 3600000,
				  &o->poll_ms);
	} else if (strcmp(name, "scheduler") == 0) {
		if (v && strcmp(v, "batch") == 0) {
			o->batch = true;
		} else if (v && strcmp(v, "normal") == 0) {
			o->batch = false;
		} else {
			mf_err(NULL, "invalid value for 'scheduler': '%s' "
			       "(expected batch or normal)", v ? v : "");
			return -EINVAL;
		}
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
		"nodiratime", "relatime", "strictatime", "lazytime", "sync",
		"owner", "group", "nofail", "loop",
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
		/* x-systemd.*, x-gvfs-*, comment=...: for other programs */
		if (strncmp(item, "x-", 2) == 0 ||
		    strncmp(item, "comment=", 8) == 0)
			*item = '\0';
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
				if (ret > 0 && strcmp(item, "allow_other") == 0) {
					o->allow_other = true;
				} else if (ret > 0) {
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
	/* every long option is set_opt(its name, its value) */
	static const struct option longopts[] = {
		{ "db", required_argument, NULL, 256 },
		{ "template", required_argument, NULL, 256 },
		{ "fallback", required_argument, NULL, 256 },
		{ "default-fallback", required_argument, NULL, 256 },
		{ "skip-on-missing", no_argument, NULL, 256 },
		{ "mode", required_argument, NULL, 256 },
		{ "poll-interval-ms", required_argument, NULL, 256 },
		{ "owner", required_argument, NULL, 256 },
		{ "group", required_argument, NULL, 256 },
		{ "file-mode", required_argument, NULL, 256 },
		{ "dir-mode", required_argument, NULL, 256 },
		{ "allow-other", no_argument, NULL, 256 },
		{ "attr-ttl-ms", required_argument, NULL, 256 },
		{ "case-insensitive", no_argument, NULL, 256 },
		{ "cache-mib", required_argument, NULL, 256 },
		{ "id3v2-version", required_argument, NULL, 256 },
		{ "dry-run", no_argument, NULL, 256 },
		{ "heartbeat-s", required_argument, NULL, 256 },
		{ "expose-metrics", no_argument, NULL, 256 },
		{ "root", required_argument, NULL, 256 },
		{ "scheduler", required_argument, NULL, 256 },
		{ "verbose", no_argument, NULL, 'v' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c, idx, ret = 0;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "fsdo:vqhV", longopts, &idx)) != -1) {
		switch (c) {
		case 256:
			ret = set_opt(o, longopts[idx].name, optarg);
			break;
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
	/*
	 * mount(8) calls us as: musefs-mount SOURCE MOUNTPOINT -o opts. The
	 * source is the store, or "musefs" / "none" for the default store.
	 */
	if (optind + 2 == argc) {
		const char *src = argv[optind++];

		if (!o->db && strcmp(src, "musefs") != 0 &&
		    strcmp(src, "none") != 0)
			o->db = src;
	}
	if (o->dry_run && optind == argc)
		return 0;	/* --dry-run needs no mountpoint */
	if (optind + 1 != argc) {
		mf_err(NULL, optind >= argc ? "no MOUNTPOINT given" :
		       "too many arguments");
		return -EINVAL;
	}
	o->mountpoint = argv[optind];
	return 0;
}

/*
 * systemd readiness (sd_notify(3) protocol): one datagram to the unix
 * socket named by $NOTIFY_SOCKET ('@' = abstract namespace). Done here in
 * a few lines rather than linking libsystemd: no new dependency for a
 * mount that also runs without systemd. Silent when not under systemd.
 */
static void notify_ready(size_t files, size_t dirs)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa;
	char msg[160];
	size_t len;
	int fd, n;

	if (!path || (path[0] != '/' && path[0] != '@') ||
	    (len = strlen(path)) >= sizeof(sa.sun_path))
		return;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, len);
	if (path[0] == '@')
		sa.sun_path[0] = '\0';
	n = snprintf(msg, sizeof(msg), "READY=1\nMAINPID=%ld\nSTATUS=serving "
		     "%zu files in %zu directories", (long)getpid(), files, dirs);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	if (sendto(fd, msg, (size_t)n, MSG_NOSIGNAL, (struct sockaddr *)&sa,
		   (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len)) < 0)
		mf_warn(NULL, "cannot notify systemd: %s", strerror(errno));
	close(fd);
}

/* Non-root users need user_allow_other in /etc/fuse.conf for allow_other. */
static bool allow_other_permitted(void)
{
	FILE *f;
	char line[256];
	bool ok = false;

	if (geteuid() == 0)
		return true;
	f = fopen("/etc/fuse.conf", "r");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		char *p = line;

		while (*p == ' ' || *p == '\t')
			p++;
		if (strncmp(p, "user_allow_other", 16) == 0 &&
		    (p[16] == '\0' || p[16] == '\n' || p[16] == ' ' ||
		     p[16] == '\t'))
			ok = true;
	}
	fclose(f);
	return ok;
}

int main(int argc, char **argv)
{
	struct mount_opts o = {
		.mode = MF_SERVE_SYNTHESIS, .poll_ms = 1000,
		.attr_ttl_ms = 60000, .cache_mib = 64, .id3v2 = 4,
		.file_mode = 0444, .dir_mode = 0555,
		.uid = getuid(), .gid = getgid(), .heartbeat_s = 10,
		.batch = true,
	};
	struct mf_heartbeat_config hbc;
	struct mf_heartbeat *hb = NULL;
	char abs_mp[PATH_MAX];
	struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
	struct mf_fs_config cfg = { 0 };
	char *roots[MAX_ROOTS] = { 0 };		/* canonical --root paths */
	struct mf_template *tmpl = NULL;
	struct mf_fs *fs = NULL;
	struct fuse_session *se = NULL;
	struct mf_loop_config lc = { .max_threads = MAX_WORKERS };
	sigset_t term, oldmask;
	struct stat sb;
	char dbpath[PATH_MAX], abs_db[PATH_MAX], err[PATH_MAX + 256];
	size_t nfiles = 0, ndirs = 0;
	int ret, status = EXIT_FAIL;

	mf_main_init("musefs-mount");
	ret = parse_args(argc, argv, &o);
	if (ret > 0)
		return 0;
	if (ret < 0) {
		usage(stderr);
		status = EXIT_USAGE;
		goto out;
	}
	mf_main_verbosity(o.verbose, o.quiet);
	if (mf_template_parse(o.tmpl ? o.tmpl : DEFAULT_TEMPLATE, &tmpl, err,
			      sizeof(err)) < 0) {
		mf_err(NULL, "invalid template '%s': %s",
		       o.tmpl ? o.tmpl : DEFAULT_TEMPLATE, err);
		status = EXIT_USAGE;
		goto out;
	}
	if (o.allow_other && !allow_other_permitted()) {
		mf_err(NULL, "--allow-other needs 'user_allow_other' in "
		       "/etc/fuse.conf when not run as root");
		status = EXIT_USAGE;
		goto out;
	}
	status = EXIT_NOSTORE;
	if (mf_main_db_path(o.db, dbpath, sizeof(dbpath)) < 0)
		goto out;
	/* worker threads open the store after fuse_daemonize() did chdir("/") */
	if (!realpath(dbpath, abs_db)) {
		mf_err(NULL, "cannot open store '%s': %s", dbpath, strerror(errno));
		goto out;
	}
	memset(&cfg, 0, sizeof(cfg));
	cfg.db_path = abs_db;
	cfg.tmpl = tmpl;
	cfg.topts.fallbacks = o.fallbacks;
	cfg.topts.nfallbacks = o.nfallbacks;
	cfg.topts.default_fallback = o.default_fallback;
	cfg.topts.skip_on_missing = o.skip_on_missing;
	cfg.mode = o.mode;
	cfg.poll_ms = o.poll_ms;
	cfg.entry_timeout_s = o.attr_ttl_ms / 1000.0;
	cfg.cache_bytes = (size_t)o.cache_mib << 20;
	cfg.uid = o.uid;
	cfg.gid = o.gid;
	cfg.file_mode = (mode_t)o.file_mode;
	cfg.dir_mode = (mode_t)o.dir_mode;
	cfg.casefold = o.casefold;
	cfg.id3v2_version = (int)o.id3v2;
	/* confinement roots, canonical (the daemon's cwd becomes "/") */
	for (size_t i = 0; i < o.nroots; i++) {
		roots[i] = realpath(o.roots[i], NULL);
		if (!roots[i]) {
			mf_err(NULL, "option 'root': '%s': %s", o.roots[i],
			       strerror(errno));
			status = EXIT_USAGE;
			goto out;
		}
		cfg.nroots = i + 1;
	}
	cfg.roots = (const char *const *)roots;
	if (o.dry_run) {
		ret = mf_fs_dry_run(&cfg, stdout, 10, err, sizeof(err));
		if (ret < 0)
			mf_err(NULL, "%s", err);
		status = ret < 0 ? EXIT_NOSTORE : 0;
		goto out;
	}
	if (!o.mountpoint || stat(o.mountpoint, &sb) < 0 || !S_ISDIR(sb.st_mode)) {
		mf_err(NULL, "cannot mount on '%s': %s", o.mountpoint,
		       errno && !S_ISDIR(sb.st_mode) ? strerror(errno) :
		       "not a directory");
		status = EXIT_NOMOUNTPOINT;
		goto out;
	}
	if (!realpath(o.mountpoint, abs_mp)) {
		mf_err(NULL, "cannot mount on '%s': %s", o.mountpoint,
		       strerror(errno));
		status = EXIT_NOMOUNTPOINT;
		goto out;
	}
	mf_metrics_start();
	ret = mf_fs_new(&cfg, &fs, err, sizeof(err));
	if (ret < 0) {
		mf_err(NULL, "%s", err);
		goto out;
	}
	status = EXIT_FAIL;
	mf_fs_counts(fs, &nfiles, &ndirs);
	mf_info(NULL, "%zu files in %zu directories (tree: %zu bytes)", nfiles,
		ndirs, mf_fs_tree_bytes(fs));

	if (fuse_opt_add_arg(&args, argv[0]) < 0 ||
	    fuse_opt_add_arg(&args, "-o") < 0 ||
	    fuse_opt_add_arg(&args, "ro,default_permissions,fsname=musefs,"
			     "subtype=musefs-mount,max_read=1048576") < 0 ||
	    (o.allow_other && (fuse_opt_add_arg(&args, "-o") < 0 ||
			       fuse_opt_add_arg(&args, "allow_other") < 0)) ||
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
		status = EXIT_USAGE;
		goto out;
	}
	if (fuse_set_signal_handlers(se) != 0) {
		mf_err(NULL, "cannot set signal handlers");
		goto out_destroy;
	}
	if (fuse_session_mount(se, o.mountpoint) != 0) {
		mf_err(NULL, "cannot mount on '%s'", o.mountpoint);
		status = EXIT_MOUNT;
		goto out_signals;
	}
	if (fuse_daemonize(o.foreground) != 0) {
		mf_err(NULL, "cannot daemonize");
		goto out_unmount;
	}
	/*
	 * The refresh and heartbeat threads block the signals that end the
	 * mount, so that they reach the thread that serves (-s) or waits for
	 * them (mf_loop_run()).
	 */
	sigemptyset(&term);
	sigaddset(&term, SIGINT);
	sigaddset(&term, SIGTERM);
	sigaddset(&term, SIGHUP);
	sigaddset(&term, SIGQUIT);
	pthread_sigmask(SIG_BLOCK, &term, &oldmask);
	ret = mf_fs_start(fs, se);
	if (ret < 0) {
		pthread_sigmask(SIG_SETMASK, &oldmask, NULL);
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
	pthread_sigmask(SIG_SETMASK, &oldmask, NULL);
	notify_ready(nfiles, ndirs);
	if (o.single) {
		if (o.batch && (ret = mf_loop_batch_self()) < 0)
			mf_debug(NULL, "cannot use SCHED_BATCH: %s",
			       strerror(-ret));
		ret = fuse_session_loop(se);
	} else {
		lc.batch = o.batch;
		ret = mf_loop_run(se, &lc);
	}
	/* a signal (SIGINT, SIGTERM) ending the loop is a clean exit */
	status = ret < 0 ? EXIT_FAIL : 0;
	mf_heartbeat_stop(hb);
	mf_fs_stop(fs);
out_unmount:
	fuse_session_unmount(se);
out_signals:
	fuse_remove_signal_handlers(se);
out_destroy:
	fuse_session_destroy(se);
out:
	for (size_t i = 0; i < cfg.nroots; i++)
		free(roots[i]);
	fuse_opt_free_args(&args);
	mf_fs_free(fs);
	mf_template_free(tmpl);
	free(o.fuse_opts);
	return status;
}
