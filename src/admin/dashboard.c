/* SPDX-License-Identifier: MIT */
/*
 * dashboard.c - the page GET / answers: dashboard.html, assembled into the
 * binary as it is (.incbin), so the page needs no file at run time and the
 * HTML stays readable and editable as HTML. The Makefile makes this object
 * depend on the page.
 */
#include "admin/admin_priv.h"

__asm__(".section .rodata\n"
	".global hp_admin_dashboard_html\n"
	".type hp_admin_dashboard_html, @object\n"
	"hp_admin_dashboard_html:\n"
	".incbin \"src/admin/dashboard.html\"\n"
	".global hp_admin_dashboard_end\n"
	"hp_admin_dashboard_end:\n"
	".byte 0\n"
	".previous\n");

size_t hp_admin_dashboard_len(void)
{
	return (size_t)(hp_admin_dashboard_end - hp_admin_dashboard_html);
}
