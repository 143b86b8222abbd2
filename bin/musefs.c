/* SPDX-License-Identifier: MIT */
/*
 * musefs - the musefs 1.x command line, as a thin dispatcher (after git's
 * git.c): it parses `musefs SUBCOMMAND ARGS...` with 1.x's flags and
 * MUSEFS_<FLAG> environment variables and execs one of our binaries with
 * the equivalent options:
 *
 *   musefs scan TARGET...        musefs-scan [--reingest] TARGET...
 *   musefs revalidate TARGET...  musefs-scan --known-only [--prune] TARGET...
 *   musefs mount MOUNTPOINT      musefs-mount -f MOUNTPOINT
 *   musefs vacuum                musefs-scan --vacuum
 *   musefs stat ARGS...          musefs-stat ARGS... (verbatim; not in 1.x)
 *
 * The binaries are looked up next to this one (/proc/self/exe) first,
 * then in PATH. A 1.x flag we have no equivalent for is refused (exit 2)
 * with a message naming the replacement; docs/musefs.1 has the table.
 * Precedence as 1.x (clap): a flag on the command line wins over its
 * environment variable; an empty variable counts as unset.
 *
 * Exit status: 2 for a bad or refused option (as clap's usage errors),
 * 127 when the binary cannot be run, else the binary's own.
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mf_log.h"
#include "mf_main.h"
#include "mf_banned.h"

#define EXIT_USAGE 2
#define EXIT_NOEXEC 127
#define MAX_JOBS 256		/* musefs-scan's --jobs bound */
#define MAX_VERBOSE 3		/* -v beyond debug adds nothing */

enum kind {
	K_FLAG,		/* --x (1.x: a bool set by its presence) */
	K_BOOL_OPT,	/* --x [BOOL] (1.x --keep-cache) */
	K_BOOL_ARG,	/* --x BOOL (1.x --case-insensitive) */
	K_VALUE,	/* --x VALUE */
};

/* One 1.x flag of a subcommand and what it becomes. */
struct flag {
	const char *name;	/* 1.x long name, without "--" */
	char shrt;		/* 1.x short name, or 0 */
	enum kind kind;
	const char *env;	/* its MUSEFS_ variable, or NULL */
	/* Our option: given as is for a true flag, followed by the value
	 * for K_VALUE. "" = accepted, nothing to pass (we always do that).
	 * NULL = handled in translate() or, with @why, refused. */
	const char *ours;
	/* Refused: why, naming our replacement (or saying there is none). */
	const char *why;
	/* Refused flags: the one value (bools: "true"/"false") that is what
	 * we always do, accepted as a no-op; NULL for none. */
	const char *same;
	bool multi;		/* repeatable (--fallback) */
};

/* The 1.x flags, subcommand by subcommand (musefs-cli/src/lib.rs). */
static const struct flag scan_flags[] = {
	{ "db", 0, K_VALUE, "MUSEFS_DB", "--db", NULL, NULL, false },
	{ "revalidate", 0, K_FLAG, "MUSEFS_REVALIDATE", NULL, NULL, NULL, false },
	{ "force", 0, K_FLAG, "MUSEFS_FORCE", "--reingest", NULL, NULL, false },
	{ "jobs", 0, K_VALUE, "MUSEFS_JOBS", NULL, NULL, NULL, false },
	{ "follow-symlinks", 0, K_FLAG, "MUSEFS_FOLLOW_SYMLINKS",
	  "--follow-symlinks", NULL, NULL, false },
	{ "quiet", 'q', K_FLAG, "MUSEFS_QUIET", "-q", NULL, NULL, false },
	{ "checksum", 0, K_VALUE, "MUSEFS_CHECKSUM", NULL, NULL, NULL, false },
	{ "fast", 0, K_FLAG, "MUSEFS_FAST", "", NULL, NULL, false },
	{ "strict", 0, K_FLAG, "MUSEFS_STRICT", NULL,
	  "moves are matched by the audio fingerprint alone; there is no "
	  "full-hash confirmation (no replacement)", "false", false },
};

