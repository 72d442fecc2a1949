/* SPDX-License-Identifier: MIT */
/*
 * config.h - the configuration: one JSON file, environment overrides, and
 * command-line overrides, loaded into plain structs the rest of hotpath reads.
 *
 * Every key is optional and has a documented default, so a config with only
 * an upstream (from the file, HOTPATH_* or --upstream) is complete. Values
 * are applied in this order, later ones winning: schema defaults, the file,
 * the environment (HOTPATH_<KEY_PATH>, '.' -> '_', upper case), then the
 * command line. Unknown keys and wrong types are errors reported as
 * "FILE:LINE:COLUMN: key.path: reason" or "HOTPATH_X: key.path: reason".
 *
 * Invariants after a successful load: nupstreams >= 1, every upstream has
 * nservers >= 1, nroutes >= 1, and every route's upstream_index is valid.
 * A loaded config is immutable and may be read from any thread; reload
 * builds a new one. All strings and arrays are owned by the config.
 */
#ifndef HP_CONFIG_CONFIG_H
#define HP_CONFIG_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/budget.h"
#include "core/core.h"

struct hp_cidr;

struct hp_config_server {
	char *url;       /* as written: "http://127.0.0.1:9000" */
	char *host;      /* "127.0.0.1" (brackets removed for IPv6) */
	uint16_t port;   /* 80 when absent */
	char *hostport;  /* "127.0.0.1:9000" ("[::1]:9000" for v6), for hp_net_resolve */
	uint32_t weight; /* default 1, 1..1000 */
	uint32_t max_conns; /* default 0 = the group's max_connections */
	bool backup;     /* default false: used only when no primary can be */
};

/* What the hash balancer hashes (derived from "hash_key"). */
enum hp_config_hash_key {
	HP_HASH_KEY_IP,                /* client address */
	HP_HASH_KEY_HEADER,            /* a request header's value */
	HP_HASH_KEY_COOKIE,            /* a cookie's value */
	HP_HASH_KEY_URL,               /* the request target */
};

/* Active health checks of a group's servers; path NULL = none. */
struct hp_config_health {
	char *path;                    /* default NULL: "/health" turns checks on */
	uint64_t interval_ms;          /* default 1 s between checks of a server */
	uint64_t timeout_ms;           /* default 500 ms: connect and answer */
	char *status;                  /* default "200-399": expected status range */
	uint32_t status_min, status_max; /* derived from status */
	uint32_t rise;                 /* default 2: passes in a row that bring it back */
	uint32_t fall;                 /* default 3: failures in a row that take it out */
};

/* Circuit breaking on a server's error rate (docs/upstreams.md). */
struct hp_config_circuit {
	char *error_rate;              /* default NULL = off; "50%" */
	uint32_t error_rate_pct;       /* derived: 1..100, 0 = off */
	uint32_t min_requests;         /* default 20: outcomes in the window before it may open */
	uint64_t window_ms;            /* default 10 s: the outcomes counted */
	uint64_t open_for_ms;          /* default 5 s: open, then half-open (one probe) */
};

struct hp_config_upstream {
	char *name;                      /* the key in "upstreams" */
	struct hp_config_server *servers; /* at least 1 */
	size_t nservers;
	char *balance;                 /* "round_robin", "least_conn", "p2c", "hash", "random" */
	char *hash_key;                /* "ip" (default), "url", "header:NAME", "cookie:NAME" */
	enum hp_config_hash_key hash_kind;
	const char *hash_name;         /* HEADER, COOKIE: points into hash_key after ':' */
	uint64_t connect_timeout_ms;   /* default 30 s */
	uint64_t send_timeout_ms;      /* default 30 s */
	uint64_t read_timeout_ms;      /* default 60 s: between bytes of the response */
	uint64_t idle_timeout_ms;      /* default 600 s: pooled keep-alive connection */
	uint32_t max_idle;             /* default 100: idle keep-alive conns per worker per server */
	uint32_t min_idle;             /* default 0: conns kept open per worker per server */
	uint32_t max_connections;      /* default 100 per server (0 = unlimited) */
	uint32_t retries;              /* default 1: idempotent retries on another server */
	uint32_t retry_budget;         /* default 20: retries in % of recent requests */
	char **retry_on;               /* default none: "5xx", or statuses "502" ... "599" */
	size_t nretry_on;
	uint64_t retry_status[2];      /* derived from retry_on: bit (status - 500) */
	uint32_t max_fails;            /* default 3: failures in a row that eject; 0 = never */
	uint64_t fail_timeout_ms;      /* default 5 s: first ejection, doubling after */
	uint32_t max_queue;            /* default 1000: requests waiting for a slot, group-wide */
	uint64_t queue_timeout_ms;     /* default 0 = connect_timeout: longest wait for a slot */
	uint64_t slow_start_ms;        /* default 0 = off: ramp of a returning server's weight */
	uint32_t max_requests_per_conn; /* default 0 = unlimited: then it is closed */
	uint64_t conn_lifetime_ms;     /* default 0 = unlimited: not reused past this age */
	struct hp_config_health health;
	struct hp_config_circuit circuit;
};

