# Thin wrapper over CMake.  `make demo` and `make test` take a fresh machine
# from clone to running: both install what is missing first.
NPROC := $(shell nproc 2>/dev/null || echo 2)
CMAKE_FLAGS ?=
ifeq ($(CI),true)
  CMAKE_FLAGS += -DFLOE_WERROR=ON
endif

.PHONY: all deps build demo test test-release test-asan test-tsan bench clean

all: build

deps:
	@scripts/install-deps.sh

build: deps
	@cmake -S . -B build -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS) >/dev/null
	@cmake --build build -j $(NPROC)

# The showcase: makes the sample climate data (notebooks-data/climate.h5)
# if it is missing, then runs a multi-output job over it with the floe
# command, printing the plan, a progress bar, the results and statistics.
demo: build
	./build/floe demo --dir notebooks-data --progress

# Every test in an optimised build, again under AddressSanitizer+UBSan, and
# the concurrent modules (labels "scheduler" and "store") under ThreadSanitizer.
test: test-release test-asan test-tsan
	@echo "make test: release, address+undefined and thread sanitizer runs all passed"

test-release: build
	ctest --test-dir build --output-on-failure

test-asan: deps
	@cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFLOE_SANITIZE=address,undefined \
	  -DFLOE_BUILD_BENCH=OFF $(CMAKE_FLAGS) >/dev/null
	@cmake --build build-asan -j $(NPROC)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  ctest --test-dir build-asan --output-on-failure

test-tsan: deps
	@cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFLOE_SANITIZE=thread \
	  -DFLOE_BUILD_BENCH=OFF $(CMAKE_FLAGS) >/dev/null
	@cmake --build build-tsan -j $(NPROC)
	TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
	  ctest --test-dir build-tsan --output-on-failure -L 'scheduler|store'

bench: build
	./build/bench/bench_tasks

clean:
	rm -rf build build-asan build-tsan