static const struct flag revalidate_flags[] = {
	{ "db", 0, K_VALUE, "MUSEFS_DB", "--db", NULL, NULL, false },
	{ "prune", 0, K_FLAG, "MUSEFS_PRUNE", "--prune", NULL, NULL, false },
	{ "jobs", 0, K_VALUE, "MUSEFS_JOBS", NULL, NULL, NULL, false },
	{ "follow-symlinks", 0, K_FLAG, "MUSEFS_FOLLOW_SYMLINKS",
	  "--follow-symlinks", NULL, NULL, false },
	{ "quiet", 'q', K_FLAG, "MUSEFS_QUIET", "-q", NULL, NULL, false },
	{ "checksum", 0, K_VALUE, "MUSEFS_CHECKSUM", NULL, NULL, NULL, false },
};

static const struct flag mount_flags[] = {
	{ "db", 0, K_VALUE, "MUSEFS_DB", "--db", NULL, NULL, false },
	{ "template", 0, K_VALUE, "MUSEFS_TEMPLATE", "--template", NULL, NULL,
	  false },
	{ "default-fallback", 0, K_VALUE, "MUSEFS_DEFAULT_FALLBACK",
	  "--default-fallback", NULL, NULL, false },
	{ "fallback", 0, K_VALUE, NULL, "--fallback", NULL, NULL, true },
	{ "skip-on-missing", 0, K_FLAG, "MUSEFS_SKIP_ON_MISSING",
	  "--skip-on-missing", NULL, NULL, false },
	{ "mode", 0, K_VALUE, "MUSEFS_MODE", "--mode", NULL, NULL, false },
	{ "poll-interval-ms", 0, K_VALUE, "MUSEFS_POLL_INTERVAL_MS",
	  "--poll-interval-ms", NULL, NULL, false },
	{ "attr-ttl-ms", 0, K_VALUE, "MUSEFS_ATTR_TTL_MS", "--attr-ttl-ms",
	  NULL, NULL, false },
	{ "max-readahead-kib", 0, K_VALUE, "MUSEFS_MAX_READAHEAD_KIB", NULL,
	  "musefs-mount asks the kernel for its own read-ahead window "
	  "(no replacement)", NULL, false },
	{ "read-ahead-budget-mib", 0, K_VALUE, "MUSEFS_READ_AHEAD_BUDGET_MIB",
	  NULL, "musefs-mount has no read-ahead of its own; its memory "
	  "budget is --cache-mib of musefs-mount (layouts)", NULL, false },
	{ "read-ahead-prefetch", 0, K_FLAG, "MUSEFS_READ_AHEAD_PREFETCH", NULL,
	  "musefs-mount has no prefetch threads (no replacement)", "false",
	  false },
	{ "max-background", 0, K_VALUE, "MUSEFS_MAX_BACKGROUND", NULL,
	  "the kernel's default background queue applies (no replacement)",
	  NULL, false },
	{ "workers", 0, K_VALUE, "MUSEFS_WORKERS", NULL,
	  "musefs-mount sizes its worker pool itself, up to 16 threads (only "
	  "0, auto, is accepted; -s of musefs-mount runs single-threaded)",
	  "0", false },
	{ "keep-cache", 0, K_BOOL_OPT, "MUSEFS_KEEP_CACHE", NULL,
	  "musefs-mount always keeps the page cache and drops it when a "
	  "track changes (only true is accepted)", "true", false },
	{ "case-insensitive", 0, K_BOOL_ARG, "MUSEFS_CASE_INSENSITIVE", NULL,
	  NULL, NULL, false },
	{ "owner", 0, K_VALUE, "MUSEFS_OWNER", "--owner", NULL, NULL, false },
	{ "group", 0, K_VALUE, "MUSEFS_GROUP", "--group", NULL, NULL, false },
	{ "file-mode", 0, K_VALUE, "MUSEFS_FILE_MODE", "--file-mode", NULL,
	  NULL, false },
	{ "dir-mode", 0, K_VALUE, "MUSEFS_DIR_MODE", "--dir-mode", NULL, NULL,
	  false },
	{ "allow-other", 0, K_FLAG, "MUSEFS_ALLOW_OTHER", "--allow-other", NULL,
	  NULL, false },
	{ "expose-metrics", 0, K_FLAG, "MUSEFS_EXPOSE_METRICS",
	  "--expose-metrics", NULL, NULL, false },
	{ "dry-run", 0, K_FLAG, NULL, "--dry-run", NULL, NULL, false },
};