struct hp_config_cache_policy {
	bool enabled;                  /* default true */
	uint64_t default_ttl_ms;       /* default 0 = off; TTL for storable responses that
					  carry no explicit freshness */
	uint64_t grace_ms;             /* default 0: serve stale this long when the origin
					  sends neither stale-while-revalidate nor -if-error */
	bool allow_set_cookie;         /* default false */
	char **key_query_include;      /* default none = keep the whole query */
	size_t nkey_query_include;
	char **key_query_exclude;      /* query parameters dropped from the key */
	size_t nkey_query_exclude;
	bool key_query_ignore;         /* default false: true drops the query from the key */
	char **key_headers;            /* request headers added to the key */
	size_t nkey_headers;
};

/* What a rate limit counts by (derived from "key"). */
enum hp_config_rl_key {
	HP_RL_KEY_IP,                  /* client address, IPv6 cut to ipv6_prefix */
	HP_RL_KEY_HEADER,              /* a request header's value */
	HP_RL_KEY_COOKIE,              /* a cookie's value */
	HP_RL_KEY_ROUTE,               /* the route as a whole */
};

struct hp_config_rate_limit {
	char *rate;                    /* NULL = off; "100/s", "6000/m", "10/h" */
	uint32_t burst;                /* default 0: requests beyond the first taken at once */
	char *key;                     /* "ip" (default), "route", "header:NAME", "cookie:NAME" */
	char *name;                    /* default "default": policy name in RateLimit fields */
	char *mode;                    /* "reject" (default): 429 over the rate; "delay": a
					  burst is spread at the rate, 429 beyond the burst */
	uint32_t ipv6_prefix;          /* default 64: bits of an IPv6 client address kept */
	struct hp_cidr *allow;         /* clients never limited; default none */
	size_t nallow;
	uint32_t max_keys;             /* default 100000: keys remembered (least recent dropped) */
	uint32_t concurrency;          /* default 0 = off: requests in flight per key (429) */
	bool shared;                   /* default false: with l2, the state lives in Redis */
	/* derived by the loader */
	uint64_t interval_ns;          /* 1 s / rate; 0 when off */
	uint32_t quota;                /* the N of "N/unit" */
	uint32_t window_s;             /* the unit in seconds */
	enum hp_config_rl_key key_kind;
	bool delay;                    /* mode is "delay" */
	const char *key_name;          /* HEADER, COOKIE: points into key after ':' */
};

/* Response compression (docs/compression.md). */
struct hp_config_compression_levels {
	uint32_t gzip;                 /* default 6 (1..9) */
	uint32_t br;                   /* default 5 (0..11) */
	uint32_t zstd;                 /* default 3 (1..19) */
};

struct hp_config_compression {
	bool enabled;                  /* default true */
	char **encodings;              /* default ["br", "zstd", "gzip"]: the server's order */
	size_t nencodings;
	uint64_t min_size;             /* bytes, default 1KB: smaller known lengths stay as they are */
	char **types;                  /* media types compressed ("text/" "*", "+json", exact) */
	size_t ntypes;
	struct hp_config_compression_levels levels;
};

/* A route's compression: "inherit" (default) the top level's, "on" or "off". */
struct hp_config_route_compression {
	char *enabled;
};

struct hp_config_route {
	char *host;                    /* NULL = any host; exact match, case-insensitive */
	char *path_prefix;             /* default "/" */
	char *upstream;                /* name of an upstream; default: the first one */
	size_t upstream_index;         /* index into cfg->upstreams, resolved by the loader */
	struct hp_config_cache_policy cache;
	struct hp_config_rate_limit rate_limit;
	char *name;                    /* NULL = path_prefix: metrics label, /status, alerts */
	struct hp_config_route_compression compression;
};

