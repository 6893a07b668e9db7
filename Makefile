SHELL := /bin/bash
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
  OPT     := -O3
  LDFLAGS :=
endif
# Layers of trainer/, each depending only on those listed before it (and the
# plug-ins encodings/ and probes/ sit between engine and model):
#   engine  tensors, tape, ops, arena, BLAS (GSL and BLAS only)
#   util    errors, CSV files, progress lines
#   model   configuration, batch layout, model, checkpoint, decoding
#   train   the training loop and evaluation, run directories
#   cli     the commands (main.c dispatches)
TRAINER_DIRS := trainer/engine trainer/util trainer/model trainer/train trainer/cli
# -fno-math-errno: sqrt and friends need not set errno (nothing reads it), so loops that call them vectorise
CFLAGS   := -std=c11 -g $(OPT) -fno-math-errno -Wall -Wextra -Werror -D_DEFAULT_SOURCE $(PREC_FLAGS) \
            -DPOSPROBE_BLAS_NAME='"$(BLAS)"' $(BLAS_DEFS) $(addprefix -I,$(TRAINER_DIRS)) -Iencodings -Iprobes -MMD -MP
LDLIBS   := -lgsl $(BLAS_LIBS) -lcsv -lmvec -lm
RUN_ENV  := OPENBLAS_NUM_THREADS=1

