# alloy-users: `make up` runs the main job on the local emulator, `make test` runs every test.
SHELL := /bin/bash
.DEFAULT_GOAL := help
export PATH := $(CURDIR)/.tools/bin:$(PATH)
PY := .venv/bin/python

.PHONY: help setup up test test-long test-live bench bench-engine bench-peer clean plan actionlint

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

setup: ## Create .venv and, when no Pulumi CLI is on PATH, build one into .tools/bin
	@scripts/setup.sh

up: setup ## Start the local emulator and run `pulumi up` of users.yaml on the local stack
	@$(PY) -m scripts.local_up

plan: setup ## Print the pull-request plan comment of users.yaml for the local stack (no change made)
	@$(PY) -m scripts.local_up --plan

actionlint: setup ## Lint .github/workflows (actionlint, with shellcheck)
	@PATH=$(CURDIR)/.venv/bin:$$PATH .tools/bin/actionlint

test: setup ## Run the whole test suite (unit, emulator, end-to-end with the real CLI)
	@$(PY) -m pytest -n 2

test-long: setup ## Run the longer suite (kill -9 at many moments, faults at 200 users); CI runs it too
	@$(PY) -m pytest -m long

test-live: setup ## Live acceptance tests against real Alloy: ALLOY_LIVE_API_KEY (and ALLOY_LIVE_BASE_URL); skips without them
	@$(PY) -m pytest -m live tests/live -p no:cacheprovider

bench: setup ## The default path at N=1,000 and 10,000 on file and S3 (moto) backends vs the client and OpenTofu; bench/results/scale.md
	@scripts/build_peer.sh || echo "make bench: the OpenTofu peer could not be built; it is reported as not measured" >&2
	@$(PY) -m bench.scale $(BENCH_ARGS)

bench-engine: setup ## What the engine and the provider cost: engine floor, checkpoint settings (N=100, 1,000); bench/results/bench.md
	@$(PY) -m bench $(ENGINE_ARGS)

bench-peer: ## Build the scale bench's peer: OpenTofu and a plain Go provider, into .tools/peer/bin (needs Go)
	@scripts/build_peer.sh

clean: ## Remove the local stack, its state and the emulator's database
	rm -rf .state Pulumi.local.yaml