struct hp_config_cache {
	bool enabled;                  /* default true */
	uint64_t max_memory;           /* bytes, default 100MB */
	uint64_t max_object_size;      /* bytes, default 8MB */
	char *namespace;               /* default "": prefix of every key (bump to invalidate) */
	char *tag_header;              /* default "Cache-Tag" */
	bool strip_tag_header;         /* default true */
	char **targeted_fields;        /* RFC 9213 fields that override Cache-Control for
					  us, first valid one wins; default
					  Hotpath-Cache-Control, CDN-Cache-Control */
	size_t ntargeted_fields;
	bool strip_targeted_fields;    /* default false: removed from client responses */
	struct hp_cidr *purge_allow;   /* default 127.0.0.0/8, ::1/128 */
	size_t npurge_allow;
	uint64_t hit_for_pass_ms;      /* default 120 s */
	char **warm;                   /* paths to fetch after start */
	size_t nwarm;
	uint32_t warm_concurrency;     /* default 4 */
	bool server_timing;            /* default false */
	bool x_cache;                  /* default true */
	bool status_key;               /* default false: key=... in Cache-Status */
};

struct hp_config_limits {
	uint32_t max_connections;      /* default 10000 client connections (whole process) */
	uint64_t max_header_size;      /* bytes, default 32KB: whole request head -> 431 */
	uint32_t max_header_fields;    /* default 100 -> 431 */
	uint64_t max_request_line;     /* bytes, default 8KB -> 414 */
	uint64_t max_body_size;        /* bytes, default 10MB -> 413 */
	uint64_t request_buffering;    /* bytes, default 64KB: bodies up to this are read
					  whole before the upstream; 0 = always stream */
	char **strip_request_headers;  /* never forwarded upstream: URL and method
					  overrides (X-Original-URL, ...) by default */
	size_t nstrip_request_headers;
	uint64_t header_timeout_ms;    /* default 10 s: whole head must arrive (slowloris) */
	uint64_t body_timeout_ms;      /* default 60 s: between body bytes from a client */
	uint64_t keepalive_timeout_ms; /* default 75 s: idle client connection */
	uint64_t send_timeout_ms;      /* default 60 s: client not reading */
	uint64_t drain_timeout_ms;     /* default 10 s: graceful stop */
	uint32_t max_conns_per_client; /* default 0 = off: open connections per client */
	uint32_t client_ipv6_prefix;   /* default 64: IPv6 bits that make one client for it */
};

struct hp_config_admin {
	char **listen;                 /* default none = no admin listener */
	size_t nlisten;
	struct hp_cidr *allow;         /* default 127.0.0.0/8, ::1/128 */
	size_t nallow;
	char *token_file;              /* NULL = none: file holding the bearer token */
	char *token_env;               /* NULL = none: variable holding the bearer token */
	char *token_scope;             /* "changes" (default): /purge, /reload, PURGE;
					  "all": every admin request */
};

/* Longest admin bearer token, in bytes. */
#define HP_CONFIG_TOKEN_MAX 256

/*
 * Read the admin bearer token of <a> (from admin.token_file or the variable
 * admin.token_env names; trailing white space dropped) into <out> (<n>
 * bytes, at least HP_CONFIG_TOKEN_MAX + 1). Returns 1 with the token, 0 when
 * none is configured (<out> empty), -1 with a reason in <err> that never
 * holds the token. A token is RFC 6750 b64token characters.
 */
int hp_config_admin_token(const struct hp_config_admin *a, char *out, size_t n, char *err,
			  size_t errlen);

/* The shared L2 tier in Redis (docs/l2.md); absent or with no server, none. */
struct hp_config_l2 {
	char **redis;                  /* "host:port" of the Redis server (of some nodes of a
					  cluster); none = no L2 */
	size_t nredis;
	bool cluster;                  /* default false: a Redis Cluster */
	uint64_t max_ttl_ms;           /* default 1 h: cap of an object's TTL in Redis */
	uint64_t max_object_size;      /* bytes, default 1MB: larger objects stay L1-only */
	uint64_t timeout_ms;           /* default 20 ms: limit of one Redis command */
	uint64_t lock_ms;              /* default 5 s: cross-instance fill lock; 0 = none */
	char *prefix;                  /* default "hp:": prefix of every Redis key and channel */
};

struct hp_config_access_log {
	char *path;                    /* NULL = off, "-" = stdout */
	char *format;                  /* "combined" (default) or "json" */
};

/* One alert rule: expr held for for_ms over the last window_ms of a route. */
struct hp_config_alert_rule {
	char *name;                    /* the alertname label; required */
	char *route;                   /* a route's name; NULL = all traffic */
	char *expr;                    /* fire while these clauses (core/budget.h) all hold */
	char *budget;                  /* or: fire while one of these does not hold */
	uint64_t for_ms;               /* default 0: fire at once */
	uint64_t window_ms;            /* default 1 min, 1 s to 5 min: the figures' span */
	/* derived by the loader */
	struct hp_budget parsed;       /* expr or budget, parsed */
	const char *text;              /* expr or budget, as written */
	bool is_budget;                /* budget was given: fires when broken */
};

