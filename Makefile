# posprobe build. `make help` lists the targets.
PRECISION ?= float
BLAS      ?= openblas
SAN       ?=
PYTHON    ?= /usr/bin/python3
CC        ?= cc

ifeq ($(PRECISION),double)
  PREC_FLAGS := -DPOSPROBE_DOUBLE
else ifeq ($(PRECISION),float)
  PREC_FLAGS :=
else
  $(error PRECISION must be float or double, not '$(PRECISION)')
endif

ifeq ($(BLAS),openblas)
  # --no-as-needed: we call cblas_* only through libgsl, so the linker would
  # otherwise drop OpenBLAS and GSL would fall back to its own slow CBLAS.
  BLAS_LIBS := -Wl,--no-as-needed -lopenblas -Wl,--as-needed
  BLAS_DEFS := -DPOSPROBE_OPENBLAS
else ifeq ($(BLAS),gslcblas)
  BLAS_LIBS := -lgslcblas
else
  $(error BLAS must be openblas or gslcblas, not '$(BLAS)')
endif

BUILD    := build/$(PRECISION)$(if $(SAN),-san)-$(BLAS)
SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
ifneq ($(SAN),)
  OPT     := -O1 $(SAN_FLAGS)
  LDFLAGS := $(SAN_FLAGS)
else
  OPT     := -O2
  LDFLAGS :=
endif
CFLAGS   := -std=c11 -g $(OPT) -Wall -Wextra -Werror -D_DEFAULT_SOURCE $(PREC_FLAGS) \
            -DPOSPROBE_BLAS_NAME='"$(BLAS)"' $(BLAS_DEFS) -Itrainer -Iencodings -Iprobes -MMD -MP
LDLIBS   := -lgsl $(BLAS_LIBS) -lcsv -lm
RUN_ENV  := OPENBLAS_NUM_THREADS=1

