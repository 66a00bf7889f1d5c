# The one assertion library of the shell tests (e2e, agent, image, net,
# xml, layers, fuzz).  A test script sources it, makes its checks, and
# ends with svm_summary, whose "N passed, N failed" line tests/check
# counts.  Each check prints one line that starts with its verdict:
#
#   ok   NAME
#   FAIL NAME
#        detail lines, indented (tests/check shows three of them)
#   skip WHAT
#
# and runs commands as the test user through svm_as_user only.
# shellcheck shell=bash

SVM_PASSED=0
SVM_FAILED=0
SVM_SKIPPED=0
SVM_TEST_USER=${SVM_TEST_USER:-svmtest}
# Where the verdicts go: stdout, unless the script points it at an fd of
# its own (one that a check's redirected output cannot swallow).
SVM_VERDICT_FD=${SVM_VERDICT_FD:-1}

# svm_pass NAME
svm_pass() { SVM_PASSED=$((SVM_PASSED + 1)); printf 'ok   %s\n' "$1" >&"$SVM_VERDICT_FD"; }

# svm_fail NAME [DETAIL...]: always returns 0 (a failed check goes on).
svm_fail() {
	SVM_FAILED=$((SVM_FAILED + 1))
	printf 'FAIL %s\n' "$1" >&"$SVM_VERDICT_FD"
	shift
	[ $# -gt 0 ] && printf '     %s\n' "$@" >&"$SVM_VERDICT_FD"
	return 0
}

# svm_skip WHAT: a check this machine cannot make (and why).
svm_skip() { SVM_SKIPPED=$((SVM_SKIPPED + 1)); printf 'skip %s\n' "$*" >&"$SVM_VERDICT_FD"; }

# svm_check NAME CMD...: passes if CMD succeeds.
svm_check() {
	local name=$1
	shift
	if "$@"; then svm_pass "$name"; else svm_fail "$name"; fi
}

# expect_eq NAME GOT WANT
expect_eq() {
	if [ "$2" = "$3" ]; then
		svm_pass "$1"
	else
		svm_fail "$1" "got:    $(printf '%q' "$2")" "wanted: $(printf '%q' "$3")"
	fi
}

# expect_match NAME TEXT REGEX (extended)
expect_match() {
	if printf '%s\n' "$2" | grep -Eq -- "$3"; then
		svm_pass "$1"
	else
		svm_fail "$1" "no match for /$3/ in:" "$2"
	fi
}

# expect_rc NAME WANT: the last svm_run exited WANT ("nonzero" for any but 0).
expect_rc() {
	local name=$1 want=$2
	if { [ "$want" = nonzero ] && [ "$RC" -ne 0 ]; } || [ "$RC" = "$want" ]; then
		svm_pass "$name"
	else
		svm_fail "$name" "exit $RC, wanted $want" "stdout: $OUT" "stderr: $ERR"
	fi
}

# svm_summary: the last line, "N passed, N failed" (", N skipped" when
# some were); returns 1 if a check failed.
svm_summary() {
	if [ "$SVM_SKIPPED" -gt 0 ]; then
		echo "$SVM_PASSED passed, $SVM_FAILED failed, $SVM_SKIPPED skipped"
	else
		echo "$SVM_PASSED passed, $SVM_FAILED failed"
	fi
	[ "$SVM_FAILED" -eq 0 ]
}

# The variables svm_as_user sets for the user besides its own HOME, USER,
# LOGNAME and SHELL (e.g. the cluster's SLURM_CONF and PATH).
SVM_USER_ENV=()

# svm_as_user [--exec] [-u USER] CMD...: runs CMD as USER (default the
# test user, $SVM_TEST_USER, which tests/lib/test-user creates): its uid,
# gid and groups, its HOME, USER, LOGNAME and SHELL, the caller's other
# variables plus SVM_USER_ENV; returns CMD's status.  --exec replaces the
# calling (sub)shell, so that after `svm_as_user --exec CMD &` $! is CMD's
# own pid.
svm_as_user() {
	local user=$SVM_TEST_USER pw home shell ex=
	[ "${1:-}" = --exec ] && { ex="exec"; shift; }
	[ "${1:-}" = -u ] && { user=$2; shift 2; }
	pw=$(getent passwd "$user") || { echo "svm_as_user: no user $user" >&2; return 125; }
	IFS=: read -r _ _ _ _ _ home shell <<< "$pw"
	$ex setpriv --reuid="$user" --regid="$(id -g "$user")" --init-groups -- \
		env HOME="$home" USER="$user" LOGNAME="$user" SHELL="$shell" "${SVM_USER_ENV[@]}" "$@"
}

# svm_run CMD...: runs CMD as the test user, stdin from /dev/null; sets
# OUT, ERR and RC for the assertions.
svm_run() {
	local o e
	o=$(mktemp) e=$(mktemp)
	svm_as_user "$@" > "$o" 2> "$e" < /dev/null
	RC=$?
	OUT=$(cat "$o")
	ERR=$(cat "$e")
	rm -f "$o" "$e"
}
