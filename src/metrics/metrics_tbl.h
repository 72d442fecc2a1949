/* SPDX-License-Identifier: MIT */
/*
 * metrics_tbl.h - every metric hotpath exports, once. From these rows come
 * the fields of the per-worker shard and of the scrape-time values
 * (metrics.h), the # HELP / # TYPE lines and series of /metrics
 * (expose.c), and the table in docs/metrics.md (hp_metrics_doc(), checked
 * by tests/unit/metrics/test_expose.c). Rows are exported in this order.
 *
 * HP_METRIC(field, name, type, kind, labels, help)
 *   type:  counter, gauge or histogram (the Prometheus TYPE)
 *   kind:  ROUTE_REQ  the request counter by route, method, status, cache
 *          ROUTE_HIST a latency histogram by route (a field of each route slot)
 *          WORKER     a counter field of the shard, summed over workers
 *          SCRAPE     a value the caller reads when scraped (a double field
 *                     of struct hp_metrics_values)
 *          INFO       a constant 1 whose labels carry the information
 *          UPSTREAM   a value per upstream server the caller reads when
 *                     scraped (a double field of struct hp_metrics_upstream)
 *          UPSTREAM_GROUP  the same per group: the first server's value
 *          ALERT      per alert rule, its firing value (struct hp_metrics_alert)
 *          ROUTE_LIMIT  requests a rate limit acted on, by route and outcome
 *                     (a counter array of each route slot)
 *   labels: documentation of the series' labels
 */
HP_METRIC(requests, "hotpath_requests_total", counter, ROUTE_REQ,
	  "route, method, status, cache",
	  "Requests answered, by route name, method (GET, HEAD, POST, PUT, DELETE, PATCH, OTHER), "
	  "status class (1xx..5xx) and cache status (hit, miss, stale, coalesced, revalidated, "
	  "pass, none).")
HP_METRIC(ratelimit, "hotpath_ratelimit_requests_total", counter, ROUTE_LIMIT,
	  "route, outcome",
	  "Requests a route's rate limit acted on: outcome rejected (answered 429 over the "
	  "rate), delayed (served late, rate_limit.mode delay), concurrency (answered 429: "
	  "rate_limit.concurrency requests of its key in flight). Requests it let through at "
	  "once are not counted here.")
HP_METRIC(request_duration, "hotpath_request_duration_seconds", histogram, ROUTE_HIST, "route",
	  "Time from a request's complete head to its last response byte handed to the kernel.")
HP_METRIC(upstream_duration, "hotpath_upstream_duration_seconds", histogram, ROUTE_HIST, "route",
	  "Time from sending a request upstream to receiving the response head, for requests "
	  "that went upstream.")
HP_METRIC(hit_duration, "hotpath_cache_hit_duration_seconds", histogram, ROUTE_HIST, "route",
	  "Time from a request's complete head to its last response byte handed to the kernel, "
	  "for responses served from the cache with no upstream exchange (hit and stale): the "
	  "cache's own latency, the figure of a \"cache lookup\" budget (hit_pN).")
HP_METRIC(response_bytes, "hotpath_response_bytes_total", counter, WORKER, "",
	  "Response bytes (head and body) given to clients.")
HP_METRIC(client_connections, "hotpath_client_connections", gauge, SCRAPE, "",
	  "Open client connections.")
HP_METRIC(cache_objects, "hotpath_cache_objects", gauge, SCRAPE, "",
	  "Objects in the memory cache.")
HP_METRIC(cache_bytes, "hotpath_cache_bytes", gauge, SCRAPE, "",
	  "Bytes the memory cache accounts for (objects and index).")
HP_METRIC(cache_max_bytes, "hotpath_cache_max_bytes", gauge, SCRAPE, "",
	  "The memory cache's budget (cache.max_memory).")
HP_METRIC(cache_inserts, "hotpath_cache_inserts_total", counter, SCRAPE, "",
	  "Objects stored in the memory cache.")
HP_METRIC(cache_evictions, "hotpath_cache_evictions_total", counter, SCRAPE, "",
	  "Objects evicted from the memory cache to make room.")