ENGINE_SRC := $(filter-out trainer/main.c,$(wildcard trainer/*.c encodings/*.c probes/*.c))
ENGINE_OBJ := $(ENGINE_SRC:%.c=$(BUILD)/%.o)
TEST_SRC   := $(wildcard tests/*.c)
TEST_OBJ   := $(TEST_SRC:%.c=$(BUILD)/%.o)
BENCH_SRC  := bench/bench_ops.c
TEST_BIN   := $(BUILD)/run_tests
POSPROBE   := $(BUILD)/posprobe
BENCH_BIN  := $(BUILD)/bench_ops

.PHONY: all test test-one asan valgrind bench clean help parity-fixtures golden \
        probe extrapolation curves diagnose extras plots report reproduce
all: $(POSPROBE) $(TEST_BIN)
	@ln -sf $(BUILD)/posprobe posprobe

$(POSPROBE): $(ENGINE_OBJ) $(BUILD)/trainer/main.o
	$(CC) $(LDFLAGS) $^ -o $@ $(LDLIBS)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(TEST_BIN): $(ENGINE_OBJ) $(TEST_OBJ)
	$(CC) $(LDFLAGS) $^ -o $@ $(LDLIBS) -lcmocka

$(BENCH_BIN): $(ENGINE_OBJ) $(BUILD)/bench/bench_ops.o
	$(CC) $(LDFLAGS) $^ -o $@ $(LDLIBS)

# The test suite in both precisions (double last: it holds the tight checks).
test:
	$(MAKE) --no-print-directory PRECISION=float test-one
	$(MAKE) --no-print-directory PRECISION=double test-one

test-one: $(TEST_BIN) $(POSPROBE)
	$(RUN_ENV) POSPROBE_BIN=$(abspath $(POSPROBE)) $(TEST_BIN)

# AddressSanitizer + UBSan (with LeakSanitizer) builds of the tests, both precisions.
asan:
	$(MAKE) --no-print-directory SAN=1 test

valgrind: $(TEST_BIN)
	$(RUN_ENV) valgrind --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite,indirect \
	  $(TEST_BIN)

bench: $(BENCH_BIN)
	$(RUN_ENV) $(BENCH_BIN)

# ---- the main job: suites, curves, summaries, plots, report
# QUICK=1: the suites' [quick] variants into results/quick; ENCODINGS="a b" and
# SEEDS=N override the suites' factors; J=N runs N trainings at a time.
RESULTS   ?= results$(if $(QUICK),/quick)
J         ?= $(shell nproc 2>/dev/null || echo 2)
SUITE_RUN  = $(RUN_ENV) $(PYTHON) scripts/suite.py --posprobe $(POSPROBE) -j $(J) $(if $(QUICK),--quick) \
             $(if $(ENCODINGS),--encodings "$(ENCODINGS)") $(if $(SEEDS),--seeds $(SEEDS))

probe: $(POSPROBE)
	$(SUITE_RUN) scripts/suites/probe.suite --results $(RESULTS)/probe

extrapolation: $(POSPROBE)
	$(SUITE_RUN) scripts/suites/extrapolation.suite --results $(RESULTS)/extrapolation

curves: $(POSPROBE)
	@mkdir -p $(RESULTS)/curves
	$(RUN_ENV) $(POSPROBE) inspect --encoding rope --what decay --dim 128 --len 256 --out $(RESULTS)/curves/rope_decay.csv
	$(RUN_ENV) $(POSPROBE) inspect --encoding sinusoidal --what decay --dim 128 --len 512 --out $(RESULTS)/curves/sinusoidal_inner.csv
	$(RUN_ENV) $(POSPROBE) inspect --encoding sinusoidal --what decay --dim 128 --len 512 --rope-base 1000 --out $(RESULTS)/curves/sinusoidal_inner_base1000.csv
	for e in alibi kerple-log t5 sandwich fire; do \
	  $(RUN_ENV) $(POSPROBE) inspect --encoding $$e --what decay --len 64 --heads 4 --dim 32 --out $(RESULTS)/curves/$${e}_bias.csv || exit 1; done

diagnose: $(POSPROBE)
	@mkdir -p $(RESULTS)
	$(RUN_ENV) $(POSPROBE) diagnose --all --seeds 3 --out $(RESULTS)/diagnose.csv

extras: $(POSPROBE)
	$(RUN_ENV) $(PYTHON) scripts/extras.py $(RESULTS) $(POSPROBE)

plots:
	$(PYTHON) scripts/plots.py $(RESULTS)

report:
	$(PYTHON) scripts/report.py $(RESULTS)

reproduce: all
	$(MAKE) --no-print-directory probe extrapolation curves diagnose
	$(MAKE) --no-print-directory extras plots report
	@echo "posprobe: report in $(RESULTS)/REPORT.md, figures in $(RESULTS)/figures/"

# Regenerates the PyTorch gradient-parity fixtures (needs python3-torch).
PARITY_RUNS := \
  "learned:--encoding learned --len 6 --dim 16 --heads 2 --layers 2 --max-pos 8 --act gelu --norm softmax" \
  "sinusoidal:--encoding sinusoidal --len 5 --dim 16 --heads 4 --layers 2 --mask causal --ln post --ln-kind rms --act relu --norm l2 --markers bos" \
  "regression:--encoding learned --len 5 --dim 8 --heads 2 --layers 1 --max-pos 8 --act swish --norm swishl2 --head regression --markers cls-sep" \
  "rope:--encoding rope --len 6 --dim 16 --heads 2 --layers 2 --mask causal --norm softmax --rope-fraction 0.5" \
  "t5:--encoding t5 --len 6 --dim 16 --heads 2 --layers 1 --t5-buckets 8 --t5-max-distance 16 --norm nodenom"
parity-fixtures:
	$(MAKE) --no-print-directory PRECISION=double all
	rm -rf tests/fixtures/parity_*
	for r in $(PARITY_RUNS); do name=$${r%%:*}; args=$${r#*:}; \
	  build/double-$(BLAS)/posprobe train --quiet --task probe --steps 20 $$args --run-id parity_$$name \
	    --out tests/fixtures/parity_$$name && \
	  rm -f tests/fixtures/parity_$$name/*.csv && $(PYTHON) scripts/torch_parity.py tests/fixtures/parity_$$name || exit 1; done

clean:
	rm -rf build posprobe

help:
	@echo "make all        build (PRECISION=float|double, BLAS=openblas|gslcblas)"
	@echo "make test       the test suite, float then double"
	@echo "make asan       the test suite under AddressSanitizer + UBSan"
	@echo "make valgrind   the test suite under valgrind (PRECISION=...)"
	@echo "make bench      op benchmarks (GFLOP/s)"
	@echo "make clean      remove build/"

-include $(ENGINE_OBJ:.o=.d) $(TEST_OBJ:.o=.d) $(BUILD)/trainer/main.d