static const struct flag vacuum_flags[] = {
	{ "db", 0, K_VALUE, "MUSEFS_DB", "--db", NULL, NULL, false },
};

#define FLAGS(a) a, sizeof(a) / sizeof(a[0])

struct sub {
	const char *name;
	const char *prog;		/* the binary it runs */
	const struct flag *flags;
	size_t nflags;
	const char *pos_env;		/* variable for the positional, or NULL */
	const char *help;
};

static const struct sub subs[] = {
	{ "scan", "musefs-scan", FLAGS(scan_flags), NULL,
	  "usage: musefs scan TARGET... [--db PATH] [--force] [--jobs N]\n"
	  "           [--follow-symlinks] [-q] [--checksum none|fingerprint|full]\n"
	  "Import TARGETs (files or directories) into the store; runs\n"
	  "musefs-scan. --force re-ingests files already stored, replacing\n"
	  "their tags and art with the files' own (musefs-scan --reingest).\n" },
	{ "revalidate", "musefs-scan", FLAGS(revalidate_flags), NULL,
	  "usage: musefs revalidate TARGET... [--db PATH] [--prune] [--jobs N]\n"
	  "           [--follow-symlinks] [-q] [--checksum none|fingerprint|full]\n"
	  "Refresh the tracks already stored under TARGETs, keeping their tags\n"
	  "and art; --prune deletes those whose file is gone (musefs-scan\n"
	  "--known-only [--prune]).\n" },
	{ "mount", "musefs-mount", FLAGS(mount_flags), "MUSEFS_MOUNTPOINT",
	  "usage: musefs mount MOUNTPOINT [--db PATH] [--template T] [--fallback F=V]...\n"
	  "           [--default-fallback V] [--skip-on-missing] [--mode MODE]\n"
	  "           [--poll-interval-ms N] [--attr-ttl-ms N] [--case-insensitive BOOL]\n"
	  "           [--owner U] [--group G] [--file-mode M] [--dir-mode M]\n"
	  "           [--allow-other] [--expose-metrics] [--dry-run]\n"
	  "Serve the store at MOUNTPOINT in the foreground until it is\n"
	  "unmounted (musefs-mount -f).\n" },
	{ "vacuum", "musefs-scan", FLAGS(vacuum_flags), NULL,
	  "usage: musefs vacuum [--db PATH]\n"
	  "Checkpoint the WAL and VACUUM the store (musefs-scan --vacuum).\n" },
	{ "stat", "musefs-stat", NULL, 0, NULL,
	  "usage: musefs stat [ARG]...\n"
	  "Run musefs-stat with ARGs (see musefs-stat --help).\n" },
};

#define NSUBS (sizeof(subs) / sizeof(subs[0]))

static void usage(FILE *f)
{
	fprintf(f,
		"usage: musefs [-v]... SUBCOMMAND [ARG]...\n"
		"\n"
		"The musefs 1.x command line, run by musefs-scan, musefs-mount\n"
		"and musefs-stat (see musefs(1) for the mapping):\n"
		"  scan        import files and directories into the store\n"
		"  revalidate  refresh stored tracks; --prune deletes gone ones\n"
		"  mount       serve the store in the foreground\n"
		"  vacuum      compact the store\n"
		"  stat        library, scan and mount telemetry\n"
		"  help [SUBCOMMAND]\n"
		"\n"
		"  -v, --verbose   more messages (repeat for debug)\n"
		"  -h, --help      this text\n"
		"  -V, --version   print the version\n");
}

/* What the command line and the environment said about one flag. */
struct given {
	int state;		/* -1 not given, 0 false, 1 true / has value */
	const char *val;	/* K_VALUE: the value */
	const char *env;	/* the variable it came from, or NULL */
};

/* Where @x came from, for messages: "--name" or the variable. */
static const char *origin(const struct flag *f, const struct given *x,
			  char *buf, size_t len)
{
	if (x->env)
		return x->env;
	snprintf(buf, len, "--%s", f->name);
	return buf;
}