struct hp_config_alerts {
	char *webhook_url;             /* NULL = none: "http://host:port/path" */
	uint64_t webhook_timeout_ms;   /* default 2 s, per attempt */
	uint32_t webhook_retries;      /* default 3: attempts after the first */
	struct hp_config_alert_rule *rules;
	size_t nrules;
};

struct hp_config {
	char *path;                    /* file it came from, NULL for defaults */
	char **listen;                 /* default ["127.0.0.1:8080"]: "host:port",
					  "[v6]:port" or ":port" */
	size_t nlisten;
	uint32_t workers;              /* default 0 = number of CPUs */
	char *log_level;               /* "error" | "warn" | "info" (default) | "debug" */
	char *pid_file;                /* NULL = none: written at start, removed at exit */
	struct hp_config_access_log access_log;
	struct hp_cidr *trusted_proxies; /* default none */
	size_t ntrusted_proxies;
	struct hp_config_upstream *upstreams; /* JSON: object name -> group, in file order */
	size_t nupstreams;
	struct hp_config_route *routes; /* default: one route "/" -> first upstream */
	size_t nroutes;
	struct hp_config_limits limits;
	struct hp_config_cache cache;
	struct hp_config_admin admin;
	struct hp_config_alerts alerts;
	bool metrics_enabled;          /* default true: count requests for /metrics, /status */
	struct hp_config_compression compression;
	struct hp_config_l2 l2;
};

/* From the command line; these win over the file and the environment. */
struct hp_config_overrides {
	const char *listen;            /* NULL = none; replaces the whole listen list */
	const char *admin_listen;      /* NULL = none; replaces admin.listen */
	bool no_cache;                 /* sets cache.enabled to false */
	const char **upstream_urls;    /* replace upstreams with one group "default", */
	size_t nupstream_urls;         /* and every route then goes to it */
	int workers;                   /* -1 = none */
	const char *pid_file;          /* NULL = none; replaces pid_file */
};

struct hp_config_error {
	char msg[1024];                /* one line, no trailing newline */
};

/*
 * Load <path> (NULL = defaults only), then apply the environment <envp>
 * (NULL-terminated "NAME=value" strings, usually `environ`; NULL = none) and
 * <ov> (NULL = none). Returns a config the caller frees with
 * hp_config_destroy(), or NULL with <err>->msg set. A config with no
 * upstream at all is an error. Unknown HOTPATH_* variables are logged as
 * warnings, not errors, since other tools share the prefix.
 */
struct hp_config *hp_config_load(const char *path, const struct hp_config_overrides *ov,
				 char *const *envp, struct hp_config_error *err);

/* As hp_config_load(), from the <len> bytes of JSON at <text> (need not be
 * NUL-terminated); <name> is used in messages and as cfg->path. Used by
 * the loader itself, by reload and by the fuzzer. */
struct hp_config *hp_config_load_buffer(const char *name, const char *text, size_t len,
					const struct hp_config_overrides *ov,
					char *const *envp, struct hp_config_error *err);

/* Free <cfg> and everything it owns. NULL is allowed. */
void hp_config_destroy(struct hp_config *cfg);

/* The effective configuration as pretty JSON (malloc'd string, caller
 * frees), every key shown with its value, defaults included; sizes and
 * durations written in units ("100MB", "30s"). Loading it back yields an
 * equal config. */
char *hp_config_dump(const struct hp_config *cfg);

/* The key reference as Markdown (malloc'd, caller frees): one table row
 * per key with its type, default, environment variable and meaning,
 * generated from the schema. docs/configuration.md embeds it. */
char *hp_config_reference(void);

/*
 * Durations follow one rule everywhere: in files, HOTPATH_* variables and
 * the options of serve, check and bench. A duration is a number with a
 * unit, "250ms", "1.5s", "2m", "1h" (case-insensitive, a space allowed
 * before the unit); "0" alone is accepted, a bare non-zero number is not,
 * because a file used to read "30" as milliseconds and bench as seconds.
 * HP_CONFIG_DURATION_HINT is the message part that names the units.
 */
#define HP_CONFIG_DURATION_HINT "a duration with a unit (ms, s, m, h)"

/* <s> as whole milliseconds into <out_ms> (fractions below 1 ms are
 * dropped: "1.5s" is 1500). False if it is not a duration as above or
 * does not fit. */
bool hp_config_parse_duration(const char *s, uint64_t *out_ms);

/* As hp_config_parse_duration(), in nanoseconds, also accepting "us",
 * for the load generator's sub-millisecond options. */
bool hp_config_parse_duration_ns(const char *s, uint64_t *out_ns);


#endif
