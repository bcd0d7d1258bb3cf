#!/usr/bin/env bash
# Build the scale benchmark's peer (bench/peer) into .tools/peer/bin:
#   tofu                      OpenTofu $TOFU_VERSION, from its Go module
#   terraform-provider-alloy  the plain terraform-plugin-framework provider of bench/peer/provider
# Idempotent: tofu is rebuilt only when the binary is missing or reports another
# version; the provider is rebuilt every time (Go's build cache makes that ~1 s).
# Needs Go and the Go module proxy only (no other network, no registry of providers).
set -euo pipefail
cd "$(dirname "$0")/.."
TOFU_VERSION="${TOFU_VERSION:-1.12.6}"
BIN="$PWD/.tools/peer/bin"
mkdir -p "$BIN"

if ! command -v go >/dev/null; then
    echo "build_peer: go is not on PATH" >&2
    exit 1
fi

tofu_version() {
    CHECKPOINT_DISABLE=1 TF_CLI_CONFIG_FILE=/dev/null "$BIN/tofu" version -json 2>/dev/null |
        sed -n 's/.*"terraform_version": *"\([^"]*\)".*/\1/p'
}

if [[ -x "$BIN/tofu" && "$(tofu_version)" == "$TOFU_VERSION" ]]; then
    echo "build_peer: tofu $TOFU_VERSION already built"
else
    # `go install github.com/opentofu/opentofu/cmd/tofu@vX` refuses every v1.x: the
    # module's go.mod has a replace directive (hashicorp/hcl/v2 -> opentofu/hcl/v2).
    # So fetch the module through the proxy and build its command as the main
    # module, which honours the replace (the same source and dependencies).
    echo "build_peer: building tofu $TOFU_VERSION (the first time takes 10-25 minutes on 2 cores)"
    dir="$(go mod download -json "github.com/opentofu/opentofu@v$TOFU_VERSION" |
        sed -n 's/^[[:space:]]*"Dir": *"\([^"]*\)".*/\1/p')"
    if [[ -z "$dir" || ! -d "$dir" ]]; then
        echo "build_peer: go mod download of github.com/opentofu/opentofu@v$TOFU_VERSION failed" >&2
        exit 1
    fi
    # The flags of OpenTofu's release builds (.goreleaser.yaml): without version.dev=no
    # the binary calls itself "$TOFU_VERSION-dev".
    (cd "$dir" && CGO_ENABLED=0 GOFLAGS=-buildvcs=false go build -mod=readonly -trimpath \
        -ldflags "-s -w -X 'github.com/opentofu/opentofu/version.dev=no'" -o "$BIN/tofu.new" ./cmd/tofu)
    mv -f "$BIN/tofu.new" "$BIN/tofu"
    echo "build_peer: built tofu $(tofu_version)"
fi

(cd bench/peer/provider && GOFLAGS=-buildvcs=false go build -trimpath -o "$BIN/terraform-provider-alloy.new" .)
mv -f "$BIN/terraform-provider-alloy.new" "$BIN/terraform-provider-alloy"
echo "build_peer: provider built: $BIN/terraform-provider-alloy"
