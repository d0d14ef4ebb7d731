# Entry point: drives CMake. `make test` and `make demo` install what is
# missing first (scripts/deps.sh), so both work on a fresh Debian 12 machine.
CC ?= clang
ifeq ($(origin CC),default)
CC := clang
endif
JOBS ?= $(shell nproc)
BUILD ?= build
ASAN_BUILD ?= build-asan

.PHONY: all deps build test unit sanitize fuzz demo format lint clean

all: build

deps:
	@./scripts/deps.sh

$(BUILD)/Makefile: CMakeLists.txt
	CC=$(CC) cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo

build: $(BUILD)/Makefile
	@cmake --build $(BUILD) -j$(JOBS)
	@ln -sf $(BUILD)/compile_commands.json compile_commands.json

# Every test: unit, integration, clang-format, short fuzz runs.
test: deps build
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS)

unit: build
	cd $(BUILD) && ctest --output-on-failure -L unit

# The same tests built with ASan+UBSan (-fno-sanitize-recover); fuzzers are
# built only in the plain build.
sanitize: deps
	CC=$(CC) cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DCEDGE_SANITIZE=ON \
		-DCEDGE_FUZZ=OFF
	cmake --build $(ASAN_BUILD) -j$(JOBS)
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		ctest --output-on-failure -j$(JOBS) -LE 'lint|fuzz'

# Longer fuzz runs: make fuzz CEDGE_FUZZ_SECONDS=300
fuzz: build
	cd $(BUILD) && CEDGE_FUZZ_SECONDS=$${CEDGE_FUZZ_SECONDS:-60} ctest --output-on-failure -L fuzz

demo: deps build
	./scripts/demo.sh $(BUILD)

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

lint: build
	./scripts/check-format.sh

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) compile_commands.json
