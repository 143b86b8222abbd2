/* SPDX-License-Identifier: MIT */
/*
 * musefs-mount - mount the store as a read-only, tag-driven tree.
 *
 * Options may be given as --name VALUE, --name=VALUE or -o name=VALUE (so
 * the mount works from /etc/fstab), all from one table (optdefs); fstab
 * words (auto, noauto, user, users, _netdev, nofail, defaults, rw/ro, ...)
 * are accepted and ignored, a few FUSE options go to FUSE, and any other
 * -o word is refused by name.
 *
 * Without -f the process forks before it opens any store connection or
 * starts any thread (daemon_fork()); the parent exits with the daemon's
 * status once it serves or fails.
 */
#include "../mount/mf_fs.h"
#include "../mount/mf_loop.h"
#include "../mount/mf_metricsfs.h"
#include "../mount/mf_render.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
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
#include <sys/wait.h>

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
#define DEFAULT_MAX_COLLISIONS 10	/* --dry-run: % of files */
#define ARRAY_SIZE(a) (sizeof(a) / sizeof(*(a)))

/* Exit statuses (docs/musefs-mount.1, EXIT STATUS). */
enum {
	EXIT_FAIL = 1,		/* any other failure */
	EXIT_USAGE = 2,		/* bad option or template */
	EXIT_NOSTORE = 3,	/* the store is missing or unreadable */
	EXIT_NOMOUNTPOINT = 4,	/* the mountpoint is missing or no dir */
	EXIT_MOUNT = 5,		/* the kernel refused the mount */
	EXIT_BUSY = 6,		/* the mountpoint is already a mount */
	EXIT_DEAD = 7,		/* the mountpoint is a dead FUSE mount */
	EXIT_DRYRUN = 8,	/* --dry-run: the template is unusable */
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
	unsigned max_collisions;	/* --dry-run limit, % of files */
	unsigned heartbeat_s;	/* 0: no heartbeat */
	bool expose_metrics;
	bool foreground;
	bool single;
	bool batch;		/* --scheduler batch */
	bool dry_run;
	bool no_confine;	/* --no-confine */
	bool follow_symlinks;	/* --follow-symlinks */
	bool allow_other;
	bool casefold;
	bool open_handles;	/* --handles open */
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
		"  --handles open|inode    open: one handle per open(2), which reads\n"
		"                          the version it opened (default); inode:\n"
		"                          no OPEN round trip, backing files cached\n"
		"                          by inode, reads see the current version\n"
		"  --root DIR              serve only backing files under DIR, not\n"
		"                          the store's scanned roots (repeatable)\n"
		"  --follow-symlinks       follow symlinks that stay beneath a root\n"
		"  --no-confine            serve any file a store row names\n"
		"  --dry-run               check the template, print sample paths,\n"
		"                          counts and collisions, and exit\n"
		"  --max-collisions PCT    --dry-run fails when more than PCT %%\n"
		"                          of the files collide (%d)\n"
		"  -f                      stay in the foreground\n"
		"  --scheduler batch|normal  CPU scheduling of the FUSE workers\n"
		"                          (batch: no wake-up preemption; default)\n"
		"  -s                      single-threaded (debugging)\n"
		"  -d                      FUSE debug output (implies -f)\n"
		"  -o OPT[,OPT...]         the options above as name=value, or FUSE\n"
		"                          mount options (allow_other, ...)\n"
		"  -v, -q                  more or fewer messages\n"
		"  -h, --help, -V, --version\n",
		DEFAULT_TEMPLATE, DEFAULT_MAX_COLLISIONS);
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

/*
 * The one table of musefs-mount's named options: each is --name VALUE,
 * --name=VALUE and -o name=VALUE ('_' and '-' alike); flags take no value.
 */
