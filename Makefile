# concerto_nb: `make demo` installs everything and renders the demo play-along; `make test` runs the tests.
VENV ?= .venv
DEMO_OUT ?= demo_output
BIN := $(VENV)/bin

.PHONY: setup demo test check data clean

$(VENV)/.installed: requirements.txt requirements-test.txt apt.txt pyproject.toml scripts/setup.sh
	bash scripts/setup.sh $(VENV)
	touch $@

setup: $(VENV)/.installed

# the demo's own output folder is regenerated on every run (--force applies to it alone)
demo: setup
	$(BIN)/concerto-nb playalong data/demo/concerto.ogg data/demo/pianist.ogg -o $(DEMO_OUT) --force
	@echo "Listen: $(DEMO_OUT)/mix.wav (report: $(DEMO_OUT)/report.json)"

# the linter, the tests and the docstring examples, then every notebook run top to bottom by nbval (outputs are not
# compared: they are stripped)
test: setup
	$(BIN)/ruff check concerto_nb tests benchmarks scripts
	$(BIN)/python -m pytest tests concerto_nb --doctest-modules notebooks --nbval-lax --nbval-current-env \
		--nbval-cell-timeout=600

# the quick tier (about 2 minutes): the linter, the docstring examples, input handling, TSM and mixing
check: setup
	$(BIN)/ruff check concerto_nb tests benchmarks scripts
	$(BIN)/python -m pytest concerto_nb --doctest-modules tests/test_io.py tests/test_reliability.py \
		tests/test_cli_fuzz.py tests/test_fuzz.py tests/test_tsm.py tests/test_mixing.py tests/test_setup.py

# re-render data/demo from the MIDI in data/sources (FluidSynth + Debian soundfonts)
data: setup
	$(BIN)/concerto-nb render-demo -o data/demo --force

clean:
	rm -rf $(VENV) $(DEMO_OUT)
