# Decouple: the front door. `make demo` and `make test` install what is missing first.
SHELL := /bin/bash
SWIFT ?= swift
APT_PACKAGES := pkg-config libavformat-dev libavcodec-dev libavutil-dev libswscale-dev \
                libopenblas-dev libncurses-dev libchafa-dev libglib2.0-dev ffmpeg tmux \
                xterm xvfb x11-apps imagemagick
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
BENCH_PACKAGES := time
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?= safetensors torch pickle npy store card config keys video
SAMPLE := assets/videos/bigbuckbunny_720p.mp4

.PHONY: deps bench-deps install-missing build release demo test bench weights install install-files lint format clean fuzz sanitize

# Installs the Debian packages that are missing (nothing when all are present).
deps:
	@$(MAKE) --no-print-directory install-missing PACKAGES="$(APT_PACKAGES)"

bench-deps:
	@$(MAKE) --no-print-directory install-missing PACKAGES="$(APT_PACKAGES) $(BENCH_PACKAGES)"

install-missing:
	@missing=""; for p in $(PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

# The explorer on the bundled samples with the shipped weights (weights/default.json). Without a
# terminal (CI, a pipe) it prints the screen a short key script leads to.
DEMO_KEYS := ' e<wait><Tab><Down><Enter><S-Tab>.... e<wait>n'
demo: release
	@if [ -t 0 ] && [ -t 1 ]; then \
	  .build/release/decouple explore; \
	else \
	  .build/release/decouple explore --batch --size 120x40 --keys $(DEMO_KEYS); \
	fi

test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

# Sanitizers (docs/correctness.md, "Sanitizers"); any report fails:
# 1. ThreadSanitizer over the suites that run threads in the test process (worker pool, forward
#    workers, search threads, the explorer's reducer, the networks' locks);
# 2. the suites that drive the binary, run by an ordinary test build against a TSan-built
#    `decouple` (a TSan-built test process aborts when it spawns one);
# 3. AddressSanitizer over the parsers', the store's and the media suites, binary included.
SANITIZE_SUITES := CommonTests|TensorTests|Conv3dTests|BackboneTests|SearchIndexTests|EmbeddingStoreTests|ReducerTests|VideoEmbedderTests|DecoupledViewsTests/reload
SANITIZE_BINARY_SUITES := BatchEmbedCLITests|EmbedCLITests|SearchEvalCLITests|ProbeExtractCLITests|BatchTests|DurableWritesTests|DecoupledViewsTests
SANITIZE_ASAN_SUITES := SafeTensorsTests|ModelsTests|IndexTests|FuzzTargetsTests|MediaIOTests|EmbedTests|CommonTests|CLITests
sanitize: deps
	$(SWIFT) build --build-tests --sanitize=thread --build-path .build/tsan
	TSAN_OPTIONS="halt_on_error=1" $(SWIFT) test --skip-build --sanitize=thread --build-path .build/tsan --filter '$(SANITIZE_SUITES)'
	$(SWIFT) build --build-tests
	DECOUPLE_TEST_BINARY=$(CURDIR)/.build/tsan/debug/decouple TSAN_OPTIONS="halt_on_error=1 exitcode=66" \
	  $(SWIFT) test --skip-build --filter '$(SANITIZE_BINARY_SUITES)'
	$(SWIFT) build --build-tests --sanitize=address --build-path .build/asan
	ASAN_OPTIONS="detect_leaks=0:abort_on_error=1" $(SWIFT) test --skip-build --sanitize=address --build-path .build/asan \
	  --filter '$(SANITIZE_ASAN_SUITES)'

# Coverage-guided fuzzing of every hand-written parser (libFuzzer + AddressSanitizer), FUZZ_SECONDS
# (default 60) per harness; FUZZ_TARGETS picks some. `make test` replays the corpora without
# libFuzzer. See docs/fuzzing.md.
fuzz: deps
	FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_TARGETS="$(FUZZ_TARGETS)" scripts/fuzz.sh

# Every benchmark, each next to its peer in the same run (PyTorch and FAISS peers run when
# /tmp/torch-venv exists; see docs/commands.md, "Benchmarks").
bench: bench-deps
	$(SWIFT) build -c release
	.build/release/decouple bench extract
	.build/release/decouple bench explore
	.build/release/decouple bench model
	.build/release/decouple bench embed
	.build/release/decouple bench search
	.build/release/decouple bench train --models narrow
	.build/release/decouple bench pretrain --profile
	scripts/bench_memory.sh

# Pretrains, evaluates and installs the default weights (at most about 2 hours on 2 cores).
weights: release
	scripts/make_weights.sh

# Installs the binary with the shipped weights, sample videos and photos under
# PREFIX/share/decouple, where the binary finds them from any working directory.
PREFIX ?= /usr/local
install: release
	@$(MAKE) --no-print-directory install-files BIN=.build/release/decouple

# The copy itself (the install test runs it with the debug binary).
BIN ?= .build/release/decouple
install-files:
	install -d "$(PREFIX)/bin" "$(PREFIX)/share/decouple/weights" \
	  "$(PREFIX)/share/decouple/assets/videos" "$(PREFIX)/share/decouple/assets/photos" \
	  "$(PREFIX)/share/decouple/assets/camera"
	install -m 755 "$(BIN)" "$(PREFIX)/bin/decouple"
	install -m 644 weights/* "$(PREFIX)/share/decouple/weights/"
	install -m 644 assets/README.md "$(PREFIX)/share/decouple/assets/"
	install -m 644 assets/videos/* "$(PREFIX)/share/decouple/assets/videos/"
	install -m 644 assets/photos/* "$(PREFIX)/share/decouple/assets/photos/"
	install -m 644 assets/camera/* "$(PREFIX)/share/decouple/assets/camera/"

# Formatting: .swift-format (4 spaces, 120 columns) over the package manifest, Sources and
# Tests. `make lint` checks, `make format` rewrites in place. Two default rules are off: lower
# camel case (the numeric code names matrices M, N, K as the papers do, and benchmark reports
# keep their JSON keys), and one trailing closure (a progress closure beside a trailing body
# reads better than two labels).
SWIFT_FILES := Package.swift Sources Tests
lint:
	$(SWIFT) format lint --strict --recursive --parallel $(SWIFT_FILES)

format:
	$(SWIFT) format format --in-place --recursive --parallel $(SWIFT_FILES)

clean:
	rm -rf .build