enum opt_id {
	OPT_DB, OPT_TEMPLATE, OPT_FALLBACK, OPT_DEFAULT_FALLBACK,
	OPT_SKIP_ON_MISSING, OPT_MODE, OPT_POLL_MS, OPT_OWNER, OPT_GROUP,
	OPT_FILE_MODE, OPT_DIR_MODE, OPT_ALLOW_OTHER, OPT_ATTR_TTL_MS,
	OPT_CASE_INSENSITIVE, OPT_CACHE_MIB, OPT_ID3V2_VERSION, OPT_DRY_RUN,
	OPT_HEARTBEAT_S, OPT_EXPOSE_METRICS, OPT_ROOT, OPT_SCHEDULER,
	OPT_MAX_COLLISIONS, OPT_NO_CONFINE, OPT_FOLLOW_SYMLINKS, OPT_HANDLES, OPT__COUNT
};

static const struct {
	const char *name;
	bool value;		/* takes a value */
} optdefs[OPT__COUNT] = {
	[OPT_DB] = { "db", true },
	[OPT_TEMPLATE] = { "template", true },
	[OPT_FALLBACK] = { "fallback", true },
	[OPT_DEFAULT_FALLBACK] = { "default-fallback", true },
	[OPT_SKIP_ON_MISSING] = { "skip-on-missing", false },
	[OPT_MODE] = { "mode", true },
	[OPT_POLL_MS] = { "poll-interval-ms", true },
	[OPT_OWNER] = { "owner", true },
	[OPT_GROUP] = { "group", true },
	[OPT_FILE_MODE] = { "file-mode", true },
	[OPT_DIR_MODE] = { "dir-mode", true },
	[OPT_ALLOW_OTHER] = { "allow-other", false },
	[OPT_ATTR_TTL_MS] = { "attr-ttl-ms", true },
	[OPT_CASE_INSENSITIVE] = { "case-insensitive", false },
	[OPT_CACHE_MIB] = { "cache-mib", true },
	[OPT_ID3V2_VERSION] = { "id3v2-version", true },
	[OPT_DRY_RUN] = { "dry-run", false },
	[OPT_HEARTBEAT_S] = { "heartbeat-s", true },
	[OPT_EXPOSE_METRICS] = { "expose-metrics", false },
	[OPT_ROOT] = { "root", true },
	[OPT_SCHEDULER] = { "scheduler", true },
	[OPT_MAX_COLLISIONS] = { "max-collisions", true },
	[OPT_NO_CONFINE] = { "no-confine", false },
	[OPT_FOLLOW_SYMLINKS] = { "follow-symlinks", false },
	[OPT_HANDLES] = { "handles", true },
};

/* @v as one of @n words of @words: its index, or -EINVAL with a message. */
static int parse_word(const char *name, const char *v,
		      const char *const *words, size_t n, const char *expect)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v, words[i]) == 0)
			return (int)i;
	mf_err(NULL, "invalid value for '%s': '%s' (expected %s)", name, v,
	       expect);
	return -EINVAL;
}

/* A user or group: a name (getpwnam/getgrnam) or a number. */
static int parse_id(const char *name, const char *v, bool user, unsigned *out)
{
	size_t i;

	for (i = 0; v[i] >= '0' && v[i] <= '9'; i++)
		;
	if (i && !v[i])
		return parse_uint(name, v, 0, 0x7fffffff, out);
	if (user) {
		struct passwd *pw = getpwnam(v);

		if (pw) {
			*out = pw->pw_uid;
			return 0;
		}
	} else {
		struct group *gr = getgrnam(v);

		if (gr) {
			*out = gr->gr_gid;
			return 0;
		}
	}
	mf_err(NULL, "option '%s': no such %s '%s'", name,
	       user ? "user" : "group", v);
	return -EINVAL;
}