HP_METRIC(cache_purges, "hotpath_cache_purges_total", counter, SCRAPE, "",
	  "Objects removed or marked stale by purges.")
HP_METRIC(cache_hit_for_pass, "hotpath_cache_hit_for_pass_total", counter, SCRAPE, "",
	  "Misses the cache declined to fill (a recent response was not storable).")
HP_METRIC(config_reloads, "hotpath_config_reloads_total", counter, SCRAPE, "",
	  "Configurations applied since start (failed reloads are not counted).")
HP_METRIC(build_info, "hotpath_build_info", gauge, INFO, "version",
	  "Always 1; the version label is the running binary's.")
HP_METRIC(process_start_time, "process_start_time_seconds", gauge, SCRAPE, "",
	  "Process start, in seconds since the Unix epoch.")
HP_METRIC(process_cpu, "process_cpu_seconds_total", counter, SCRAPE, "",
	  "User and system CPU time of the process.")
HP_METRIC(process_resident_memory, "process_resident_memory_bytes", gauge, SCRAPE, "",
	  "Resident memory of the process.")
HP_METRIC(process_open_fds, "process_open_fds", gauge, SCRAPE, "",
	  "Open file descriptors of the process.")
HP_METRIC(request_bytes, "hotpath_request_bytes_total", counter, WORKER, "",
	  "Bytes read from clients (request heads and bodies).")
HP_METRIC(startup_duration, "hotpath_startup_duration_seconds", gauge, SCRAPE, "",
	  "From the process's start to its workers serving, to the 10 ms the kernel "
	  "records a start time in.")
HP_METRIC(config_reload_failures, "hotpath_config_reload_failures_total", counter, SCRAPE, "",
	  "Reloads refused (an invalid file, or listeners that could not change); the running "
	  "configuration stayed.")
HP_METRIC(config_last_reload_ok, "hotpath_config_last_reload_successful", gauge, SCRAPE, "",
	  "1 if the last reload was applied (or none was tried), 0 if it was refused.")
HP_METRIC(upstream_active, "hotpath_upstream_active_connections", gauge, UPSTREAM,
	  "group, server", "Connections to the server in use or connecting, all workers.")
HP_METRIC(upstream_idle, "hotpath_upstream_idle_connections", gauge, UPSTREAM,
	  "group, server", "Keep-alive connections to the server waiting in the pools.")
HP_METRIC(upstream_queued, "hotpath_upstream_queued_requests", gauge, UPSTREAM_GROUP, "group",
	  "Requests waiting for a connection slot (every server of the group at "
	  "max_connections).")
HP_METRIC(upstream_connect_failures, "hotpath_upstream_connect_failures_total", counter,
	  UPSTREAM, "group, server",
	  "Connections to the server that could not be made (refused, unreachable, connect "
	  "timeout); reset when a reload rebuilds the group.")
HP_METRIC(upstream_timeouts, "hotpath_upstream_timeouts_total", counter, UPSTREAM,
	  "group, server",
	  "Exchanges with the server that timed out after the connection was made (send or "
	  "read timeout); reset when a reload rebuilds the group.")
HP_METRIC(upstream_circuit_state, "hotpath_upstream_circuit_state", gauge, UPSTREAM,
	  "group, server",
	  "The server's circuit breaker (circuit.error_rate): 0 closed, 1 open (no traffic), "
	  "2 half-open (one probe at a time).")
HP_METRIC(upstream_circuit_opens, "hotpath_upstream_circuit_opens_total", counter, UPSTREAM,
	  "group, server",
	  "Times the server's circuit opened (a half-open probe that failed included); reset "
	  "when a reload rebuilds the group.")
HP_METRIC(alert_firing, "hotpath_alert_firing", gauge, ALERT, "alert",
	  "1 while the alert rule of that name is firing, else 0 (alerts.rules).")
HP_METRIC(upstream_servers_out, "hotpath_upstream_servers_out", gauge, SCRAPE, "",
	  "Upstream servers out of service now (ejected, failing their health checks, or their "
	  "circuit open), all groups of the running configuration.")