/* 1.x's boolish values (clap BoolishValueParser). */
static int parse_bool(const char *s)
{
	static const char *const yes[] = { "y", "yes", "t", "true", "on", "1" };
	static const char *const no[] = { "n", "no", "f", "false", "off", "0" };

	for (size_t i = 0; i < sizeof(yes) / sizeof(*yes); i++) {
		if (strcasecmp(s, yes[i]) == 0)
			return 1;
		if (strcasecmp(s, no[i]) == 0)
			return 0;
	}
	return -1;
}

static int bad_bool(const char *from, const char *v)
{
	mf_err(NULL, "invalid value '%s' for '%s' (expected true or false)",
	       v, from);
	return -EINVAL;
}

/* The output command line: at most @cap words, NULL-terminated. */
struct words {
	const char **v;
	size_t n, cap;
};

static void push(struct words *w, const char *s)
{
	/* cap is sized by the caller for every word we can produce */
	if (w->n + 1 < w->cap)
		w->v[w->n++] = s;
	w->v[w->n] = NULL;
}

static const struct flag *find_long(const struct sub *sc, const char *name,
				    size_t len)
{
	for (size_t i = 0; i < sc->nflags; i++)
		if (strlen(sc->flags[i].name) == len &&
		    strncmp(sc->flags[i].name, name, len) == 0)
			return &sc->flags[i];
	return NULL;
}

static const struct flag *find_short(const struct sub *sc, char c)
{
	for (size_t i = 0; i < sc->nflags; i++)
		if (sc->flags[i].shrt && sc->flags[i].shrt == c)
			return &sc->flags[i];
	return NULL;
}

/*
 * Record flag @f from the command line; @val is its "=VALUE" part or NULL,
 * @next the following word (consumed through *@i when it is the value).
 * Multi-valued flags go straight to @multi.
 */
static int take(const struct sub *sc, const struct flag *f, const char *val,
		char **argv, int argc, int *i, struct given *g,
		struct words *multi)
{
	struct given *x = &g[f - sc->flags];
	char who[64];
	int b = 1;

	x->env = NULL;
	origin(f, x, who, sizeof(who));
	switch (f->kind) {
	case K_FLAG:
		if (val && (b = parse_bool(val)) < 0)
			return bad_bool(who, val);
		x->state = val ? b : 1;
		return 0;
	case K_BOOL_OPT:
		if (!val && *i + 1 < argc && parse_bool(argv[*i + 1]) >= 0)
			val = argv[++*i];
		if (val && (b = parse_bool(val)) < 0)
			return bad_bool(who, val);
		x->state = val ? b : 1;
		return 0;
	case K_BOOL_ARG:
	case K_VALUE:
		if (!val) {
			if (*i + 1 >= argc) {
				mf_err(NULL, "option '%s' needs a value", who);
				return -EINVAL;
			}
			val = argv[++*i];
		}
		if (f->kind == K_BOOL_ARG) {
			if ((b = parse_bool(val)) < 0)
				return bad_bool(who, val);
			x->state = b;
			return 0;
		}
		if (f->multi) {
			push(multi, f->ours);
			push(multi, val);
		}
		x->state = 1;
		x->val = val;
		return 0;
	}
	return -EINVAL;
}

/* Fill the flags the command line did not give from their variables. */
static int from_env(const struct sub *sc, struct given *g)
{
	for (size_t i = 0; i < sc->nflags; i++) {
		const struct flag *f = &sc->flags[i];
		const char *v = f->env ? getenv(f->env) : NULL;

		if (g[i].state >= 0 || !v || !*v)
			continue;
		g[i].env = f->env;
		if (f->kind == K_VALUE) {
			g[i].state = 1;
			g[i].val = v;
			continue;
		}
		g[i].state = parse_bool(v);
		if (g[i].state < 0)
			return bad_bool(f->env, v);
	}
	return 0;
}

static const struct given *flag_of(const struct sub *sc,
				   const struct given *g, const char *name)
{
	const struct flag *f = find_long(sc, name, strlen(name));

	return f ? &g[f - sc->flags] : NULL;
}