static int set_fallback(struct mount_opts *o, char *v)
{
	char *eq = strchr(v, '=');

	if (!eq || eq == v) {
		mf_err(NULL, "invalid value for 'fallback': '%s' (expected "
		       "KEY=VALUE)", v);
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
	return 0;
}

/* Apply option @id of optdefs with value @v (NULL for flags). */
static int apply_opt(struct mount_opts *o, enum opt_id id, char *v)
{
	static const char *const modes[] = { "synthesis", "structure-only" };
	static const char *const scheds[] = { "normal", "batch" };
	static const char *const handles[] = { "inode", "open" };
	const char *name = optdefs[id].name;
	unsigned n;
	int ret = 0;

	switch (id) {
	case OPT_DB: o->db = v; break;
	case OPT_TEMPLATE: o->tmpl = v; break;
	case OPT_FALLBACK: return set_fallback(o, v);
	case OPT_DEFAULT_FALLBACK: o->default_fallback = v; break;
	case OPT_SKIP_ON_MISSING: o->skip_on_missing = true; break;
	case OPT_MODE:
		ret = parse_word(name, v, modes, 2, "synthesis or "
				 "structure-only");
		if (ret >= 0)
			o->mode = ret ? MF_SERVE_STRUCTURE_ONLY :
					MF_SERVE_SYNTHESIS;
		break;
	case OPT_POLL_MS:
		return parse_uint(name, v, 10, 3600000, &o->poll_ms);
	case OPT_OWNER:
		ret = parse_id(name, v, true, &n);
		if (!ret)
			o->uid = (uid_t)n;
		break;
	case OPT_GROUP:
		ret = parse_id(name, v, false, &n);
		if (!ret)
			o->gid = (gid_t)n;
		break;
	case OPT_FILE_MODE: return parse_mode(name, v, &o->file_mode);
	case OPT_DIR_MODE: return parse_mode(name, v, &o->dir_mode);
	case OPT_ALLOW_OTHER: o->allow_other = true; break;
	case OPT_ATTR_TTL_MS:
		return parse_uint(name, v, 0, 86400000, &o->attr_ttl_ms);
	case OPT_CASE_INSENSITIVE: o->casefold = true; break;
	case OPT_HANDLES:
		ret = parse_word(name, v, handles, 2, "inode or open");
		if (ret >= 0)
			o->open_handles = ret == 1;
		break;
	case OPT_CACHE_MIB: return parse_uint(name, v, 1, 65536, &o->cache_mib);
	case OPT_ID3V2_VERSION: return parse_uint(name, v, 3, 4, &o->id3v2);
	case OPT_DRY_RUN: o->dry_run = true; break;
	case OPT_HEARTBEAT_S:
		return parse_uint(name, v, 0, 86400, &o->heartbeat_s);
	case OPT_EXPOSE_METRICS: o->expose_metrics = true; break;
	case OPT_ROOT:
		if (o->nroots == MAX_ROOTS) {
			mf_err(NULL, "option 'root': at most %d roots",
			       MAX_ROOTS);
			return -EINVAL;
		}
		o->roots[o->nroots++] = v;
		break;
	case OPT_SCHEDULER:
		ret = parse_word(name, v, scheds, 2, "batch or normal");
		if (ret >= 0)
			o->batch = ret == 1;
		break;
	case OPT_MAX_COLLISIONS:
		return parse_uint(name, v, 0, 100, &o->max_collisions);
	case OPT_NO_CONFINE: o->no_confine = true; break;
	case OPT_FOLLOW_SYMLINKS: o->follow_symlinks = true; break;
	case OPT__COUNT: break;
	}
	return ret < 0 ? ret : 0;
}

/*
 * One named option from -o; @v is NULL for flags. '_' and '-' are the same
 * in names (fstab habits). Returns 0, 1 when the name is not ours, or
 * -EINVAL.
 */
static int set_opt(struct mount_opts *o, const char *raw, char *v)
{
	char name[64];
	size_t i;

	for (i = 0; raw[i] && i + 1 < sizeof(name); i++)
		name[i] = raw[i] == '_' ? '-' : raw[i];
	name[i] = '\0';
	if (raw[i])
		return 1;
	for (i = 0; i < OPT__COUNT; i++)
		if (strcmp(name, optdefs[i].name) == 0)
			break;
	if (i == OPT__COUNT)
		return 1;
	if (!optdefs[i].value && v) {
		mf_err(NULL, "option '%s' takes no value", name);
		return -EINVAL;
	}
	if (optdefs[i].value && !v) {
		mf_err(NULL, "option '%s' needs a value", name);
		return -EINVAL;
	}
	return apply_opt(o, (enum opt_id)i, v);
}

/* Is @item one of @n words, or prefixed by one that ends in '=', '.', '-'? */
static bool word_in(const char *item, const char *const *words, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(words[i]);

		if (strchr("=.-", words[i][l - 1]) ?
		    strncmp(item, words[i], l) == 0 : strcmp(item, words[i]) == 0)
			return true;
	}
	return false;
}