HP_METRIC(upstream_ejections, "hotpath_upstream_ejections_total", counter, UPSTREAM,
	  "group, server",
	  "Passive ejections of the server since the running configuration was applied.")
HP_METRIC(upstream_retries, "hotpath_upstream_retries_total", counter, UPSTREAM,
	  "group, server",
	  "Requests sent again to another server after a failure of this one before any "
	  "response byte (or a retry_on status), since the running configuration was applied.")
HP_METRIC(upstream_in_service, "hotpath_upstream_in_service", gauge, UPSTREAM,
	  "group, server",
	  "1 while the server is in service, 0 while it is out (ejected, failing its health "
	  "checks, or its circuit open).")
HP_METRIC(client_conns_rejected, "hotpath_client_connections_rejected_total", counter, WORKER,
	  "", "Client connections closed as soon as accepted because their client address "
	  "(limits.client_ipv6_prefix for IPv6) held limits.max_conns_per_client already.")
HP_METRIC(compress_input_bytes, "hotpath_compress_input_bytes_total", counter, WORKER, "",
	  "Body bytes fed to a compressor (gzip, br, zstd); a cache hit on a stored compressed "
	  "copy adds nothing.")
HP_METRIC(compress_output_bytes, "hotpath_compress_output_bytes_total", counter, WORKER, "",
	  "Compressed bytes the compressors made from them.")
HP_METRIC(l2_hits, "hotpath_l2_hits_total", counter, SCRAPE, "",
	  "L1 misses answered from the L2 tier in Redis (docs/l2.md); 0 without l2.")
HP_METRIC(l2_misses, "hotpath_l2_misses_total", counter, SCRAPE, "",
	  "L2 lookups that found nothing usable (absent, another format version, another "
	  "Vary variant).")
HP_METRIC(l2_errors, "hotpath_l2_errors_total", counter, SCRAPE, "",
	  "Redis commands that failed or timed out (l2.timeout); the request went on without "
	  "L2.")
HP_METRIC(l2_timeouts, "hotpath_l2_timeouts_total", counter, SCRAPE, "",
	  "Of those, the commands that timed out.")
HP_METRIC(l2_writes, "hotpath_l2_writes_total", counter, SCRAPE, "",
	  "Objects written to Redis behind their response.")
HP_METRIC(l2_skipped, "hotpath_l2_skipped_total", counter, SCRAPE, "",
	  "L2 lookups and writes skipped because the worker's Redis connection was down or "
	  "its circuit open.")
HP_METRIC(l2_connected, "hotpath_l2_connected_workers", gauge, SCRAPE, "",
	  "Workers connected to Redis now (equal to the worker count when the L2 tier is "
	  "healthy; 0 without l2). In a Redis Cluster: connections to nodes (workers x "
	  "nodes when healthy).")
HP_METRIC(l2_bus_up, "hotpath_l2_bus_up", gauge, SCRAPE, "",
	  "1 while this instance is subscribed to the invalidation bus in Redis, else 0.")
HP_METRIC(l2_bus_published, "hotpath_l2_bus_published_total", counter, SCRAPE, "",
	  "Purges of this instance published for the others.")
HP_METRIC(l2_bus_received, "hotpath_l2_bus_received_total", counter, SCRAPE, "",
	  "Purges of other instances received and applied.")
HP_METRIC(l2_bus_resyncs, "hotpath_l2_bus_resyncs_total", counter, SCRAPE, "",
	  "Resubscriptions after losing the bus; each emptied the memory cache (docs/l2.md).")
HP_METRIC(l2_redirects, "hotpath_l2_cluster_redirects_total", counter, SCRAPE, "",
	  "Redis Cluster: MOVED and ASK answers followed to another node (a resharding, or "
	  "a slot map not yet fetched).")
HP_METRIC(l2_slot_refreshes, "hotpath_l2_cluster_slot_refreshes_total", counter, SCRAPE, "",
	  "Redis Cluster: slot maps fetched (CLUSTER SLOTS), at connect and after a MOVED.")