static bool is_on(const struct sub *sc, const struct given *g,
		  const char *name)
{
	const struct given *x = flag_of(sc, g, name);

	return x && x->state == 1;
}

static int refuse(const struct sub *sc, const struct flag *f,
		  const struct given *x)
{
	bool env = x->env != NULL;
	const char *v = f->kind == K_VALUE ? x->val :
			x->state ? "true" : "false";

	if (f->same ? strcmp(v, f->same) == 0 :
	    f->kind == K_FLAG && x->state == 0)
		return 0;	/* what we always do */
	mf_err(NULL, "'musefs %s --%s'%s%s%s is not supported: %s",
	       sc->name, f->name, env ? " (from " : "", env ? f->env : "",
	       env ? ")" : "", f->why);
	return -ENOTSUP;
}

/* --jobs N of 1.x (0 = all CPUs) as our -j. */
static int map_jobs(const struct flag *f, const struct given *x,
		    struct words *out)
{
	char who[64], *end;
	unsigned long n;

	errno = 0;
	n = strtoul(x->val, &end, 10);
	if (errno || end == x->val || *end || x->val[0] == '-' ||
	    n > MAX_JOBS) {
		mf_err(NULL, "invalid value '%s' for '%s' (expected 0..%d)",
		       x->val, origin(f, x, who, sizeof(who)), MAX_JOBS);
		return -EINVAL;
	}
	if (n) {
		push(out, "-j");
		push(out, x->val);
	}
	return 0;
}

/* --checksum of 1.x: we always keep the fingerprint (move detection). */
static int map_checksum(const struct flag *f, const struct given *x,
			struct words *out)
{
	char who[64];

	if (strcmp(x->val, "full") == 0) {
		push(out, "--checksum=full");
		return 0;
	}
	if (strcmp(x->val, "fingerprint") == 0 || strcmp(x->val, "none") == 0)
		return 0;
	mf_err(NULL, "invalid value '%s' for '%s' (expected none, fingerprint "
	       "or full)", x->val, origin(f, x, who, sizeof(who)));
	return -EINVAL;
}

/* The flags of @sc in @g as our options, appended to @out. */
static int translate(const struct sub *sc, const struct given *g,
		     struct words *out)
{
	bool implied_other = false;
	int ret = 0;

	for (size_t i = 0; i < sc->nflags && !ret; i++) {
		const struct flag *f = &sc->flags[i];
		const struct given *x = &g[i];

		if (x->state < 0 || f->multi)
			continue;
		if (f->why) {
			ret = refuse(sc, f, x);
		} else if (strcmp(f->name, "jobs") == 0) {
			ret = map_jobs(f, x, out);
		} else if (strcmp(f->name, "checksum") == 0) {
			ret = map_checksum(f, x, out);
		} else if (strcmp(f->name, "case-insensitive") == 0) {
			if (x->state)
				push(out, "--case-insensitive");
		} else if (f->ours && f->kind == K_VALUE) {
			push(out, f->ours);
			push(out, x->val);
			/* 1.x: a presented owner or group implies allow_other */
			if (strcmp(f->name, "owner") == 0 ||
			    strcmp(f->name, "group") == 0)
				implied_other = true;
		} else if (f->ours && *f->ours && x->state) {
			push(out, f->ours);
		}
	}
	if (ret)
		return ret;
	if (implied_other && !is_on(sc, g, "allow-other"))
		push(out, "--allow-other");
	/* 1.x's default fallback for an absent template field */
	if (strcmp(sc->name, "mount") == 0 &&
	    flag_of(sc, g, "default-fallback")->state < 0) {
		push(out, "--default-fallback");
		push(out, "Unknown");
	}
	return 0;
}

