# Causeway — make help lists the targets.
GO      ?= go
BIN     ?= bin/causeway
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)

.DEFAULT_GOAL := help

.PHONY: help
help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-10s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: build
build: ## Build the causeway binary into bin/
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/causeway

.PHONY: run
run: build ## Run causeway demo: embedded Kafka and NATS, a demo shop, the studio on :7070
	$(BIN) demo

.PHONY: deps test
deps: ## Install the system packages the tests need (clickhouse-server, kcat, nats-server)
	bash .ci/setup

.PHONY: deps test
test: deps ## Install what is missing, vet, run every test with the race detector
	$(GO) vet ./...
	$(GO) test -race -timeout 30m ./...

.PHONY: bench
bench: ## Run the benchmarks and write docs/benchmarks.md
	bash docs/bench.sh

.PHONY: lint
lint: ## gofmt and go vet
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

.PHONY: fuzz
fuzz: ## Run every fuzz target for 20 s each
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime 20s $$pkg || exit 1; \
	  done; \
	done

.PHONY: frontend
frontend: ## Build the web UI (arrives with issue #5)
	@echo "the frontend is not built yet: see issue #5" >&2; exit 1

.PHONY: desktop
desktop: ## Build the Wails desktop app (arrives with issue #7)
	@echo "the desktop app is not built yet: see issue #7" >&2; exit 1

.PHONY: clean
clean: ## Remove build outputs
	rm -rf bin
