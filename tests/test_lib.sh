# Sourced by the shell tests (tests/*_test.sh): CTest's skip code and one-line failures.
skip() {
  echo "SKIP: $*"
  exit 77
}
fail() {
  echo "FAIL: $*" >&2
  exit 1
}
