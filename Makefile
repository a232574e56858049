# The two commands of the README; everything else is `dataops --help`.
.PHONY: demo test lint

demo:  ## install everything, then `dataops build` on the sample data
	bash ci/build.sh

test:  ## install everything, then run the test suite
	bash ci/test.sh

lint:  ## the pre-commit hooks over the whole repository
	bash ci/bootstrap.sh
	.venv/bin/pre-commit run --all-files