ENGINE_SRC := $(wildcard trainer/engine/*.c)
LIB_SRC    := $(filter-out trainer/cli/main.c,$(foreach d,$(TRAINER_DIRS),$(wildcard $(d)/*.c)) \
                $(wildcard encodings/*.c probes/*.c))
ENGINE_OBJ := $(ENGINE_SRC:%.c=$(BUILD)/%.o)
LIB_OBJ    := $(LIB_SRC:%.c=$(BUILD)/%.o)
TEST_SRC   := $(wildcard tests/*.c)
FUZZ_NAMES := config list csv checkpoint
# the fuzz targets are also linked into the tests, which replay their corpora
# and every regression input (tests/fuzz/regressions/) under the build's checks
TEST_OBJ   := $(TEST_SRC:%.c=$(BUILD)/%.o) $(FUZZ_NAMES:%=$(BUILD)/tests/fuzz/fuzz_%.o)
TEST_BIN   := $(BUILD)/run_tests
# The unit tests need no posprobe binary; the engine's link nothing above the engine.
INTEGRATION_TEST_SRC := tests/test_cli.c tests/test_integrity.c tests/test_inputs.c
UNIT_TEST_OBJ   := $(filter-out $(BUILD)/tests/run_tests.o $(INTEGRATION_TEST_SRC:%.c=$(BUILD)/%.o),$(TEST_OBJ)) \
                   $(BUILD)/tests/run_tests_unit.o
ENGINE_TEST_OBJ := $(addprefix $(BUILD)/tests/,check.o test_engine.o test_ops.o test_attention.o run_tests_engine.o)
UNIT_TEST_BIN   := $(BUILD)/unit_tests
ENGINE_TEST_BIN := $(BUILD)/engine_tests
POSPROBE   := $(BUILD)/posprobe
BENCH_BIN  := $(BUILD)/bench_ops
STEP_BIN   := $(BUILD)/bench_step
DECODE_BIN := $(BUILD)/bench_decode

.PHONY: FORCE all test test-one test-unit test-engine test-encodings asan valgrind bench bench-one clean help fuzz check-all parity-fixtures parity-roundtrip golden same-behaviour \
        probe extrapolation normalizers catalogue schedules linear randomized-long probe-seeds curves diagnose extras plots report reproduce compare install uninstall
all: $(POSPROBE) $(TEST_BIN)
	@if [ "$(PRECISION)" = float ] && [ -z "$(SAN)" ]; then ln -sf $(BUILD)/posprobe posprobe; fi

$(POSPROBE): $(LIB_OBJ) $(BUILD)/trainer/cli/main.o
	$(CC) $(LDFLAGS) $^ -o $@ $(LDLIBS)

# Objects are rebuilt when the compiler or its flags change (this stamp).
FLAGS_STAMP := $(BUILD)/compile-flags
$(FLAGS_STAMP): FORCE
	@mkdir -p $(BUILD)
	@echo '$(subst ','',$(CC) $(CFLAGS))' | cmp -s - $@ || echo '$(subst ','',$(CC) $(CFLAGS))' > $@
FORCE:

$(BUILD)/%.o: %.c $(FLAGS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/tests/fuzz/fuzz_%.o: tests/fuzz/fuzz_%.c $(FLAGS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -DLLVMFuzzerTestOneInput=fuzz_$*_one -c $< -o $@

$(TEST_BIN): $(LIB_OBJ) $(TEST_OBJ)
	$(CC) $(LDFLAGS) $^ -o $@ $(LDLIBS) -lcmocka

$(UNIT_TEST_BIN): $(LIB_OBJ) $(UNIT_TEST_OBJ)
	$(CC) $(LDFLAGS) $^ -o $@ $(LDLIBS) -lcmocka

$(ENGINE_TEST_BIN): $(ENGINE_OBJ) $(ENGINE_TEST_OBJ)
	$(CC) $(LDFLAGS) $^ -o $@ $(LDLIBS) -lcmocka

# a static pattern: as a plain pattern, make would try it on the .d files it includes
$(BUILD)/tests/run_tests_engine.o $(BUILD)/tests/run_tests_unit.o: $(BUILD)/tests/run_tests_%.o: tests/run_tests.c $(FLAGS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -DTESTS_$(shell echo $* | tr a-z A-Z) -c $< -o $@

$(BENCH_BIN): $(LIB_OBJ) $(BUILD)/bench/bench_ops.o
	$(CC) $(LDFLAGS) $^ -o $@ $(LDLIBS)

$(STEP_BIN): $(LIB_OBJ) $(BUILD)/bench/bench_step.o
	$(CC) $(LDFLAGS) $^ -o $@ $(LDLIBS)

$(DECODE_BIN): $(LIB_OBJ) $(BUILD)/bench/bench_decode.o
	$(CC) $(LDFLAGS) $^ -o $@ $(LDLIBS)

# The test suite in both precisions (double last: it holds the tight checks).
test:
	$(MAKE) --no-print-directory PRECISION=float test-one
	$(MAKE) --no-print-directory PRECISION=double test-one

test-one: $(TEST_BIN) $(POSPROBE)
	$(RUN_ENV) POSPROBE_BIN=$(abspath $(POSPROBE)) $(TEST_BIN)

# The unit tests (in process, no posprobe binary) and the engine's alone
# (built from trainer/engine/ and the tests only), in the build's precision.
test-unit: $(UNIT_TEST_BIN)
	$(RUN_ENV) $(UNIT_TEST_BIN) $(T)

test-engine: $(ENGINE_TEST_BIN)
	$(RUN_ENV) $(ENGINE_TEST_BIN) $(T)

# AddressSanitizer + UBSan (with LeakSanitizer) builds of the tests, both precisions.
asan:
	$(MAKE) --no-print-directory SAN=1 test

# The catalogue tests, which check every registered encoding (a new one included): flags, finite differences
# through the model, shift invariance, no future leak, diagnose, cached decoding, option ranges, the memory
# estimate. Seconds; docs/encodings.md "Adding your own encoding".
ENCODING_TESTS := encoding_ diagnose_matches shift_invariance no_future_leak cache memory_estimate
test-encodings: $(TEST_BIN) $(POSPROBE)
	$(RUN_ENV) POSPROBE_BIN=$(abspath $(POSPROBE)) $(TEST_BIN) $(ENCODING_TESTS)

valgrind: $(TEST_BIN) $(POSPROBE)
	$(RUN_ENV) POSPROBE_BIN=$(abspath $(POSPROBE)) valgrind --error-exitcode=1 --leak-check=full \
	  --errors-for-leak-kinds=definite,indirect $(TEST_BIN)

# Benchmarks, never tests: op GFLOP/s, then the training step and greedy
# decoding against PyTorch in both precisions, scaling, and the parallel
# throughput of suite runs.
bench:
	$(MAKE) --no-print-directory PRECISION=float bench-one
	$(MAKE) --no-print-directory PRECISION=double bench-one
	$(RUN_ENV) bash bench/parallel_throughput.sh $(abspath build/float-$(BLAS)/posprobe)

bench-one: $(BENCH_BIN) $(STEP_BIN) $(DECODE_BIN)
	$(RUN_ENV) $(BENCH_BIN)
	$(RUN_ENV) $(STEP_BIN) --torch $(PYTHON) $(BENCH_ARGS)
	$(RUN_ENV) $(DECODE_BIN) --torch $(PYTHON) $(BENCH_ARGS)

# ---- fuzzing: libFuzzer (clang) with ASan + UBSan, FUZZ_SECONDS per target.
# New crashes land in tests/fuzz/crashes/; copy them to tests/fuzz/regressions/<target>/
# once fixed, and the tests replay them forever.
FUZZ_SECONDS ?= 60
FUZZ_BUILD   := build/fuzz
FUZZ_FLAGS   := -std=c11 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -D_DEFAULT_SOURCE \
                -DPOSPROBE_BLAS_NAME='"$(BLAS)"' $(BLAS_DEFS) $(addprefix -I,$(TRAINER_DIRS)) -Iencodings -Iprobes
fuzz:
	@mkdir -p $(FUZZ_BUILD) tests/fuzz/crashes
	for t in $(FUZZ_NAMES); do \
	  clang $(FUZZ_FLAGS) tests/fuzz/fuzz_$$t.c $(LIB_SRC) -o $(FUZZ_BUILD)/fuzz_$$t $(LDLIBS) || exit 1; \
	  mkdir -p $(FUZZ_BUILD)/corpus_$$t && cp tests/fuzz/corpus/$$t/* $(FUZZ_BUILD)/corpus_$$t/ 2>/dev/null; \
	  echo "== fuzz_$$t for $(FUZZ_SECONDS) s"; \
	  $(RUN_ENV) $(FUZZ_BUILD)/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -max_len=4096 -print_final_stats=1 \
	    -artifact_prefix=tests/fuzz/crashes/$$t- $(FUZZ_BUILD)/corpus_$$t 2>&1 | \
	    grep -E '^#[0-9]+.*DONE|stat::number_of_executed_units|stat::peak_rss|ERROR|SUMMARY' ; \
	  [ $${PIPESTATUS[0]} -eq 0 ] || exit 1; \
	done

# Everything: the tests, ASan/UBSan, valgrind, and a short fuzz pass.
check-all:
	$(MAKE) --no-print-directory test
	$(MAKE) --no-print-directory asan
	$(MAKE) --no-print-directory valgrind PRECISION=double
	$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=20

# ---- the main job: suites, curves, summaries, plots, report
# QUICK=1: the suites' [quick] variants into results/quick; ENCODINGS="a b"
# replaces, ENCODINGS="+a +b" adds to, the encodings of every grid that compares
# encodings; SEEDS=N overrides the suites' seeds; J=N runs N trainings at a time.
RESULTS   ?= results$(if $(QUICK),/quick)
J         ?= $(shell nproc 2>/dev/null || echo 2)
SUITE_RUN  = $(RUN_ENV) $(PYTHON) scripts/suite.py --posprobe $(POSPROBE) -j $(J) $(if $(QUICK),--quick) \
             $(if $(ENCODINGS),--encodings "$(ENCODINGS)") $(if $(SEEDS),--seeds $(SEEDS))

probe: $(POSPROBE)
	$(SUITE_RUN) scripts/suites/probe.suite --results $(RESULTS)/probe

extrapolation: $(POSPROBE)
	$(SUITE_RUN) scripts/suites/extrapolation.suite --results $(RESULTS)/extrapolation

normalizers: $(POSPROBE)
	$(SUITE_RUN) scripts/suites/normalizers.suite --results $(RESULTS)/normalizers

catalogue: $(POSPROBE)
	$(SUITE_RUN) scripts/suites/catalogue.suite --results $(RESULTS)/catalogue

schedules: $(POSPROBE)
	$(SUITE_RUN) scripts/suites/schedules.suite --results $(RESULTS)/schedules
	$(PYTHON) scripts/frequencies.py $(RESULTS)/schedules --posprobe $(POSPROBE)

linear: $(POSPROBE)
	$(SUITE_RUN) scripts/suites/linear.suite --results $(RESULTS)/linear
	$(PYTHON) scripts/linear_stats.py $(RESULTS)/linear

randomized-long: $(POSPROBE)
	$(SUITE_RUN) scripts/suites/randomized-long.suite --results $(RESULTS)/randomized-long

probe-seeds: $(POSPROBE)
	$(SUITE_RUN) scripts/suites/probe-seeds.suite --results $(RESULTS)/probe-seeds

curves: $(POSPROBE)
	@mkdir -p $(RESULTS)/curves
	$(RUN_ENV) $(POSPROBE) inspect --encoding rope --what decay --dim 128 --len 256 --out $(RESULTS)/curves/rope_decay.csv
	$(RUN_ENV) $(POSPROBE) inspect --encoding sinusoidal --what decay --dim 128 --len 512 --out $(RESULTS)/curves/sinusoidal_inner.csv
	$(RUN_ENV) $(POSPROBE) inspect --encoding sinusoidal --what decay --dim 128 --len 512 --rope-base 1000 --out $(RESULTS)/curves/sinusoidal_inner_base1000.csv
	for s in linear power2 power4 constant; do \
	  $(RUN_ENV) $(POSPROBE) inspect --encoding sinusoidal --what decay --dim 128 --len 512 --rope-schedule $$s --out $(RESULTS)/curves/sinusoidal_inner_$$s.csv || exit 1; \
	  $(RUN_ENV) $(POSPROBE) inspect --encoding rope --what decay --dim 128 --len 256 --rope-schedule $$s --out $(RESULTS)/curves/rope_decay_$$s.csv || exit 1; done
	for e in alibi kerple-log t5 sandwich fire; do \
	  $(RUN_ENV) $(POSPROBE) inspect --encoding $$e --what decay --len 64 --heads 4 --dim 32 --out $(RESULTS)/curves/$${e}_bias.csv || exit 1; done

diagnose: $(POSPROBE)
	@mkdir -p $(RESULTS)
	$(RUN_ENV) $(POSPROBE) diagnose --all --seeds 3 --out $(RESULTS)/diagnose.csv

extras: $(POSPROBE)
	$(RUN_ENV) $(PYTHON) scripts/extras.py $(RESULTS) $(POSPROBE)

plots: $(POSPROBE)
	$(PYTHON) scripts/plots.py $(RESULTS) --posprobe $(POSPROBE)

report: $(POSPROBE)
	$(PYTHON) scripts/report.py $(RESULTS) --posprobe $(POSPROBE)

# A scorecard of one encoding against the committed reference (REFERENCE, default results/reference):
# only ENCODING's runs, the reference's configurations and seeds, into RESULTS/compare-ENCODING/SCORECARD.md.
# QUICK=1: the suites' [compare-quick] subset, seed 1; ENCODINGS="a b" sets only these baselines beside it,
# ENCODINGS="+a" the reference's and a (a baseline the reference lacks is run too).
REFERENCE ?= results/reference
compare: $(POSPROBE)
	$(RUN_ENV) $(PYTHON) scripts/compare.py "$(ENCODING)" --reference $(REFERENCE) --out $(RESULTS)/compare-$(ENCODING) \
	  --posprobe $(POSPROBE) -j $(J) $(if $(QUICK),--quick) $(if $(ENCODINGS),--baselines "$(ENCODINGS)")

# Each finished stage appends its end time to RESULTS/stages.csv; scripts/timing.py turns them,
# and the runs' own train_s/eval_s/wall_s, into RESULTS/timing.csv.
STAGE = $(MAKE) --no-print-directory $(1) && echo "$(1),$$(date +%s.%N)" >> $(RESULTS)/stages.csv
reproduce: all
	@mkdir -p $(RESULTS) && printf 'stage,unix_s\nstart,%s\n' "$$(date +%s.%N)" > $(RESULTS)/stages.csv
	@$(call STAGE,probe)
	@$(call STAGE,extrapolation)
	@$(call STAGE,normalizers)
	@$(call STAGE,curves)
	@$(call STAGE,diagnose)
	@$(call STAGE,extras)
	@$(call STAGE,plots)
	@$(call STAGE,report)
	$(PYTHON) scripts/timing.py $(RESULTS) $(J)
	@echo "posprobe: report in $(RESULTS)/REPORT.md, figures in $(RESULTS)/figures/"

# Regenerates the PyTorch parity fixtures (needs python3-torch): one per
# encoding, with the options that change its formula, and one per normalizer.
# Each is "name|training options|scripts/torch_parity.py options"; a short
# training in double gives the checkpoint, then PyTorch's loss, logits and
# gradients on a batch of varied tokens (tests/test_parity.c lists the names).
PARITY_COMMON := steps=20 dim=8 heads=2 layers=2 len=4 init-scale=0.2
PARITY_RUNS := \
  "none|--task copy --mask causal --encoding none|" \
  "learned|--task sort --mask bidir --encoding learned --markers cls-sep --max-pos 16|--positions shifted" \
  "sinusoidal|--task copy --mask causal --encoding sinusoidal --ln post --ln-kind rms --act relu|--positions shifted" \
  "multiplicative|--task sort --mask bidir --encoding multiplicative --max-pos 16 --markers bos|--positions randomized" \
  "multiplicative_sin|--task copy --mask causal --encoding multiplicative --mult-pos sinusoidal --act swish|" \
  "recursive|--task copy --mask causal --encoding recursive --max-pos 32|--positions shifted" \
  "complex|--task sort --mask bidir --encoding complex|--positions shifted" \
  "conv|--task copy --mask causal --encoding conv|--positions shifted" \
  "conv_bidir|--task sort --mask bidir --encoding conv --conv-kernel 5|" \
  "conv_circular|--task sort --mask bidir --encoding conv --conv-kernel 7 --conv-circular 1|" \
  "shaw|--task sort --mask bidir --encoding shaw --clip-min -3 --clip-max 2|" \
  "shaw_k|--task copy --mask causal --encoding shaw-k --clip-min -2 --clip-max 3|" \
  "xl|--task copy --mask causal --encoding xl|--positions shifted" \
  "t5|--task sort --mask bidir --encoding t5 --t5-buckets 8 --t5-max-distance 16|" \
  "t5_causal|--task copy --mask causal --encoding t5 --t5-buckets 8 --t5-max-distance 16|" \
  "deberta|--task sort --mask bidir --encoding deberta --clip-min -3 --clip-max 3|" \
  "tupe|--task sort --mask bidir --encoding tupe --max-pos 16|--positions shifted" \
  "alibi|--task copy --mask causal --encoding alibi --dim 12 --heads 3|" \
  "alibi_bidir|--task sort --mask bidir --encoding alibi|" \
  "alibi_asym|--task sort --mask bidir --encoding alibi --alibi-asym 1 --dim 12 --heads 3|" \
  "kerple_log|--task copy --mask causal --encoding kerple-log|" \
  "kerple_power|--task sort --mask bidir --encoding kerple-power|" \
  "sandwich|--task sort --mask bidir --encoding sandwich|" \
  "fire|--task copy --mask causal --encoding fire|--positions shifted" \
  "fire_bidir|--task sort --mask bidir --encoding fire|" \
  "cope|--task copy --mask causal --encoding cope --max-pos 4|" \
  "rope|--task copy --mask causal --encoding rope --rope-base 100|--positions shifted" \
  "rope_partial|--task sort --mask bidir --encoding rope --rope-fraction 0.5 --rope-trainable 1|" \
  "rope_v|--task copy --mask causal --encoding rope-v|" \
  "rope_power2|--task copy --mask causal --encoding rope --rope-schedule power2 --rope-trainable 1|" \
  "sinusoidal_constant|--task sort --mask bidir --encoding sinusoidal --rope-schedule constant --rope-base 4|" \
  "rope2d|--task probe2d --mask bidir --encoding rope2d --grid-w 3 --len 2 --rope-trainable 1|" \
  "xpos|--task copy --mask causal --encoding xpos --xpos-gamma 8|" \
  "urpe|--task copy --mask causal --encoding urpe --clip-min -4 --clip-max 3|" \
  "norm_softmax|--task sort --mask bidir --encoding rope --norm softmax|" \
  "norm_l2|--task copy --mask causal --encoding alibi --norm l2|" \
  "norm_nodenom|--task sort --mask bidir --encoding t5 --norm nodenom|" \
  "norm_relu2n|--task copy --mask causal --encoding rope --norm relu2n|" \
  "norm_swishl2|--task sort --mask bidir --encoding kerple-log --norm swishl2 --markers cls-sep|" \
  "norm_logscaled|--task copy --mask causal --encoding none --norm logscaled --ln post|" \
  "norm_linear|--task copy --mask causal --encoding rope --norm linear|--positions shifted" \
  "norm_linear-num|--task sort --mask bidir --encoding rope --norm linear-num --rope-base 100|" \
  "norm_cos1|--task copy --mask causal --encoding rope-v --norm cos1|" \
  "regression|--task probe --encoding learned --len 5 --max-pos 8 --act swish --norm swishl2 --head regression --markers cls-sep|"
parity-fixtures:
	$(MAKE) --no-print-directory PRECISION=double all
	$(PYTHON) scripts/torch_model.py --selftest
	rm -rf tests/fixtures/parity_*
	printf '%s\n' $(PARITY_COMMON) | sed 's/=/ = /' > build/double-$(BLAS)/parity-common.conf
	for r in $(PARITY_RUNS); do name=$${r%%|*}; rest=$${r#*|}; args=$${rest%%|*}; popts=$${rest#*|}; \
	  build/double-$(BLAS)/posprobe train --quiet --config build/double-$(BLAS)/parity-common.conf $$args \
	    --run-id parity_$$name --out tests/fixtures/parity_$$name >/dev/null && \
	  rm -f tests/fixtures/parity_$$name.lock && \
	  find tests/fixtures/parity_$$name -mindepth 1 ! -name checkpoint.bin -delete && \
	  $(PYTHON) scripts/torch_parity.py tests/fixtures/parity_$$name $$popts || exit 1; done
	$(MAKE) --no-print-directory parity-roundtrip

# Each fixture's checkpoint through posprobe eval and through PyTorch's
# load_checkpoint: the attention weights of every layer and head on the run's
# first held-out sequence agree to 1e-9 (needs python3-torch).
parity-roundtrip:
	$(MAKE) --no-print-directory PRECISION=double all
	$(PYTHON) scripts/torch_parity.py tests/fixtures/parity_* --eval build/double-$(BLAS)/posprobe

clean:
	rm -rf build posprobe

# ---- installing, as a Unix tool: PREFIX (default /usr/local) and DESTDIR (a staging root). The
# program, the scripts and suites (PREFIX/share/posprobe/scripts, where they find PREFIX/bin/posprobe),
# the manual page (posprobe help --man) and bash completion; scripts/install.sh says what it refuses.
# INSTALL_BIN: the binary to install (default: this build's, PRECISION and BLAS as above).
PREFIX      ?= /usr/local
INSTALL_BIN ?= $(POSPROBE)
install: $(INSTALL_BIN)
	bash scripts/install.sh install '$(DESTDIR)' '$(PREFIX)' '$(INSTALL_BIN)'

uninstall:
	bash scripts/install.sh uninstall '$(DESTDIR)' '$(PREFIX)'

# Regenerates the golden task examples (review the diff before committing).
golden: $(POSPROBE)
	bash tests/golden.sh $(POSPROBE) > tests/fixtures/tasks_golden.txt

# Behaviour unchanged (for a restructuring): builds BASE (a commit, default
# HEAD, so uncommitted changes are compared with the last commit) in a scratch
# worktree with the same precision and BLAS, and compares short runs of every
# encoding, mask and normalizer byte for byte (tests/same_behaviour.sh).
BASE ?= HEAD
same-behaviour: $(POSPROBE)
	@tmp=$$(mktemp -d) && git worktree add -q --detach "$$tmp/src" $(BASE) && \
	  { $(MAKE) -C "$$tmp/src" --no-print-directory PRECISION=$(PRECISION) BLAS=$(BLAS) $(BUILD)/posprobe >"$$tmp/build.log" 2>&1 || \
	    { tail -20 "$$tmp/build.log"; false; }; } && \
	  $(RUN_ENV) bash tests/same_behaviour.sh "$$tmp/src/$(BUILD)/posprobe" $(POSPROBE) "$$tmp/runs"; \
	  rc=$$?; git worktree remove --force "$$tmp/src"; \
	  if [ $$rc -eq 0 ]; then rm -rf "$$tmp"; else echo "the runs are kept in $$tmp/runs"; fi; exit $$rc

help:
	@echo "Build and test (PRECISION=float|double, BLAS=openblas|gslcblas, SAN=1 for sanitizers):"
	@echo "  make all              build posprobe and the tests"
	@echo "  make test             every test, float then double (ends with the summary line)"
	@echo "  make test-one         every test in the build's PRECISION"
	@echo "  make test-unit        the unit tests only: in process, no posprobe binary (T=SUBSTRING filters)"
	@echo "  make test-engine      the engine's tests, linked with trainer/engine/ alone (T=SUBSTRING filters)"
	@echo "  make test-encodings   the catalogue tests, which check every registered encoding (seconds)"
	@echo "  make asan             every test under AddressSanitizer + UBSan, both precisions"
	@echo "  make valgrind         every test under valgrind"
	@echo "  make fuzz             libFuzzer on the config, list, CSV and checkpoint readers (FUZZ_SECONDS per target)"
	@echo "  make check-all        test, asan, valgrind and a short fuzz pass"
	@echo "  make bench            op GFLOP/s, training step and greedy decoding beside PyTorch, scaling, parallel throughput"
	@echo "  make bench-one        the benchmarks in the build's PRECISION"
	@echo "  make golden           regenerate tests/fixtures/tasks_golden.txt (the task examples)"
	@echo "  make parity-fixtures  regenerate the PyTorch parity fixtures (python3-torch), then parity-roundtrip"
	@echo "  make parity-roundtrip posprobe eval and PyTorch's load_checkpoint agree on every fixture (python3-torch)"
	@echo "  make same-behaviour   compare short runs of every encoding with a build of BASE (default HEAD), byte for byte"
	@echo "  make clean            remove build/"
	@echo "  make install          install posprobe, its scripts and suites, the manual page and bash completion"
	@echo "                        under PREFIX (default /usr/local; DESTDIR=dir stages it; INSTALL_BIN=binary)"
	@echo "  make uninstall        remove what make install put under PREFIX (DESTDIR as given to install)"
	@echo "  make help             this list"
	@echo "Experiments (RESULTS=dir, default results/; J=jobs; QUICK=1 for a one-seed smoke run;"
	@echo "             ENCODINGS=\"a b\" replaces, ENCODINGS=\"+a\" adds to the suites' encodings; SEEDS=n):"
	@echo "  make reproduce        every stage below but catalogue, schedules, linear, randomized-long and probe-seeds, then RESULTS/timing.csv"
	@echo "  make probe            the probe suite (RESULTS/probe)"
	@echo "  make extrapolation    the length-generalization suite (RESULTS/extrapolation)"
	@echo "  make normalizers      claim R11: copy under l2, nodenom, relu2n, logscaled in both forms (RESULTS/normalizers)"
	@echo "  make catalogue        the decoder study for shaw, recursive, multiplicative, claims T1, T3, T4 (RESULTS/catalogue)"
	@echo "  make schedules        frequency schedules and trainable RoPE frequencies, claims S6, P4 (RESULTS/schedules)"
	@echo "  make linear           linear attention with RoPE (8265), claims P5, P6 (RESULTS/linear)"
	@echo "  make randomized-long  randomized positions with a 40000-step cap: when copying tasks fit (RESULTS/randomized-long)"
	@echo "  make probe-seeds      R2's and R7's probe cells at 30 seeds (RESULTS/probe-seeds)"
	@echo "  make curves           the encodings' decay and bias curves, no training (RESULTS/curves)"
	@echo "  make diagnose         the symmetry diagnostics of every encoding (RESULTS/diagnose.csv)"
	@echo "  make extras           the layer probe and attention dumps (scripts/extras.py)"
	@echo "  make plots            the figures (RESULTS/figures)"
	@echo "  make report           RESULTS/REPORT.md, the claims with their verdicts"
	@echo "  make compare ENCODING=name  only its runs, beside the committed reference: RESULTS/compare-name/SCORECARD.md"

-include $(LIB_OBJ:.o=.d) $(TEST_OBJ:.o=.d) $(UNIT_TEST_OBJ:.o=.d) $(ENGINE_TEST_OBJ:.o=.d) $(BUILD)/trainer/cli/main.d $(BUILD)/bench/bench_step.d $(BUILD)/bench/bench_ops.d \
         $(BUILD)/bench/bench_decode.d
