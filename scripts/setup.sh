#!/usr/bin/env bash
# Install what the project needs and is missing, idempotently:
#   1. .venv with the pinned Python dependencies (requirements-dev.txt, constraints.txt);
#   2. the Pulumi CLI, when no recent enough `pulumi` is on PATH: built from the Go
#      module proxy at the version pinned in pulumi-cli/go.mod, into .tools/bin,
#      with the Python language host and the two scripts that must sit beside it.
#   3. actionlint, the linter of .github/workflows/ (tests/test_workflows.py), built
#      from the Go module proxy at the version pinned in tools/actionlint/go.mod into
#      .tools/bin; without Go, or if the build fails, setup goes on and that test skips.
# Both steps are skipped when their inputs have not changed (stamp files), and Go's
# module and build caches make a rebuild after a fresh clone take about a minute.
set -euo pipefail
cd "$(dirname "$0")/.."

TOOLS_BIN=.tools/bin
MIN_CLI_VERSION=3.272.0   # the pulumi Python package version: the CLI must not be older
PYTHON=${PYTHON:-python3}

log() { printf 'setup: %s\n' "$*" >&2; }

stamp_of() { cat "$@" | sha256sum | cut -d' ' -f1; }

setup_venv() {
  local want; want=$(stamp_of requirements.txt requirements-dev.txt constraints.txt)
  if [[ -x .venv/bin/python && "$(cat .venv/.stamp 2>/dev/null)" == "$want" ]]; then
    return
  fi
  log "creating .venv with the pinned dependencies"
  [[ -x .venv/bin/python ]] || "$PYTHON" -m venv .venv
  .venv/bin/python -m pip install --quiet --disable-pip-version-check \
    -r requirements-dev.txt -c constraints.txt
  echo "$want" > .venv/.stamp
}

version_at_least() {  # version_at_least 3.274.1 3.272.0
  [[ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n1)" == "$2" ]]
}

system_cli_is_usable() {
  local found version
  found=$(PATH=$(echo "$PATH" | tr ':' '\n' | grep -vx "$PWD/$TOOLS_BIN" | paste -sd:) command -v pulumi || true)
  [[ -n "$found" ]] || return 1
  version=$("$found" version 2>/dev/null | sed 's/^v//')
  if version_at_least "$version" "$MIN_CLI_VERSION"; then
    log "using the Pulumi CLI on PATH ($found, v$version)"
    return 0
  fi
  log "the Pulumi CLI on PATH is v$version, older than v$MIN_CLI_VERSION: building one"
  return 1
}

build_cli() {
  local version want sdk
  version=$(awk '$1 == "github.com/pulumi/pulumi/pkg/v3" {print $2}' pulumi-cli/go.mod)
  want=$(stamp_of pulumi-cli/go.mod pulumi-cli/go.sum pulumi-cli/language-python/*.go)
  if [[ -x $TOOLS_BIN/pulumi && "$(cat $TOOLS_BIN/.stamp 2>/dev/null)" == "$want" ]]; then
    return
  fi
  command -v go >/dev/null || { log "no 'pulumi' on PATH and no Go toolchain to build it: install Go 1.26+"; exit 1; }
  log "building the Pulumi CLI $version from Go modules into $TOOLS_BIN (cached by Go after the first time)"
  mkdir -p "$TOOLS_BIN"
  local flags=(-trimpath -tags osusergo,grpcnotrace)
  (
    cd pulumi-cli
    go build "${flags[@]}" -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$version" \
      -o "../$TOOLS_BIN/pulumi" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
    go build "${flags[@]}" -ldflags "-s -w -X main.version=${version#v}" \
      -o "../$TOOLS_BIN/pulumi-language-python" ./language-python
    sdk=$(go list -m -f '{{.Dir}}' github.com/pulumi/pulumi/sdk/v3)
    install -m 0755 "$sdk/python/cmd/pulumi-language-python-exec" \
      "$sdk/python/dist/pulumi-resource-pulumi-python" "../$TOOLS_BIN/"
  )
  echo "$want" > $TOOLS_BIN/.stamp
  log "built $("$TOOLS_BIN/pulumi" version)"
}

build_actionlint() {
  local want; want=$(stamp_of tools/actionlint/go.mod tools/actionlint/go.sum)
  if [[ -x $TOOLS_BIN/actionlint && "$(cat $TOOLS_BIN/.actionlint-stamp 2>/dev/null)" == "$want" ]]; then
    return
  fi
  command -v go >/dev/null || { log "no Go toolchain: actionlint not built (the workflow lint test will skip)"; return; }
  log "building actionlint ($(awk '$1 == "github.com/rhysd/actionlint" {print $2}' tools/actionlint/go.mod)) into $TOOLS_BIN"
  mkdir -p "$TOOLS_BIN"
  if (cd tools/actionlint && go build -trimpath -ldflags "-s -w" -o "../../$TOOLS_BIN/actionlint" \
        github.com/rhysd/actionlint/cmd/actionlint); then
    echo "$want" > $TOOLS_BIN/.actionlint-stamp
  else
    log "could not build actionlint (the workflow lint test will skip)"
  fi
}

setup_venv
if [[ "${ALLOY_USERS_BUILD_CLI:-}" == 1 ]] || ! system_cli_is_usable; then
  build_cli
fi
build_actionlint
