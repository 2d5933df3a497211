# A thin layer over CMake. `make example` and `make test` work on a fresh Debian machine: they
# install what is missing (scripts/install_deps.sh), configure out of tree, build and run.
BUILD ?= build
ASAN_BUILD ?= build-asan
DEBUG_BUILD ?= build-debug
TSAN_BUILD ?= build-tsan
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=
EXAMPLE ?= mlp_fashion_mnist

.PHONY: all deps configure build example test sanitize tsan debug bench format check-format clean

all: build

deps:
	@scripts/install_deps.sh

configure: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS)

build: configure
	cmake --build $(BUILD) -j$(JOBS)

example: build
	$(BUILD)/examples/$(EXAMPLE)

test: build
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS)

# The whole suite under AddressSanitizer + UndefinedBehaviorSanitizer.
# Its bits_probe must give the Release build's bits (scripts/same_bits.sh).
sanitize: configure
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DXGRAD_SANITIZE=ON -DXGRAD_BUILD_BENCHMARKS=OFF $(CMAKE_FLAGS)
	cmake --build $(ASAN_BUILD) -j$(JOBS)
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ctest --output-on-failure -j$(JOBS)
	cmake --build $(BUILD) -j$(JOBS) --target bits_probe
	ASAN_OPTIONS=detect_leaks=1 scripts/same_bits.sh $(BUILD) $(ASAN_BUILD)

# The unit tests under ThreadSanitizer at 2 threads: the pool, the split products, reductions and
# optimizer updates, the data loader. Not part of CI (another ~15 minutes on 2 cores): run it
# after changing anything that runs on the pool.
tsan: deps
	cmake -S . -B $(TSAN_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DXGRAD_SANITIZE_THREAD=ON -DXGRAD_BUILD_BENCHMARKS=OFF $(CMAKE_FLAGS)
	cmake --build $(TSAN_BUILD) -j$(JOBS) --target xgrad_tests
	XGRAD_NUM_THREADS=2 TSAN_OPTIONS=halt_on_error=1:allocator_may_return_null=1 $(TSAN_BUILD)/tests/xgrad_tests

# A Debug build of the library (-Og, see CMakeLists.txt), checked by a short run of the op fuzzer.
# Built without its optional dependencies, MPI and oneDNN, so that CI also compiles the code a
# machine without them gets (a world of one process, im2col convolutions) and fuzzes through it.
# Its bits_probe must give the Release build's bits (scripts/same_bits.sh).
debug: configure
	cmake -S . -B $(DEBUG_BUILD) -DCMAKE_BUILD_TYPE=Debug -DXGRAD_BUILD_BENCHMARKS=OFF -DXGRAD_WITH_MPI=OFF -DXGRAD_WITH_ONEDNN=OFF $(CMAKE_FLAGS)
	cmake --build $(DEBUG_BUILD) -j$(JOBS) --target xgrad fuzz_ops bits_probe
	$(DEBUG_BUILD)/tests/fuzz_ops --cases 3000 --seed 2
	cmake --build $(BUILD) -j$(JOBS) --target bits_probe
	scripts/same_bits.sh $(BUILD) $(DEBUG_BUILD)

# Kernel and overhead benchmarks next to PyTorch / LibTorch, measured in the same run.
bench: build
	@scripts/install_deps.sh bench
	benchmarks/run_all.sh $(BUILD)

# The C++ files laid out by the committed .clang-format (CI checks it with check-format).
format:
	@scripts/install_deps.sh format
	git ls-files '*.cpp' '*.hpp' | xargs clang-format -i

check-format:
	@scripts/check_format.sh

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(DEBUG_BUILD) $(TSAN_BUILD)
