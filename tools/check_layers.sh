#!/bin/sh
# SPDX-License-Identifier: MIT
#
# check_layers.sh - the files of src/config/ call only downwards, in the
# order config_priv.h lists them (bottom first). For each object, every
# hp_config_* symbol it uses but does not define must be defined by a file
# listed before it; a call upwards or sideways would bring back the cycle
# issue 14 cut. Reads the objects of BUILD (default build), so run it after
# make. Prints one line per violation and exits 1 if there is any.
set -u
BUILD=${BUILD:-build}
order="config_locate config_path config_value config_token config_schema config_walk config_env config_dump config"
defined_below=""
bad=0
for f in $order; do
	obj=$BUILD/obj/config/$f.o
	if [ ! -f "$obj" ]; then
		echo "check_layers: $obj missing; run make first" >&2
		exit 2
	fi
	for sym in $(nm -u "$obj" | awk '$2 ~ /^hp_config_/ {print $2}'); do
		case " $defined_below " in
		*" $sym "*) ;;
		*) echo "check_layers: src/config/$f.c uses $sym from a file above it"; bad=1 ;;
		esac
	done
	defined_below="$defined_below $(nm --defined-only -g "$obj" | awk '$3 ~ /^hp_config_/ {print $3}' | tr '\n' ' ')"
done
[ $bad = 0 ] && echo "check_layers: src/config is layered"
exit $bad
