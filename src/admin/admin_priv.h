/* SPDX-License-Identifier: MIT */
/*
 * admin_priv.h - what the admin's files share: the dashboard page that
 * dashboard.c embeds and admin.c serves at GET /.
 */
#ifndef HP_ADMIN_ADMIN_PRIV_H
#define HP_ADMIN_ADMIN_PRIV_H

#include <stddef.h>

/* The page's bytes (dashboard.html, NUL-terminated) and their length. */
extern const char hp_admin_dashboard_html[];
extern const char hp_admin_dashboard_end[];
size_t hp_admin_dashboard_len(void);

#endif
