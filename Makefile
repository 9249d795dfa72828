# Decouple: the front door. `make demo` and `make test` install what is missing first.
SHELL := /bin/bash
SWIFT ?= swift
APT_PACKAGES := pkg-config libavformat-dev libavcodec-dev libavutil-dev libswscale-dev \
                libopenblas-dev libncurses-dev ffmpeg tmux
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
BENCH_PACKAGES := time
SAMPLE := assets/videos/bigbuckbunny_720p.mp4

.PHONY: deps bench-deps install-missing build release demo test bench clean

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

demo: release
	.build/release/decouple probe $(SAMPLE)

test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

bench: bench-deps
	$(SWIFT) build -c release
	.build/release/decouple bench extract
	scripts/bench_memory.sh

clean:
	rm -rf .build
