# The entry point (see README).  It bootstraps autotools, configures into
# build/ and runs the real build there; nothing generated lands in the
# source tree but configure and the Makefile.in files.
#
#   make          build
#   make check    build and run every test (unit, Bats, conformance,
#                 fuzzers), then all of it again under ASan and UBSan,
#                 then the Debian packages' test (check-package)
#   make demo     build, then serve DebuggingServer on 127.0.0.1:8025
#   make install  install (PREFIX=/usr/local, DESTDIR for staging)
#   make distcheck
#   make bench    benchmarks (bench/README.md)
#   make bench-idle  the standalone mode with idle connections open
#   make package  the Debian packages (debian/), into build-deb/, lintian-clean
#   make check-package
#                 package, then install, use, remove and purge them (as root)
#
# `sh tools/deps` (make deps) installs the Debian packages that make and
# make demo need, `sh tools/deps check` (make deps-check) also those of
# make check, `sh tools/deps bench` also those of make bench.

BUILD ?= build
PREFIX ?= /usr/local
DEMO_ADDRESS ?= 127.0.0.1:8025
CONFIGURE_FLAGS ?=
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
DEB_DIR ?= $(BUILD)-deb

.PHONY: all check test-tools check-sanitizers demo install distcheck clean deps \
  deps-check bench bench-idle package check-package

all: $(BUILD)/Makefile
	$(MAKE) -C $(BUILD) -j$(JOBS)

configure: configure.ac Makefile.am
	autoreconf --install --force

$(BUILD)/Makefile: configure
	mkdir -p $(BUILD)
	cd $(BUILD) && ../configure --prefix=$(PREFIX) --enable-werror $(CONFIGURE_FLAGS)

check: all test-tools
	$(MAKE) -C $(BUILD) -j$(JOBS) check
	$(MAKE) check-sanitizers
	$(MAKE) check-package

# configure looks for the test tools (GoogleTest, Bats, Python) when it
# runs; a build configured before they were installed (`sh tools/deps`,
# `make`, then `sh tools/deps check`) is configured again.
test-tools: $(BUILD)/Makefile
	@if grep -q '^MISSING_TEST_TOOLS = *[^ ]' $(BUILD)/Makefile; then \
	  echo "$(BUILD): configure again, for the test tools installed since"; \
	  cd $(BUILD) && ./config.status --recheck && ./config.status; \
	fi

# The same suite built with AddressSanitizer and UndefinedBehaviorSanitizer.
check-sanitizers: $(BUILD)-sanitizers/Makefile
	$(MAKE) -C $(BUILD)-sanitizers -j$(JOBS) check

# (Without -Werror: under the sanitizers GCC 12 warns falsely, e.g.
# maybe-uninitialized inside std::regex; the plain build keeps -Werror.)
$(BUILD)-sanitizers/Makefile: configure
	mkdir -p $(BUILD)-sanitizers
	cd $(BUILD)-sanitizers && ../configure --enable-sanitizers $(CONFIGURE_FLAGS)

demo: all
	@echo "in.smtpd (DebuggingServer) on $(DEMO_ADDRESS), one process per connection; Ctrl-C stops."
	@echo "Try: curl smtp://$(DEMO_ADDRESS) --mail-from a@example.com --mail-rcpt b@example.com -T msg.txt"
	systemd-socket-activate --inetd --accept --listen=$(DEMO_ADDRESS) \
	  $(abspath $(BUILD))/bin/in.smtpd -n -c DebuggingServer

# Benchmarks against the floor, smtp-sink and Python (bench/README.md).
bench: all
	sh tools/deps bench
	bench/run --build-dir $(abspath $(BUILD)) $(BENCH_FLAGS)

# 20 busy clients beside 0, 1,000 and 5,000 idle connections, standalone,
# in.smtpd and aiosmtpd (bench/README.md).
bench-idle: all
	sh tools/deps bench
	bench/idle --build-dir $(abspath $(BUILD)) $(BENCH_IDLE_FLAGS)

# The Debian packages, built with dpkg-buildpackage (which runs the plain
# build's suite) from a copy of the tree in $(DEB_DIR)/src; the .deb files
# land in $(DEB_DIR).  Then lintian: no error, no warning.
package:
	sh tools/package $(DEB_DIR)

# The packages installed with apt-get, used, removed and purged (t/package.sh;
# as root, else it says why and skips).
check-package: package
	bash t/package.sh $(DEB_DIR)

install: all
	$(MAKE) -C $(BUILD) install

distcheck: all
	$(MAKE) -C $(BUILD) distcheck

deps:
	sh tools/deps

deps-check:
	sh tools/deps check

clean:
	rm -rf $(BUILD) $(BUILD)-sanitizers $(DEB_DIR)