/*
 * -o words that are not musefs-mount's: fstab and mount(8) words (for
 * mount(8), systemd and other programs; ignored), and the FUSE mount
 * options musefs-mount passes to FUSE.
 */
static const char *const fstab_words[] = {
	"auto", "noauto", "user", "users", "nouser", "owner", "group",
	"_netdev", "nofail", "defaults", "ro", "rw", "exec", "noexec", "suid",
	"nosuid", "dev", "nodev", "async", "sync", "dirsync", "atime",
	"noatime", "diratime", "nodiratime", "relatime", "norelatime",
	"strictatime", "nostrictatime", "lazytime", "nolazytime", "loop",
	"nonempty", "x-", "comment=", "user=", "uhelper=", "helper=",
};
static const char *const fuse_words[] = {
	"allow_root", "auto_unmount", "default_permissions", "blkdev",
	"debug", "fsname=", "subtype=", "max_read=", "blksize=", "context=",
	"fscontext=", "defcontext=", "rootcontext=",
};

/* Is @item (the bytes after a backslash) a \NNN octal escape of 1..255? */
static int octal_escape(const char *p)
{
	int v = 0;

	for (int i = 0; i < 3; i++) {
		if (p[i] < '0' || p[i] > '7')
			return -1;
		v = v * 8 + (p[i] - '0');
	}
	return v >= 1 && v <= 255 ? v : -1;
}

/* One item of -o, unescaped: ours, fstab's, FUSE's, or refused. */
static int parse_o_item(struct mount_opts *o, char *item)
{
	char *eq, *v = NULL;
	int ret;

	if (!*item || word_in(item, fstab_words, ARRAY_SIZE(fstab_words)))
		return 0;
	if (strcmp(item, "allow_other") == 0) {
		o->allow_other = true;
		return 0;
	}
	if (word_in(item, fuse_words, ARRAY_SIZE(fuse_words)))
		return add_fuse_opt(o, item) < 0 ? -ENOMEM : 0;
	eq = strchr(item, '=');
	if (eq) {
		*eq = '\0';
		v = eq + 1;
	}
	ret = set_opt(o, item, v);
	if (ret > 0) {
		if (eq)
			*eq = '=';
		mf_err(NULL, "unknown -o option '%s'", item);
		return -EINVAL;
	}
	return ret;
}

/*
 * Split one -o argument on unescaped commas and dispatch each item. In
 * items, \NNN (three octal digits, as fstab writes a space: \040) is that
 * byte, and a backslash before any other character makes it literal (\,).
 */
static int parse_o(struct mount_opts *o, char *arg)
{
	char *p = arg, *item = arg, *w = arg;
	int ret, c;

	for (;; p++) {
		if (*p == '\\' && (c = octal_escape(p + 1)) > 0) {
			*w++ = (char)c;
			p += 3;
			continue;
		}
		if (*p == '\\' && p[1]) {
			*w++ = *++p;
			continue;
		}
		if (*p != ',' && *p != '\0') {
			*w++ = *p;
			continue;
		}
		bool end = *p == '\0';

		*w = '\0';
		ret = parse_o_item(o, item);
		if (ret < 0)
			return ret;
		if (end)
			break;
		item = w = p + 1;
	}
	return 0;
}

