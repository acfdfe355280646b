#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Tests conf/bash-completion/supportvpnctl: sources it into this bash, sets
# COMP_LINE and COMP_POINT as bash does for a <Tab> at the end of a line,
# calls the completion function and compares COMPREPLY. Then checks it
# against controller/ctl.c: every command in its commands[] table, each
# command's options from the table's synopsis, and every option literal
# ctl.c compares arguments with must be offered. No daemon, no network.
#
# usage: tests/completion/test_supportvpnctl.sh [TOP]   (TOP: the tree, .)

set -u
export LC_ALL=C	# the order candidates are sorted in
top=${1:-.}
ctl=$top/controller/ctl.c
# shellcheck source=conf/bash-completion/supportvpnctl
. "$top/conf/bash-completion/supportvpnctl" || exit 1

tests=0
failed=0
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT

# The candidates for a <Tab> at the end of $1, sorted, on one line, in
# $got (no subshell: this runs a hundred times).
candidates()
{
	local COMP_LINE=$1 COMP_POINT=${#1} COMP_CWORD i j t
	local -a COMP_WORDS

	# The function reads COMP_LINE; these are set as bash would anyway.
	read -r -a COMP_WORDS <<<"$1"
	[[ $1 == *' ' ]] && COMP_WORDS+=('')
	COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	COMPREPLY=()
	_supportvpnctl supportvpnctl "${COMP_WORDS[COMP_CWORD]}" \
	    "${COMP_WORDS[COMP_CWORD - 1]}"
	for ((i = 1; i < ${#COMPREPLY[@]}; i++)); do
		t=${COMPREPLY[i]}
		for ((j = i - 1; j >= 0; j--)); do
			[[ ${COMPREPLY[j]} > $t ]] || break
			COMPREPLY[j + 1]=${COMPREPLY[j]}
		done
		COMPREPLY[j + 1]=$t
	done
	got="${COMPREPLY[*]}"
}

pass() { tests=$((tests + 1)); }
fail() { tests=$((tests + 1)); failed=$((failed + 1)); echo "FAIL: $*"; }

# expect LINE WANT: the candidates for LINE are exactly WANT.
expect()
{
	candidates "$1"
	if [[ $got == "$2" ]]; then
		pass
	else
		fail "'$1': want '$2', got '$got'"
	fi
}

if complete -p supportvpnctl 2>/dev/null |
    grep -q -- '-F _supportvpnctl supportvpnctl$'; then
	pass
else
	fail "complete -p: not registered for supportvpnctl"
fi

# Commands and global options.
expect 'supportvpnctl st' 'start status stop'
expect 'supportvpnctl su' 'support-password'
expect 'supportvpnctl -' '--config --connect --help --json --timeout --token-file -h'
expect 'supportvpnctl --json sta' 'start status'
expect 'supportvpnctl --connect 127.0.0.1:7515 ch' 'checks'
expect 'supportvpnctl --connect [::1]:7515 --timeout 5 wa' 'watch'
expect 'supportvpnctl --connect ' ''
expect 'supportvpnctl --timeout ' ''
expect 'supportvpnctl -- -' ''
expect 'supportvpnctl nosuchcommand ' ''

# Each command's options.
expect 'supportvpnctl start --w' '--wait --when-possible'
expect 'supportvpnctl start --wait -' \
    '--duration --help --json --timeout --when-possible -h'
expect 'supportvpnctl start --duration ' ''
expect 'supportvpnctl start --timeout 30 --' \
    '--duration --help --json --wait --when-possible'
expect 'supportvpnctl status -' '--help --json -h'
expect 'supportvpnctl history -' '--help --json -h -n'
expect 'supportvpnctl history -n ' ''
expect 'supportvpnctl checks --r' '--refresh'
expect 'supportvpnctl --timeout 5 log -' '--follow --help --json -f -h -n'
expect 'supportvpnctl log -n 50 -' '--follow --help --json -f -h'
expect 'supportvpnctl extend ' ''

# watch: event names, each once.
expect 'supportvpnctl watch ' 'checks log openvpn peer session state'
expect 'supportvpnctl watch s' 'session state'
expect 'supportvpnctl watch state s' 'session'
expect 'supportvpnctl watch -' '--help --json -h'
expect 'supportvpnctl watch -- ' 'checks log openvpn peer session state'

# openvpn: the read-only management commands.
expect 'supportvpnctl openvpn ' 'help log pid state status version'
expect 'supportvpnctl openvpn s' 'state status'
expect 'supportvpnctl openvpn status ' '1 2 3'
expect 'supportvpnctl openvpn log ' 'all'
expect 'supportvpnctl openvpn pid ' ''

# auth: USER, options; '-' is $PAM_USER.
expect 'supportvpnctl auth ' '- support'
expect 'supportvpnctl auth -' '- --from --help --json --quiet -h -q'
expect 'supportvpnctl auth support --from ' ''
expect 'supportvpnctl auth support -' '--from --help --json --quiet -h -q'
expect 'supportvpnctl auth support ' ''

# support-password --config: file names.
mkdir -p "$tmp/conf dir" "$tmp/etc"
: >"$tmp/etc/supportvpnd.json"
: >"$tmp/etc/supportvpnd.json.bak"
# The global --config and --token-file take files, then a command follows.
expect "supportvpnctl --token-file $tmp/etc/supportvpnd.json." \
    "$tmp/etc/supportvpnd.json.bak"
expect "supportvpnctl --config $tmp/etc/supportvpnd.json --token-file $tmp/etc/x st" \
    'start status stop'
: >"$tmp/etc/other.json"
expect 'supportvpnctl support-password -' \
    '--config --generate --help --json --set -h'
expect 'supportvpnctl support-password --set -' '--config --help --json -h'
expect "supportvpnctl support-password --config $tmp/etc/s" \
    "$tmp/etc/supportvpnd.json $tmp/etc/supportvpnd.json.bak"
expect "supportvpnctl support-password --generate --config $tmp/etc/o" \
    "$tmp/etc/other.json"
expect "supportvpnctl support-password --config $tmp/e" "$tmp/etc"
# "--config=PATH": bash replaces only what follows the '='.
expect "supportvpnctl support-password --config=$tmp/etc/ot" \
    "$tmp/etc/other.json"
expect "supportvpnctl support-password --config=$tmp/etc/nothing" ''

# Against ctl.c. The commands[] table: { "name", "synopsis", fn, local },
# its strings maybe split over lines.
table=$(sed -n '/^static const struct command commands\[\] = {/,/^};/p' \
    "$ctl" | tr '\n\t' '  ')
[[ -n $table ]] || fail "no commands[] table in $ctl"
names=()
candidates 'supportvpnctl -'
all=" $got "
re='\{ *"([a-z-]+)", *(("[^"]*" *)+),'
while [[ $table =~ $re ]]; do
	name=${BASH_REMATCH[1]}
	synopsis=${BASH_REMATCH[2]}
	table=${table#*"${BASH_REMATCH[0]}"}
	names+=("$name")
	# shellcheck disable=SC2207
	opts=($(grep -oE '(^|[ ["|])--?[a-z][a-z-]*' <<<"$synopsis" |
	    sed 's/^[ ["|]//'))
	candidates "supportvpnctl $name -"
	all+=" $got "
	for o in "${opts[@]}"; do
		if [[ " $got " == *" $o "* ]]; then
			pass
		else
			fail "ctl.c: '$name' takes $o; the completion does not offer it"
		fi
	done
done
want=$(printf '%s\n' "${names[@]}" | LC_ALL=C sort | paste -sd ' ' -)
((${#names[@]} >= 12)) || fail "ctl.c: only ${#names[@]} commands found"
expect 'supportvpnctl ' "$want"
for o in $(grep -oE '"--?[a-z][a-z-]*"' "$ctl" | tr -d '"' | sort -u); do
	if [[ $all == *" $o "* ]]; then
		pass
	else
		fail "ctl.c compares arguments with '$o'; the completion never offers it"
	fi
done

echo "completion: $tests checks, $failed failed"
((failed == 0))