/* exec @prog from our own directory, else from PATH; returns on failure. */
static void run(const char *prog, const char **argv)
{
	char self[PATH_MAX], path[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *slash;

	if (n > 0) {
		self[n] = '\0';
		slash = strrchr(self, '/');
		if (slash) {
			*slash = '\0';
			if (snprintf(path, sizeof(path), "%s/%s", self, prog) <
			    (int)sizeof(path) && access(path, X_OK) == 0) {
				execv(path, (char *const *)argv);
				mf_err(NULL, "cannot run '%s': %s", path,
				       strerror(errno));
				return;
			}
		}
	}
	execvp(prog, (char *const *)argv);
	mf_err(NULL, "cannot run '%s': %s", prog, strerror(errno));
}

static int help_for(const char *name)
{
	for (size_t i = 0; i < NSUBS; i++) {
		if (strcmp(subs[i].name, name) == 0) {
			fputs(subs[i].help, stdout);
			return 0;
		}
	}
	mf_err(NULL, "unknown subcommand '%s' (see musefs --help)", name);
	return EXIT_USAGE;
}

/*
 * Parse the arguments of @sc (argv[0] is the subcommand) into @g, @pos
 * (positionals) and @multi; count -v in *@verbose. Returns 0, 1 for
 * --help (printed), or a negative errno (reported).
 */
static int parse_sub(const struct sub *sc, int argc, char **argv,
		     struct given *g, struct words *pos, struct words *multi,
		     int *verbose)
{
	bool dashdash = false;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const struct flag *f;
		int ret;

		if (dashdash || a[0] != '-' || a[1] == '\0') {
			push(pos, a);
		} else if (strcmp(a, "--") == 0) {
			dashdash = true;
		} else if (a[1] == '-') {
			const char *eq = strchr(a + 2, '=');
			size_t len = eq ? (size_t)(eq - a - 2) : strlen(a + 2);

			if (strcmp(a, "--help") == 0) {
				fputs(sc->help, stdout);
				return 1;
			}
			if (strcmp(a, "--verbose") == 0) {
				(*verbose)++;
				continue;
			}
			f = find_long(sc, a + 2, len);
			if (!f) {
				mf_err(NULL, "unknown option '%.*s' for 'musefs "
				       "%s' (see musefs %s --help)",
				       (int)len + 2, a, sc->name, sc->name);
				return -EINVAL;
			}
			ret = take(sc, f, eq ? eq + 1 : NULL, argv, argc, &i,
				   g, multi);
			if (ret < 0)
				return ret;
		} else {
			for (const char *c = a + 1; *c; c++) {
				if (*c == 'v') {
					(*verbose)++;
					continue;
				}
				if (*c == 'h') {
					fputs(sc->help, stdout);
					return 1;
				}
				f = find_short(sc, *c);
				if (!f || f->kind != K_FLAG) {
					mf_err(NULL, "unknown option '-%c' for "
					       "'musefs %s' (see musefs %s "
					       "--help)", *c, sc->name,
					       sc->name);
					return -EINVAL;
				}
				ret = take(sc, f, NULL, argv, argc, &i, g,
					   multi);
				if (ret < 0)
					return ret;
			}
		}
	}
	return 0;
}

/* musefs vacuum: 1.x refuses a store that does not exist. */
static int vacuum_db(const struct given *db, char *buf, size_t len)
{
	struct stat sb;

	if (mf_main_db_path(db->state == 1 ? db->val : NULL, buf, len) < 0)
		return -EINVAL;
	if (stat(buf, &sb) < 0) {
		mf_err(NULL, "database not found: %s (nothing to vacuum)", buf);
		return -ENOENT;
	}
	return 0;
}

