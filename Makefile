# Thin wrapper: the real logic lives in scripts/ so that it can be run and
# read without make.  Every target is an action, never a file: all .PHONY.
.PHONY: all build run test clean db db-stop bench fuzz

# Same configure line as scripts/run.sh and scripts/test.sh (CC only matters
# on the first configure of build/).
CMAKE_CONFIGURE = CC=gcc cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo

all: build

build:
	bash scripts/deps.sh
	$(CMAKE_CONFIGURE)
	cmake --build build -j2

run:
	bash scripts/run.sh

test:
	bash scripts/test.sh

# Runs each libFuzzer harness for FUZZ_SECONDS (default 60) seconds.
fuzz:
	bash scripts/fuzz.sh

clean:
	rm -rf build build-asan build-fuzz

db:
	bash scripts/pg.sh start

db-stop:
	bash scripts/pg.sh stop

bench:
	@test -f bench/run.sh || { echo "bench/run.sh does not exist yet" >&2; exit 1; }
	bash bench/run.sh
