# Two entry points: `make demo` runs the main job, `make test` runs the tests.
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin

.PHONY: venv demo test clean

$(BIN)/makaudit: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(BIN)/makaudit

venv: $(BIN)/makaudit

demo: venv
	$(BIN)/makaudit demo --out demo-output

test: venv
	$(BIN)/python -m pytest -q

clean:
	rm -rf $(VENV) demo-output
