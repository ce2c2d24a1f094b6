# Every target has a "##" comment; `make` (or `make help`) lists them.
.DEFAULT_GOAL := help

# Pinned tools run from their own module (tools/go.mod).
SQLC     := go tool -modfile=tools/go.mod sqlc
FUZZTIME ?= 20s

# Stamped into `userd version` by make build and make release.
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT   ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)$(if $(shell git status --porcelain 2>/dev/null),-dirty)
DATE     ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)

.PHONY: help build run test test-scale test-fast generate verify fmt-check vet sqlc-check \
	schema-check queries-check staticcheck migrate bench lint fuzz mutate mutate-check

help: ## list the targets
	@awk 'BEGIN { FS = ":.*## " } /^[a-zA-Z_-]+:.*## / { printf "  %-13s %s\n", $$1, $$2 }' $(MAKEFILE_LIST)

build: ## build the binary into bin/userd (version, commit and date from git)
	go build -ldflags "-X main.version=$(VERSION) -X main.commit=$(COMMIT) -X main.buildDate=$(DATE)" -o bin/userd ./cmd/userd

release: ## static binaries for linux and darwin, amd64 and arm64, with SHA256SUMS, into dist/
	VERSION=$(VERSION) COMMIT=$(COMMIT) DATE=$(DATE) bash scripts/release.sh

# The binary defaults to prod (USERD_ENV unset); these targets are for
# development and set USERD_ENV=dev.
run: ## serve on :8080 in dev (no DATABASE_URL: finds or starts a local PostgreSQL, migrates)
	USERD_ENV=dev go run ./cmd/userd serve

# The race detector is on: concurrency (first-sight sync, refresh rotation,
# last-admin locks, counters) is part of what the tests prove. It needs cgo.
# TestStalledDatabase measures answer times against a bound of one second
# over the timeout: it runs on its own after the rest, not beside other
# packages' tests on a small machine.
test: verify ## verify, then every test with the race detector against a real PostgreSQL (and chromium)
	@bash scripts/ensure-chromium.sh
	go test -count=1 -race -timeout 30m -skip '^TestStalledDatabase$$' ./...
	go test -count=1 -race -timeout 5m -run '^TestStalledDatabase$$' ./httpapi

test-scale: ## the service and HTTP suites through PgBouncer (transaction mode) with a streaming replica, then their faults
	bash scripts/test-scale.sh

test-fast: ## every test without the race detector
	go test -count=1 -timeout 30m ./...

generate: ## regenerate dbgen/ (sqlc) and sql/schema.sql from the migrations
	$(SQLC) generate
	bash scripts/schema-dump.sh sql/schema.sql

verify: fmt-check vet staticcheck sqlc-check schema-check queries-check ## gofmt, go vet, staticcheck, dbgen/ and sql/schema.sql up to date, every query called

fmt-check: ## fail when gofmt would change a file
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then \
		echo "gofmt: these files need formatting (run gofmt -w):"; echo "$$out"; exit 1; \
	fi
	@echo "gofmt: ok"

vet: ## go vet ./...
	go vet ./...

sqlc-check: ## fail when dbgen/ differs from what sqlc generates
	@$(SQLC) diff || { echo "dbgen/ is stale: run make generate"; exit 1; }
	@echo "dbgen/ is up to date"

queries-check: ## fail when a query of queries/ is not called from hand-written Go code
	@bash scripts/queries-used.sh

schema-check: ## fail when sql/schema.sql differs from a fresh dump of the migrations
	@tmp=$$(mktemp); trap 'rm -f "$$tmp"' EXIT; \
	bash scripts/schema-dump.sh "$$tmp" || exit 1; \
	diff -u sql/schema.sql "$$tmp" || { echo "sql/schema.sql is stale: run make generate"; exit 1; }
	@echo "sql/schema.sql is up to date"

migrate: ## apply pending migrations to DATABASE_URL (unset: the local dev server)
	USERD_ENV=dev go run ./cmd/userd migrate up

bench: ## run the load benchmarks (dev): GET /users/me, follows (hot user vs spread), a login flood
	USERD_ENV=dev go run ./cmd/userd bench
	USERD_ENV=dev go run ./cmd/userd bench follows
	USERD_ENV=dev go run ./cmd/userd bench flood

lint: fmt-check vet staticcheck ## gofmt, go vet and staticcheck

staticcheck: ## staticcheck (pinned in tools/go.mod)
	go tool -modfile=tools/go.mod staticcheck ./...

fuzz: ## run each Fuzz target for FUZZTIME (default 20s)
	FUZZTIME=$(FUZZTIME) bash scripts/fuzz.sh

mutate: ## mutation test: each mutant in scripts/mutants/ must make its tests fail (not part of make test)
	bash scripts/mutate.sh

mutate-check: ## say which mutants no longer find their code (seconds)
	bash scripts/mutate.sh --check
