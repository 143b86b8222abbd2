/* SPDX-License-Identifier: MIT */
/*
 * mf_schema - the store's SQL migrations, compiled in from the schema/ SQL files by
 * schema/gen-schema.sh. Core migrations set PRAGMA user_version themselves;
 * extension migrations are versioned in musefs_meta('ext_version').
 * Used by mf_store only.
 */
#ifndef MF_SCHEMA_H
#define MF_SCHEMA_H

#include <stddef.h>

enum mf_migration_kind {
	MF_MIG_CORE = 0,	/* core contract; bumps user_version */
	MF_MIG_EXT = 1,		/* extension tables; bumps ext_version */
	MF_MIG_CONV = 2,	/* shape conversion run by mf_migrate.c only */
};

struct mf_migration {
	enum mf_migration_kind kind;
	int version;		/* the version this migration brings the store to */
	const char *name;	/* file name, for messages */
	const char *sql;	/* the whole script */
};

/* Sorted by file name: core, conv, ext, each in ascending version. */
extern const struct mf_migration mf_migrations[];
extern const size_t mf_migrations_count;

#endif /* MF_SCHEMA_H */
