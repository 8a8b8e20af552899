# Causeway — make help lists the targets.
GO      ?= go
BIN     ?= bin/causeway
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)
# MODULES are the repository's Go modules: the main one, the agent library
# (agent/go.mod) and the event model it shares with the collector
# (event/go.mod). The main module uses the other two through replace
# directives; `./...` does not cross into them, so targets loop (the main
# module last: its test run is the one the log closes on).
MODULES := event agent .

.DEFAULT_GOAL := help

.PHONY: help
help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-10s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: build
# With frontend/node_modules installed, the binary embeds a fresh UI build;
# without, it serves a placeholder page that says how to build the UI.
build: $(if $(wildcard frontend/node_modules),frontend/dist/index.html) ## Build the causeway binary into bin/
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/causeway

.PHONY: run
run: frontend ## Build the UI if needed, then run causeway demo: embedded Kafka and NATS, a demo shop, the studio on :7070
	@$(MAKE) --no-print-directory build
	$(BIN) demo

.PHONY: deps test
deps: ## Install the system packages the tests need (clickhouse-server, kcat, nats-server, rabbitmq-server, Chromium, WebKitGTK)
	bash .ci/setup

.PHONY: deps test
# INTEROP is where the lineage interop tests' Node.js services (kafkajs,
# amqplib and their official OpenTelemetry instrumentations) get their
# packages, from the committed lock.
INTEROP := collector/lineage/interop/testdata/node

.PHONY: interop-deps
interop-deps: $(INTEROP)/node_modules/.package-lock.json ## Install the Node.js packages of the lineage interop tests (npm ci)

$(INTEROP)/node_modules/.package-lock.json: $(INTEROP)/package-lock.json
	cd $(INTEROP) && npm ci --no-audit --no-fund

test: deps frontend interop-deps ## Install what is missing, vet, run every test with the race detector, the UI's unit tests and its e2e run in Chromium
	@for m in $(MODULES); do (cd $$m && $(GO) vet ./...) || exit 1; done
	@for m in $(MODULES); do echo "== go test ($$m)"; (cd $$m && $(GO) test -race -timeout 30m ./...) || exit 1; done
	cd frontend && npm run typecheck && npm test
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/causeway
	cd frontend && CAUSEWAY_BIN=$(abspath $(BIN)) npm run e2e

.PHONY: bench
bench: ## Run the benchmarks and write docs/benchmarks.md
	bash docs/bench.sh

.PHONY: bench-10m
bench-10m: ## make bench plus the embedded and ClickHouse stores' scale runs at 10M events (about an hour more)
	SCALE_10M=1 bash docs/bench.sh

.PHONY: lint
lint: ## gofmt, go vet, every module tidy, and the main module on the agent in this tree
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	@for m in $(MODULES); do (cd $$m && $(GO) vet ./... && $(GO) mod tidy -diff) || { echo "lint: module $$m: vet failed or go mod tidy would change the lines above"; exit 1; }; done
	@for m in agent event; do \
	  test "$$($(GO) list -m -f '{{with .Replace}}{{.Path}}{{end}}' github.com/causeway-dev/causeway/$$m)" = "./$$m" || \
	  { echo "lint: go.mod must replace github.com/causeway-dev/causeway/$$m with ./$$m"; exit 1; }; \
	done

.PHONY: fuzz
fuzz: ## Run every fuzz target for 20 s each
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime 20s $$pkg || exit 1; \
	  done; \
	done

# UI is the web UI's build; it is rebuilt when a source is newer.
UI := frontend/dist/index.html
UI_SRC := $(shell find frontend/src -type f 2>/dev/null) frontend/index.html frontend/package.json frontend/package-lock.json frontend/vite.config.ts frontend/tsconfig.json

.PHONY: frontend
frontend: $(UI) ## Build the web UI into frontend/dist (npm ci first when node_modules is missing or stale)

$(UI): $(UI_SRC)
	@if [ ! -f frontend/node_modules/.package-lock.json ] || [ frontend/package-lock.json -nt frontend/node_modules/.package-lock.json ]; then \
	  echo "npm ci (frontend/node_modules missing or older than package-lock.json)"; cd frontend && npm ci --no-audit --no-fund; fi
	cd frontend && npm run build

.PHONY: desktop
# With the wails CLI (v2.13.0): -s, the UI is built by `frontend` already;
# -m, no `go mod tidy` behind our back; -skipbindings, the UI calls no Go
# bindings (it talks HTTP to the app's gateway, see docs/desktop.md).
desktop: frontend ## Build the desktop app (Wails v2, WebKitGTK 4.1) into bin/causeway-desktop; see docs/desktop.md
	@if command -v wails >/dev/null; then \
	  echo "wails build"; wails build -s -m -skipbindings -tags "webkit2_41" -ldflags "$(LDFLAGS)" -o causeway-desktop && \
	  mkdir -p bin && cp build/bin/causeway-desktop bin/causeway-desktop; \
	else \
	  echo "go build -tags desktop,production,webkit2_41 (no wails CLI)"; \
	  $(GO) build -tags desktop,production,webkit2_41 -ldflags "$(LDFLAGS)" -o bin/causeway-desktop . ; \
	fi

.PHONY: clean
clean: ## Remove build outputs
	rm -rf bin