static int dispatch(const struct sub *sc, int argc, char **argv, int verbose)
{
	/* every word: argv's, two per flag from the environment, a few
	 * fixed ones and -v at most MAX_VERBOSE times */
	size_t cap = ((size_t)argc + sc->nflags) * 2 + MAX_VERBOSE + 16;
	const char **outv = calloc(cap, sizeof(*outv));
	const char **posv = calloc(cap, sizeof(*posv));
	const char **mulv = calloc(cap, sizeof(*mulv));
	struct given *g = calloc(sc->nflags + 1, sizeof(*g));
	struct words out = { outv, 0, cap }, pos = { posv, 0, cap };
	struct words multi = { mulv, 0, cap };
	char dbbuf[PATH_MAX];
	const char *posenv;
	int ret, status = EXIT_USAGE;

	if (!outv || !posv || !mulv || !g) {
		mf_err(NULL, "out of memory");
		status = 1;
		goto out;
	}
	push(&out, sc->prog);
	if (!sc->flags) {		/* stat: verbatim */
		for (int i = 1; i < argc; i++)
			push(&out, argv[i]);
		goto exec;
	}
	for (size_t i = 0; i < sc->nflags; i++)
		g[i].state = -1;
	ret = parse_sub(sc, argc, argv, g, &pos, &multi, &verbose);
	if (ret > 0) {
		status = 0;
		goto out;
	}
	if (ret < 0 || from_env(sc, g) < 0)
		goto out;
	posenv = sc->pos_env ? getenv(sc->pos_env) : NULL;
	if (!pos.n && posenv && *posenv)
		push(&pos, posenv);
	if (strcmp(sc->name, "mount") == 0) {
		push(&out, "-f");	/* 1.x serves in the foreground */
		if (pos.n > 1 || (!pos.n && !is_on(sc, g, "dry-run"))) {
			mf_err(NULL, pos.n ? "musefs mount takes one MOUNTPOINT" :
			       "musefs mount: no MOUNTPOINT given");
			goto out;
		}
	} else if (strcmp(sc->name, "vacuum") == 0) {
		if (pos.n) {
			mf_err(NULL, "musefs vacuum takes no argument, not '%s'",
			       pos.v[0]);
			goto out;
		}
		ret = vacuum_db(flag_of(sc, g, "db"), dbbuf, sizeof(dbbuf));
		if (ret < 0) {
			status = ret == -ENOENT ? 1 : EXIT_USAGE;
			goto out;
		}
		push(&out, "--vacuum");
	} else if (!pos.n) {
		mf_err(NULL, "musefs %s: no TARGET given", sc->name);
		goto out;
	}
	if (strcmp(sc->name, "revalidate") == 0) {
		push(&out, "--known-only");
	} else if (strcmp(sc->name, "scan") == 0 &&
		   is_on(sc, g, "revalidate")) {
		if (is_on(sc, g, "force")) {
			mf_err(NULL, "--force and --revalidate are mutually "
			       "exclusive");
			goto out;
		}
		mf_warn(NULL, "'scan --revalidate' is deprecated; use "
			"'musefs revalidate' (add --prune to delete gone "
			"tracks)");
		push(&out, "--known-only");
	}
	if (translate(sc, g, &out) < 0)
		goto out;
	for (size_t i = 0; i < multi.n; i++)
		push(&out, multi.v[i]);
	for (int i = 0; i < verbose && i < MAX_VERBOSE; i++)
		push(&out, "-v");
	if (strcmp(sc->name, "vacuum") == 0 &&
	    flag_of(sc, g, "db")->state < 0) {
		/* the resolved path, so the check above and the run agree */
		push(&out, "--db");
		push(&out, dbbuf);
	}
	if (pos.n)
		push(&out, "--");
	for (size_t i = 0; i < pos.n; i++)
		push(&out, pos.v[i]);
exec:
	fflush(stdout);
	run(sc->prog, outv);
	status = EXIT_NOEXEC;
out:
	free(outv);
	free(posv);
	free(mulv);
	free(g);
	return status;
}

int main(int argc, char **argv)
{
	int verbose = 0, i;

	mf_main_init("musefs");
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i];

		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			usage(stdout);
			return 0;
		}
		if (strcmp(a, "-V") == 0 || strcmp(a, "--version") == 0) {
			printf("musefs %s\n", MF_VERSION);
			return 0;
		}
		if (strcmp(a, "--verbose") == 0) {
			verbose++;
		} else if (a[1] && strspn(a + 1, "v") == strlen(a + 1)) {
			verbose += (int)strlen(a + 1);
		} else {
			mf_err(NULL, "unknown option '%s' (see musefs --help)", a);
			return EXIT_USAGE;
		}
	}
	if (i >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[i], "help") == 0) {
		if (i + 1 < argc)
			return help_for(argv[i + 1]);
		usage(stdout);
		return 0;
	}
	for (size_t s = 0; s < NSUBS; s++)
		if (strcmp(subs[s].name, argv[i]) == 0)
			return dispatch(&subs[s], argc - i, argv + i, verbose);
	mf_err(NULL, "unknown subcommand '%s' (see musefs --help)", argv[i]);
	return EXIT_USAGE;
}
