# `make test` runs the whole suite on a fresh machine: it makes .venv, installs
# labelport with every extra and the test tools (and Azurite, Azure Blob's
# emulator, from npm into .ci/node), then runs pytest.
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin

.PHONY: test install
test: install
	$(BIN)/python -m pytest -q

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[all,ray,test]'
	npm install --silent --prefix .ci/node azurite
	touch $@