static int parse_args(int argc, char **argv, struct mount_opts *o)
{
	/* every long option of optdefs, then -v -q -h -V */
	struct option longopts[OPT__COUNT + 5] = {
		[OPT__COUNT] = { "verbose", no_argument, NULL, 'v' },
		[OPT__COUNT + 1] = { "quiet", no_argument, NULL, 'q' },
		[OPT__COUNT + 2] = { "help", no_argument, NULL, 'h' },
		[OPT__COUNT + 3] = { "version", no_argument, NULL, 'V' },
	};
	int c, idx, ret = 0;

	for (size_t i = 0; i < OPT__COUNT; i++)
		longopts[i] = (struct option){ optdefs[i].name,
			optdefs[i].value ? required_argument : no_argument,
			NULL, 256 };
	opterr = 0;
	while ((c = getopt_long(argc, argv, "fsdo:vqhV", longopts, &idx)) != -1) {
		switch (c) {
		case 256:
			ret = apply_opt(o, (enum opt_id)idx, optarg);
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
	if (optind >= argc) {
		mf_err(NULL, "no MOUNTPOINT given");
		return -ENOENT;		/* usage follows */
	}
	if (optind + 1 != argc) {
		mf_err(NULL, "too many arguments: '%s'", argv[optind + 1]);
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


/* Mount point @mp as /proc/self/mountinfo escapes it: \NNN octal bytes. */
static void unescape_mountinfo(char *s)
{
	char *w = s;

	for (; *s; s++) {
		int c = *s == '\\' ? octal_escape(s + 1) : -1;

		if (c > 0) {
			*w++ = (char)c;
			s += 3;
		} else {
			*w++ = *s;
		}
	}
	*w = '\0';
}

/*
 * The file system type of the topmost mount at canonical path @path, into
 * @type of @len bytes; "" when nothing is mounted there.
 */
static void mounted_at(const char *path, char *type, size_t len)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char *line = NULL;
	size_t cap = 0;

	type[0] = '\0';
	if (!f)
		return;
	while (getline(&line, &cap, f) > 0) {
		char *fields[5], *p = line, *sep;
		size_t n = 0;

		while (n < 5 && (fields[n] = strsep(&p, " ")))
			n++;
		sep = p ? strstr(p, "- ") : NULL;
		if (n < 5 || !sep)
			continue;
		unescape_mountinfo(fields[4]);
		if (strcmp(fields[4], path) == 0)
			snprintf(type, len, "%.*s", (int)strcspn(sep + 2, " "),
				 sep + 2);
	}
	free(line);
	fclose(f);
}

/*
 * Check the mountpoint before anything is mounted: missing or no directory
 * (EXIT_NOMOUNTPOINT), a dead FUSE mount (EXIT_DEAD), already a mount
 * (EXIT_BUSY; an autofs trigger such as x-systemd.automount leaves there is
 * not one). A non-empty directory gets a warning. Sets @abs (PATH_MAX
 * bytes) to the canonical path. Returns 0 or an exit status.
 */
static int check_mountpoint(const char *mp, char *abs)
{
	char type[64];
	struct stat sb;
	struct dirent *de;
	DIR *d;

	if (stat(mp, &sb) < 0 && errno == ENOTCONN) {
		mf_err(NULL, "cannot mount on '%s': a dead FUSE mount (%s); "
		       "unmount it with 'fusermount3 -u %s'", mp,
		       strerror(ENOTCONN), mp);
		return EXIT_DEAD;
	}
	if (stat(mp, &sb) < 0 || !realpath(mp, abs)) {
		mf_err(NULL, "cannot mount on '%s': %s", mp, strerror(errno));
		return EXIT_NOMOUNTPOINT;
	}
	if (!S_ISDIR(sb.st_mode)) {
		mf_err(NULL, "cannot mount on '%s': not a directory", mp);
		return EXIT_NOMOUNTPOINT;
	}
	mounted_at(abs, type, sizeof(type));
	if (type[0] && strcmp(type, "autofs") != 0) {
		mf_err(NULL, "cannot mount on '%s': already a mount point (%s)",
		       mp, type);
		return EXIT_BUSY;
	}
	d = opendir(mp);
	while (d && (de = readdir(d)))
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			break;
	if (d && de)
		mf_warn(NULL, "mountpoint '%s' is not empty; its contents are "
			"hidden while mounted", mp);
	if (d)
		closedir(d);
	return 0;
}

static void warn_unknown(void *ctx, const char *field)
{
	(void)ctx;
	mf_warn(NULL, "template: field '%s' is not a tag of any track", field);
}

/*
 * Validate the store with a connection that is closed again (the daemon
 * opens its own after the fork): it must open read-only as a musefs store.
 * Warns about each template field no track has; sets *@unknown to their
 * count. Returns 0 or EXIT_NOSTORE with a message.
 */
static int validate_store(const char *db, const struct mf_template *tmpl,
			  size_t *unknown)
{
	struct mf_store *s = NULL;
	char err[PATH_MAX + 256];
	int ret;

	ret = mf_store_open(db, MF_STORE_READONLY, &s, err, sizeof(err));
	if (ret < 0) {
		mf_err(NULL, "%s", err);
		return EXIT_NOSTORE;
	}
	ret = mf_render_unknown_fields(s, tmpl, warn_unknown, NULL);
	mf_store_close(s);
	if (ret < 0) {
		mf_err(NULL, "cannot read the tags of '%s': %s", db,
		       strerror(-ret));
		return EXIT_NOSTORE;
	}
	*unknown = (size_t)ret;
	return 0;
}

/*
 * --dry-run: print the tree's samples, counts and collisions. EXIT_DRYRUN
 * when the template references fields but none that any track has, or
 * more than @max_pct % of the files collide.
 */
static int dry_run(const struct mf_fs_config *cfg, size_t unknown,
		   unsigned max_pct)
{
	struct mf_fs_dry_stats st;
	size_t nf = mf_template_nfields(cfg->tmpl);
	char err[PATH_MAX + 256];
	int status = 0;

	if (mf_fs_dry_run(cfg, stdout, 10, &st, err, sizeof(err)) < 0) {
		mf_err(NULL, "%s", err);
		return EXIT_NOSTORE;
	}
	if (nf && unknown == nf) {
		mf_err(NULL, "template: no field it references is a tag of "
		       "any track");
		status = EXIT_DRYRUN;
	}
	if (st.collisions * 100 > (size_t)max_pct * st.files) {
		mf_err(NULL, "%zu of %zu files collide, more than "
		       "--max-collisions %u%%", st.collisions, st.files,
		       max_pct);
		status = EXIT_DRYRUN;
	}
	return status;
}

/*
 * Without -f: fork before any store connection or thread exists. POSIX
 * locks, on which SQLite's WAL mode relies, are not inherited by a child,
 * and neither are threads. The parent waits until the child serves (one
 * byte on the pipe) or fails (the pipe closes; the child's exit status is
 * the parent's), so a shell, mount(8) and fstab see the real outcome.
 * Returns -1 in the child with *@ready_fd set, else the parent's status.
 */
static int daemon_fork(int *ready_fd)
{
	int p[2], st;
	ssize_t n;
	pid_t pid;
	char b;

	if (pipe2(p, O_CLOEXEC) < 0 || (pid = fork()) < 0) {
		mf_err(NULL, "cannot daemonize: %s", strerror(errno));
		return EXIT_FAIL;
	}
	if (pid == 0) {
		close(p[0]);
		setsid();
		*ready_fd = p[1];
		return -1;
	}
	close(p[1]);
	do
		n = read(p[0], &b, 1);
	while (n < 0 && errno == EINTR);
	close(p[0]);
	if (n == 1)
		return 0;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return EXIT_FAIL;
	return WIFEXITED(st) ? WEXITSTATUS(st) : EXIT_FAIL;
}

/* The daemon serves: detach from the terminal and release the parent. */
static void daemon_ready(int fd)
{
	int null;

	if (fd < 0)
		return;
	if (chdir("/") < 0)
		mf_warn(NULL, "cannot chdir to '/': %s", strerror(errno));
	null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null >= 0) {
		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
		dup2(null, STDERR_FILENO);
		if (null > STDERR_FILENO)
			close(null);
	}
	if (write(fd, "", 1) != 1)
		mf_warn(NULL, "cannot release the parent: %s", strerror(errno));
	close(fd);
}

int main(int argc, char **argv)
{
	struct mount_opts o = {
		.mode = MF_SERVE_SYNTHESIS, .poll_ms = 1000,
		.attr_ttl_ms = 60000, .cache_mib = 64, .id3v2 = 4,
		.open_handles = true,
		.file_mode = 0444, .dir_mode = 0555,
		.uid = getuid(), .gid = getgid(), .heartbeat_s = 10,
		.batch = true, .max_collisions = DEFAULT_MAX_COLLISIONS,
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
	char dbpath[PATH_MAX], abs_db[PATH_MAX], err[PATH_MAX + 256];
	size_t nfiles = 0, ndirs = 0, unknown = 0;
	int ret, status = EXIT_FAIL, ready_fd = -1;

	mf_main_init("musefs-mount");
	ret = parse_args(argc, argv, &o);
	if (ret > 0)
		return 0;
	if (ret < 0) {
		if (ret == -ENOENT)	/* a missing operand: show the usage */
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
	/* worker threads open the store after the daemon did chdir("/") */
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
	cfg.open_handles = o.open_handles;
	if (!o.open_handles && o.expose_metrics) {
		/* the metrics file is a snapshot taken at OPEN (direct_io) */
		mf_warn(NULL, "--handles inode does not go with --expose-metrics "
			"(the metrics file needs OPEN): using --handles open");
		cfg.open_handles = true;
	}
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
		cfg.confine.nroots = i + 1;
	}
	cfg.confine.roots = (const char *const *)roots;
	cfg.confine.off = o.no_confine;
	cfg.confine.follow = o.follow_symlinks;
	/* test knob: the confinement walk used where openat2 is missing */
	cfg.confine.test_no_openat2 = getenv("MUSEFS_TEST_NO_OPENAT2") != NULL;
	status = validate_store(abs_db, tmpl, &unknown);
	if (status)
		goto out;
	if (o.dry_run) {
		status = dry_run(&cfg, unknown, o.max_collisions);
		goto out;
	}
	status = check_mountpoint(o.mountpoint, abs_mp);
	if (status)
		goto out;
	/* nothing below runs before the fork: no connection, no thread */
	if (!o.foreground) {
		status = daemon_fork(&ready_fd);
		if (status >= 0)
			goto out;
	}
	status = EXIT_NOSTORE;
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
	if (fuse_session_mount(se, abs_mp) != 0) {
		mf_err(NULL, "cannot mount on '%s'", o.mountpoint);
		status = EXIT_MOUNT;
		goto out_signals;
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
	daemon_ready(ready_fd);
	ready_fd = -1;
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
	if (ready_fd >= 0)
		close(ready_fd);	/* the parent takes our exit status */
	for (size_t i = 0; i < cfg.confine.nroots; i++)
		free(roots[i]);
	fuse_opt_free_args(&args);
	mf_fs_free(fs);
	mf_template_free(tmpl);
	free(o.fuse_opts);
	return status;
}
