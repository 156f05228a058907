# nftpol — every way to build, test, run and measure it is a target here.
# `make help` lists them; CI runs `make test` as root.
.DEFAULT_GOAL := help
SHELL := /bin/bash
NODE_TEST := node --import tsx --test --test-reporter=spec
# The real control plane for the integration tier, envtest's convention: a
# directory with kube-apiserver, etcd (and kubectl). `make deps` fills this
# default from ../shared/k8s when it is not set; set it to use your own
# (e.g. `setup-envtest use -p path`).
export KUBEBUILDER_ASSETS ?= $(HOME)/.cache/nftpol/k8s-v1.32.13
unit_tests = $(shell find test/unit -name '*.test.ts' | sort)
dataplane_tests = $(shell find test/dataplane -name '*.test.ts' 2>/dev/null | sort)
integration_tests = $(shell find test/integration -name '*.test.ts' 2>/dev/null | sort)

.PHONY: help deps build typecheck lint test test-unit test-dataplane dataplane test-integration bench demo check clean golden

help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

deps: ## Install npm dependencies and, as root, the Debian packages the tests need
	@bash scripts/install-deps.sh

build: deps ## Compile TypeScript to dist/
	npx tsc -p tsconfig.build.json

typecheck: deps ## Type-check src, test and bench
	npx tsc --noEmit

lint: deps ## eslint (type-checked) and prettier
	npx eslint .
	npx prettier --check .

test-unit: deps ## Unit and property tests of the pure core and CLI (nft -c checks when root)
	$(NODE_TEST) $(unit_tests)

test-dataplane dataplane: deps ## Real-kernel tests: a cluster in network namespaces, probed vs the oracle (root)
	@if [ -z "$(dataplane_tests)" ]; then echo "no dataplane tests"; else $(NODE_TEST) --test-concurrency=1 $(dataplane_tests); fi

test-integration: deps ## Controller and executor against the test API server (and redis-server)
	@if [ -z "$(integration_tests)" ]; then echo "no integration tests"; else $(NODE_TEST) $(integration_tests); fi

test: typecheck lint test-unit test-dataplane test-integration ## Everything CI runs: typecheck, lint, all test tiers

check: build test ## Build, then everything `test` runs

golden: deps ## Rewrite golden files from current output (review the diff!)
	UPDATE_GOLDEN=1 $(NODE_TEST) $(unit_tests)

bench: deps ## Benchmarks: translate+render, incremental, CLI input (12 MB), nft apply, member deltas and executor RSS (root); results in bench/results/
	node --import tsx --expose-gc bench/translate.bench.ts
	node --import tsx bench/load.bench.ts
	@if [ -f bench/incremental.bench.ts ]; then node --import tsx --expose-gc bench/incremental.bench.ts; fi
	@if [ "$$(id -u)" -eq 0 ]; then node --import tsx bench/apply.bench.ts && node --import tsx bench/members.bench.ts && node --import tsx bench/executor-rss.bench.ts && node --import tsx bench/enforce.bench.ts; else echo "apply and enforce benchmarks skipped: need root"; fi

demo: deps ## The whole product on the example cluster in network namespaces (root); offline render/explain otherwise
	@bash scripts/demo.sh

clean: ## Remove build output
	rm -rf dist
